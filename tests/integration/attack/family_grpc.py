"""gRPC garbage and oversize messages on the gRPC listener.

Through a gRPC channel with identity serializers: undecodable request messages (gRPC's status
table makes "error parsing request proto" INTERNAL, so INTERNAL is right there and only there),
decodable but wrong ModelInfer requests (any non-OK status but INTERNAL / UNKNOWN), messages over
--grpc-max-message-size (RESOURCE_EXHAUSTED). Through raw HTTP/2: broken frames and broken gRPC
framing (lying length prefixes, compression flags without or with unknown codings, a gzip bomb):
the server must end the stream or the connection, never hang."""
from __future__ import annotations

import random
import struct

from tritonclient.grpc import service_pb2

from .cases import DROP, Input, grpc_error
from .context import GRPC_MAX_MESSAGE_SIZE, context
from .family_good import GRPC_INFER, simple_grpc_request, simple_operands
from .h2_transport import (CONTINUATION_FRAME, DATA, END_HEADERS, END_STREAM, HEADERS, PING, SETTINGS,
                           WINDOW_UPDATE, connection_start, frame, grpc_headers, grpc_message, hpack)

FAMILY_GARBAGE = "grpc_garbage"
FAMILY_OVERSIZE = "grpc_oversize"
FAMILY_H2 = "grpc_h2_frames"
SERVICE = "/inference.GRPCInferenceService/"
# Any failure a client's undecodable message may get, INTERNAL included (see above).
UNDECODABLE = ("CANCELLED", "INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "OUT_OF_RANGE",
               "UNIMPLEMENTED", "INTERNAL", "RESOURCE_EXHAUSTED")


def undecodable(rng: random.Random) -> tuple[bytes, str]:
    kind = rng.choice(["random", "truncated field", "long varint", "deep groups", "wrong wire type"])
    if kind == "random":
        data = rng.randbytes(rng.randrange(1, 3000))
    elif kind == "truncated field":
        data = b"\x0a" + bytes([0x80 | rng.randrange(128), 0x7f]) + b"simple"  # length far past the end
    elif kind == "long varint":
        data = b"\x10" + b"\xff" * rng.randrange(10, 40)
    elif kind == "deep groups":
        data = b"\x0b" * rng.choice([100, 1000, 100000])  # start-group tags, never ended
    else:
        data = b"\x0d\x01\x02"  # field 1 (a string) as a truncated fixed32
    return data, f"{kind}, {len(data)} bytes"


def wrong_infer(rng: random.Random) -> tuple[bytes, str]:
    batch, a, b, _ = simple_operands(rng)
    message = simple_grpc_request(batch, a, b)
    kind = rng.choice(["unknown model", "huge shape", "negative shape", "short contents", "datatype",
                       "raw and typed", "extra raw", "unknown input", "version", "class_count", "empty"])
    if kind == "unknown model":
        message.model_name = "zz_" + "".join(rng.choice("abcxyz_.%/") for _ in range(rng.randrange(1, 300)))
    elif kind == "huge shape":
        message.inputs[0].shape[:] = [rng.choice([2**62, 2**31, 2**63 - 1]), 16]
    elif kind == "negative shape":
        message.inputs[0].shape[:] = [rng.choice([-1, -2**63]), 16]
    elif kind == "short contents":
        message.raw_input_contents[0] = message.raw_input_contents[0][:rng.randrange(0, 63)]
    elif kind == "datatype":
        message.inputs[0].datatype = rng.choice(["FP99", "", "INT32 ", "int32", "BYTES", "\xff"])
    elif kind == "raw and typed":
        message.inputs[0].contents.int_contents.extend(a)
    elif kind == "extra raw":
        message.raw_input_contents.append(b"\x00" * 64)
    elif kind == "unknown input":
        message.inputs[1].name = rng.choice(["INPUT0", "INPUT9", "", "OUTPUT0"])
    elif kind == "version":
        message.model_version = rng.choice(["99999999999999999999", "-1", "0", "1e3", "abc", "9223372036854775808"])
    elif kind == "class_count":
        output = message.outputs.add(name="OUTPUT0")
        output.parameters["classification"].int64_param = rng.choice([-1, -2**63])
    else:
        del message.inputs[:]
        del message.raw_input_contents[:]
    return message.SerializeToString(), f"ModelInfer of simple: {kind}"


def generate_garbage(rng: random.Random, index: int) -> Input:
    if rng.random() < 0.4:
        rpc = SERVICE + rng.choice(["ModelInfer", "ModelMetadata", "ModelConfig"])
        data, description = undecodable(rng)
        return Input(index, FAMILY_GARBAGE, "grpc", "grpc", data, grpc_error(*UNDECODABLE), description, rpc=rpc)
    data, description = wrong_infer(rng)
    return Input(index, FAMILY_GARBAGE, "grpc", "grpc", data, grpc_error(), description, rpc=GRPC_INFER)


