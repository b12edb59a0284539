"""Malformed HTTP/1.1 framing on every HTTP listener: bad chunk sizes, unknown transfer codings,
conflicting lengths, missing CRLFs, bodies cut short and half-closed (also after
`Expect: 100-continue`), broken header lines, absurd request lines, CONNECT and unknown methods,
~1 MB of headers.

RFC 9112 makes each a 400 (431 / 414 for headers / targets too large, 505 for an unknown HTTP
version) and the connection unusable: the answer is that status with the listener's JSON error
body, then the server closes. CONNECT and methods no route has are well framed: a 400 / 404 /
405 / 501 with the error body, the connection kept or closed (an answer without a length closed).
Body framing goes to routes that read a body; on the metrics and TorchServe management
listeners, whose routes read none, the route's own 404 / 405 may come first (the server must
still close when the framing turns out broken)."""
from __future__ import annotations

import random

from .cases import HTTP_LISTENERS, Input, error
from .http_bytes import HOST
from .routes import BODY_PATHS, OK_PATHS

FAMILY = "framing"
BODY = b'{"inputs":[]}'
BODY_READERS = ("http", "tfserving", "torchserve")


def head(method: str, path: str, *lines: bytes) -> bytes:
    return b"\r\n".join([f"{method} {path} HTTP/1.1".encode(), b"Host: " + HOST.encode(), *lines]) + b"\r\n\r\n"


def bad_chunk_size(rng, path):
    size = rng.choice([b"zz", b"-1", b"0x10", b"g", b"1" * 20, b"f" * 17, b"\x00", b"+5", b"5 5", b""])
    data = head("POST", path, b"Transfer-Encoding: chunked") + size + b"\r\n" + BODY + b"\r\n0\r\n\r\n"
    return data, f"chunk size {size!r}", False, (400,)


def unknown_transfer_coding(rng, path):
    coding = rng.choice([b"xchunked", b"chunked, gzip", b"gzip", b"identity", b"chunkedx", b"\xffchunked"])
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
    return head("POST", path, b"Transfer-Encoding: " + coding) + body, f"Transfer-Encoding: {coding!r}", True, (400,)


def conflicting_lengths(rng, path):
    lines = rng.choice([
        [b"Content-Length: 5", b"Content-Length: 13"], [b"Content-Length: 5, 13"],
        [b"Content-Length: 13", b"Transfer-Encoding: chunked"], [b"Content-Length: -13"],
        [b"Content-Length: 1e3"], [b"Content-Length: abc"], [b"Content-Length: 0x0d"],
        [b"Content-Length: +13"], [b"Content-Length:"], [b"Content-Length: 99999999999999999999999999"]])
    statuses = (400, 413) if b"9999" in lines[0] else (400,)
    return head("POST", path, *lines) + b"zz\r\n" + BODY, f"lengths {lines!r}", True, statuses


def missing_crlf(rng, path):
    body = rng.choice([
        b"%x\r\n%sXX0\r\n\r\n" % (len(BODY), BODY),  # chunk data not followed by CRLF
        b"%x%s\r\n0\r\n\r\n" % (len(BODY), BODY),  # chunk size line without CRLF
        b"%x\r\n%s\r\n0\r\nX" % (len(BODY), BODY)])  # trailer section not ended by CRLF
    return head("POST", path, b"Transfer-Encoding: chunked") + body, f"chunked body {body[:24]!r}…", True, (400,)


def cut_short(rng, path):
    length = rng.choice([20, 100, 4096, 1 << 20])
    sent = rng.randrange(0, 14)
    expect_continue = rng.random() < 0.5
    data = head("POST", path, b"Content-Type: application/json", b"Content-Length: %d" % length,
                *([b"Expect: 100-continue"] if expect_continue else []))
    description = (f"Content-Length {length}, {sent} bytes sent, then half-closed"
                   + (" (Expect: 100-continue)" if expect_continue else ""))
    return data + BODY[:sent], description, True, (400,)


def broken_header_line(rng, path):
    # RFC 9112 5.1 / 3.2: no whitespace before the colon, names are tokens, one Host only.
    line = rng.choice([b"X\xff: v", b"Bad Header: v", b"NoColon", b": empty-name", b"X-A\t: v", b"X-A : v",
                       b"(X): v", b"Host: " + HOST.encode()])
    return head("GET", path, line), f"header line {line!r}", False, (400,)


def absurd_request_line(rng, path):
    line = rng.choice([b"GET", b"GET / HTTP/1.1 extra", b"/ GET HTTP/1.1", b"GET / HTTP/1.", b"GET /\x00 HTTP/1.1",
                       b"GET \x7f HTTP/1.1", b"GET / FTP/1.1", b"GET / HTTP/1.1\rX", b"\xff\xfe / HTTP/1.1",
                       b" GET / HTTP/1.1", b"GET /a b HTTP/1.1", b"G\x00ET / HTTP/1.1", b"GET / http/1.1",
                       b"GET / HTTP/01.1", b"GET / HTTP/9.9"])
    return line + b"\r\nHost: " + HOST.encode() + b"\r\n\r\n", f"request line {line!r}", False, (400, 505)


def odd_method(rng, path):
    # CONNECT's target is an authority; an error answer to it must still be framed (Content-Length
    # or close). Unknown methods: 501 is RFC 9110's answer, 400 / 405 common ones.
    line = rng.choice([b"CONNECT 127.0.0.1:443 HTTP/1.1", b"CONNECT " + HOST.encode() + b":1 HTTP/1.1",
                       b"TRACE " + path.encode() + b" HTTP/1.1", b"BREW / HTTP/1.1",
                       b"get " + path.encode() + b" HTTP/1.1", b"PRI / HTTP/1.1"])
    return line + b"\r\nHost: " + HOST.encode() + b"\r\n\r\n", f"request line {line!r}", False, (400, 404, 405, 501)


def oversized_headers(rng, path):
    kind = rng.choice(["many", "one", "uri"])
    if kind == "many":
        data, description = head("GET", path, *[b"X-Pad-%d: %s" % (i, b"a" * 100) for i in range(10000)]), \
            "10,000 headers of 100 bytes (~1 MB)"
    elif kind == "one":
        data, description = head("GET", path, b"X-Pad: " + b"a" * (1 << 20)), "one 1 MiB header"
    else:
        data, description = head("GET", path + "?" + "a" * (1 << 20)), "1 MiB request target"
    return data, description, False, (400, 414, 431)


BODY_CASES = [bad_chunk_size, unknown_transfer_coding, conflicting_lengths, missing_crlf, cut_short]
HEAD_CASES = [broken_header_line, absurd_request_line, odd_method, oversized_headers]
WEIGHTS = {bad_chunk_size: 3, unknown_transfer_coding: 3, conflicting_lengths: 3, missing_crlf: 2, cut_short: 3,
           broken_header_line: 3, absurd_request_line: 3, odd_method: 1.5, oversized_headers: 0.3}


def generate(rng: random.Random, index: int) -> Input:
    listener = rng.choice(HTTP_LISTENERS)
    cases = BODY_CASES + HEAD_CASES if listener in BODY_READERS else BODY_CASES[:-1] + HEAD_CASES
    build = rng.choices(cases, [WEIGHTS[c] for c in cases])[0]
    path = BODY_PATHS[listener] if build in BODY_CASES else OK_PATHS[listener]
    data, description, half_close, statuses = build(rng, path)
    if build in BODY_CASES and listener not in BODY_READERS:
        statuses += (404, 405)
    closes = build is not odd_method  # CONNECT, TRACE and the like are well framed: the connection may stay
    return Input(index, FAMILY, listener, "http", data, error(*statuses, closes=closes), description,
                 half_close=half_close)
