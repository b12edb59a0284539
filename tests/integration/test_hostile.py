"""1000 malformed or hostile requests each get a 4xx with a JSON error message; the server stays up
and its memory does not grow. Plus the body size limit, enforced without buffering the body."""
from __future__ import annotations

import collections
import json
import os
import time

import pytest
import requests

import hostile_requests
from hostile_requests import MAX_REQUEST_SIZE, Case
from support import assert_json_error, infer_json, raw_http

RSS_TOLERANCE = 0.10


@pytest.fixture(scope="module")
def hostile_server(repos, start_server):
    srv = start_server(repos["main"], "hostile", ("--max-request-size", str(MAX_REQUEST_SIZE)))
    yield srv
    srv.stop_and_check()


def send(server, case: Case, session: requests.Session) -> tuple[int, bytes, str]:
    """Sends one case; bodies over the limit go through a raw socket that stops sending once the
    server answers. Returns (status, body, content type)."""
    if case.body is not None and len(case.body) > MAX_REQUEST_SIZE:
        head = (f"{case.method} {case.path} HTTP/1.1\r\nHost: {server.address}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(case.body)}\r\nConnection: close\r\n\r\n")
        chunks = [case.body[i:i + 65536] for i in range(0, len(case.body), 65536)]
        status, body = raw_http(server.port, head.encode(), chunks)
        return status, body, "application/json"
    response = session.request(case.method, server.url + case.path, data=case.body, timeout=15,
                               headers={"Content-Type": "application/json", **case.headers})
    return response.status_code, response.content, response.headers.get("Content-Type", "")


def check(status: int, body: bytes, case: Case) -> str | None:
    """None when the answer is right, else what is wrong."""
    if status not in case.expected:
        return f"status {status}, expected {case.expected}: {body[:200]!r}"
    try:
        message = json.loads(body)["error"]
        assert isinstance(message, str) and message.strip()
    except Exception:
        return f"status {status} without a JSON error message: {body[:200]!r}"
    return None


def run_cases(server, cases: list[Case]) -> list[str]:
    failures = []
    with requests.Session() as session:
        for case in cases:
            try:
                status, body, _ = send(server, case, session)
            except (requests.RequestException, OSError, AssertionError) as error:
                failures.append(f"[{case.category}] {case.description}: no answer ({error!r})")
                assert server.alive(), f"server died on [{case.category}] {case.description}:\n{server.log_tail()}"
                continue
            problem = check(status, body, case)
            if problem:
                failures.append(f"[{case.category}] {case.method} {case.path[:60]} {case.description}: {problem}")
    return failures


def good_requests(server, rounds: int) -> None:
    with requests.Session() as session:
        for _ in range(rounds):
            for model, body in hostile_requests.GOOD_REQUESTS:
                response = infer_json(server, model, body, session=session)
                assert response.status_code == 200, f"{model}: {response.status_code} {response.text[:300]}"


def test_1000_hostile_requests_get_4xx_json_errors_and_memory_stays_flat(hostile_server):
    cases = hostile_requests.generate(1000)
    # Warm up with good and bad requests (allocator pools, caches, lazily created state).
    good_requests(hostile_server, 20)
    run_cases(hostile_server, hostile_requests.generate(200, seed=7))
    good_requests(hostile_server, 5)
    before = hostile_server.rss_kib()

    failures = run_cases(hostile_server, cases)

    assert hostile_server.alive(), hostile_server.log_tail()
    assert requests.get(hostile_server.url + "/v2/health/live", timeout=5).status_code == 200
    good_requests(hostile_server, 2)
    after = hostile_server.rss_kib()
    by_category = collections.Counter(f.split("]")[0][1:] for f in failures)
    memory = f"RSS {before} KiB before, {after} KiB after"
    summary = (f"{len(failures)} of {len(cases)} wrong, by category {dict(by_category)} ({memory}):\n"
               + "\n".join(failures[:60]))
    assert not failures, summary
    assert after <= before * (1 + RSS_TOLERANCE), f"memory grew by more than {RSS_TOLERANCE:.0%}: {memory}"


