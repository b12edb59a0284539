"""Where the tiny model saturates: Linux `perf` samples of the server while perf_analyzer drives
dense_tiny, summarised by module (swerve, ONNX Runtime, the Swift runtime, libc, the kernel) and
by function (Swift names demangled). Run on its own load, after the measured points, so the
sampling never touches a reported figure. Skipped, with a note, where `perf` is missing or not
permitted.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench import perf
from bench.server import Server


def available() -> bool:
    if not shutil.which("perf"):
        return False
    try:
        done = subprocess.run(["perf", "stat", "-e", "task-clock", "true"], capture_output=True, timeout=20)
        return done.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _report(data: Path, sort: str, limit: int) -> list[dict]:
    done = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children", "--sort", sort,
                           "--percent-limit", "0.5"], capture_output=True, text=True, timeout=120)
    rows = []
    for line in done.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "%" not in line:
            continue
        pct, _, rest = line.partition("%")
        try:
            share = float(pct)
        except ValueError:
            continue
        name = " ".join(rest.split())
        while name.endswith(" -"):
            name = name[:-2]
        rows.append({"percent": share, "name": name})
        if len(rows) >= limit:
            break
    return rows


def _demangle(names: list[str]) -> list[str]:
    swift = shutil.which("swift-demangle") or shutil.which("swift")
    if not swift:
        return names
    cmd = [swift, "--simplified"] if swift.endswith("swift-demangle") else [swift, "demangle", "--simplified"]
    try:
        done = subprocess.run(cmd, input="\n".join(names), capture_output=True, text=True, timeout=60)
        out = done.stdout.splitlines()
        return out if len(out) == len(names) else names
    except (OSError, subprocess.TimeoutExpired):
        return names


def profile(server: Server, protocol: str, concurrency: int, seconds: float, workdir: Path) -> dict:
    """Samples the server for `seconds` while perf_analyzer drives dense_tiny at `concurrency`."""
    assert server.proc is not None
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / f"perf-dense_tiny-{protocol}-c{concurrency}.data"
    port = server.http_port if protocol == "http" else server.grpc_port
    load = subprocess.Popen([str(perf.perf_analyzer_path()), "-m", "dense_tiny", "-u", f"127.0.0.1:{port}", "-i",
                             protocol, "--concurrency-range", f"{concurrency}:{concurrency}",
                             "-p", str(int(seconds * 1000)), "-s", "1000", "-r", "3"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=perf.perf_env(),
                            start_new_session=True)
    try:
        subprocess.run(["perf", "record", "-F", "499", "-o", str(data), "-p", str(server.proc.pid), "--",
                        "sleep", str(seconds)], capture_output=True, timeout=seconds + 60)
    finally:
        load.kill()
        load.wait(timeout=10)
    modules = _report(data, "dso", 8)
    symbols = _report(data, "dso,symbol", 15)
    for row, name in zip(symbols, _demangle([r["name"] for r in symbols])):
        row["name"] = name[:160]
    data.unlink(missing_ok=True)
    return {"protocol": protocol, "concurrency": concurrency, "seconds": seconds, "modules": modules,
            "symbols": symbols}
