"""Overflowing numbers and absurd values in management calls and everywhere else a number is read:
TorchServe register / scale query parameters (max_batch_delay=2^63-1 overflowed the ms -> us
conversion and killed the process), config overrides of the repository API, logging settings,
version numbers in paths, classification counts, binary header lengths.

Every value here is out of its field's range or not a number at all, so every answer is a 4xx
with the listener's error body (a 400 naming the field, or a 404 / 409 when the model or version
the call names is not, or already, there; a 503 when TorchServe's management API finds the model
not ready after an earlier failed load). Only the models in context.VICTIMS are touched; their
unregistration (a DELETE now and then, answered 200 or 4xx) lets later registrations reach the
parameter checks."""
from __future__ import annotations

import json
import random

from .cases import LENIENT, Input, error, error_or_unready
from .context import VICTIMS
from .http_bytes import post_json, request

FAMILY = "absurd_numbers"
OVERFLOWING = ["9223372036854775807", "9223372036854775808", "18446744073709551616", "-9223372036854775809",
               "99999999999999999999999999999", "1e400", "-1e400"]
INVALID = ["-1", "1.5", "abc", "NaN", "Infinity", "0x10", " 1", "1 ", "+-1", "١", "1e3", "٣"]
QUERY_PARAMETERS = {  # name -> the absurd values it may get besides OVERFLOWING and INVALID
    "initial_workers": ["100000", "2147483648"], "batch_size": ["2147483648", "4294967296"],
    "max_batch_delay": ["18446744073709552"], "min_worker": ["100000", "2147483648"],
    "max_worker": ["100000"]}
ABSURD_CONFIGS = [
    {"max_batch_size": 2**31}, {"max_batch_size": -1}, {"max_batch_size": 1e400}, {"max_batch_size": "many"},
    {"instance_group": [{"count": 2**31}]}, {"instance_group": [{"count": -5, "kind": "KIND_CPU"}]},
    {"instance_group": [{"count": 100000, "kind": "KIND_CPU"}]},
    {"dynamic_batching": {"max_queue_delay_microseconds": "18446744073709551616"}},
    {"dynamic_batching": {"preferred_batch_size": [-1]}},
    {"dynamic_batching": {"default_queue_policy": {"default_timeout_microseconds": "-1"}}},
    {"version_policy": {"specific": {"versions": ["9223372036854775808"]}}},
    {"input": [{"name": "X", "data_type": "TYPE_FP32", "dims": ["9223372036854775808"]}]},
    {"input": [{"name": "X", "data_type": "TYPE_FP32", "dims": [-7, 2]}]},
]


def torchserve_query(rng: random.Random) -> tuple[str, bytes, str]:
    victim = rng.choice(VICTIMS)
    parameter = rng.choice(sorted(QUERY_PARAMETERS))
    value = rng.choice(OVERFLOWING + INVALID + QUERY_PARAMETERS[parameter])
    quoted = "".join(c if c.isalnum() and c.isascii() or c in "-.+" else f"%{b:02X}" for c in value
                     for b in c.encode())
    if parameter in ("min_worker", "max_worker"):
        return "torchserve-management", request("PUT", f"/models/{victim}?{parameter}={quoted}"), f"PUT {parameter}={value!r}"
    return ("torchserve-management", request("POST", f"/models?url={victim}&{parameter}={quoted}"),
            f"POST register {parameter}={value!r}")


def absurd_version(rng: random.Random) -> tuple[str, bytes, str]:
    version = rng.choice(OVERFLOWING[:5] + ["-1", "0", "1e3", "0x1", "1.0", "%00"])
    listener, path = rng.choice([
        ("http", f"/v2/models/simple/versions/{version}"), ("http", f"/v2/models/simple/versions/{version}/ready"),
        ("http", f"/v2/models/simple/versions/{version}/config"),
        ("http", f"/v2/models/simple/versions/{version}/stats"),
        ("tfserving", f"/v1/models/simple/versions/{version}"),
        ("torchserve-management", f"/models/{rng.choice(VICTIMS)}/{version}"),
        ("torchserve-management", f"/models/{rng.choice(VICTIMS)}/{version}/set-default"),
        ("torchserve", f"/predictions/simple/{version}")])
    method = "PUT" if path.endswith("set-default") else "POST" if listener == "torchserve" else "GET"
    if listener == "http" and rng.random() < 0.3:
        method, path = "POST", f"/v2/models/simple/versions/{version}/infer"
    return listener, request(method, path, body=b"{}" if method == "POST" else b""), f"{method} {path}"


def absurd_body(rng: random.Random) -> tuple[str, bytes, str]:
    kind = rng.choice(["config", "logging", "class_count", "binary length", "tfserving"])
    if kind == "config":
        config = rng.choice(ABSURD_CONFIGS)
        body = {"parameters": {"config": json.dumps(config)}}
        return "http", post_json(f"/v2/repository/models/{rng.choice(VICTIMS)}/load", body), f"load config {config}"
    if kind == "logging":
        value = rng.choice([b"1e400", b"18446744073709551616", b'"x"', b"[]", b"-1e400"])
        return "http", post_json("/v2/logging", b'{"log_verbose_level":' + value + b"}"), f"log_verbose_level {value!r}"
    if kind == "class_count":
        count = rng.choice([2**63, -1, 2**64, 1e300])
        body = {"inputs": [{"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": [1] * 16},
                           {"name": "INPUT1", "shape": [1, 16], "datatype": "INT32", "data": [1] * 16}],
                "outputs": [{"name": "OUTPUT0", "parameters": {"classification": count}}]}
        return "http", post_json("/v2/models/simple/infer", body), f"classification {count}"
    if kind == "binary length":
        length = rng.choice(["18446744073709551616", "-1", "9223372036854775807", "64", "1e3", ""])
        header = b'{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"INT32","parameters":{"binary_data_size":64}}]}'
        data = request("POST", "/v2/models/simple/infer", [("Inference-Header-Content-Length", length)],
                       header + b"\x00" * 10)
        return "http", data, f"Inference-Header-Content-Length {length!r}"
    value = rng.choice(OVERFLOWING)
    body = b'{"instances":[{"INPUT0":[' + ",".join([value] * 16).encode() + b'],"INPUT1":[' + b"1," * 15 + b"1]}]}"
    return "tfserving", post_json("/v1/models/simple:predict", body), f"TF Serving INT32 values {value}"


def generate(rng: random.Random, index: int) -> Input:
    if rng.random() < 0.04:
        victim = rng.choice(VICTIMS)
        return Input(index, FAMILY, "torchserve-management", "http", request("DELETE", f"/models/{victim}"), LENIENT,
                     f"unregister {victim}")
    build = rng.choices([torchserve_query, absurd_version, absurd_body], [4, 2, 3])[0]
    listener, data, description = build(rng)
    return Input(index, FAMILY, listener, "http", data, error_or_unready() if listener == "torchserve-management" else error(),
                 description)
