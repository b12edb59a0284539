"""Content codings and compression bombs on the inference routes.

KServe v2 infer: a coding Swerve does not decode (br, zstd, compress, unknown tokens, gzip stacked
on one of those) is a 415 naming what is accepted in an `Accept-Encoding` header (RFC 9110
15.5.16); `x-gzip`, which RFC 9110 8.4.1.3 says to take as gzip, may be decoded (a right answer)
or refused with 415; the legal stacked `gzip, gzip` is decoded (a right answer); bodies that
inflate past --max-request-size are a 413; corrupt gzip / deflate data a 400. TF Serving and
TorchServe get the same bodies: any 4xx with their error body (no coding is promised there)."""
from __future__ import annotations

import gzip
import random
import zlib

import brotli

from .cases import Input, error, good
from .context import IMAGE_MODEL, context
from .family_good import simple_json_body, simple_operands
from .http_bytes import json_bytes, request

FAMILY_CODING = "content_coding"
FAMILY_BOMB = "compression_bomb"
UNSUPPORTED = ["br", "zstd", "compress", "x-compress", "foo", "gzip, br", "br, gzip", "identity, br", "*",
               "chunked"]


def good_simple(rng: random.Random) -> tuple[bytes, dict]:
    batch, a, b, expected = simple_operands(rng)
    return json_bytes(simple_json_body(batch, a, b)), expected


def coding_case(rng: random.Random) -> tuple[bytes, str, object]:
    """(body, Content-Encoding, Expect) for KServe v2 infer of `simple`."""
    body, expected = good_simple(rng)
    kind = rng.choice(["unsupported", "unsupported", "x-gzip", "gzip, gzip", "deflate, gzip", "corrupt",
                       "truncated", "bad crc"])
    if kind == "unsupported":
        coding = rng.choice(UNSUPPORTED)
        data = brotli.compress(body) if coding.startswith("br") else gzip.compress(body, mtime=0)
        return data, coding, error(415, header="accept-encoding")
    if kind == "x-gzip":
        return gzip.compress(body, mtime=0), "x-gzip", good("kserve_values", expected, 415)
    if kind == "gzip, gzip":
        return gzip.compress(gzip.compress(body, mtime=0), mtime=0), "gzip, gzip", good("kserve_values", expected)
    if kind == "deflate, gzip":
        return gzip.compress(zlib.compress(body), mtime=0), "deflate, gzip", good("kserve_values", expected)
    coding = rng.choice(["gzip", "deflate"])
    packed = gzip.compress(body, mtime=0) if coding == "gzip" else zlib.compress(body)
    start = 10 if coding == "gzip" else 2  # past the header, whose MTIME, XFL and OS bytes nobody checks
    if kind == "corrupt":
        cut = rng.randrange(start, len(packed) - 8)
        packed = packed[:cut] + bytes(b ^ 0xFF for b in packed[cut:cut + 6]) + packed[cut + 6:]
    elif kind == "truncated":
        packed = packed[:rng.randrange(0, len(packed) - 8)]
    elif coding == "gzip":
        packed = packed[:-8] + b"\0\0\0\0" + packed[-4:]  # the CRC-32 zeroed
    else:
        packed = packed[:-4] + b"\0\0\0\0"  # the Adler-32 zeroed
    return packed, coding, error(400)


def generate_coding(rng: random.Random, index: int) -> Input:
    body, coding, expect = coding_case(rng)
    listener, path = rng.choices([("http", "/v2/models/simple/infer"), ("tfserving", "/v1/models/simple:predict"),
                                  ("torchserve", f"/predictions/{IMAGE_MODEL}")], [6, 1, 1])[0]
    if listener != "http":
        expect = error()
    data = request("POST", path, [("Content-Type", "application/json"), ("Content-Encoding", coding)], body)
    return Input(index, FAMILY_CODING, listener, "http", data, expect, f"Content-Encoding {coding!r} to {path}")


def generate_bomb(rng: random.Random, index: int) -> Input:
    name = rng.choice(sorted(context().bombs))
    body, coding = context().bombs[name]
    listener, path, expect = rng.choices([("http", "/v2/models/simple/infer", error(413)),
                                          ("tfserving", "/v1/models/simple:predict", error()),
                                          ("torchserve", f"/predictions/{IMAGE_MODEL}", error())], [6, 1, 1])[0]
    data = request("POST", path, [("Content-Type", "application/json"), ("Content-Encoding", coding)], body)
    return Input(index, FAMILY_BOMB, listener, "http", data, expect, f"{name} bomb ({len(body)} bytes) to {path}")
