"""The ramped load test: closed-loop clients added one by one from 1 to N (256) over the ramp
(60 s), then held at N, against ResNet-50 over HTTP with binary tensors.

Every response is counted: a non-200 answer, a connection error (refused, reset, closed early)
and a client timeout are all failures. The figures come per second of the run (by completion
time): successful answers, failures, p50 / p99 latency, and the number of clients then running.
Peak = the best rate over a sliding 10 s window (1 s steps); "at N" = the rate over the hold, when
all N clients are running. A rate is taken from the first to the last answer in its window, not
per fixed second, so a server that answers a whole batch at once is neither flattered nor
penalised by where the window's edges fall (see `rate`). After the hold no new request
is sent and the ones in flight are waited for (and counted) up to the client timeout.
"""
from __future__ import annotations

import asyncio

import numpy as np

from bench.httpclient import closed_loop, kserve_binary_request, summarize
from bench.util import percentiles


def ramp_starts(clients: int, ramp_s: float) -> list[float]:
    """Start time of each client: the first at 0, the last at ramp_s, evenly in between."""
    if clients <= 1:
        return [0.0]
    return [ramp_s * i / (clients - 1) for i in range(clients)]


def rate(done: np.ndarray, a: float, b: float, burst_s: float = 0.05) -> float:
    """Answers per second in [a, b) from sorted completion times, robust to a server that answers
    in bursts (one batch at a time): the answers after the first burst in the window over the time
    from the first burst to the last answer. For a steady stream this is the plain count / time."""
    t = done[(done >= a) & (done < b)]
    if len(t) < 2 or t[-1] - t[0] < 0.25 * (b - a):
        return len(t) / (b - a)
    first = int((t <= t[0] + burst_s).sum())
    return (len(t) - first) / (t[-1] - t[0])


def run(port: int, clients: int, ramp_s: float, hold_s: float, timeout: float, peak_window_s: int = 10) -> dict:
    rng = np.random.default_rng(1)
    image = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
    request = kserve_binary_request("127.0.0.1", port, "resnet50", "input", image, "output")
    starts = ramp_starts(clients, ramp_s)
    stop_at = ramp_s + hold_s
    record, _, first_error = asyncio.run(closed_loop("127.0.0.1", port, request, starts, stop_at, timeout))
    start, end, status, error = record.arrays()
    ok = status == 200
    horizon = int(np.ceil(end.max())) if len(end) else 0
    seconds = []
    for sec in range(horizon):
        sel = (end >= sec) & (end < sec + 1)
        lat = (end[sel & ok] - start[sel & ok]) * 1000
        p = percentiles(lat)
        seconds.append({"t": sec, "clients": int(sum(1 for s in starts if s <= sec + 1) if sec < stop_at else 0),
                        "ok": int((sel & ok).sum()), "failed": int((sel & ~ok).sum()),
                        "p50_ms": p["p50"], "p99_ms": p["p99"]})
    done = np.sort(end[ok])
    window = min(peak_window_s, stop_at)
    rates = [(rate(done, a, a + window), a) for a in np.arange(0.0, stop_at - window + 1e-9, 1.0)]
    peak, peak_from = max(rates) if rates else (0.0, 0.0)
    peak_at = int(peak_from + window)
    hold = summarize(record, ramp_s, stop_at)
    hold["throughput"] = rate(done, ramp_s, stop_at)
    kinds: dict[str, int] = {}
    for e in error[~ok]:
        kinds[e] = kinds.get(e, 0) + 1
    return {
        "clients": clients, "ramp_s": ramp_s, "hold_s": hold_s, "client_timeout_s": timeout,
        "requests": int(len(status)), "ok": int(ok.sum()), "failed": int((~ok).sum()), "failure_kinds": kinds,
        "first_error": first_error[0] if first_error else None,
        "peak_throughput": peak, "peak_at_s": peak_at, "peak_window_s": window,
        "peak_clients": int(sum(1 for s in starts if s <= peak_at + 1)),
        "throughput_at_max_clients": hold["throughput"], "p50_ms_at_max_clients": hold["p50_ms"],
        "p99_ms_at_max_clients": hold["p99_ms"],
        "ratio_to_peak": hold["throughput"] / peak if peak else None,
        "max_latency_ms": float(((end - start)[ok]).max() * 1000) if ok.any() else None,
        "drain_s": float(end.max() - stop_at) if len(end) else 0.0,
        "seconds": seconds,
    }
