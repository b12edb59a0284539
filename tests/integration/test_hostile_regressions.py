"""The exact requests that killed or harmed the server in an attack run: each now gets a 4xx in the
protocol's error format, the process lives, and nothing is written outside the folder Swerve made."""
from __future__ import annotations

import base64
import json
import os
import socket

import pytest
import requests

from support import ports_of


@pytest.fixture(scope="module")
def tmpdir_for_server(tmp_path_factory):
    return tmp_path_factory.mktemp("server-tmp")


@pytest.fixture(scope="module")
def explicit_server(repos, start_server, tmpdir_for_server):
    """All models loaded, repository API on (explicit mode), its own TMPDIR to watch uploads in."""
    srv = start_server(repos["main"], "hostile-regressions",
                       ("--model-control-mode", "explicit", "--load-model", "*"),
                       env={**os.environ, "TMPDIR": str(tmpdir_for_server) + "/"})
    yield srv
    srv.stop_and_check()


@pytest.fixture(scope="module")
def classifier_server(classifier_repo, start_server):
    srv = start_server(classifier_repo, "hostile-regressions-classifier")
    yield srv
    srv.stop_and_check()


def test_overflowing_torchserve_batch_delay_is_400_naming_its_range(explicit_server):
    management = f"http://127.0.0.1:{ports_of(explicit_server)['torchserve-management']}"
    assert requests.delete(f"{management}/models/mul_1", timeout=30).status_code == 200
    r = requests.post(f"{management}/models?url=mul_1&max_batch_delay=9223372036854775807", timeout=30)
    assert r.status_code == 400, r.text[:300]
    assert "max_batch_delay" in r.json()["message"] and "3600000" in r.json()["message"], r.text
    for query in ("initial_workers=99999999999999999999", "batch_size=-1", "batch_size=2147483648",
                  "initial_workers=65", "max_batch_delay=-5"):
        r = requests.post(f"{management}/models?url=mul_1&{query}", timeout=30)
        assert r.status_code == 400 and r.json()["type"] == "BadRequestException", (query, r.text[:300])
    assert explicit_server.alive()
    r = requests.post(f"{management}/models?url=mul_1&initial_workers=1", timeout=60)
    assert r.status_code == 200, r.text[:300]


@pytest.mark.parametrize("depth", [512, 513, 514, 5000])
@pytest.mark.parametrize("path", ["/v2/models/simple/infer", "/v2/repository/index", "/v2/logging",
                                  "/v2/repository/models/simple/load"])
