"""Small helpers shared by the scenarios: paths, percentiles, free ports, bounded subprocesses."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)


def log(message: str) -> None:
    """Progress on stderr, with the time of day, so a long run shows where it is."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentiles(values, qs=(50, 90, 99)) -> dict[str, float | None]:
    """{'p50': …, 'p90': …, 'p99': …} of the values (nearest rank above), None when empty."""
    if len(values) == 0:
        return {f"p{q}": None for q in qs}
    a = np.asarray(values, dtype=np.float64)
    return {f"p{q}": float(np.percentile(a, q, method="higher")) for q in qs}


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_json_child(module: str, args: list[str], timeout: float, env: dict | None = None) -> dict:
    """Runs `python -m MODULE ARGS` (a scenario in its own process) and returns the JSON it prints
    last on stdout. Raises RuntimeError with its stderr tail when it fails or runs past timeout."""
    cmd = [sys.executable, "-m", module, *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT,
                              env=env, start_new_session=True)
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"{module} ran past {timeout:.0f} s") from e
    if done.returncode != 0:
        raise RuntimeError(f"{module} exited {done.returncode}: {done.stderr[-2000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"{module} printed nothing: {done.stderr[-2000:]}")
    return json.loads(lines[-1])


def load_average() -> list[float]:
    return list(os.getloadavg())


def busy_builds() -> list[str]:
    """Compiler processes running on the machine now (another session's build skews every figure)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(word in cmd for word in ("swift-build", "swift-frontend", "swiftc ", "clang")):
            found.append(f"{pid} {cmd[:100]}")
    return found


def pressure() -> dict[str, float]:
    """Linux pressure stall information: % of the last 60 s in which some task waited for CPU or
    memory ({} where the kernel has none). High values mean another load shared the machine."""
    out = {}
    for kind in ("cpu", "memory"):
        try:
            line = Path(f"/proc/pressure/{kind}").read_text().splitlines()[0]
            out[f"{kind}_some_avg60"] = float(line.split("avg60=")[1].split()[0])
        except (OSError, IndexError, ValueError):
            pass
    return out
