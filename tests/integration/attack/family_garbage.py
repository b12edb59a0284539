"""Raw-socket garbage and half-closed connections on every listener (gRPC's included).

Garbage (random bytes, a TLS ClientHello, an HTTP/2 preface where HTTP/1.1 is spoken, text
lines) is sent and the sending side shut: an HTTP listener answers 400 (or 414 / 431 for a
line too long) or closes; the gRPC listener closes. Half-closed connections: a complete request
then a half-close must still be answered (or dropped, never left hanging; TorchServe's /ping may
answer 503 Unhealthy while a model loads); a request cut inside
its head must get a 400 or a close."""
from __future__ import annotations

import random

from .cases import DROP, HTTP_LISTENERS, LISTENERS, Input, answer, error, good
from .http_bytes import request
from .routes import OK_PATHS

FAMILY_GARBAGE = "garbage"
FAMILY_HALF_CLOSED = "half_closed"

TLS_CLIENT_HELLO = bytes.fromhex(
    "16030100a5010000a10303" + "00" * 32 + "000020c02bc02fc02cc030cca9cca8c013c014009c009d002f0035c012000a"
    "01000058000000140012000010" + "6c6f63616c686f73742e6c6f63616c" + "ff01000100000a00080006001d00170018")
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def garbage_bytes(rng: random.Random) -> tuple[bytes, str]:
    kind = rng.choice(["random", "random", "tls", "h2", "text", "nul", "high"])
    if kind == "random":
        data = rng.randbytes(rng.randrange(1, 4096))
    elif kind == "tls":
        data = TLS_CLIENT_HELLO
    elif kind == "h2":
        data = H2_PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    elif kind == "text":
        data = b"\r\n".join(bytes(rng.choice(b"abcXYZ /:;=%-") for _ in range(rng.randrange(1, 80)))
                            for _ in range(rng.randrange(1, 6))) + b"\r\n\r\n"
    elif kind == "nul":
        data = b"\x00" * rng.randrange(1, 9000)
    else:
        data = bytes(rng.randrange(128, 256) for _ in range(rng.randrange(1, 2000)))
    return data, f"{kind} garbage, {len(data)} bytes"


def generate_garbage(rng: random.Random, index: int) -> Input:
    listener = rng.choice(LISTENERS)
    data, description = garbage_bytes(rng)
    if listener == "grpc":
        return Input(index, FAMILY_GARBAGE, listener, "h2", data, DROP, description, half_close=True)
    return Input(index, FAMILY_GARBAGE, listener, "http", data, error(400, 414, 431, 505, closes=True, may_drop=True),
                 description, half_close=True)


def generate_half_closed(rng: random.Random, index: int) -> Input:
    listener = rng.choice(HTTP_LISTENERS)
    kind = rng.choice(["complete", "pipelined", "head cut", "nothing"])
    complete = request("GET", OK_PATHS[listener], close=False)
    answered = (answer("ping", None, 200, 503, may_drop=True) if listener == "torchserve"
                else good("status", 200, may_drop=True))
    if kind == "complete":
        data, expect = complete, answered
    elif kind == "pipelined":
        data, expect = complete + complete[:rng.randrange(1, len(complete) - 2)], answered
    elif kind == "head cut":
        data, expect = complete[:rng.randrange(1, len(complete) - 2)], error(400, closes=True, may_drop=True)
    else:
        data, expect = b"", DROP
    return Input(index, FAMILY_HALF_CLOSED, listener, "http", data, expect,
                 f"{kind}: {len(data)} bytes then half-closed", half_close=True)
