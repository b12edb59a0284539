"""HTTP/1.1 requests as bytes, built by hand so that any of them can be malformed on purpose."""
from __future__ import annotations

import json

HOST = "127.0.0.1"


def as_bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def request(method: str, path, headers=(), body: bytes = b"", close: bool = True) -> bytes:
    """A well-framed request: Host, then `headers` (pairs), Content-Length when there is a body
    and no framing header was given, and `Connection: close` when `close`."""
    names = {as_bytes(name).lower() for name, _ in headers}
    lines = [as_bytes(method) + b" " + as_bytes(path) + b" HTTP/1.1"]
    if b"host" not in names:
        lines.append(b"Host: " + HOST.encode())
    lines += [as_bytes(name) + b": " + as_bytes(value) for name, value in headers]
    if body and not names & {b"content-length", b"transfer-encoding"}:
        lines.append(b"Content-Length: %d" % len(body))
    if close and b"connection" not in names:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def json_bytes(value) -> bytes:
    """Compact JSON."""
    return json.dumps(value, separators=(",", ":")).encode()


def post_json(path: str, value, headers=()) -> bytes:
    """A POST of a JSON body (a value, or bytes sent as they are)."""
    body = value if isinstance(value, bytes) else json_bytes(value)
    return request("POST", path, [("Content-Type", "application/json"), *headers], body)


def multipart(parts: list[tuple[bytes, bytes]], boundary: bytes = b"attackboundary") -> bytes:
    """A multipart body from (raw part-header block, content) pairs, closed by the final boundary."""
    body = b"".join(b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + content + b"\r\n" for head, content in parts)
    return body + b"--" + boundary + b"--\r\n"
