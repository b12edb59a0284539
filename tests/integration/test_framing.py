"""Broken HTTP framing on every HTTP listener: each gets a 4xx with the protocol's JSON error body,
and the server closes the connection (no socket left half-open), whatever the client then does.
The byte sequences are the ones an attack run found answered with an empty 500, an empty 400 or
a socket held forever."""
from __future__ import annotations

import json
import os
import socket
import time

import pytest

from support import ports_of, simple_body

CLOSE_WITHIN_S = 5.0  # the server lingers 2 s at most before it closes


@pytest.fixture(scope="module")
def framing_server(repos, start_server):
    srv = start_server(repos["main"], "framing")
    yield srv
    srv.stop_and_check()


def exchange(port: int, data: bytes, half_close: bool = False, pace: float = 0.0) -> tuple[int, dict, bytes, bool]:
    """Sends `data` (optionally shutting down the sending side after it), reads until the server
    closes or CLOSE_WITHIN_S passes. Returns (status, headers, body, closed by the server)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=CLOSE_WITHIN_S)
    received = b""
    closed = False
    try:
        try:
            if pace:
                for i in range(0, len(data), 65536):
                    sock.sendall(data[i:i + 65536])
                    time.sleep(pace)
            else:
                sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before it read everything
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + CLOSE_WITHIN_S
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                closed = True
                break
            except socket.timeout:
                break
            if not chunk:
                closed = True
                break
            received += chunk
    finally:
        sock.close()
    while received.startswith(b"HTTP/1.1 100"):  # interim answers to Expect: 100-continue
        received = received.partition(b"\r\n\r\n")[2]
    head, _, body = received.partition(b"\r\n\r\n")
    assert head, "no answer at all"
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {k.strip().lower().decode(): v.strip().decode() for k, _, v in (l.partition(b":") for l in lines[1:])}
    if "content-length" in headers:
        body = body[:int(headers["content-length"])]
    return status, headers, body, closed


def assert_json_refusal(answer, statuses=(400,), key="error") -> None:
    status, headers, body, closed = answer
    assert status in statuses, (status, body[:300])
    assert "content-length" in headers, headers
    assert json.loads(body)[key], body[:300]
    assert closed, "the server kept the connection open after broken framing"


MALFORMED = {
    "bad chunk size": b"POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "unknown transfer coding": b"POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n{}",
    "missing CRLF in chunk": b"POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}0\r\n\r\n",
    "bad request line": b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    "garbage": b"\x00\x01\x02\xff\xfe not http at all\r\n\r\n",
    "bad header line": b"GET /v2 HTTP/1.1\r\nHost x\r\n\r\n",
    "two Host headers": b"GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\n\r\n",
    "two content lengths": b"POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_framing_gets_400_json_and_the_connection_closes(framing_server, case):
    assert_json_refusal(exchange(framing_server.port, MALFORMED[case]))
    assert framing_server.alive()


@pytest.mark.parametrize("listener,key", [("tfserving", "error"), ("torchserve", "message"),
                                          ("torchserve-management", "message"), ("metrics", "error")])
def test_malformed_framing_on_the_other_listeners(framing_server, listener, key):
    port = ports_of(framing_server)[listener]
    status, headers, body, closed = exchange(port, MALFORMED["bad header line"])
    assert status == 400 and closed, (status, body[:300])
    assert json.loads(body)[key], body


def test_a_body_cut_short_by_a_half_close_gets_400(framing_server):
    head = b"POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    assert_json_refusal(exchange(framing_server.port, head + b'{"inputs": [', half_close=True))


def test_expect_continue_then_a_half_close_gets_400(framing_server):
    head = (b"POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\nExpect: 100-continue\r\n\r\n")
    assert_json_refusal(exchange(framing_server.port, head, half_close=True))


def test_connect_is_refused_and_the_connection_closes(framing_server):
    # NIO's HTTP encoder sends every answer to CONNECT without a body (it frames them all as
    # tunnel answers), so this refusal is a bare 405 with Connection: close; the server then
    # closes the connection instead of holding it open.
    status, headers, body, closed = exchange(framing_server.port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    assert status == 405 and headers.get("connection") == "close" and closed, (status, headers, body[:300])


def open_sockets(pid: int) -> int:
    return sum(1 for fd in os.listdir(f"/proc/{pid}/fd")
               if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"))


def test_oversized_headers_get_431_and_leave_no_socket_behind(framing_server):
    before = open_sockets(framing_server.pid)
    head = b"GET /v2 HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 1000) for i in range(1000)) + b"\r\n"
    for _ in range(10):
        assert_json_refusal(exchange(framing_server.port, head), statuses=(431,))
    deadline = time.monotonic() + CLOSE_WITHIN_S
    while open_sockets(framing_server.pid) > before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert open_sockets(framing_server.pid) <= before, "sockets of refused connections are still open"


def test_a_good_request_after_the_refusals_is_answered(framing_server):
    body = json.dumps(simple_body()).encode()
    request = (b"POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
    status, _, answer, _ = exchange(framing_server.port, request)
    assert status == 200, answer[:300]
    outputs = {o["name"]: o["data"] for o in json.loads(answer)["outputs"]}
    assert outputs["OUTPUT0"] == [i + 1 for i in range(16)] and outputs["OUTPUT1"] == [i - 1 for i in range(16)]


def test_cut_off_connections_do_not_cancel_requests_on_other_connections(framing_server):
    """A connection that half-closes inside its request head used to leave a "client gone" mark
    behind its close; a new connection that reused the closed channel's identity then had its
    request cancelled at once (a third of fresh-connection requests, under this load)."""
    import threading
    body = json.dumps(simple_body()).encode()
    request = (b"POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
    deadline = time.monotonic() + 4
    answers: list[int] = []

    def cut_off():
        while time.monotonic() < deadline:
            exchange_quietly(framing_server.port, b"GET /v2/health/liv")

    def good():
        while time.monotonic() < deadline:
            answers.append(exchange(framing_server.port, request)[0])

    threads = [threading.Thread(target=cut_off) for _ in range(3)] + [threading.Thread(target=good) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) > 50, f"only {len(answers)} requests in 4 s"
    assert answers.count(200) == len(answers), f"{len(answers) - answers.count(200)} of {len(answers)} good requests failed"


def exchange_quietly(port: int, data: bytes) -> None:
    """Sends `data`, half-closes and reads until the server closes, ignoring what it answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=CLOSE_WITHIN_S) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass
