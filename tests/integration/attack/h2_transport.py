"""Raw HTTP/2 for the gRPC listener: frames built by hand (HPACK literals only, no Huffman), so
that frames and gRPC messages can be malformed on purpose; and a reader that waits until the
server ends stream 1 (trailers or RST_STREAM), sends GOAWAY or closes."""
from __future__ import annotations

import socket
import struct
import time

from .answer import Answer

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION_FRAME = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS = 0x1, 0x4


def frame(kind: int, flags: int, stream: int, payload: bytes, length: int | None = None) -> bytes:
    """A frame; `length` overrides the real payload length in the frame header."""
    size = len(payload) if length is None else length
    return struct.pack(">I", size)[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def hpack_integer(value: int, prefix_bits: int = 7) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([value])
    out, value = bytearray([limit]), value - limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    return bytes(out + bytes([value]))


def hpack(headers: list[tuple[bytes, bytes]]) -> bytes:
    """A header block of literals without indexing (new names, no Huffman)."""
    return b"".join(b"\x00" + hpack_integer(len(n)) + n + hpack_integer(len(v)) + v for n, v in headers)


def grpc_headers(path: bytes, extra: list[tuple[bytes, bytes]] = ()) -> list[tuple[bytes, bytes]]:
    return [(b":method", b"POST"), (b":scheme", b"http"), (b":path", path), (b":authority", b"127.0.0.1"),
            (b"content-type", b"application/grpc"), (b"te", b"trailers"), *extra]


def grpc_message(payload: bytes, compressed: int = 0, length: int | None = None) -> bytes:
    """gRPC's length-prefixed message; `length` overrides the declared length."""
    return bytes([compressed]) + struct.pack(">I", len(payload) if length is None else length) + payload


def connection_start() -> bytes:
    """The client preface and an empty SETTINGS frame."""
    return PREFACE + frame(SETTINGS, 0, 0, b"")


def exchange(port: int, data: bytes, half_close: bool, timeout: float) -> Answer:
    """Sends `data` (then shuts down the sending side when `half_close`), then reads frames until
    stream 1 ends, GOAWAY, or the connection closes."""
    started = time.monotonic()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except ConnectionRefusedError:
        return Answer(error="refused", elapsed=time.monotonic() - started)
    with sock:
        buffer, ending = b"", ""
        try:
            sock.sendall(data)
            if half_close:
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass  # the server closed first: read what it sent
            while not ending:
                while len(buffer) < 9 or len(buffer) < 9 + int.from_bytes(buffer[:3], "big"):
                    sock.settimeout(max(0.001, started + timeout - time.monotonic()))
                    chunk = sock.recv(1 << 16)
                    if not chunk:
                        return Answer(ending="closed", elapsed=time.monotonic() - started)
                    buffer += chunk
                length, kind, flags = int.from_bytes(buffer[:3], "big"), buffer[3], buffer[4]
                stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
                buffer = buffer[9 + length:]
                if kind == GOAWAY:
                    ending = "GOAWAY"
                elif stream == 1 and kind == RST_STREAM:
                    ending = "RST_STREAM"
                elif stream == 1 and kind in (HEADERS, DATA) and flags & END_STREAM:
                    ending = "stream ended"
        except socket.timeout:
            return Answer(error="timeout", elapsed=time.monotonic() - started)
        except (ConnectionResetError, BrokenPipeError):
            ending = "reset"
        return Answer(ending=ending, elapsed=time.monotonic() - started)
