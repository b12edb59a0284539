"""Deep JSON to every route that reads JSON: nesting depths around Foundation's limit of 512 (the
513th opener as the last byte crashed JSONScanner), and far past it, open or closed, as the whole
body, inside a tensor's data, inside a binary request's JSON header, inside a load request's
config string. Every one is a 400 with the listener's JSON error body."""
from __future__ import annotations

import json
import random

from .cases import Input, error
from .context import IMAGE_MODEL, VICTIMS
from .http_bytes import post_json, request

FAMILY = "deep_json"
DEPTHS = [511, 512, 513, 514, 1000, 10000, 100000]


def deep(rng: random.Random, depth: int) -> bytes:
    kind = rng.choice(["open arrays", "closed arrays", "open objects", "closed objects", "mixed"])
    if kind == "open arrays":
        return b"[" * depth
    if kind == "closed arrays":
        return b"[" * depth + b"1" + b"]" * depth
    if kind == "open objects":
        return b'{"a":' * depth
    if kind == "closed objects":
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b'[{"a":' * (depth // 2) + (b"[" if depth % 2 else b"")


def generate(rng: random.Random, index: int) -> Input:
    depth = rng.choice(DEPTHS)
    value = deep(rng, depth)
    victim = rng.choice(VICTIMS)
    target = rng.choice(["infer", "infer data", "binary header", "index", "load", "load config", "logging",
                         "trace", "tfserving", "tfserving instances", "torchserve"])
    listener = "http"
    if target == "infer":
        data = post_json("/v2/models/simple/infer", value)
    elif target == "infer data":
        data = post_json("/v2/models/simple/infer",
                         b'{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"INT32","data":' + value + b"}]}")
    elif target == "binary header":
        data = request("POST", "/v2/models/simple/infer", [("Content-Type", "application/octet-stream"),
                                                           ("Inference-Header-Content-Length", len(value))],
                       value + b"\x00" * 64)
    elif target == "index":
        data = post_json("/v2/repository/index", value)
    elif target == "load":
        data = post_json(f"/v2/repository/models/{victim}/load", value)
    elif target == "load config":
        config = json.dumps(value.decode()).encode()
        data = post_json(f"/v2/repository/models/{victim}/load", b'{"parameters":{"config":' + config + b"}}")
    elif target == "logging":
        data = post_json("/v2/logging", value)
    elif target == "trace":
        data = post_json("/v2/trace/setting", value)
    elif target.startswith("tfserving"):
        listener = "tfserving"
        data = post_json("/v1/models/simple:predict", value if target == "tfserving" else b'{"instances":' + value + b"}")
    else:
        listener = "torchserve"
        data = request("POST", f"/predictions/{IMAGE_MODEL}", [("Content-Type", "application/json")], value)
    return Input(index, FAMILY, listener, "http", data, error(400), f"{target}: depth {depth}, {value[:12]!r}…")
