"""Helpers for the integration tests: starting and stopping the real `swerve` binary, raw HTTP,
sample inputs for the test models, the statistics extension, perf_analyzer, and reference answers
from Python's onnxruntime."""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import requests

import model_factory

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def swerve_binary() -> Path:
    """The binary under test: $SWERVE_BIN, else the debug build in the project."""
    return Path(os.environ.get("SWERVE_BIN", PROJECT_ROOT / ".build" / "debug" / "swerve"))


def onnxruntime_library() -> Path:
    """The libonnxruntime that Python's onnxruntime (the reference) uses, so both run the same code."""
    capi = Path(onnxruntime.__file__).parent / "capi"
    candidates = sorted(capi.glob("libonnxruntime.so*"))
    assert candidates, f"no libonnxruntime.so in {capi}"
    return candidates[0]


def free_port() -> int:
    """A port that was free a moment ago (bind port 0 and let the kernel pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@functools.lru_cache(maxsize=1)
def serve_help() -> str:
    result = subprocess.run([str(swerve_binary()), "serve", "--help"], capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


def extra_listener_args() -> list[str]:
    """A free port (on 127.0.0.1) for every listener of `swerve serve` besides KServe HTTP, as its
    help lists them (gRPC, metrics, TF Serving, …): their defaults are fixed ports, so two servers,
    or a server beside the tests, would collide."""
    help_text = serve_help()
    args = []
    for flag in sorted(set(re.findall(r"(--[a-z][a-z-]*)-port\b", help_text)) - {"--http"}):
        args += [f"{flag}-port", str(free_port())]
        if f"{flag}-address" in help_text:
            args += [f"{flag}-address", "127.0.0.1"]
    return args


def ports_of(server: "SwerveServer") -> dict[str, int]:
    """The port of every listener ("http", "grpc", "tfserving", "torchserve", …), read back from
    the server's command line (extra_listener_args picks them)."""
    args = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
    args = [a.decode() for a in args if a]
    return {flag[2:-5]: int(args[i + 1]) for i, flag in enumerate(args)
            if flag.startswith("--") and flag.endswith("-port")}


def wait_until_settled(read, key, timeout: float, what: str = "statistics of 'slow'"):
    """Calls `read()` every 0.5 s until `key(reading)` has not changed for 2 s (longer than one
    execution of the slow test model) and returns that reading."""
    deadline = time.monotonic() + timeout
    previous, unchanged = None, 0
    while time.monotonic() < deadline:
        reading = read()
        current = key(reading)
        unchanged = unchanged + 1 if current == previous else 0
        if unchanged == 4:
            return reading
        previous = current
        time.sleep(0.5)
    raise AssertionError(f"{what} still changing after {timeout} s")


