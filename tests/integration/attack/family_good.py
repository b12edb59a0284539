"""Good requests, interleaved with the attack, whose answers are checked exactly: `simple`
(OUTPUT0 = a + b, OUTPUT1 = a - b, INT32) over KServe v2 JSON, binary and gzip, gRPC and TF
Serving; the EfficientNet-Lite0 classifier over TorchServe with a fixture image of known label;
metrics, ping, model readiness and the management listing."""
from __future__ import annotations

import gzip
import random
import struct

from tritonclient.grpc import service_pb2

from .cases import Input, answer, good
from .context import IMAGE_MODEL, context
from .http_bytes import json_bytes, multipart, post_json, request

FAMILY = "good"
GRPC_INFER = "/inference.GRPCInferenceService/ModelInfer"


def simple_operands(rng: random.Random) -> tuple[int, list[int], list[int], dict]:
    """A batch of 1-3 rows of 16 INT32 pairs that cannot overflow, and the expected outputs."""
    batch = rng.randrange(1, 4)
    a = [rng.randrange(-2**30, 2**30) for _ in range(16 * batch)]
    b = [rng.randrange(-2**30, 2**30) for _ in range(16 * batch)]
    return batch, a, b, {"OUTPUT0": [x + y for x, y in zip(a, b)], "OUTPUT1": [x - y for x, y in zip(a, b)]}


def simple_json_body(batch: int, a: list[int], b: list[int]) -> dict:
    return {"inputs": [{"name": "INPUT0", "shape": [batch, 16], "datatype": "INT32", "data": a},
                       {"name": "INPUT1", "shape": [batch, 16], "datatype": "INT32", "data": b}]}


def kserve_json(rng, index):
    batch, a, b, expected = simple_operands(rng)
    body = json_bytes(simple_json_body(batch, a, b))
    headers = []
    if rng.random() < 0.3:
        body, headers = gzip.compress(body, mtime=0), [("Content-Encoding", "gzip")]
    if rng.random() < 0.3:
        headers.append(("Accept-Encoding", rng.choice(["gzip", "deflate", "gzip;q=0.5, deflate;q=0.9"])))
    return "http", post_json("/v2/models/simple/infer", body, headers), good("kserve_values", expected), "simple JSON"


def kserve_binary(rng, index):
    batch, a, b, expected = simple_operands(rng)
    blobs = [struct.pack(f"<{len(v)}i", *v) for v in (a, b)]
    header = json_bytes({"inputs": [
        {"name": name, "shape": [batch, 16], "datatype": "INT32", "parameters": {"binary_data_size": len(blob)}}
        for name, blob in zip(("INPUT0", "INPUT1"), blobs)],
        "outputs": [{"name": n, "parameters": {"binary_data": True}} for n in ("OUTPUT0", "OUTPUT1")]})
    data = request("POST", "/v2/models/simple/infer",
                   [("Content-Type", "application/octet-stream"), ("Inference-Header-Content-Length", len(header))],
                   header + b"".join(blobs))
    return "http", data, good("kserve_values", expected), "simple binary tensors"


def grpc_infer(rng, index):
    batch, a, b, expected = simple_operands(rng)
    message = simple_grpc_request(batch, a, b)
    return "grpc", message.SerializeToString(), good("grpc_values", expected), "simple ModelInfer"


def simple_grpc_request(batch: int, a: list[int], b: list[int]) -> service_pb2.ModelInferRequest:
    message = service_pb2.ModelInferRequest(model_name="simple")
    for name in ("INPUT0", "INPUT1"):
        message.inputs.add(name=name, datatype="INT32", shape=[batch, 16])
    message.raw_input_contents.extend([struct.pack(f"<{len(v)}i", *v) for v in (a, b)])
    return message


def tfserving(rng, index):
    batch, a, b, expected = simple_operands(rng)
    rows = [{"INPUT0": a[16 * i:16 * i + 16], "INPUT1": b[16 * i:16 * i + 16]} for i in range(batch)]
    return ("tfserving", post_json("/v1/models/simple:predict", {"instances": rows}), good("tfserving_simple", expected),
            "simple :predict rows")


def image(rng, index):
    ctx = context()
    name = rng.choice(sorted(ctx.samples))
    how = rng.choice(["POST", "PUT", "multipart"])
    if how == "multipart":
        head = b'Content-Disposition: form-data; name="data"; filename="' + name.encode() + b'"'
        data = request("POST", f"/predictions/{IMAGE_MODEL}",
                       [("Content-Type", "multipart/form-data; boundary=attackboundary")],
                       multipart([(head, ctx.samples[name])]))
    else:
        data = request(how, f"/predictions/{IMAGE_MODEL}", [("Content-Type", "application/octet-stream")],
                       ctx.samples[name])
    return "torchserve", data, good("image_top1", ctx.accept_top1[name]), f"{name} by {how}"


def small(rng, index):
    listener, path, check, expected = rng.choice([
        ("metrics", "/metrics", "contains", b"nv_inference_count"),
        ("torchserve", "/ping", "ping", None),
        ("http", "/v2/models/simple/ready", "status", 200),
        ("http", "/v2/models/simple", "contains", b'"name":"simple"'),
        ("tfserving", "/v1/models/simple", "contains", b"AVAILABLE"),
        ("torchserve-management", f"/models/{IMAGE_MODEL}", "contains", IMAGE_MODEL.encode())])
    expect = answer("ping", None, 200, 503) if check == "ping" else good(check, expected)
    return listener, request("GET", path), expect, f"GET {path}"


KINDS = [(kserve_json, 30), (kserve_binary, 10), (grpc_infer, 25), (tfserving, 12), (image, 8), (small, 15)]


def generate(rng: random.Random, index: int) -> Input:
    build = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
    listener, data, expect, description = build(rng, index)
    transport = "grpc" if listener == "grpc" else "http"
    return Input(index, FAMILY, listener, transport, data, expect, description,
                 rpc=GRPC_INFER if transport == "grpc" else "")
