"""Checkers of good answers: each takes the Answer and the expected value and returns None when the
answer is right, else what is wrong."""
from __future__ import annotations

import gzip
import json
import zlib

import numpy as np
from google.protobuf.message import DecodeError
from tritonclient.grpc import service_pb2

from .answer import Answer


def decoded_body(answer: Answer) -> bytes:
    """The body with the response's Content-Encoding (gzip or deflate) undone."""
    coding = answer.headers.get("content-encoding", "").strip().lower()
    if coding == "gzip":
        return gzip.decompress(answer.body)
    if coding == "deflate":
        return zlib.decompress(answer.body)
    return answer.body


def status(answer: Answer, expected: int) -> str | None:
    return None if answer.status == expected else f"status {answer.status}, expected {expected}"


def contains(answer: Answer, expected: bytes) -> str | None:
    return None if expected in decoded_body(answer) else f"body lacks {expected!r}: {answer.body[:200]!r}"


def ping(answer: Answer, expected) -> str | None:
    """TorchServe's /ping: 200 {"status": "Healthy"}, or 503 {"status": "Unhealthy"} while not ready."""
    wanted = {"status": "Healthy"} if answer.status == 200 else {"status": "Unhealthy"}
    return json_equal(answer, wanted)


def json_equal(answer: Answer, expected) -> str | None:
    body = json.loads(decoded_body(answer))
    return None if body == expected else f"body {body!r}, expected {expected!r}"


BINARY_TYPES = {"INT32": "<i4", "FP32": "<f4", "INT64": "<i8", "FP64": "<f8"}


def kserve_outputs(answer: Answer) -> dict[str, list]:
    """Output name -> flat values of a KServe v2 response, JSON or with binary outputs."""
    body = decoded_body(answer)
    header_length = int(answer.headers.get("inference-header-content-length", len(body)))
    header = json.loads(body[:header_length])
    offset, outputs = header_length, {}
    for output in header["outputs"]:
        size = output.get("parameters", {}).get("binary_data_size")
        if size is None:
            values = np.array(output["data"]).reshape(-1)
        else:
            values = np.frombuffer(body[offset:offset + size], dtype=BINARY_TYPES[output["datatype"]])
            offset += size
        assert values.size == int(np.prod(output["shape"])), f"{output['name']}: {values.size} values for {output['shape']}"
        outputs[output["name"]] = values.tolist()
    return outputs


def differences(got: dict, expected: dict) -> str | None:
    wrong = [name for name in expected if got.get(name) != expected[name]]
    return f"{wrong} differ: got {({n: got.get(n, [])[:4] for n in wrong})}" if wrong else None


def kserve_values(answer: Answer, expected: dict) -> str | None:
    """KServe v2 HTTP: every output named in `expected` holds exactly those values."""
    return differences(kserve_outputs(answer), expected)


def grpc_values(answer: Answer, expected: dict) -> str | None:
    """gRPC ModelInfer: INT32 raw output contents, in the order of the response's outputs."""
    response = service_pb2.ModelInferResponse.FromString(answer.body)
    return differences({output.name: np.frombuffer(raw, dtype="<i4").tolist()
                        for output, raw in zip(response.outputs, response.raw_output_contents)}, expected)


def tfserving_simple(answer: Answer, expected: dict) -> str | None:
    """`simple` over TF Serving's row format: predictions [{OUTPUT0: [...], OUTPUT1: [...]}, ...]."""
    rows = json.loads(decoded_body(answer))["predictions"]
    return differences({name: [v for row in rows for v in row[name]] for name in expected}, expected)


def image_top1(answer: Answer, accepted: tuple[str, ...]) -> str | None:
    """TorchServe's top-5 object whose best label is one the reference accepts."""
    top = json.loads(decoded_body(answer))
    if not isinstance(top, dict) or len(top) != 5:
        return f"not a top-5 object: {top!r}"
    best = max(top, key=top.get)
    return None if best in accepted else f"top-1 {best!r}, expected one of {accepted}"


def torchserve_errors(answer: Answer, expected) -> str | None:
    """A TorchServe batch answer (several image parts) in which every item is an error object."""
    items = json.loads(decoded_body(answer))
    ok = isinstance(items, list) and items and all(isinstance(i, dict) and {"code", "type", "message"} <= set(i)
                                                     and 400 <= i["code"] < 500 for i in items)
    return None if ok else f"not a list of 4xx error objects: {answer.body[:200]!r}"


CHECKS = {"status": status, "ping": ping, "contains": contains, "json_equal": json_equal, "kserve_values": kserve_values,
          "grpc_values": grpc_values, "tfserving_simple": tfserving_simple, "image_top1": image_top1,
          "torchserve_errors": torchserve_errors}


def check(answer: Answer, name: str, expected) -> str | None:
    """Runs checker `name`; an answer it cannot even read is wrong too."""
    try:
        return CHECKS[name](answer, expected)
    except (ValueError, KeyError, TypeError, IndexError, AssertionError, OSError, zlib.error,
            DecodeError) as problem:
        return f"unreadable answer ({problem!r}): {answer.body[:200]!r}"