def run_swerve(*args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs `swerve ARGS…` to completion and returns its exit status and output."""
    return subprocess.run([str(swerve_binary()), *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


class SwerveServer:
    """One `swerve serve` process on a free port of 127.0.0.1, logging to a file."""

    def __init__(self, repository: Path, log_path: Path, extra_args: tuple[str, ...] = (),
                 onnxruntime_lib: bool = True, env: dict | None = None,
                 ready_path: str = "/v2/health/ready", binary: Path | None = None, cwd: Path | None = None):
        self.ready_path = ready_path
        self.binary = binary
        self.cwd = cwd
        self.repository = Path(repository)
        self.log_path = Path(log_path)
        self.extra_args = tuple(extra_args)
        self.onnxruntime_lib = onnxruntime_lib
        self.env = env
        self.process: subprocess.Popen | None = None
        self.port = 0

    # -- life cycle -------------------------------------------------------------------------

    def command(self) -> list[str]:
        cmd = [str(self.binary or swerve_binary()), "serve", "--model-repository", str(self.repository),
               "--http-port", str(self.port), "--http-address", "127.0.0.1", "--log-level", "info"]
        cmd += extra_listener_args()
        if self.onnxruntime_lib:
            cmd += ["--onnxruntime-lib", str(onnxruntime_library())]
        return cmd + list(self.extra_args)

    def start(self) -> "SwerveServer":
        binary = self.binary or swerve_binary()
        assert binary.exists(), (f"swerve binary not found at {binary}: build it with "
                                 "`swift build --product swerve` or set SWERVE_BIN")
        for attempt in range(3):  # the free port may be taken between the probe and the bind
            self.port = free_port()
            log = open(self.log_path, "ab")
            log.write(f"$ {' '.join(self.command())}\n".encode())
            log.flush()
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd)
            log.close()
            if self._wait_ready():
                return self
            if self.process.poll() is None:
                break  # running but never ready: not a port clash
            if "in use" not in self.log_text().lower():
                break
        self.kill()
        raise AssertionError(f"swerve did not become ready within {READY_TIMEOUT_S:.0f} s "
                             f"(exit status {self.process.returncode}); log:\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if requests.get(self.url + self.ready_path, timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> int:
        """SIGTERM, then waits up to STOP_TIMEOUT_S; returns the exit status (kills on timeout)."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"swerve did not exit within {STOP_TIMEOUT_S:.0f} s of SIGTERM; "
                                     f"log:\n{self.log_tail()}")
        return self.process.returncode

    def stop_and_check(self) -> None:
        status = self.stop()
        assert status == 0, f"swerve exited with status {status} after SIGTERM; log:\n{self.log_tail()}"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    # -- facts ------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def address(self) -> str:
        """host:port, as tritonclient.http wants it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_kib(self) -> int:
        """Resident set size (VmRSS) in KiB, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc status")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------
# HTTP helpers

def assert_json_error(response: requests.Response, statuses: tuple[int, ...] | range = range(400, 500)) -> str:
    """Asserts an error status in `statuses` and a body {"error": "<non-empty message>"}; returns it."""
    assert response.status_code in statuses, (
        f"expected status in {statuses}, got {response.status_code}: {response.text[:500]!r}")
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"error body is not JSON (status {response.status_code}): {response.text[:300]!r}")
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"].strip(), (
        f"error body lacks a message: {body!r}")
    return body["error"]


def infer_json(server: SwerveServer, model: str, body, version: str | None = None,
               session: requests.Session | None = None, timeout: float = 30) -> requests.Response:
    """POSTs a KServe v2 JSON inference request (a dict, or raw str/bytes sent as they are)."""
    path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return (session or requests).post(server.url + path, data=data, timeout=timeout,
                                      headers={"Content-Type": "application/json"})


def tensor_json(name: str, array: np.ndarray, datatype: str, nested: bool = False) -> dict:
    """A KServe v2 JSON input tensor: flat data by default, nested lists when `nested`."""
    if datatype == "BYTES":
        data = [v.decode() if isinstance(v, bytes) else str(v) for v in array.reshape(-1)]
        if nested:
            data = np.array(data, dtype=object).reshape(array.shape).tolist()
    else:
        data = array.tolist() if nested else array.reshape(-1).tolist()
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": data}


def output_array(response_body: dict, name: str, np_dtype) -> np.ndarray:
    """An output of a JSON response as a numpy array of its declared shape."""
    for output in response_body["outputs"]:
        if output["name"] == name:
            return np.array(output["data"], dtype=np_dtype).reshape(output["shape"])
    raise AssertionError(f"no output {name!r} in {[o['name'] for o in response_body['outputs']]}")


