"""Multipart bodies with hostile part headers to TorchServe's /predictions (a non-ASCII byte in a
part-header name trapped MultipartKit), and broken multipart framing: missing, mismatched, empty
or overlong boundaries, unterminated parts, header lines without colons or of 100 KB, thousands of
headers, nested multipart. No part holds an image, so every answer is a 4xx with TorchServe's
error body (or, for several image parts, a batch answer of one error per part); multipart sent to
the JSON listeners is a 4xx with their own."""
from __future__ import annotations

import random

from .cases import Input, error, good
from .context import IMAGE_MODEL
from .http_bytes import multipart, request

FAMILY = "multipart"
DISPOSITION = b'Content-Disposition: form-data; name="data"; filename="x.jpg"'


def hostile_header(rng: random.Random) -> bytes:
    byte = bytes([rng.randrange(128, 256)])
    return rng.choice([
        b"X" + byte + b": v", byte + b": v", b"X-A: " + byte * 8, b"NoColonHere", b": no name", b"X-A:" + b"v" * 100000,
        b'Content-Disposition: form-data; name="' + byte + b'"', b"Content-Disposition: " + b";" * 5000,
        b'Content-Disposition: form-data; name="data"; filename="../../../../etc/passwd"',
        b'Content-Disposition: form-data; name=data"; filename*=UTF-8\'\'%ff%fe', b"Content-Type: multipart/mixed",
        b"Content-Transfer-Encoding: base64", b"Content-Length: -1", b"Content-Length: 99999999999999999999",
        b"\x00: \x00", b"X-A: v\rw", b" folded: continuation"])


def body_and_type(rng: random.Random) -> tuple[bytes, bytes, str]:
    """(body, Content-Type, description)."""
    kind = rng.choice(["hostile header", "hostile header", "many headers", "no boundary", "wrong boundary",
                       "empty boundary", "long boundary", "unterminated", "no blank line", "nested", "empty parts",
                       "quoted boundary open"])
    content_type = b"multipart/form-data; boundary=attackboundary"
    content = b"not an image " * rng.randrange(1, 50)
    if kind == "hostile header":
        header = hostile_header(rng)
        return multipart([(DISPOSITION + b"\r\n" + header, content)]), content_type, f"part header {header[:60]!r}"
    if kind == "many headers":
        block = b"\r\n".join([DISPOSITION] + [b"X-%d: v" % i for i in range(rng.choice([1000, 10000]))])
        return multipart([(block, content)]), content_type, f"{block.count(b'X-')} part headers"
    if kind == "no boundary":
        return multipart([(DISPOSITION, content)]), b"multipart/form-data", "no boundary parameter"
    if kind == "wrong boundary":
        return multipart([(DISPOSITION, content)], b"other"), content_type, "boundary never in the body"
    if kind == "empty boundary":
        return multipart([(DISPOSITION, content)], b""), b"multipart/form-data; boundary=", "empty boundary"
    if kind == "long boundary":
        boundary = b"b" * rng.choice([71, 1000, 70000])
        return multipart([(DISPOSITION, content)], boundary), b"multipart/form-data; boundary=" + boundary, \
            f"boundary of {len(boundary)} bytes"
    if kind == "unterminated":
        return b"--attackboundary\r\n" + DISPOSITION + b"\r\n\r\n" + content, content_type, "no closing boundary"
    if kind == "no blank line":
        return b"--attackboundary\r\n" + DISPOSITION + b"\r\n" + content + b"\r\n--attackboundary--\r\n", \
            content_type, "part headers never end"
    if kind == "nested":
        inner = multipart([(DISPOSITION, content)], b"inner")
        head = b'Content-Disposition: form-data; name="data"\r\nContent-Type: multipart/mixed; boundary=inner'
        return multipart([(head, inner)] * rng.randrange(1, 50)), content_type, "nested multipart"
    if kind == "empty parts":
        return b"--attackboundary\r\n" * rng.randrange(1, 5000) + b"--attackboundary--\r\n", content_type, "empty parts"
    return multipart([(DISPOSITION, content)]), b'multipart/form-data; boundary="attackboundary', "unclosed quote"


def generate(rng: random.Random, index: int) -> Input:
    body, content_type, description = body_and_type(rng)
    # Several image parts are a batch: TorchServe answers 200 with one result (here an error) per part.
    expect = good("torchserve_errors", None, *range(400, 500)) if description == "nested multipart" else error()
    listener, method, path = rng.choices([("torchserve", "POST", f"/predictions/{IMAGE_MODEL}"),
                                          ("torchserve", "PUT", f"/predictions/{IMAGE_MODEL}"),
                                          ("http", "POST", "/v2/models/simple/infer"),
                                          ("tfserving", "POST", "/v1/models/simple:predict")], [6, 2, 1, 1])[0]
    return Input(index, FAMILY, listener, "http", request(method, path, [("Content-Type", content_type)], body),
                 expect if listener == "torchserve" else error(), f"{method} {path}: {description}")
