"""Triton's command line, as KServe's Triton runtime and ModelMesh's adapter pass it (issue 17's
first step): `--model-store=...`, `--allow-http/--allow-grpc`, `--model-control-mode=explicit` with
KServe's agent loading and unloading over HTTP; ModelMesh's `--strict-model-config=false
--strict-readiness=false --allow-sagemaker=false`; Triton features Swerve lacks refused by name;
`--strict-readiness` as Triton reads it; default ports that yield to a port given to another
listener (KServe runs Triton with --http-port=8080, the TorchServe-style API's default)."""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

import many_models as mm
from support import SwerveServer, free_port, onnxruntime_library, swerve_binary


class TritonStyleServer(SwerveServer):
    """A server started with KServe's Triton arguments, spelled as KServe spells them; the other
    listeners get free ports (their defaults are fixed ports another server may hold)."""

    def __init__(self, repository: Path, log_path: Path, extra_args: tuple[str, ...] = (), allow_http: bool = True):
        super().__init__(repository, log_path, extra_args,
                         ready_path="/v2/health/ready" if allow_http else "/v2/health/live")
        self.allow_http = allow_http
        self.grpc_port = free_port()
        self.metrics_port = free_port()

    def command(self) -> list[str]:
        return [str(swerve_binary()), "serve", f"--model-store={self.repository}", f"--grpc-port={self.grpc_port}",
                f"--http-port={self.port}", "--allow-grpc=true", f"--allow-http={str(self.allow_http).lower()}",
                "--http-address=127.0.0.1", "--grpc-address=127.0.0.1", f"--metrics-port={self.metrics_port}",
                "--torchserve-port=0", "--torchserve-management-port=0", "--tfserving-port=0",
                f"--onnxruntime-lib={onnxruntime_library()}", *self.extra_args]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> mm.Models:
    return mm.generate(tmp_path_factory.mktemp("triton-flags") / "models", "dense", 2, seed=51)


def infer_http(client: httpclient.InferenceServerClient, models: mm.Models, i: int) -> None:
    x = httpclient.InferInput(mm.INPUT, [1, mm.WIDTH], "FP32")
    x.set_data_from_numpy(models.inputs[i, 0][None], binary_data=True)
    got = client.infer(models.names[i], [x]).as_numpy(mm.OUTPUT)
    np.testing.assert_allclose(got[0], models.expected[i, 0], rtol=1e-5, atol=1e-6)


def test_kserve_triton_arguments_start_the_server_and_the_agent_loads_and_unloads(tiny, logs):
    """`--model-store=... --grpc-port=... --http-port=... --allow-grpc=true --allow-http=true
    --model-control-mode=explicit`: nothing loaded at start; the agent's load and unload calls on
    the HTTP port work; gRPC answers on its port."""
    srv = TritonStyleServer(tiny.root, logs / "triton-kserve.log", ("--model-control-mode=explicit",)).start()
    try:
        client = httpclient.InferenceServerClient(f"127.0.0.1:{srv.port}")
        name = tiny.names[0]
        assert not client.is_model_ready(name)
        client.load_model(name)
        assert client.is_model_ready(name)
        infer_http(client, tiny, 0)
        client.unload_model(name)
        assert mm.wait_for(lambda: not client.is_model_ready(name), timeout=10)
        grpc = grpcclient.InferenceServerClient(f"127.0.0.1:{srv.grpc_port}")
        assert grpc.is_server_ready()
        grpc.close()
    finally:
        srv.stop_and_check()


def test_modelmesh_arguments_are_accepted(tiny, logs):
    srv = TritonStyleServer(tiny.root, logs / "triton-modelmesh.log",
                            ("--strict-model-config=false", "--strict-readiness=false", "--allow-sagemaker=false",
                             "--allow-vertex-ai=false", "--log-verbose=1")).start()
    try:
        infer_http(httpclient.InferenceServerClient(f"127.0.0.1:{srv.port}"), tiny, 1)
        assert "debug" in srv.log_text().lower(), "--log-verbose=1 logs at debug"
    finally:
        srv.stop_and_check()