def raw_http(port: int, head: bytes, body_chunks=(), timeout: float = 10) -> tuple[int, bytes]:
    """Sends a raw HTTP request, stops sending as soon as the server answers, and returns
    (status, body). Lets a test send a body that the server should refuse before it ends."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(head)
        sock.setblocking(False)
        deadline = time.monotonic() + timeout
        received = b""
        import select
        for chunk in body_chunks:
            view = memoryview(chunk)
            while view:
                if time.monotonic() > deadline:
                    raise TimeoutError("server neither read the body nor answered")
                readable, writable, _ = select.select([sock], [sock], [], 0.5)
                if readable:
                    break
                if writable:
                    try:
                        sent = sock.send(view)
                    except (BrokenPipeError, ConnectionResetError):
                        break
                    view = view[sent:]
            else:
                continue
            break
        sock.setblocking(True)
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        while b"\r\n\r\n" not in received:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
        head_end = received.find(b"\r\n\r\n")
        assert head_end >= 0, f"no complete HTTP response head: {received[:200]!r}"
        status = int(received.split(b" ", 2)[1])
        headers = {}
        for line in received[:head_end].split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            headers[key.strip().lower()] = value.strip()
        body = received[head_end + 4:]
        length = int(headers.get(b"content-length", b"0") or 0)
        while len(body) < length:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            body += data
        return status, body
    finally:
        sock.close()


def model_statistics(server: SwerveServer, model: str, version: str | None = None) -> dict:
    """The one entry of `GET /v2/models/{model}[/versions/{version}]/stats` (Triton's statistics
    extension): inference_count, execution_count, inference_stats.{success,fail,queue,…}.{count,ns}."""
    path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/stats"
    response = requests.get(server.url + path, timeout=10)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
    (stats,) = response.json()["model_stats"]
    return stats


# ---------------------------------------------------------------------------------------------
# Sample inputs for the test models

# BYTES elements: empty, non-ASCII, quotes and backslashes, control characters, long, numeric.
STRINGS = ["", "cat", "naïve café", "🙂 emoji", 'quote " and backslash \\', "tab\tnew\nline", "\u0001ctrl",
           "x" * 300, "中文", "0", "-12"]


def sample(datatype: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Deterministic values of a KServe datatype covering its extremes: the smallest and largest
    integers, 0 and 1; the largest, smallest, tiniest normal and subnormal floats, -0.0 and 1/3;
    both booleans; the STRINGS."""
    rng = np.random.default_rng(seed)
    count = int(np.prod(shape))
    np_dtype = model_factory.DATATYPES[datatype][1]
    if datatype == "BOOL":
        values = rng.integers(0, 2, count).astype(bool)
    elif datatype == "BYTES":
        values = np.array([STRINGS[i] for i in rng.integers(0, len(STRINGS), count)], dtype=object)
    elif np.dtype(np_dtype).kind in "iu":
        info = np.iinfo(np_dtype)
        values = rng.integers(info.min, info.max, count, dtype=np_dtype, endpoint=True)
        extremes = np.array([info.min, info.max, 0, 1], dtype=np_dtype)
        values[: min(count, 4)] = extremes[: min(count, 4)]
    else:
        info = np.finfo(np_dtype)
        values = (rng.standard_normal(count) * 100).astype(np_dtype)
        extremes = np.array([info.max, info.min, info.tiny, -0.0, info.smallest_subnormal, 1 / 3], dtype=np_dtype)
        values[: min(count, len(extremes))] = extremes[: min(count, len(extremes))]
    return values.reshape(shape)


def simple_body(batch: int = 1, input1: int = 1, **fields) -> dict:
    """A KServe v2 JSON request for `simple` (INT32 [batch, 16] twice): INPUT0 counts 0, 1, 2, …,
    INPUT1 is `input1` everywhere, so OUTPUT0 = INPUT0 + input1 and OUTPUT1 = INPUT0 - input1.
    `fields` are added beside "inputs" (id, parameters, outputs)."""
    return {"inputs": [{"name": "INPUT0", "shape": [batch, 16], "datatype": "INT32", "data": list(range(16 * batch))},
                       {"name": "INPUT1", "shape": [batch, 16], "datatype": "INT32", "data": [input1] * (16 * batch)}],
            **fields}


def dense_body(batch: int = 1, value: float = 0.25) -> dict:
    """A KServe v2 JSON request for `dense_tiny` (FP32 [batch, 16]), every element `value`."""
    return {"inputs": [{"name": "x", "shape": [batch, 16], "datatype": "FP32", "data": [value] * (16 * batch)}]}


