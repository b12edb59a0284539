"""A limit on every resource (issue 19), with real sockets against a server started with small
limits: a client slow to send its headers (slowloris) is closed within --http-header-read-timeout
and a fast one is not; an idle keep-alive connection is closed after --http-idle-timeout; a
listener holds no more than --http-max-connections (the extra ones get 503 and are closed, and
room comes back when connections close); too many or too large headers get 431; a model holds no
more than --model-max-inflight-requests and its config's rate limit (429 with Retry-After over
HTTP, RESOURCE_EXHAUSTED over gRPC); BYTES elements, multipart parts and inflated bodies have
their limits too."""
from __future__ import annotations

import gzip
import json
import os
import socket
import threading
import time

import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
from prometheus_client.parser import text_string_to_metric_families
from tritonclient.utils import InferenceServerException

import model_factory
from support import ports_of
from test_images import IMAGES
from test_torchserve_disconnect import CONFIG as IMAGE_CONFIG, MODEL as IMAGE_MODEL, slow_image_model

HEADER_TIMEOUT_S = 2.0
IDLE_TIMEOUT_S = 4.0
MAX_CONNECTIONS = 6
MAX_HEADER_SIZE = 4096
MAX_HEADER_COUNT = 20
MAX_INFLIGHT = 2
MAX_BYTES_ELEMENTS = 8
MAX_PARTS = 2
MAX_DECOMPRESSED = 2000

SLOW_CONFIG = """name: "slow"
platform: "onnxruntime_onnx"
max_batch_size: 0
input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
"""

# Two requests at once, then one every four seconds (Triton-style parameters, see ModelLimits).
RATED_CONFIG = """name: "rated"
platform: "onnxruntime_onnx"
max_batch_size: 0
input [ { name: "x" data_type: TYPE_FP32 dims: [ -1, -1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ -1, -1 ] } ]
parameters { key: "max_requests_per_second" value: { string_value: "0.25" } }
parameters { key: "max_request_burst" value: { string_value: "2" } }
"""


@pytest.fixture(scope="module")
def limits_server(tmp_path_factory, start_server):
    repo = tmp_path_factory.mktemp("limits") / "models"
    model_factory.save(repo, "slow", model_factory.slow(), config=SLOW_CONFIG)
    model_factory.save(repo, "rated", model_factory.identity("FP32"), config=RATED_CONFIG)
    model_factory.save(repo, "identity_fp32", model_factory.identity("FP32"))
    model_factory.save(repo, "identity_bytes", model_factory.identity("BYTES"))
    model_factory.save(repo, IMAGE_MODEL, slow_image_model(steps=1), config=IMAGE_CONFIG)
    srv = start_server(repo, "limits", (
        "--http-header-read-timeout", str(HEADER_TIMEOUT_S), "--http-idle-timeout", str(IDLE_TIMEOUT_S),
        "--http-max-connections", str(MAX_CONNECTIONS), "--http-max-header-size", str(MAX_HEADER_SIZE),
        "--http-max-header-count", str(MAX_HEADER_COUNT), "--model-max-inflight-requests", str(MAX_INFLIGHT),
        "--max-bytes-elements", str(MAX_BYTES_ELEMENTS), "--max-multipart-parts", str(MAX_PARTS),
        "--max-decompressed-size", str(MAX_DECOMPRESSED)))
    yield srv
    srv.stop_and_check()


# -- raw HTTP ------------------------------------------------------------------------------------

