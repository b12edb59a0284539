"""Building and reading Triton binary tensor bodies (JSON header + raw tensor bytes) by hand, for
the tests that must send what tritonclient never would."""
from __future__ import annotations

import json
import struct

import numpy as np
import requests

from support import SwerveServer

NUMPY_TYPES = {
    "BOOL": np.bool_, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
}


def bytes_elements(values) -> bytes:
    """BYTES tensor contents: each element a uint32 little-endian length followed by its bytes."""
    out = b""
    for value in values:
        raw = value.encode() if isinstance(value, str) else bytes(value)
        out += struct.pack("<I", len(raw)) + raw
    return out


def tensor_bytes(array: np.ndarray, datatype: str) -> bytes:
    if datatype == "BYTES":
        return bytes_elements(array.reshape(-1))
    return np.ascontiguousarray(array, dtype=np.dtype(NUMPY_TYPES[datatype]).newbyteorder("<")).tobytes()


def binary_body(header: dict | bytes, blobs: list[bytes] = ()) -> tuple[bytes, int]:
    """(body, header length) for a JSON header followed by the blobs."""
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    return head + b"".join(blobs), len(head)


def post_binary(server: SwerveServer, model: str, body: bytes, header_length: str | int | None,
                extra_headers: dict | None = None, session=None, timeout: float = 30) -> requests.Response:
    """POSTs a body with `Inference-Header-Content-Length: header_length` (left out when None),
    asking for an uncompressed answer unless `extra_headers` says otherwise."""
    # identity: requests asks for gzip by default, and the server would compress the answer.
    headers = {"Content-Type": "application/octet-stream", "Accept-Encoding": "identity", **(extra_headers or {})}
    if header_length is not None:
        headers["Inference-Header-Content-Length"] = str(header_length)
    return (session or requests).post(f"{server.url}/v2/models/{model}/infer", data=body, headers=headers,
                                      timeout=timeout)


def split_bytes_elements(blob: bytes) -> list[bytes]:
    elements, offset = [], 0
    while offset < len(blob):
        (length,) = struct.unpack_from("<I", blob, offset)
        elements.append(blob[offset + 4: offset + 4 + length])
        offset += 4 + length
    assert offset == len(blob), "BYTES output has a truncated element"
    return elements


def parse_response(response: requests.Response) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON part of a (binary or JSON) inference response and every output as an array."""
    assert response.status_code == 200, f"{response.status_code}: {response.content[:300]!r}"
    content = response.content
    header_length = response.headers.get("Inference-Header-Content-Length")
    if header_length is None:
        assert response.headers["Content-Type"].startswith("application/json"), response.headers
        header, rest = json.loads(content), b""
    else:
        assert response.headers["Content-Type"] == "application/octet-stream", response.headers
        header, rest = json.loads(content[: int(header_length)]), content[int(header_length):]
    arrays, offset = {}, 0
    for output in header["outputs"]:
        size = output.get("parameters", {}).get("binary_data_size")
        if size is None:
            data = output["data"]
            np_type = object if output["datatype"] == "BYTES" else NUMPY_TYPES[output["datatype"]]
            arrays[output["name"]] = np.array(data, dtype=np_type).reshape(output["shape"])
            continue
        assert "data" not in output, f"binary output {output['name']} also has JSON data"
        blob = rest[offset: offset + size]
        offset += size
        if output["datatype"] == "BYTES":
            arrays[output["name"]] = np.array(split_bytes_elements(blob), dtype=object).reshape(output["shape"])
        else:
            arrays[output["name"]] = np.frombuffer(
                blob, dtype=np.dtype(NUMPY_TYPES[output["datatype"]]).newbyteorder("<")).reshape(output["shape"])
    assert offset == len(rest), f"{len(rest) - offset} bytes after the last binary output"
    return header, arrays
