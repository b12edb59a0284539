"""Path traversal in uploads: model names and `file:` paths of the repository API's load (KServe
v2 HTTP and gRPC) and TorchServe's registration `url` that point out of the folder Swerve makes
for an upload (`..`, encoded dots, absolute paths, NUL bytes); uploads that are not models,
not base64, or too large. Every one is refused with a 4xx (a 503 when the model it names is not
ready after an earlier failed load; gRPC: a non-OK status but INTERNAL / UNKNOWN). The files they try to write are named `pwned-<index>` (absolute ones
/tmp/swerve-attack-pwned-<index>), so the run can look for any that got written (runner)."""
from __future__ import annotations

import base64
import json
import random

from tritonclient.grpc import service_pb2

from .cases import Input, error, error_or_unready, grpc_error
from .context import MAX_REQUEST_SIZE, VICTIMS
from .http_bytes import post_json, request

FAMILY = "path_traversal"
PWNED_ABSOLUTE = "/tmp/swerve-attack-pwned-"
BAD_NAMES = ["..", "%2e%2e", ".", "..%2f..%2ftmp", "%2e%2e%2f%2e%2e", "{victim}%2f..%2f..", "%00", "a%2fb",
             "{victim}%00", "..%5c..", "...."]
BAD_URLS = ["..", "../x", "/etc/passwd", "%2e%2e", "x/../../y", "http://127.0.0.1:1/evil.mar", "file:///etc/passwd",
            "{victim}/..", "%2e%2e%2f%2e%2e%2fetc", ".hidden", "a%00b", "{victim}%2f..%2f..", "~", "/"]


def traversal_key(rng: random.Random, index: int) -> str:
    name = f"pwned-{index}"
    return rng.choice([
        "../" * rng.randrange(1, 7) + name, "1/" + "../" * rng.randrange(2, 7) + name, PWNED_ABSOLUTE + str(index),
        "./1/model.onnx", "1/./model.onnx", "..\\" + name, "", "1//model.onnx", "1/", "....//" + name,
        "1/model.onnx\x00.txt", "%2e%2e/" + name])


def load_body(rng: random.Random, index: int) -> tuple[dict, str]:
    kind = rng.choice(["traversal", "traversal", "not a model", "not base64", "no config"])
    if kind == "traversal":
        key = traversal_key(rng, index)
        return {"parameters": {"config": "{}", "file:" + key: "aGk="}}, f"file:{key!r}"
    if kind == "not a model":
        blob = base64.b64encode(rng.randbytes(rng.randrange(1, 4096))).decode()
        return {"parameters": {"config": "{}", "file:1/model.onnx": blob}}, "random bytes as 1/model.onnx"
    if kind == "not base64":
        return {"parameters": {"config": "{}", "file:1/model.onnx": "!!!*\u00ff"}}, "file contents not base64"
    return {"parameters": {"file:1/model.onnx": "aGk="}}, "files without a config"


def kserve_load(rng: random.Random, index: int) -> tuple[str, bytes, str, tuple]:
    victim = rng.choice(VICTIMS)
    if rng.random() < 0.3:
        name = rng.choice(BAD_NAMES).format(victim=victim)
        body = {"parameters": {"config": "{}", f"file:pwned-{index}": "aGk="}}
        return "http", post_json(f"/v2/repository/models/{name}/load", body), f"load of model {name!r}", ()
    if rng.random() < 0.03:
        blob = base64.b64encode(b"\x00" * MAX_REQUEST_SIZE).decode()
        body = json.dumps({"parameters": {"config": "{}", "file:1/model.onnx": blob}}).encode()
        return "http", post_json(f"/v2/repository/models/{victim}/load", body), "1.3 MB upload", (413,)
    body, description = load_body(rng, index)
    return "http", post_json(f"/v2/repository/models/{victim}/load", body), f"load of {victim}: {description}", ()


def torchserve_register(rng: random.Random, index: int) -> tuple[str, bytes, str, tuple]:
    url = rng.choice(BAD_URLS).format(victim=rng.choice(VICTIMS))
    return "torchserve-management", request("POST", f"/models?url={url}"), f"register url={url!r}", ()


def generate(rng: random.Random, index: int) -> Input:
    if rng.random() < 0.2:
        victim = rng.choice(VICTIMS)
        name = rng.choice([victim, victim, "..", "../x", "/tmp", "", "a/b"])
        message = service_pb2.RepositoryModelLoadRequest(model_name=name)
        message.parameters["config"].string_param = "{}"
        key = traversal_key(rng, index)
        message.parameters["file:" + key].bytes_param = b"hi"
        return Input(index, FAMILY, "grpc", "grpc", message.SerializeToString(), grpc_error(),
                     f"gRPC load of {name!r} with file:{key!r}", rpc="/inference.GRPCInferenceService/RepositoryModelLoad")
    build = rng.choices([kserve_load, torchserve_register], [3, 1])[0]
    listener, data, description, statuses = build(rng, index)
    return Input(index, FAMILY, listener, "http", data, error(*statuses) if statuses else error_or_unready(), description)