def request_bytes(path: str = "/v2/health/live", method: str = "GET", body: bytes = b"", headers: dict | None = None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    if body or method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    """Reads one response (with a Content-Length body) from `sock`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed by the server after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower().decode(): v.strip().decode() for k, _, v in (line.partition(b":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server inside a body")
        body += chunk
    return status, headers, body[:length]


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Waits up to `within` seconds for the server to close `sock` (end of stream or reset)."""
    sock.settimeout(within)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def open_sockets(pid: int) -> int:
    """The sockets the process holds now (a descriptor closed while they are counted is not)."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:
            pass
    return count


# -- timeouts ------------------------------------------------------------------------------------

def test_a_slowloris_client_is_closed_within_the_header_timeout(limits_server):
    head = request_bytes(headers={"X-Slow": "a" * 200})
    sock = connect(limits_server.port)
    sock.settimeout(0.5)
    started = time.monotonic()
    closed_at = None
    answer = b""
    for byte in head[:40]:  # 20 s of bytes: far past the timeout, and never the whole head
        try:
            sock.send(bytes([byte]))
            chunk = sock.recv(65536)
            if not chunk:
                closed_at = time.monotonic() - started
                break
            answer += chunk
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            closed_at = time.monotonic() - started
            break
    sock.close()
    assert closed_at is not None, "the server kept a client sending a header byte every 0.5 s for 20 s"
    assert answer == b"", answer[:200]
    # The header timeout, not the idle timeout (4 s from the connection), closed it.
    assert HEADER_TIMEOUT_S - 0.3 <= closed_at < IDLE_TIMEOUT_S - 0.3, closed_at


def test_a_fast_keep_alive_client_is_not_closed(limits_server):
    """Requests every second on one connection for longer than both timeouts: all answered."""
    sock = connect(limits_server.port)
    started = time.monotonic()
    statuses = []
    while time.monotonic() - started < IDLE_TIMEOUT_S + 2:
        sock.sendall(request_bytes())
        statuses.append(read_response(sock)[0])
        time.sleep(1.0)
    assert statuses == [200] * len(statuses) and len(statuses) >= 5, statuses
    assert not closed_by_server(sock, 0.2)
    sock.close()


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(limits_server):
    sock = connect(limits_server.port)
    sock.sendall(request_bytes())
    assert read_response(sock)[0] == 200
    answered = time.monotonic()
    assert closed_by_server(sock, IDLE_TIMEOUT_S + 3), "an idle connection outlived the idle timeout"
    idle = time.monotonic() - answered
    sock.close()
    assert IDLE_TIMEOUT_S - 0.5 <= idle <= IDLE_TIMEOUT_S + 2.5, idle


# -- connections ---------------------------------------------------------------------------------

def hold_connection(port: int, deadline: float) -> socket.socket:
    """A connection the server counts: answered 200 (retried while the server still counts the
    connections of earlier tests, which it forgets when it sees them close)."""
    while True:
        sock = connect(port)
        sock.sendall(request_bytes())
        status = read_response(sock)[0]
        if status == 200:
            return sock
        sock.close()
        assert time.monotonic() < deadline, f"no connection accepted: {status}"
        time.sleep(0.05)


def test_the_connection_limit_holds_and_frees_up(limits_server):
    port = limits_server.port
    deadline = time.monotonic() + 10
    held = [hold_connection(port, deadline) for _ in range(MAX_CONNECTIONS)]
    try:
        baseline = open_sockets(limits_server.pid)
        for _ in range(12):
            extra = connect(port)
            extra.sendall(request_bytes())
            status, headers, body = read_response(extra)
            assert status == 503, (status, body[:200])
            assert headers.get("connection") == "close" and headers.get("retry-after") == "1", headers
            assert "--http-max-connections" in json.loads(body)["error"], body
            assert closed_by_server(extra, 3), "a refused connection was left open"
            extra.close()
        # The refused connections do not pile up: the server closes its side of every one.
        give_up = time.monotonic() + 5
        while open_sockets(limits_server.pid) > baseline and time.monotonic() < give_up:
            time.sleep(0.1)
        assert open_sockets(limits_server.pid) <= baseline
        # The held ones still work.
        for sock in held:
            sock.sendall(request_bytes())
            assert read_response(sock)[0] == 200
        # Closing two makes room for two.
        for sock in held[:2]:
            sock.close()
        held = held[2:]
        deadline = time.monotonic() + 5
        held += [hold_connection(port, deadline) for _ in range(2)]
        extra = connect(port)
        extra.sendall(request_bytes())
        assert read_response(extra)[0] == 503
        extra.close()
    finally:
        for sock in held:
            sock.close()


def grpc_live(port: int) -> bool:
    """Whether a fresh tritonclient gRPC channel gets an answer to ServerLive."""
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        return client.is_server_live(client_timeout=3.0)
    except InferenceServerException:
        return False
    finally:
        client.close()


def hold_grpc_connection(port: int, deadline: float) -> socket.socket:
    """A connection the server counts: left open (the server sends its HTTP/2 settings and waits);
    retried while the server still counts a client that has just closed."""
    while True:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if not closed_by_server(sock, 0.5):
            return sock
        sock.close()
        assert time.monotonic() < deadline, "no gRPC connection was kept open below the limit"


def test_the_grpc_connection_limit_closes_connections_past_it(tmp_path, start_server):
    repo = tmp_path / "models"
    model_factory.save(repo, "identity_fp32", model_factory.identity("FP32"))
    srv = start_server(repo, "grpc-connections", ("--grpc-max-connections", "2"))
    port = ports_of(srv)["grpc"]
    assert grpc_live(port), "the server did not answer gRPC below its connection limit"
    deadline = time.monotonic() + 10
    held = [hold_grpc_connection(port, deadline) for _ in range(2)]
    try:
        # One past the limit is closed at once, and a gRPC call on it fails.
        extra = socket.create_connection(("127.0.0.1", port), timeout=5)
        assert closed_by_server(extra, 3), "a connection past --grpc-max-connections was left open"
        extra.close()
        assert not grpc_live(port), "a gRPC call past the connection limit was answered"
        # Closing one held connection makes room for a client.
        held.pop().close()
        deadline = time.monotonic() + 10
        while not grpc_live(port):
            assert time.monotonic() < deadline, "no room after a held connection closed"
    finally:
        for sock in held:
            sock.close()


# -- headers -------------------------------------------------------------------------------------

def test_too_many_headers_get_431(limits_server):
    sock = connect(limits_server.port)
    sock.sendall(request_bytes(headers={f"X-Field-{i}": "v" for i in range(MAX_HEADER_COUNT + 5)}))
    status, headers, body = read_response(sock)
    assert status == 431, (status, body[:200])
    assert "--http-max-header-count" in json.loads(body)["error"]
    assert closed_by_server(sock, 4)
    sock.close()


def test_too_large_headers_get_431_and_ordinary_ones_pass(limits_server):
    sock = connect(limits_server.port)
    sock.sendall(request_bytes(headers={"X-Big": "b" * (MAX_HEADER_SIZE + 100)}))
    status, _, body = read_response(sock)
    assert status == 431, (status, body[:200])
    assert "--http-max-header-size" in json.loads(body)["error"]
    sock.close()
    ordinary = {f"X-Field-{i}": "v" * 100 for i in range(MAX_HEADER_COUNT - 8)}
    assert requests.get(limits_server.url + "/v2/health/live", headers=ordinary, timeout=10).status_code == 200


# -- per model: in flight and rate ---------------------------------------------------------------

def in_flight(server, model: str) -> float:
    r = requests.get(f"http://127.0.0.1:{ports_of(server)['metrics']}/metrics", timeout=10)
    r.raise_for_status()
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if sample.name == "swerve_inference_requests_in_flight" and sample.labels.get("model") == model:
                return sample.value
    return 0.0


def slow_infer(server) -> requests.Response:
    body = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.0]}]}
    return requests.post(f"{server.url}/v2/models/slow/infer", json=body, timeout=60)


def grpc_client(server) -> grpcclient.InferenceServerClient:
    return grpcclient.InferenceServerClient(f"127.0.0.1:{ports_of(server)['grpc']}")


def grpc_infer(client, model: str, array: np.ndarray):
    tensor = grpcclient.InferInput("x", list(array.shape), "FP32")
    tensor.set_data_from_numpy(array)
    return client.infer(model, [tensor])


def test_requests_past_the_inflight_limit_get_429_and_resource_exhausted(limits_server):
    client = grpc_client(limits_server)
    assert client.is_server_live()  # connected before the window opens
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(slow_infer(limits_server).status_code))
               for _ in range(MAX_INFLIGHT)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while in_flight(limits_server, "slow") < MAX_INFLIGHT:
            assert time.monotonic() < deadline, "the slow requests never were in flight together"
            time.sleep(0.01)
        refused = slow_infer(limits_server)
        assert refused.status_code == 429, refused.text[:300]
        assert refused.headers.get("Retry-After") == "1"
        assert "--model-max-inflight-requests" in refused.json()["error"]
        with pytest.raises(InferenceServerException) as failure:
            grpc_infer(client, "slow", np.array([1.0], np.float32))
        assert failure.value.status() == "StatusCode.RESOURCE_EXHAUSTED", failure.value
        assert "--model-max-inflight-requests" in failure.value.message()
    finally:
        for thread in threads:
            thread.join()
        client.close()
    assert answers == [200] * MAX_INFLIGHT
    assert slow_infer(limits_server).status_code == 200  # room again


def test_the_rate_limit_gives_429_with_retry_after_and_resource_exhausted(limits_server):
    body = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1.0, 2.0]}]}
    client = grpc_client(limits_server)
    assert client.is_server_live()  # connected before the burst
    statuses = []
    for _ in range(6):  # a burst of 2 (the config's parameter), then refused
        response = requests.post(f"{limits_server.url}/v2/models/rated/infer", json=body, timeout=10)
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    # Two at once; a slow machine may earn a third token meanwhile (one every 4 s).
    assert statuses[-1] == 429 and set(statuses[:-1]) <= {200} and len(statuses) <= 4, statuses
    assert "max_requests_per_second" in response.json()["error"]
    # 0.25 a second: the next token is up to 4 s away.
    assert response.headers.get("Retry-After") in ("1", "2", "3", "4"), response.headers
    with pytest.raises(InferenceServerException) as failure:
        grpc_infer(client, "rated", np.ones((1, 2), np.float32))
    client.close()
    assert failure.value.status() == "StatusCode.RESOURCE_EXHAUSTED", failure.value
    # The other models are not limited by this one's rate.
    other = requests.post(f"{limits_server.url}/v2/models/identity_fp32/infer", json=body, timeout=10)
    assert other.status_code == 200, other.text[:300]


# -- request contents ----------------------------------------------------------------------------

def bytes_body(count: int) -> dict:
    return {"inputs": [{"name": "x", "shape": [1, count], "datatype": "BYTES", "data": [f"s{i}" for i in range(count)]}]}


def test_bytes_elements_past_the_limit_get_400(limits_server):
    url = f"{limits_server.url}/v2/models/identity_bytes/infer"
    refused = requests.post(url, json=bytes_body(MAX_BYTES_ELEMENTS + 1), timeout=10)
    assert refused.status_code == 400, refused.text[:300]
    assert "--max-bytes-elements" in refused.json()["error"]
    accepted = requests.post(url, json=bytes_body(MAX_BYTES_ELEMENTS), timeout=10)
    assert accepted.status_code == 200, accepted.text[:300]


def test_multipart_parts_past_the_limit_get_400(limits_server):
    url = f"http://127.0.0.1:{ports_of(limits_server)['torchserve']}/predictions/{IMAGE_MODEL}"
    image = (IMAGES / "cat.jpg").read_bytes()
    refused = requests.post(url, files=[("data", (f"{i}.jpg", image, "image/jpeg")) for i in range(MAX_PARTS + 1)], timeout=30)
    assert refused.status_code == 400, refused.text[:300]
    assert "--max-multipart-parts" in refused.json()["message"]
    accepted = requests.post(url, files=[("data", (f"{i}.jpg", image, "image/jpeg")) for i in range(MAX_PARTS)], timeout=30)
    assert accepted.status_code == 200, accepted.text[:300]


def test_a_body_inflating_past_the_limit_gets_413(limits_server):
    url = f"{limits_server.url}/v2/models/identity_fp32/infer"
    body = json.dumps({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1.0, 2.0]}]})
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    padded = gzip.compress((body + " " * MAX_DECOMPRESSED).encode())
    assert len(padded) < MAX_DECOMPRESSED
    refused = requests.post(url, data=padded, headers=headers, timeout=10)
    assert refused.status_code == 413, refused.text[:300]
    assert "--max-decompressed-size" in refused.json()["error"]
    accepted = requests.post(url, data=gzip.compress(body.encode()), headers=headers, timeout=10)
    assert accepted.status_code == 200, accepted.text[:300]
