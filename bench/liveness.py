"""Liveness under load: GET /v2/health/live, each on a fresh connection as a Kubernetes probe
does, at a fixed rate, while other clients keep ResNet-50 saturated.

The prober runs in its own process (`python -m bench.liveness PORT SECONDS INTERVAL`, JSON on
stdout) so that the load generator's event loop never delays a probe. A probe that gets no 200
within its timeout (1 s, the kubelet's default) is a failure.
"""
from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time

import numpy as np

from bench.util import PROJECT_ROOT, percentiles


def probe(port: int, seconds: float, interval: float, timeout: float = 1.0) -> dict:
    lat_ms, failures, first_failure = [], 0, None
    stop = time.perf_counter() + seconds
    next_at = time.perf_counter()
    while time.perf_counter() < stop:
        t = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("GET", "/v2/health/live")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                lat_ms.append((time.perf_counter() - t) * 1000)
            else:
                failures += 1
                first_failure = first_failure or f"HTTP {response.status}"
        except (OSError, http.client.HTTPException) as e:
            failures += 1
            first_failure = first_failure or f"{type(e).__name__}: {e}"
        finally:
            conn.close()
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))
    p = percentiles(lat_ms, (50, 90, 99))
    return {"probes": len(lat_ms) + failures, "failures": failures, "first_failure": first_failure,
            "p50_ms": p["p50"], "p90_ms": p["p90"], "p99_ms": p["p99"],
            "max_ms": float(np.max(lat_ms)) if lat_ms else None}


_PROBERS: set[subprocess.Popen] = set()


def kill_probers() -> None:
    """Ends every prober still running (on an interrupted run)."""
    for proc in list(_PROBERS):
        proc.kill()
        _PROBERS.discard(proc)


def start_prober(port: int, seconds: float, interval: float) -> subprocess.Popen:
    """The prober as a child process; read its answer with `finish_prober`."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.liveness", str(port), str(seconds), str(interval)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT,
                            start_new_session=True)
    _PROBERS.add(proc)
    return proc


def finish_prober(proc: subprocess.Popen, timeout: float) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout)
        _PROBERS.discard(proc)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": "prober ran past its time"}
    _PROBERS.discard(proc)
    if proc.returncode != 0 or not out.strip():
        return {"error": f"prober exited {proc.returncode}: {err[-500:]}"}
    return json.loads(out.strip().splitlines()[-1])


def under_load(port: int, clients: int, seconds: float, interval: float, warmup: float = 2.0) -> dict:
    """Probes for `seconds` while `clients` closed-loop clients send ResNet-50 binary requests
    (started `warmup` seconds earlier so the queue is full before the first probe)."""
    import asyncio

    from bench.httpclient import closed_loop, kserve_binary_request, summarize
    image = np.random.default_rng(2).standard_normal((1, 3, 224, 224)).astype(np.float32)
    request = kserve_binary_request("127.0.0.1", port, "resnet50", "input", image, "output")

    async def drive() -> tuple:
        loop = asyncio.get_running_loop()
        load = asyncio.ensure_future(closed_loop("127.0.0.1", port, request, [0.0] * clients,
                                                 warmup + seconds, 60.0))
        await asyncio.sleep(warmup)
        prober = start_prober(port, seconds, interval)
        probes = await loop.run_in_executor(None, finish_prober, prober, seconds + 30)
        record, _, _ = await load
        return probes, record

    probes, record = asyncio.run(drive())
    load = summarize(record, warmup, warmup + seconds)
    return {"clients": clients, "seconds": seconds, "interval_s": interval, **probes,
            "load_throughput": load["throughput"], "load_errors": load["errors"], "load_p50_ms": load["p50_ms"]}


if __name__ == "__main__":
    print(json.dumps(probe(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]))))
