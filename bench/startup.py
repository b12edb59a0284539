"""Start-up time and resident memory.

Start-up: from just before the process is created to the first 200 of /v2/health/ready, polled
every 2 ms on fresh connections, on the example repository (every example model loaded and
warmed up), several times: the median is the figure, min and max beside it. Idle RSS: VmRSS of
/proc/PID/status one second after ready, nothing sent. The same for an empty repository (the
runtime alone) and for the benchmark repository (ResNet-50 loaded, in the runner).
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench.server import Server
from bench.util import log


def measure(binary: Path, repository: Path, logdir: Path, label: str, repeats: int, grpc: bool,
            settle_s: float = 1.0) -> dict:
    times, rss, stops = [], [], []
    for i in range(repeats):
        with Server(binary, repository, logdir / f"startup-{label}-{i}.log", grpc=grpc) as server:
            times.append(server.start(ready_timeout=120))
            time.sleep(settle_s)
            rss.append(server.rss_kb()["VmRSS"])
            t = time.perf_counter()
            code = server.stop()
            stops.append({"seconds": round(time.perf_counter() - t, 3), "exit_status": code})
    result = {"repository": str(repository), "repeats": repeats,
              "ready_s_median": statistics.median(times), "ready_s_min": min(times), "ready_s_max": max(times),
              "ready_s_all": [round(t, 4) for t in times],
              "idle_rss_mb_median": statistics.median(rss) / 1024, "idle_rss_mb_max": max(rss) / 1024,
              "stop": stops}
    log(f"  {label}: ready in {result['ready_s_median'] * 1000:.0f} ms (median of {repeats}), "
        f"idle RSS {result['idle_rss_mb_median']:.1f} MB")
    return result