def test_declared_shape_of_2_pow_31_rows_with_16_values_is_a_400(hostile_server):
    # Triton 2.48 aborts on this body; the shape must be checked against the data before allocating.
    body = {"inputs": [{"name": "x", "shape": [2147483648, 16], "datatype": "FP32", "data": [1.0] * 16}]}
    assert_json_error(infer_json(hostile_server, "dense_tiny", body), (400,))
    # The same with the huge dimension where no max_batch_size check can catch it first.
    body = {"inputs": [{"name": "x", "shape": [1, 2147483648], "datatype": "FP32", "data": [1.0] * 16}]}
    assert_json_error(infer_json(hostile_server, "identity_fp32", body), (400,))
    body = {"inputs": [{"name": "x", "shape": [-4, -4], "datatype": "FP32", "data": [1.0] * 16}]}
    assert_json_error(infer_json(hostile_server, "identity_fp32", body), (400,))
    assert hostile_server.alive()


def test_100000_open_brackets_are_a_400(hostile_server):
    body = b'{"inputs":[{"name":"x","shape":[1,16],"datatype":"FP32","data":' + b"[" * 100000 + b"]}]}"
    assert_json_error(infer_json(hostile_server, "dense_tiny", body), (400,))
    body = b"[" * 100000 + b"]" * 100000
    assert_json_error(infer_json(hostile_server, "dense_tiny", body), (400,))
    assert hostile_server.alive()


def test_invalid_utf8_is_a_400(hostile_server):
    body = b'{"inputs":[{"name":"x","shape":[1,1],"datatype":"BYTES","data":["\xff\xfe"]}]}'
    assert_json_error(infer_json(hostile_server, "identity_bytes", body), (400,))


def test_body_over_the_limit_is_refused_before_it_is_all_sent(hostile_server):
    # Content-Length says 8 GiB; only 512 KiB is ever sent. A server that buffers the whole body
    # before checking would never answer.
    head = (f"POST /v2/models/dense_tiny/infer HTTP/1.1\r\nHost: {hostile_server.address}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {8 << 30}\r\n\r\n").encode()
    status, body = raw_http(hostile_server.port, head, [b'{"inputs":[' + b" " * (512 << 10)], timeout=10)
    assert status == 413, body[:200]
    assert hostile_server.alive()


def test_connections_refused_with_413_are_closed(hostile_server):
    # Each refused body must free its connection, also when the client asked for Connection: close.
    def open_fds() -> int:
        return len(os.listdir(f"/proc/{hostile_server.pid}/fd"))

    body = b" " * (2 * MAX_REQUEST_SIZE)
    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    before = open_fds()
    for connection in ("keep-alive", "close") * 10:
        head = (f"POST /v2/models/dense_tiny/infer HTTP/1.1\r\nHost: {hostile_server.address}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: {connection}\r\n\r\n").encode()
        status, _ = raw_http(hostile_server.port, head, chunks)
        assert status == 413
    deadline = time.monotonic() + 5
    while open_fds() > before + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_fds() <= before + 2, f"{open_fds() - before} connections left open after 20 refused bodies"


def test_chunked_body_over_the_limit_is_a_413(hostile_server):
    chunk = b" " * 65536
    chunks = [b"%x\r\n" % len(chunk) + chunk + b"\r\n"] * (2 * MAX_REQUEST_SIZE // len(chunk))
    head = (f"POST /v2/models/dense_tiny/infer HTTP/1.1\r\nHost: {hostile_server.address}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    status, body = raw_http(hostile_server.port, head, chunks, timeout=10)
    assert status == 413, body[:200]


def test_body_at_the_limit_is_served(hostile_server):
    # A valid request padded with whitespace to exactly --max-request-size bytes.
    body = b'{"inputs":[{"name":"x","shape":[1,16],"datatype":"FP32","data":[' + b",".join([b"0.5"] * 16) + b"]}]}"
    body += b" " * (MAX_REQUEST_SIZE - len(body))
    response = infer_json(hostile_server, "dense_tiny", body)
    assert response.status_code == 200, response.text[:300]


def test_client_errors_get_their_own_4xx_never_500(hostile_server):
    # A sample of every category, checked again on its own so a regression shows its category:
    # each case gets the 4xx it expects with a JSON error (not a 500, nor a 200 for a bad request).
    cases = hostile_requests.generate(300, seed=99)
    with requests.Session() as session:
        for case in cases:
            status, body, _ = send(hostile_server, case, session)
            problem = check(status, body, case)
            assert problem is None, f"[{case.category}] {case.method} {case.path[:60]} {case.description}: {problem}"
