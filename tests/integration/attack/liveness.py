"""Liveness latency during a run: a separate Python process (so the attack's own threads cannot
delay it) polls GET /v2/health/live every INTERVAL_S on one keep-alive connection until SIGTERM,
then prints every latency as JSON.

    python -m attack.liveness PORT"""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

INTERVAL_S = 0.02
TIMEOUT_S = 10.0


def poll(port: int) -> None:
    """The probe: (end time, latency) in seconds of every answered 200, and the count of failed
    polls, as JSON on stdout."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    # The probe is the instrument: its own wake-ups must not wait behind the test's other
    # processes on a machine of two cores. A raised priority needs root (CI has it); without it
    # the probe runs at the default priority and measures a little more than the server's time.
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -5)
    except PermissionError:
        pass
    print("ready", flush=True)
    latencies, failures, connection = [], 0, None
    while not stopping:
        started = time.perf_counter()
        try:
            connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
            connection.request("GET", "/v2/health/live")
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok, connection = False, None
        elapsed = time.perf_counter() - started
        if ok:
            latencies.append((time.time(), elapsed))
        elif not stopping:
            failures += 1
        time.sleep(max(0.0, INTERVAL_S - elapsed))
    json.dump({"latencies": latencies, "failures": failures}, sys.stdout)


class LivenessProbe:
    """Started on the server's HTTP port; stop() returns ([(end time, latency)], failed polls)."""

    def __init__(self, port: int):
        self.process = subprocess.Popen([sys.executable, "-m", "attack.liveness", str(port)],
                                        cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE)
        assert self.process.stdout.readline() == b"ready\n", "the liveness probe did not start"

    def stop(self) -> tuple[list[tuple[float, float]], int]:
        self.process.terminate()
        out, _ = self.process.communicate(timeout=30)
        result = json.loads(out)
        return result["latencies"], result["failures"]


def percentiles(polls: list[tuple[float, float]]) -> dict:
    """p50, p99 and max latency in milliseconds (None without samples)."""
    if not polls:
        return {"samples": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(latency for _, latency in polls)
    pick = lambda q: round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)
    return {"samples": len(ordered), "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": round(1000 * ordered[-1], 2)}


if __name__ == "__main__":
    poll(int(sys.argv[1]))
