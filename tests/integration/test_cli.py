"""The command line: help texts, finding ONNX Runtime, and a clear failure when it is missing."""
from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest
import requests

from support import SwerveServer, extra_listener_args, free_port, run_swerve, serve_help

EX_USAGE = 64  # sysexits.h: the command was used incorrectly (swift-argument-parser's validation errors)
EXIT_FAILURE = 1  # a right command line that cannot start (a port in use, no ONNX Runtime): no usage text
SERVE_FLAGS = ["--model-repository", "--http-port", "--http-address", "--log-level", "--onnxruntime-lib",
               "--intra-op-threads", "--max-request-size"]


def test_top_level_help_names_the_subcommands_and_every_flag():
    result = run_swerve("--help")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for word in ("serve", "check", *SERVE_FLAGS):
        assert word in output, f"{word} missing from `swerve --help`:\n{output}"


def test_serve_help_names_every_flag():
    result = run_swerve("serve", "--help")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for flag in SERVE_FLAGS:
        assert flag in output, f"{flag} missing from `swerve serve --help`:\n{output}"


def test_check_help_names_the_repository_flag():
    result = run_swerve("check", "--help")
    assert result.returncode == 0
    assert "--model-repository" in result.stdout + result.stderr


def test_unknown_flag_is_refused(repos):
    result = run_swerve("serve", "--model-repository", str(repos["example"]), "--no-such-flag")
    assert result.returncode == EX_USAGE, result.returncode
    assert "no-such-flag" in result.stdout + result.stderr


def test_serve_finds_onnxruntime_in_the_project_venv_without_being_told(repos, logs):
    env = {k: v for k, v in os.environ.items() if k != "SWERVE_ONNXRUNTIME_LIB"}
    server = SwerveServer(repos["example"], logs / "default-ort.log", onnxruntime_lib=False, env=env)
    try:
        server.start()
        assert requests.get(server.url + "/v2/models/dense_tiny/ready", timeout=5).status_code == 200
    finally:
        if server.process is not None:
            server.stop_and_check()


def serve_expecting_exit(*args: str, listeners: bool = True) -> subprocess.CompletedProcess:
    """Runs `swerve serve ARGS` that should refuse to start; fails if it keeps serving instead.
    Adds free ports for the other listeners unless `listeners` is False."""
    try:
        return run_swerve("serve", *args, *(extra_listener_args() if listeners else []), timeout=20)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"swerve serve {' '.join(args)} kept running instead of exiting: {error.stderr!r:.1000}")


def test_a_missing_onnxruntime_library_is_a_clear_error(repos):
    missing = "/nonexistent/dir/libonnxruntime.so.1.32.0"
    result = serve_expecting_exit("--model-repository", str(repos["example"]), "--http-port", str(free_port()),
                                  "--http-address", "127.0.0.1", "--onnxruntime-lib", missing)
    output = result.stdout + result.stderr
    assert "Usage:" not in output and "USAGE:" not in output, output[-2000:]
    assert result.returncode == EXIT_FAILURE, (result.returncode, output[-2000:])
    assert missing in output, f"the error should name the path it tried:\n{output[-2000:]}"


@pytest.mark.parametrize("args", [["--intra-op-threads", "-2"], ["--http-port", "70000"],
                                  ["--max-request-size", "-1"], ["--log-level", "shouting"]])
def test_invalid_flag_values_are_refused(repos, args):
    port = [] if "--http-port" in args else ["--http-port", str(free_port())]
    result = serve_expecting_exit("--model-repository", str(repos["example"]), "--http-address", "127.0.0.1",
                                  *port, *args)
    assert result.returncode == EX_USAGE, (result.returncode, (result.stdout + result.stderr)[-2000:])


@pytest.mark.parametrize("listener", ["--http-port", "--metrics-port", "--grpc-port"])
def test_a_port_in_use_is_a_clear_error_not_a_crash(repos, listener):
    if listener not in serve_help():
        pytest.skip(f"this swerve has no {listener}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["--model-repository", str(repos["example"]), "--http-address", "127.0.0.1"]
        others = extra_listener_args()
        if listener == "--http-port":
            args += ["--http-port", str(port), *others]
        else:
            index = others.index(listener)
            others[index + 1] = str(port)
            args += ["--http-port", str(free_port()), *others]
        result = serve_expecting_exit(*args, listeners=False)
    output = result.stdout + result.stderr
    assert "Usage:" not in output and "USAGE:" not in output, output[-2000:]
    assert result.returncode == EXIT_FAILURE, f"exit {result.returncode}:\n{output[-2000:]}"
    assert "Fatal error" not in output and "crashed" not in output, output[-3000:]
    assert str(port) in output and "in use" in output.lower(), output[-2000:]


def test_a_port_in_use_is_refused_before_any_model_loads(repos):
    # 60 models take a while to load: the port clash must be reported first, not after loading.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        began = time.monotonic()
        result = serve_expecting_exit("--model-repository", str(repos["many"]), "--http-address", "127.0.0.1",
                                      "--http-port", str(port))
        took = time.monotonic() - began
    output = result.stdout + result.stderr
    assert "Usage:" not in output and "USAGE:" not in output, output[-2000:]
    assert result.returncode == EXIT_FAILURE, f"exit {result.returncode}:\n{output[-2000:]}"
    assert str(port) in output and "in use" in output.lower(), output[-2000:]
    assert "loaded model" not in output, f"models were loaded before the port clash was noticed:\n{output[-2000:]}"
    assert took < 10, f"took {took:.1f} s to report a port in use"


@pytest.mark.parametrize("path", ["/nonexistent", "/nonexistent/libonnxruntime.so"])
def test_an_explicit_onnxruntime_path_that_does_not_exist_is_final(repos, path):
    # An explicit --onnxruntime-lib is not a hint: no falling back to the .venv's library.
    result = serve_expecting_exit("--model-repository", str(repos["example"]), "--http-port", str(free_port()),
                                  "--http-address", "127.0.0.1", "--onnxruntime-lib", path)
    output = result.stdout + result.stderr
    assert "Usage:" not in output and "USAGE:" not in output, output[-2000:]
    assert result.returncode == EXIT_FAILURE, (result.returncode, output[-2000:])
    assert path in output, f"the error should name {path}:\n{output[-2000:]}"


def test_serving_writes_nothing_into_home(repos, logs, tmp_path):
    """ONNX Runtime 1.32 keeps telemetry (a device id, an event database) under
    ~/.cache/Microsoft unless told not to: a server run with an empty HOME, answering a request,
    leaves that HOME empty."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    server = SwerveServer(repos["example"], logs / "home.log", env=env).start()
    try:
        r = requests.post(f"{server.url}/v2/models/dense_tiny/infer", json={"inputs": [
            {"name": "x", "datatype": "FP32", "shape": [1, 16], "data": [0.5] * 16}]}, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        server.stop_and_check()
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert written == [], f"the server wrote into HOME: {written}"
