"""Who may change what (issue 19): Triton's `--http-restricted-api` and `--grpc-restricted-protocol`
with the real clients. A restricted category without its header and key gets 403 (HTTP, in the
listener's error format) or PERMISSION_DENIED (gRPC) naming the header and never the key; with
them it runs; other categories stay open. Keys come from the command line, a file
(`file:<path>`) or an environment variable (`env:<NAME>`), and a missing or empty one stops the
start. The TorchServe management API listens on 127.0.0.1 unless told otherwise."""
from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

import model_factory
from support import SwerveServer, onnxruntime_library, ports_of, run_swerve

ADMIN_KEY = "kf-3a9c1e-from-a-file"  # model-repository on HTTP, read from a file
OPS_KEY = "ke-77d0b2-from-env"  # logging and trace on HTTP, model-repository on gRPC, from the environment
USER_KEY = "kl-5e11f4-literal"  # inference (and HTTP health) on the second server, on the command line
X = np.array([[1.0, 2.0, 3.0]], np.float32)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("restricted") / "models"
    for name in ("ident", "second"):
        model_factory.save(repo, name, model_factory.identity("FP32"))
    return repo


@pytest.fixture(scope="module")
def key_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "admin.key"
    path.write_text(ADMIN_KEY + "\n")  # as `echo` leaves it: trimmed when read
    return path


@pytest.fixture(scope="module")
def admin_server(repo, key_file, start_server):
    """Explicit mode; HTTP model-repository needs admin-key (from a file), logging and trace need
    ops-key (from $SWERVE_TEST_OPS_KEY); gRPC model-repository needs
    triton-grpc-protocol-admin-key (from the same variable)."""
    env = dict(os.environ, SWERVE_TEST_OPS_KEY=OPS_KEY)
    srv = start_server(repo, "restricted-admin", (
        "--model-control-mode", "explicit", "--load-model", "ident",
        f"--http-restricted-api=model-repository:admin-key=file:{key_file}",
        "--http-restricted-api=logging,trace:ops-key=env:SWERVE_TEST_OPS_KEY",
        "--grpc-restricted-protocol=model-repository:admin-key=env:SWERVE_TEST_OPS_KEY"), env=env)
    yield srv
    srv.stop_and_check()


@pytest.fixture(scope="module")
def user_server(repo, start_server):
    """inference restricted on both protocols and health on HTTP, with the key on the command
    line; the management API opened to every address."""
    srv = start_server(repo, "restricted-user", (
        f"--http-restricted-api=inference,health:user-key={USER_KEY}",
        f"--grpc-restricted-protocol=inference:user-key={USER_KEY}",
        "--torchserve-management-address", "0.0.0.0"), ready_path="/v2")
    yield srv
    srv.stop_and_check()


def http_input() -> httpclient.InferInput:
    x = httpclient.InferInput("x", list(X.shape), "FP32")
    x.set_data_from_numpy(X, binary_data=True)
    return x


def grpc_input() -> grpcclient.InferInput:
    x = grpcclient.InferInput("x", list(X.shape), "FP32")
    x.set_data_from_numpy(X)
    return x


def assert_refused(error: InferenceServerException, status: str, header: str, *keys: str) -> None:
    assert error.status() == status, (error.status(), error.message())
    assert f"expecting header '{header}'" in error.message(), error.message()
    for key in keys:
        assert key not in error.message()


def test_http_model_repository_needs_the_key_from_the_file(admin_server):
    client = httpclient.InferenceServerClient(admin_server.address)
    try:
        for call in (lambda h: client.load_model("second", headers=h), lambda h: client.unload_model("ident", headers=h),
                     lambda h: client.get_model_repository_index(headers=h)):
            for headers in (None, {"admin-key": "wrong"}, {"admin-key": ADMIN_KEY + "x"}, {"ops-key": OPS_KEY}):
                with pytest.raises(InferenceServerException) as refused:
                    call(headers)
                assert_refused(refused.value, "403", "admin-key", ADMIN_KEY, OPS_KEY)
        assert not client.is_model_ready("second")
        # Inference, metadata and health stay open.
        np.testing.assert_array_equal(client.infer("ident", [http_input()]).as_numpy("y"), X)
        assert client.is_server_ready() and client.get_model_metadata("ident")["name"] == "ident"

        client.load_model("second", headers={"admin-key": ADMIN_KEY})
        assert client.is_model_ready("second")
        np.testing.assert_array_equal(client.infer("second", [http_input()]).as_numpy("y"), X)
        client.unload_model("second", headers={"Admin-Key": ADMIN_KEY})  # header names have no case
        assert not client.is_model_ready("second")
    finally:
        client.close()


