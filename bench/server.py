"""Starting, probing and always stopping one `swerve serve` process."""
from __future__ import annotations

import atexit
import http.client
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from bench.util import PROJECT_ROOT, free_port, log

_LIVE: set[subprocess.Popen] = set()  # every server not yet stopped, killed at exit whatever happens


def _kill_all() -> None:
    for proc in list(_LIVE):
        _kill(proc)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    _LIVE.discard(proc)


atexit.register(_kill_all)


def onnxruntime_library() -> Path:
    """The libonnxruntime of the Python onnxruntime that the in-process figures come from."""
    import onnxruntime
    capi = Path(onnxruntime.__file__).parent / "capi"
    found = sorted(capi.glob("libonnxruntime.so*"))
    if not found:
        raise RuntimeError(f"no libonnxruntime.so in {capi}")
    return found[0]


def port_options(binary: Path) -> list[str]:
    """Every `--NAME-port` option of this build's `swerve serve` (each frontend has one)."""
    try:
        out = subprocess.run([str(binary), "serve", "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted(set(re.findall(r"--([a-z][a-z-]*-port)\b", out.stdout + out.stderr)))


def supports_grpc(binary: Path) -> bool:
    """Whether this build of `swerve serve` has a --grpc-port option."""
    return "grpc-port" in port_options(binary)


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """One GET on a fresh connection to 127.0.0.1:port; (0, b'') when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        conn.close()


class Server:
    """`swerve serve` on free ports of 127.0.0.1 (HTTP, gRPC when the build has it, metrics),
    logging to a file. Use as a context manager: the process group is killed on the way out."""

    def __init__(self, binary: Path, repository: Path, log_path: Path, grpc: bool,
                 extra_args: tuple[str, ...] = ()):
        self.binary, self.repository, self.log_path = Path(binary), Path(repository), Path(log_path)
        self.grpc, self.extra_args = grpc, tuple(extra_args)
        self.proc: subprocess.Popen | None = None
        self.http_port = self.grpc_port = self.metrics_port = 0
        self.ready_s: float | None = None
        # frontends the bench does not drive (e.g. TF Serving REST) keep their default "on", each on a
        # free port, so no fixed default port can collide with another process on the machine
        self.other_ports = {name: 0 for name in port_options(self.binary)
                            if name not in ("http-port", "grpc-port", "metrics-port")}

    @property
    def torchserve_port(self) -> int:
        """The port of the TorchServe-style inference API (/predictions), 0 when this build has none."""
        return self.other_ports.get("torchserve-port", 0)

    def command(self) -> list[str]:
        cmd = [str(self.binary), "serve", "--model-repository", str(self.repository),
               "--http-address", "127.0.0.1", "--http-port", str(self.http_port),
               "--metrics-port", str(self.metrics_port), "--onnxruntime-lib", str(onnxruntime_library())]
        if self.grpc:
            cmd += ["--grpc-address", "127.0.0.1", "--grpc-port", str(self.grpc_port)]
        for name, port in self.other_ports.items():
            cmd += [f"--{name}", str(port)]
        return cmd + list(self.extra_args)

    def start(self, ready_timeout: float = 120.0, poll_interval: float = 0.002) -> float:
        """Starts the process and waits until /v2/health/ready answers 200; returns the seconds
        from just before the process was created to that answer. A port taken between the probe
        and the bind (another process on the machine) is retried with new ports, twice."""
        for attempt in range(3):
            try:
                return self._start(ready_timeout, poll_interval)
            except RuntimeError as e:
                if "already in use" not in str(e) or attempt == 2:
                    raise
                log("a port was taken meanwhile: starting again on other ports")
        raise AssertionError("unreachable")

    def _start(self, ready_timeout: float, poll_interval: float) -> float:
        self.http_port, self.metrics_port = free_port(), free_port()
        self.grpc_port = free_port() if self.grpc else 0
        self.other_ports = {name: free_port() for name in self.other_ports}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logfile = open(self.log_path, "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.command(), stdout=logfile, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=PROJECT_ROOT, start_new_session=True)
        logfile.close()
        _LIVE.add(self.proc)
        deadline = t0 + ready_timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"swerve exited with {self.proc.returncode} before it was ready:\n{self.log_tail()}")
            status, _ = http_get(self.http_port, "/v2/health/ready", timeout=1.0)
            if status == 200:
                self.ready_s = time.perf_counter() - t0
                if self.grpc:
                    self._wait_grpc(deadline)
                return self.ready_s
            time.sleep(poll_interval)
        self.stop()
        raise RuntimeError(f"swerve was not ready within {ready_timeout:.0f} s:\n{self.log_tail()}")

    def _wait_grpc(self, deadline: float) -> None:
        import tritonclient.grpc as grpcclient
        client = grpcclient.InferenceServerClient(f"127.0.0.1:{self.grpc_port}")
        try:
            while time.perf_counter() < deadline:
                try:
                    if client.is_server_ready(client_timeout=2.0):
                        return
                except Exception:  # noqa: BLE001 - any failure means not yet
                    pass
                time.sleep(0.05)
            raise RuntimeError(f"gRPC endpoint on {self.grpc_port} never became ready:\n{self.log_tail()}")
        finally:
            client.close()

    def rss_kb(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak) of the server in kB, from /proc/PID/status."""
        assert self.proc is not None
        values = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
        return values

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far (from /proc/PID/stat)."""
        if self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stats(self, model: str) -> dict:
        """Success and failure counts of the model from the statistics extension ({} if unavailable)."""
        status, body = http_get(self.http_port, f"/v2/models/{model}/stats", timeout=5.0)
        if status != 200:
            return {}
        try:
            s = json.loads(body)["model_stats"][0]
            inference = s["inference_stats"]
            return {"success": int(inference["success"]["count"]), "fail": int(inference["fail"]["count"]),
                    "queue_ns": int(inference["queue"]["ns"]), "compute_infer_ns": int(inference["compute_infer"]["ns"]),
                    "inference_count": int(s.get("inference_count", 0)), "execution_count": int(s.get("execution_count", 0))}
        except (KeyError, IndexError, ValueError, TypeError):
            return {}

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL of the whole process group after timeout; returns the exit status."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                log(f"swerve did not stop within {timeout:.0f} s of SIGTERM: killing it")
        _kill(proc)
        return proc.returncode

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