def test_deeply_nested_json_is_400(explicit_server, path, depth):
    r = requests.post(explicit_server.url + path, data=b"[" * depth, timeout=30,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"], r.text[:300]
    assert explicit_server.alive()


def test_deeply_nested_json_on_tf_serving_and_in_a_config_override(explicit_server):
    tf = f"http://127.0.0.1:{ports_of(explicit_server)['tfserving']}"
    r = requests.post(f"{tf}/v1/models/dense_tiny:predict", data=b"[" * 513, timeout=30)
    assert r.status_code == 400 and r.json()["error"], r.text[:300]
    r = requests.post(explicit_server.url + "/v2/repository/models/simple/load", timeout=30,
                      json={"parameters": {"config": "[" * 513}})
    assert r.status_code == 400 and r.json()["error"], r.text[:300]
    assert explicit_server.alive()


@pytest.mark.parametrize("config", [
    {"model_warmup": [{"name": "w", "batch_size": 1, "count": 1,
                       "inputs": {"INPUT0": {"data_type": "TYPE_INT32", "dims": [9223372036854775807, 16], "zero_data": True}}}]},
    {"model_warmup": [{"name": "w", "batch_size": 1, "count": 1,
                       "inputs": {"INPUT0": {"data_type": "TYPE_INT32", "dims": [-5], "zero_data": True}}}]},
    {"model_warmup": [{"name": "w", "batch_size": 1, "count": 4000000000,
                       "inputs": {"INPUT0": {"data_type": "TYPE_INT32", "dims": [16], "zero_data": True}}}]},
    {"instance_group": [{"count": 64, "kind": "KIND_CPU"}, {"count": 64, "kind": "KIND_CPU"}]},
    {"dynamic_batching": {"preferred_batch_size": [-1]}},
    {"max_batch_size": 8, "dynamic_batching": {"preferred_batch_size": [9]}},
    {"default_model_filename": "../../../../etc/passwd"},
    {"output": [{"name": "OUTPUT0", "label_filename": "../../../../etc/passwd"}]},
])
def test_absurd_config_overrides_fail_the_load_with_400(explicit_server, config):
    r = requests.post(explicit_server.url + "/v2/repository/models/simple/load", timeout=60,
                      json={"parameters": {"config": json.dumps(config)}})
    assert r.status_code == 400 and r.json()["error"], r.text[:300]
    assert explicit_server.alive()
    r = requests.post(explicit_server.url + "/v2/repository/models/simple/load", timeout=60)
    assert r.status_code == 200, r.text[:300]


def test_multipart_part_header_with_a_non_ascii_byte_is_400(classifier_server):
    port = ports_of(classifier_server)["torchserve"]
    r = requests.post(f"http://127.0.0.1:{port}/predictions/efficientnet_lite0", timeout=30,
                      data=b"--B\r\nX\xff: v\r\n\r\nx\r\n--B--\r\n",
                      headers={"Content-Type": "multipart/form-data; boundary=B"})
    assert r.status_code == 400 and r.json()["type"] == "BadRequestException", r.text[:300]
    assert classifier_server.alive()


def raw_post(port: int, path: bytes, body: bytes) -> tuple[int, bytes]:
    """POSTs with the path sent as it is (no dot-segment removal, as `curl --path-as-is`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (path, len(body), body))
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, answer = received.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), answer


def files_under(folder) -> set[str]:
    return {os.path.relpath(os.path.join(root, name), folder)
            for root, dirs, names in os.walk(folder) for name in names + dirs}


@pytest.mark.parametrize("path,file_key", [
    (b"/v2/repository/models/../load", "file:pwned.txt"),
    (b"/v2/repository/models/%2e%2e/load", "file:1/model.onnx"),
    (b"/v2/repository/models/simple/load", "file:../../pwned.txt"),
    (b"/v2/repository/models/simple/load", "file:/tmp/pwned.txt"),
    (b"/v2/repository/models/simple/load", "file:1/../../pwned.txt"),
])
def test_uploads_cannot_write_outside_their_folder(explicit_server, tmpdir_for_server, path, file_key):
    before = files_under(tmpdir_for_server)
    body = json.dumps({"parameters": {"config": "{}", file_key: base64.b64encode(b"hi").decode()}}).encode()
    status, answer = raw_post(explicit_server.port, path, body)
    # A load that fails is a 400 with the reason (Triton's repository extension).
    assert status == 400 and json.loads(answer)["error"], (status, answer[:300])
    assert files_under(tmpdir_for_server) == before, "a refused upload changed the server's temporary folder"
    assert not os.path.exists("/tmp/pwned.txt")
    assert explicit_server.alive()


def test_failed_uploads_leave_no_folder_behind(explicit_server, tmpdir_for_server):
    before = files_under(tmpdir_for_server)
    garbage = base64.b64encode(os.urandom(1 << 20)).decode()
    for parameters in ({"file:1/model.onnx": garbage},  # not a model: the load fails
                       {"file:model.onnx": garbage},  # no version folder
                       {"file:1/model.onnx": garbage, "file:1/model.onnx/x": "aGk="}):  # a file and a folder
        for _ in range(5):
            r = requests.post(explicit_server.url + "/v2/repository/models/uploaded/load", timeout=60,
                              json={"parameters": {"config": "{}", **parameters}})
            assert r.status_code == 400 and r.json()["error"], r.text[:300]
    assert files_under(tmpdir_for_server) == before, "failed uploads left folders in the temporary folder"


@pytest.mark.parametrize("timeout", [b"-1S", b"-9999999", b"-0n", b"-5m"])
def test_a_negative_grpc_timeout_ends_the_call_not_the_server(explicit_server, timeout):
    """grpc-swift asserted on a negative grpc-timeout and stopped the process; now the call is
    read as already past its deadline and ends, and the server keeps serving."""
    import numpy as np
    import tritonclient.grpc as grpcclient
    from attack.h2_transport import DATA, END_HEADERS, END_STREAM, HEADERS, connection_start, exchange, frame, \
        grpc_headers, grpc_message, hpack

    port = ports_of(explicit_server)["grpc"]
    headers = grpc_headers(b"/inference.GRPCInferenceService/ModelInfer", [(b"grpc-timeout", timeout)])
    data = (connection_start() + frame(HEADERS, END_HEADERS, 1, hpack(headers))
            + frame(DATA, END_STREAM, 1, grpc_message(b"\x0a\x06simple")))
    answer = exchange(port, data, half_close=False, timeout=10)
    assert answer.ending in ("stream ended", "RST_STREAM"), answer.summary()
    assert explicit_server.alive(), explicit_server.log_tail()
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{port}")
    a = np.arange(16, dtype=np.int32).reshape(1, 16)
    inputs = [grpcclient.InferInput("INPUT0", [1, 16], "INT32"), grpcclient.InferInput("INPUT1", [1, 16], "INT32")]
    inputs[0].set_data_from_numpy(a)
    inputs[1].set_data_from_numpy(a)
    assert (client.infer("simple", inputs).as_numpy("OUTPUT0") == 2 * a).all()