def test_http_logging_and_trace_need_the_key_from_the_environment(admin_server):
    client = httpclient.InferenceServerClient(admin_server.address)
    try:
        for call in (client.get_log_settings, client.get_trace_settings):
            with pytest.raises(InferenceServerException) as refused:
                call(headers={"admin-key": ADMIN_KEY})
            assert_refused(refused.value, "403", "ops-key", OPS_KEY)
        assert client.get_log_settings(headers={"ops-key": OPS_KEY})["log_info"] is True
        assert client.get_trace_settings(headers={"ops-key": OPS_KEY})["trace_level"] == ["OFF"]
        # The raw answer: 403 with KServe's {"error": ...}.
        response = requests.post(f"{admin_server.url}/v2/logging", json={"log_verbose_level": 1}, timeout=10)
        assert response.status_code == 403
        assert response.json() == {"error": "This API is restricted, expecting header 'ops-key'"}
    finally:
        client.close()


def test_grpc_model_repository_needs_the_prefixed_header(admin_server):
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{ports_of(admin_server)['grpc']}")
    try:
        for headers in (None, {"admin-key": OPS_KEY}, {"triton-grpc-protocol-admin-key": ADMIN_KEY}):
            with pytest.raises(InferenceServerException) as refused:
                client.load_model("second", headers=headers)
            assert_refused(refused.value, "StatusCode.PERMISSION_DENIED", "triton-grpc-protocol-admin-key", OPS_KEY, ADMIN_KEY)
        with pytest.raises(InferenceServerException) as refused:
            client.get_model_repository_index()
        assert refused.value.status() == "StatusCode.PERMISSION_DENIED"
        # Inference and health stay open, and HTTP's logging key means nothing here.
        np.testing.assert_array_equal(client.infer("ident", [grpc_input()]).as_numpy("y"), X)
        assert client.is_server_live() and client.get_log_settings(as_json=True)["settings"]

        headers = {"triton-grpc-protocol-admin-key": OPS_KEY}
        client.load_model("second", headers=headers)
        assert client.is_model_ready("second")
        client.unload_model("second", headers=headers)
        assert not client.is_model_ready("second")
    finally:
        client.close()


def test_torchserve_management_is_model_repository(admin_server):
    management = f"http://127.0.0.1:{ports_of(admin_server)['torchserve-management']}"
    for method, path in (("POST", "/models?url=second"), ("GET", "/models"), ("DELETE", "/models/ident")):
        response = requests.request(method, management + path, timeout=10)
        assert response.status_code == 403, response.text
        assert response.json() == {"code": 403, "type": "InvalidKeyException",
                                   "message": "This API is restricted, expecting header 'admin-key'"}
    headers = {"admin-key": ADMIN_KEY}
    registered = requests.post(management + "/models?url=second", headers=headers, timeout=60)
    assert registered.status_code == 200, registered.text
    assert requests.get(f"{admin_server.url}/v2/models/second/ready", timeout=10).status_code == 200
    unregistered = requests.delete(management + "/models/second", headers=headers, timeout=60)
    assert unregistered.status_code == 200, unregistered.text
    assert requests.get(f"{admin_server.url}/v2/models/second/ready", timeout=10).status_code != 200


def test_startup_log_names_categories_and_headers_never_keys(admin_server, key_file):
    log = admin_server.log_text()
    assert (f"HTTP restricted APIs: model-repository need header 'admin-key' (key read from file {key_file}); "
            "logging,trace need header 'ops-key' (key read from $SWERVE_TEST_OPS_KEY)") in log, log
    assert ("gRPC restricted protocols: model-repository need header 'triton-grpc-protocol-admin-key' "
            "(key read from $SWERVE_TEST_OPS_KEY)") in log, log
    assert ADMIN_KEY not in log and OPS_KEY not in log
    # Neither key is on the command line that ps shows.
    cmdline = Path(f"/proc/{admin_server.pid}/cmdline").read_bytes().decode()
    assert ADMIN_KEY not in cmdline and OPS_KEY not in cmdline


def test_restricted_inference_refuses_every_inference_api(user_server):
    ports = ports_of(user_server)
    http = httpclient.InferenceServerClient(user_server.address)
    grpc = grpcclient.InferenceServerClient(f"127.0.0.1:{ports['grpc']}")
    try:
        with pytest.raises(InferenceServerException) as refused:
            http.infer("ident", [http_input()], headers={"user-key": "nope"})
        assert_refused(refused.value, "403", "user-key", USER_KEY)
        with pytest.raises(InferenceServerException) as refused:
            grpc.infer("ident", [grpc_input()])
        assert_refused(refused.value, "StatusCode.PERMISSION_DENIED", "triton-grpc-protocol-user-key", USER_KEY)
        # TorchServe's /predictions and TF Serving's :predict are inference too, each in its format.
        predictions = requests.post(f"http://127.0.0.1:{ports['torchserve']}/predictions/ident", data=b"x", timeout=10)
        assert predictions.status_code == 403 and predictions.json()["type"] == "InvalidKeyException", predictions.text
        predict = requests.post(f"http://127.0.0.1:{ports['tfserving']}/v1/models/ident:predict",
                                json={"instances": [[1.0, 2.0, 3.0]]}, timeout=10)
        assert predict.status_code == 403
        assert predict.json() == {"error": "This API is restricted, expecting header 'user-key'"}

        np.testing.assert_array_equal(http.infer("ident", [http_input()], headers={"user-key": USER_KEY}).as_numpy("y"), X)
        np.testing.assert_array_equal(
            grpc.infer("ident", [grpc_input()], headers={"triton-grpc-protocol-user-key": USER_KEY}).as_numpy("y"), X)
        predict = requests.post(f"http://127.0.0.1:{ports['tfserving']}/v1/models/ident:predict",
                                json={"instances": [[1.0, 2.0, 3.0]]}, headers={"user-key": USER_KEY}, timeout=10)
        assert predict.status_code == 200 and predict.json() == {"predictions": [[1.0, 2.0, 3.0]]}

        # Restricted HTTP health covers liveness too (no fast path around the key); gRPC health
        # is not restricted on this server, and metadata is open on both.
        for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/ident/ready"):
            assert requests.get(user_server.url + path, timeout=10).status_code == 403, path
            assert requests.get(user_server.url + path, headers={"user-key": USER_KEY}, timeout=10).status_code == 200, path
        assert requests.get(f"http://127.0.0.1:{ports['torchserve']}/ping", timeout=10).status_code == 403
        assert grpc.is_server_live() and grpc.get_model_metadata("ident").name == "ident"
        assert http.get_model_metadata("ident")["name"] == "ident"
        # /metrics is never restricted, as in Triton.
        assert requests.get(f"http://127.0.0.1:{ports['metrics']}/metrics", timeout=10).status_code == 200
    finally:
        http.close()
        grpc.close()