def slow_body(value: float = 1.0) -> dict:
    """A KServe v2 JSON request for model_factory.slow (FP32 [1])."""
    return {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [value]}]}


# ---------------------------------------------------------------------------------------------
# perf_analyzer

# perf_analyzer's summary line for one concurrency.
PERF_THROUGHPUT = re.compile(r"^Concurrency: (\d+), throughput: ([0-9.]+) infer/sec, latency (\d+) usec$", re.M)


def perf_analyzer_path() -> Path:
    """perf_analyzer from tritonclient's wheel: the project's .venv, else the wheel's own bin
    folder, else on PATH."""
    import tritonclient.grpc
    for candidate in (PROJECT_ROOT / ".venv" / "bin" / "perf_analyzer",
                      Path(tritonclient.grpc.__file__).parents[1] / "bin" / "perf_analyzer"):
        if candidate.exists():
            return candidate
    found = shutil.which("perf_analyzer")
    if found is None:
        pytest.fail("perf_analyzer not found: it ships in the tritonclient wheel (see `make setup`)")
    return Path(found)


def run_perf_analyzer(*args: str, timeout: float = 120) -> str:
    """Runs `perf_analyzer ARGS…` (libcudart, which it links even for CPU-only runs, from the
    nvidia-cuda-runtime wheel); asserts it exited 0 and reported no error; returns its output."""
    import nvidia.cuda_runtime
    cuda_lib = Path(list(nvidia.cuda_runtime.__path__)[0]) / "lib"
    env = dict(os.environ, LD_LIBRARY_PATH=f"{cuda_lib}:{os.environ.get('LD_LIBRARY_PATH', '')}")
    command = [str(perf_analyzer_path()), *args]
    run = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"perf_analyzer exited {run.returncode}:\n$ {' '.join(command)}\n{output[-3000:]}"
    assert not re.search(r"\berror\b|failed", output, re.I), output[-3000:]
    return output


def perf_analyzer_throughputs(output: str) -> dict[int, float]:
    """Concurrency -> throughput (infer/sec), from perf_analyzer's summary."""
    return {int(concurrency): float(throughput) for concurrency, throughput, _ in PERF_THROUGHPUT.findall(output)}


def perf_analyzer_requests(output: str) -> int:
    """The requests perf_analyzer's client counted in the windows it reports (its warm-up and the
    trials it discarded come on top), summed over every concurrency."""
    return sum(int(n) for n in re.findall(r"^    Request count: (\d+)$", output, re.M))


# ---------------------------------------------------------------------------------------------
# Reference answers

class Reference:
    """Python onnxruntime sessions on the same model files, cached per path (thread-safe)."""

    def __init__(self):
        self._sessions: dict[Path, onnxruntime.InferenceSession] = {}
        self._lock = threading.Lock()

    def session(self, path: Path) -> onnxruntime.InferenceSession:
        with self._lock:
            if path not in self._sessions:
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = 1
                self._sessions[path] = onnxruntime.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"])
            return self._sessions[path]

    def run(self, path: Path, feeds: dict[str, np.ndarray]) -> dict[str, object]:
        session = self.session(path)
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(None, feeds)))


def assert_same(got: np.ndarray, expected: np.ndarray, what: str = "") -> None:
    """Exactly equal for integers, booleans and strings; within 1e-6 relative for floats."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != expected {expected.shape}"
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64), rtol=1e-6,
                                   atol=0, err_msg=what)
    elif expected.dtype.kind in "OUS":
        norm = lambda a: [v.decode() if isinstance(v, bytes) else v for v in a.reshape(-1)]
        assert norm(got) == norm(expected), f"{what}: {norm(got)[:8]} != {norm(expected)[:8]}"
    else:
        assert got.dtype == expected.dtype or got.dtype.kind == expected.dtype.kind, (
            f"{what}: dtype {got.dtype} != {expected.dtype}")
        assert np.array_equal(got, expected), f"{what}: {got.reshape(-1)[:8]} != {expected.reshape(-1)[:8]}"
