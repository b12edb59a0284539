"""perf_analyzer (Triton's own load generator, from tritonclient's wheel) against the server.

`-i http` sends binary tensors (Triton's binary extension), `-i grpc` the KServe v2 gRPC
service. One perf_analyzer run per concurrency (sync mode: one client thread per outstanding
request, as Triton's published figures use), time windows, the stability rule perf_analyzer
applies itself; its CSV gives throughput and the latency percentiles over the stable windows.
Errors: perf_analyzer stops at the first failed request, so a failed run is recorded with its
message, and the server's own failure count (statistics extension) is read before and after.
"""
from __future__ import annotations

import csv
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.server import Server
from bench.util import VENV, log


def perf_analyzer_path() -> Path:
    return Path(sys.executable).parent / "perf_analyzer"


def perf_env() -> dict:
    """perf_analyzer links libcudart even on CPU; the wheel nvidia-cuda-runtime-cu12 has it."""
    env = dict(os.environ)
    libs = sorted(VENV.glob("lib/python3*/site-packages/nvidia/cuda_runtime/lib"))
    if libs:
        env["LD_LIBRARY_PATH"] = ":".join([str(libs[0])] + [p for p in [env.get("LD_LIBRARY_PATH")] if p])
    return env


def perf_analyzer_version() -> str:
    try:
        out = subprocess.run([str(perf_analyzer_path()), "--version"], capture_output=True, text=True,
                             timeout=20, env=perf_env())
        return (out.stdout + out.stderr).strip().splitlines()[-1]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "unavailable"


def parse_csv(path: Path) -> dict:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError("empty perf_analyzer CSV")
    row = rows[-1]
    us = lambda key: float(row[key]) if row.get(key) not in (None, "") else None  # noqa: E731
    return {
        "throughput": float(row["Inferences/Second"]),
        "p50_us": us("p50 latency"), "p90_us": us("p90 latency"), "p95_us": us("p95 latency"),
        "p99_us": us("p99 latency"),
        "client_send_us": us("Client Send"), "client_recv_us": us("Client Recv"),
        "network_server_us": us("Network+Server Send/Recv"), "server_queue_us": us("Server Queue"),
        "server_compute_input_us": us("Server Compute Input"),
        "server_compute_infer_us": us("Server Compute Infer"),
        "server_compute_output_us": us("Server Compute Output"),
    }


def run_point(server: Server, model: str, protocol: str, concurrency: int, window_ms: int,
              max_trials: int, stability_pct: int, workdir: Path, timeout: float) -> dict:
    """One perf_analyzer measurement at one concurrency; never raises (failures are recorded)."""
    port = server.http_port if protocol == "http" else server.grpc_port
    workdir.mkdir(parents=True, exist_ok=True)
    before = server.stats(model)
    cpu_before, children_before = server.cpu_seconds(), _children_cpu()
    result: dict = {"model": model, "protocol": protocol, "concurrency": concurrency}
    attempts = [(stability_pct, max_trials)]
    if stability_pct < 1000:
        attempts.append((1000, 3))  # second try: accept any 3 windows, flagged unstable
    for attempt, (stability, trials) in enumerate(attempts):
        csv_path = workdir / f"{model}-{protocol}-c{concurrency}-{attempt}.csv"
        cmd = [str(perf_analyzer_path()), "-m", model, "-u", f"127.0.0.1:{port}", "-i", protocol,
               "--concurrency-range", f"{concurrency}:{concurrency}", "-p", str(window_ms),
               "-s", str(stability), "-r", str(trials), "-f", str(csv_path)]
        t0 = time.perf_counter()
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=perf_env(),
                                  start_new_session=True)
            output, rc = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired as e:
            output, rc = f"perf_analyzer ran past {timeout:.0f} s: {(e.stdout or b'')[-500:]!r}", 124
        result["wall_s"] = round(time.perf_counter() - t0, 1)
        (workdir / f"{model}-{protocol}-c{concurrency}-{attempt}.log").write_text(" ".join(cmd) + "\n" + output)
        result["rc"] = rc
        if rc == 0 and csv_path.exists():
            try:
                result.update(parse_csv(csv_path))
                result["avg_us"] = _avg_latency(output)
                # False: perf_analyzer's stability rule failed and the retry took any 3 windows;
                # None: the rule was not asked for (--quick)
                result["stable"] = (stability <= 100) if stability_pct <= 100 else None
                break
            except (ValueError, KeyError) as e:
                result["error"] = f"unreadable CSV: {e}"
                break
        unstable = "stable" in output.lower() and "failed to obtain" in output.lower()
        result["error"] = _first_error(output)
        if not unstable or attempt == len(attempts) - 1:
            break
        log(f"  {model} {protocol} c={concurrency}: unstable, measuring again without the stability rule")
    after = server.stats(model)
    server_cpu, client_cpu = server.cpu_seconds() - cpu_before, _children_cpu() - children_before
    if before and after:
        result["server_success"] = after["success"] - before["success"]
        result["server_fail"] = after["fail"] - before["fail"]
        executions = after["execution_count"] - before["execution_count"]
        inferences = after["inference_count"] - before["inference_count"]
        result["server_mean_batch"] = round(inferences / executions, 2) if executions else None
        if result["server_success"] > 0:
            # CPU time per answered request, over the whole perf_analyzer run (all its windows)
            result["server_cpu_us_per_request"] = server_cpu / result["server_success"] * 1e6
            result["client_cpu_us_per_request"] = client_cpu / result["server_success"] * 1e6
    result["errors"] = result.get("server_fail", 0) + (0 if result.get("rc") == 0 else 1)
    if "throughput" in result:
        result.pop("error", None)
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _avg_latency(output: str) -> float | None:
    """perf_analyzer prints 'Avg latency: N usec' for the reported windows (not in the CSV)."""
    for line in reversed(output.splitlines()):
        if "Avg latency:" in line:
            try:
                return float(line.split("Avg latency:")[1].split()[0])
            except (IndexError, ValueError):
                return None
    return None


def _first_error(output: str) -> str:
    for line in output.splitlines():
        low = line.lower()
        if "error" in low or "failed" in low or "unable" in low:
            return line.strip()[:300]
    return output.strip()[-300:]