@pytest.mark.parametrize("flag", ["--strict-model-config=true", "--allow-sagemaker=true", "--allow-vertex-ai=true"])
def test_triton_features_swerve_lacks_are_refused_by_name(tiny, flag):
    result = subprocess.run([str(swerve_binary()), "serve", f"--model-store={tiny.root}", flag],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 64, result
    assert flag.split("=")[0] in result.stderr and "not supported" in result.stderr, result.stderr


def test_allow_http_false_serves_grpc_only(tiny, logs):
    srv = TritonStyleServer(tiny.root, logs / "triton-nohttp.log", allow_http=False)
    # No HTTP endpoint to poll: start it here and wait for gRPC instead.
    srv.port = free_port()
    srv.process = subprocess.Popen(srv.command(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        grpc = grpcclient.InferenceServerClient(f"127.0.0.1:{srv.grpc_port}")
        assert mm.wait_for(lambda: _grpc_ready(grpc), timeout=30), "gRPC never became ready"
        assert grpc.is_model_ready(tiny.names[0])
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{srv.port}/v2/health/live", timeout=5)
        grpc.close()
    finally:
        srv.stop()


def _grpc_ready(client) -> bool:
    try:
        return client.is_server_ready()
    except Exception:  # noqa: BLE001 - not listening yet
        return False


def test_strict_readiness_true_waits_for_every_model(tiny, tmp_path, logs):
    """Triton's --strict-readiness=true: a model that failed keeps /v2/health/ready at 503; without
    the flag Swerve is ready once every model has been tried."""
    repo = tmp_path / "models"
    mm.link_models(tiny, repo)
    (repo / "broken" / "1").mkdir(parents=True)
    (repo / "broken" / "1" / "model.onnx").write_bytes(b"not a model")
    strict = SwerveServer(repo, logs / "strict-readiness.log", ("--strict-readiness=true",), ready_path="/v2/health/live").start()
    relaxed = SwerveServer(repo, logs / "default-readiness.log").start()
    try:
        assert mm.wait_for(lambda: "failed to load model 'broken'" in strict.log_text(), timeout=30)
        assert requests.get(f"{strict.url}/v2/health/ready", timeout=5).status_code == 503
        assert requests.get(f"{relaxed.url}/v2/health/ready", timeout=5).status_code == 200
    finally:
        strict.stop_and_check()
        relaxed.stop_and_check()


def test_default_ports_yield_to_a_port_given_to_another_listener(tiny, logs):
    """KServe's --http-port=8080 takes the TorchServe-style API's default port: that API is then
    off (and says so) instead of the server failing to start."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 8080))
        except OSError:
            pytest.skip("port 8080 is held by another process on this machine")
    log = logs / "triton-8080.log"
    cmd = [str(swerve_binary()), "serve", f"--model-store={tiny.root}", "--http-port=8080", "--http-address=127.0.0.1",
           f"--grpc-port={free_port()}", "--grpc-address=127.0.0.1", f"--metrics-port={free_port()}",
           f"--torchserve-management-port={free_port()}", f"--tfserving-port={free_port()}",
           f"--onnxruntime-lib={onnxruntime_library()}"]
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        assert mm.wait_for(lambda: mm.url_ok("http://127.0.0.1:8080/v2/health/ready"), timeout=30), log.read_text()
        assert "--torchserve-port (its default 8080 is taken): turned off" in log.read_text()
        assert requests.get("http://127.0.0.1:8080/v2", timeout=5).json()["name"] == "swerve"
    finally:
        process.terminate()
        assert process.wait(30) == 0


@pytest.mark.parametrize("mode", ["none", "lazy"])
def test_a_bare_model_file_is_served_under_the_default_model_name(tiny, tmp_path, logs, mode):
    """KServe's storage initializer leaves a single /mnt/models/model.onnx: with
    --default-model-name it is that model's version 1, answered correctly, and nothing is written
    into the folder."""
    import shutil
    mnt = tmp_path / "mnt-models"
    mnt.mkdir()
    shutil.copyfile(tiny.path(0), mnt / "model.onnx")
    srv = SwerveServer(mnt, logs / f"bare-{mode}.log", ("--default-model-name", "kserve-model", "--model-control-mode", mode)).start()
    try:
        renamed = mm.Models(mnt, ["kserve-model"], tiny.hidden[:1], tiny.file_bytes[:1], tiny.inputs[:1], tiny.expected[:1])
        infer_http(httpclient.InferenceServerClient(f"127.0.0.1:{srv.port}"), renamed, 0)
        rows = {r["name"]: r for r in mm.repository_index(srv.port)}
        assert rows["kserve-model"]["state"] == "READY" and rows["kserve-model"]["version"] == "1", rows
        assert sorted(p.name for p in mnt.iterdir()) == ["model.onnx"], "something was written into the model folder"
    finally:
        srv.stop_and_check()


def test_a_default_model_name_that_is_not_a_folder_name_is_refused(tiny):
    result = subprocess.run([str(swerve_binary()), "serve", f"--model-store={tiny.root}", "--default-model-name", "../x"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 64 and "--default-model-name" in result.stderr, result
