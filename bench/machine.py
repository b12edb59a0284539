"""What the figures were measured on: the machine, the CPUs this process may use, the versions."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

from bench.util import PROJECT_ROOT


def _run(cmd: list[str], timeout: float = 20) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT)
        return (out.stdout or out.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def cgroup_cpu_quota() -> str:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        return "none" if quota == "max" else f"{int(quota) / int(period):g} CPUs"
    except (OSError, ValueError):
        return "unknown"


def describe(binary: Path) -> dict:
    import matplotlib
    import numpy
    import onnxruntime

    from bench.perf import perf_analyzer_version
    commit = _run(["git", "rev-parse", "--short", "HEAD"])
    dirty = bool(_run(["git", "status", "--porcelain", "--untracked-files=no", "--", "Sources", "Package.swift"]))
    return {
        "nproc": os.cpu_count(), "affinity_cpus": len(os.sched_getaffinity(0)), "cgroup_cpu_quota": cgroup_cpu_quota(),
        "cpu_model": cpu_model(), "memory_gib": round(memory_gib(), 1), "kernel": platform.release(),
        "os": _run(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "swerve_commit": commit + ("+uncommitted changes" if dirty else ""), "swerve_binary": str(binary),
        "swift": _run(["swift", "--version"]).splitlines()[0] if _run(["swift", "--version"]) else "unknown",
        "python": sys.version.split()[0], "onnxruntime": onnxruntime.__version__, "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__, "perf_analyzer": perf_analyzer_version(),
    }