def generate_oversize(rng: random.Random, index: int) -> Input:
    extra = GRPC_MAX_MESSAGE_SIZE + rng.randrange(1, GRPC_MAX_MESSAGE_SIZE // 2)
    if rng.random() < 0.7:
        batch, a, b, _ = simple_operands(rng)
        message = simple_grpc_request(batch, a, b)
        message.raw_input_contents[0] += b"\x00" * extra
        rpc, description = GRPC_INFER, f"ModelInfer of simple with {extra} extra bytes"
    else:
        message = service_pb2.ModelMetadataRequest(name="s" * extra)
        rpc, description = SERVICE + "ModelMetadata", f"ModelMetadata with a {extra}-byte name"
    return Input(index, FAMILY_OVERSIZE, "grpc", "grpc", message.SerializeToString(), grpc_error("RESOURCE_EXHAUSTED"),
                 description, rpc=rpc)


def broken_frames(rng: random.Random) -> tuple[bytes, str]:
    kind = rng.choice(["DATA on stream 0", "HEADERS on stream 0", "oversized frame", "zero window update",
                       "SETTINGS of 5 bytes", "window over 2^31", "PING of 7 bytes", "garbage HPACK",
                       "CONTINUATION alone", "even stream", "bad preface", "random frames"])
    start = connection_start()
    frames = {
        "DATA on stream 0": frame(DATA, 0, 0, b"x"),
        "HEADERS on stream 0": frame(HEADERS, END_HEADERS, 0, hpack(grpc_headers(GRPC_INFER.encode()))),
        "oversized frame": frame(DATA, 0, 1, b"x" * 100, length=(1 << 24) - 1),
        "zero window update": frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)),
        "SETTINGS of 5 bytes": frame(SETTINGS, 0, 0, b"\x00\x04\x00\x00\x00"),
        "window over 2^31": frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 2**31)),
        "PING of 7 bytes": frame(PING, 0, 0, b"\x00" * 7),
        "garbage HPACK": frame(HEADERS, END_HEADERS | END_STREAM, 1, rng.randbytes(rng.randrange(1, 200))),
        "CONTINUATION alone": frame(CONTINUATION_FRAME, END_HEADERS, 1, hpack([(b":method", b"POST")])),
        "even stream": frame(HEADERS, END_HEADERS | END_STREAM, 2, hpack(grpc_headers(GRPC_INFER.encode()))),
        "bad preface": b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
        "random frames": rng.randbytes(rng.randrange(9, 2000)),
    }
    data = frames[kind] if kind == "bad preface" else start + frames[kind]
    return data, kind


def broken_grpc_framing(rng: random.Random) -> tuple[bytes, str]:
    batch, a, b, _ = simple_operands(rng)
    payload = simple_grpc_request(batch, a, b).SerializeToString()
    path = GRPC_INFER.encode()
    bomb = context().bombs["gzip"][0]
    kind, extra, body = rng.choice([
        ("length prefix 2^32-1", [], grpc_message(payload, length=2**32 - 1)),
        ("length prefix past the end", [], grpc_message(payload, length=len(payload) + 100)),
        ("length over the limit", [], grpc_message(payload[:100], length=GRPC_MAX_MESSAGE_SIZE + 1)),
        ("compressed flag without grpc-encoding", [], grpc_message(payload, compressed=1)),
        ("gzip flag on bytes that are not gzip", [(b"grpc-encoding", b"gzip")], grpc_message(payload, compressed=1)),
        ("gzip bomb", [(b"grpc-encoding", b"gzip")], grpc_message(bomb, compressed=1)),
        ("unknown grpc-encoding", [(b"grpc-encoding", b"br")], grpc_message(payload, compressed=1)),
        ("reserved flag bits", [], grpc_message(payload, compressed=0x80)),
        ("two messages on a unary call", [], grpc_message(payload) * 2),
        ("no message", [], b""),
        ("text/plain", [(b"content-type", b"text/plain")], grpc_message(payload)),
        ("unknown method", [], grpc_message(payload)),
        ("absurd grpc-timeout", [(b"grpc-timeout", rng.choice([b"99999999999H", b"-1S", b"1x", b""]))],
         grpc_message(payload)),
    ])
    headers = grpc_headers(path if kind != "unknown method" else b"/inference.GRPCInferenceService/Nope")
    headers = [h for h in headers if h[0] not in {e[0] for e in extra}] + extra
    data = connection_start() + frame(HEADERS, END_HEADERS, 1, hpack(headers)) + frame(DATA, END_STREAM, 1, body)
    return data, kind


def generate_h2(rng: random.Random, index: int) -> Input:
    if rng.random() < 0.5:
        data, description = broken_frames(rng)
        return Input(index, FAMILY_H2, "grpc", "h2", data, DROP, description, half_close=True)
    data, description = broken_grpc_framing(rng)
    return Input(index, FAMILY_H2, "grpc", "h2", data, DROP, "gRPC framing: " + description)