def listening_addresses(pid: int) -> dict[int, set[str]]:
    """Port -> addresses the process listens on, from /proc/<pid>/net/tcp{,6} and its socket fds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found: dict[int, set[str]] = {}
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address, port = local.split(":")
            if table == "tcp":
                ip = socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1])
            else:
                raw = bytes.fromhex(address)
                ip = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
            found.setdefault(int(port, 16), set()).add(ip)
    return found


def non_loopback_ipv4() -> str | None:
    """An address of this machine that is not loopback, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


class DefaultManagementAddressServer(SwerveServer):
    """A server whose command line leaves out --torchserve-management-address (the test support
    gives every listener 127.0.0.1), so the default applies."""

    def command(self) -> list[str]:
        cmd = super().command()
        index = cmd.index("--torchserve-management-address")
        return cmd[:index] + cmd[index + 2:]


def test_management_api_listens_on_loopback_by_default(repo, user_server, logs):
    srv = DefaultManagementAddressServer(repo, logs / "restricted-default-address.log").start()
    try:
        management = ports_of(srv)["torchserve-management"]
        assert "--torchserve-management-address" not in Path(f"/proc/{srv.pid}/cmdline").read_bytes().decode()
        assert listening_addresses(srv.pid)[management] == {"127.0.0.1"}
        # SwiftNIO writes the address as [IPv4]127.0.0.1/127.0.0.1:<port>.
        assert re.search(rf"TorchServe management API listening on \S*127\.0\.0\.1:{management}\b", srv.log_text())
        assert requests.get(f"http://127.0.0.1:{management}/models", timeout=10).status_code == 200
        opened = ports_of(user_server)["torchserve-management"]
        assert listening_addresses(user_server.pid)[opened] == {"0.0.0.0"}
        address = non_loopback_ipv4()
        if address is not None:
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((address, management), timeout=5).close()
            socket.create_connection((address, opened), timeout=5).close()
    finally:
        srv.stop_and_check()


@pytest.mark.parametrize("flag, expected_status, expected", [
    ("--http-restricted-api=model-repository,health:k1=v1 --http-restricted-api=metadata,health:k2=v2", 64,
     "restricted api 'health' can not be specified in multiple config groups"),
    ("--grpc-restricted-protocol=model-reposit:k1=v1", 64, "unknown restricted protocol 'model-reposit'"),
    ("--http-restricted-api=model-repository:admin-key=", 64, "the key is empty"),
    ("--http-restricted-api=model-repository:admin-key=file:/no/such/swerve.key", 1,
     "cannot open the key file /no/such/swerve.key: No such file or directory"),
    ("--grpc-restricted-protocol=inference:k=env:SWERVE_TEST_UNSET_KEY", 1,
     "the environment variable SWERVE_TEST_UNSET_KEY that should hold the key is not set"),
    ("--http-restricted-api=inference:k=env:SWERVE_TEST_EMPTY_KEY", 1,
     "the environment variable SWERVE_TEST_EMPTY_KEY that should hold the key is empty"),
])
def test_bad_restrictions_stop_the_start(repo, flag, expected_status, expected):
    env = {k: v for k, v in os.environ.items() if k != "SWERVE_TEST_UNSET_KEY"}
    env["SWERVE_TEST_EMPTY_KEY"] = " \n"
    result = run_swerve("serve", "--model-repository", str(repo), "--http-port", "0", "--grpc-port", "0",
                        "--metrics-port", "0", "--torchserve-port", "0", "--torchserve-management-port", "0",
                        "--tfserving-port", "0", "--onnxruntime-lib", str(onnxruntime_library()), *flag.split(), env=env,
                        timeout=30)
    assert result.returncode == expected_status, result.stderr
    assert expected in result.stderr, result.stderr
