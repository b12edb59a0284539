"""HTTP JSON (KServe v2 without the binary extension), which perf_analyzer cannot send.

Closed-loop clients from bench.httpclient, each on its own keep-alive connection, the same
pre-built body every time: after a short warm-up, throughput, p50/p99 and every failed response
over a fixed interval. The client is Python in the same 2-core budget, so at high concurrency on
the tiny model the figure is partly the client's limit: the report gives the client's own cost
(its CPU seconds per request) beside it.
"""
from __future__ import annotations

import asyncio
import json
import resource

import numpy as np

from bench.httpclient import send_once, closed_loop, kserve_json_request, summarize


def json_body_request(port: int, model: str, shape: list[int], name: str, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    # float64 rounded to 5 decimals: short numbers (about 8 characters), as a JSON client sends them
    data = np.round(rng.standard_normal(int(np.prod(shape))), 5).tolist()
    return kserve_json_request("127.0.0.1", port, model,
                               [{"name": name, "shape": shape, "datatype": "FP32", "data": data}])


async def _check(port: int, request: bytes) -> str | None:
    status, body = await send_once(port, request)
    if status != 200:
        return f"HTTP {status}: {body[:300]!r}"
    try:
        outputs = json.loads(body)["outputs"]
        assert outputs and outputs[0]["data"]
    except (ValueError, KeyError, AssertionError, IndexError):
        return f"unexpected answer: {body[:300]!r}"
    return None


def run(port: int, model: str, shape: list[int], name: str, concurrency: int, seconds: float,
        warmup: float, timeout: float = 30.0) -> dict:
    """Closed loop at a fixed concurrency; the figures cover [warmup, warmup + seconds)."""
    request = json_body_request(port, model, shape, name)
    problem = asyncio.run(_check(port, request))
    if problem:
        return {"model": model, "protocol": "http-json", "concurrency": concurrency, "error": problem,
                "errors": 1}
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    record, _, first_error = asyncio.run(
        closed_loop("127.0.0.1", port, request, [0.0] * concurrency, warmup + seconds, timeout))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    s = summarize(record, warmup, warmup + seconds)
    client_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    result = {"model": model, "protocol": "http-json", "concurrency": concurrency,
              "body_bytes": len(request), "throughput": s["throughput"],
              "p50_us": _us(s["p50_ms"]), "p90_us": _us(s["p90_ms"]), "p99_us": _us(s["p99_ms"]),
              "avg_us": _us(s["mean_ms"]), "requests": s["requests"], "errors": s["errors"],
              "client_cpu_us_per_request": client_cpu / max(len(record.start), 1) * 1e6}
    if first_error:
        result["first_error"] = first_error[0]
    return result


def _us(ms: float | None) -> float | None:
    return None if ms is None else ms * 1000
