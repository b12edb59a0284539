"""The seed's scenario: clients posting JPEGs curl-style to the TorchServe-style API
(`POST /predictions/efficientnet_lite0`, the image as the raw body), at 1, 2, 4 … 256 concurrent
clients for a fixed time each, against the in-process Python time for the same work.

Clients: closed loop, each on its own keep-alive connection (bench.httpclient; `curl` in a shell
loop would open a new connection per request), sending cat.jpg and missile.jpg in turn with the
headers `curl --data-binary @cat.jpg` sends. After a short warm-up, each step's figures cover a
fixed window: answers per second, p50 / p99; every non-200, connection error, client timeout and
200 whose body is not a JSON object of 5 label → probability entries is a failure, counted over
the whole step (warm-up and drain included). The server's statistics before and after each step
give its mean batch size; its CPU time gives its CPU per answer.

The base (`python -m bench.torchserve_load MODEL_DIR ...` in a child process, JSON on stdout):
one Python client doing the same work per image in process — Pillow + numpy decode and
preprocess (bench.image_preprocess.pillow_preprocess: MODELS.md's reference steps), then
onnxruntime on the same model.onnx with intra-op threads = the server's CPU budget, then softmax
and the top 5 labels — one image after the other: p50 / p99 and images per second.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path

import numpy as np

from bench.httpclient import send_once, build_request, closed_loop, summarize

MODEL = "efficientnet_lite0"
IMAGES = ("cat.jpg", "missile.jpg")
TOP_K = 5


def curl_request(port: int, data: bytes) -> bytes:
    """The request `curl http://127.0.0.1:PORT/predictions/MODEL --data-binary @image.jpg` sends."""
    return build_request("POST", f"/predictions/{MODEL}", "127.0.0.1", port, data,
                         {"User-Agent": "curl/7.88.1", "Accept": "*/*",
                          "Content-Type": "application/x-www-form-urlencoded"})


def check_answer(body: bytes) -> str | None:
    """None for a JSON object of TOP_K label → probability entries, else what is wrong."""
    try:
        answer = json.loads(body)
    except ValueError:
        return "not JSON"
    if not isinstance(answer, dict) or len(answer) != TOP_K:
        return f"not an object of {TOP_K} entries"
    if not all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in answer.values()):
        return "a value is not a probability"
    return None


async def _check(port: int, request: bytes) -> str | None:
    status, body = await send_once(port, request)
    if status != 200:
        return f"HTTP {status}: {body[:300]!r}"
    problem = check_answer(body)
    return f"{problem}: {body[:300]!r}" if problem else None


def step(server, requests: list[bytes], concurrency: int, seconds: float, warmup: float, timeout: float) -> dict:
    """One concurrency level: `concurrency` clients from the start, figures over [warmup, warmup + seconds)."""
    from bench.loadtest import rate
    port = server.torchserve_port
    before, cpu_before = server.stats(MODEL), server.cpu_seconds()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    record, _, first_error = asyncio.run(
        closed_loop("127.0.0.1", port, requests, [0.0] * concurrency, warmup + seconds, timeout, check_answer))
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    after, cpu_after = server.stats(MODEL), server.cpu_seconds()
    s = summarize(record, warmup, warmup + seconds)
    start, end, status, error = record.arrays()
    ok = error == ""
    kinds: dict[str, int] = {}
    for e in error[~ok]:
        kinds[e] = kinds.get(e, 0) + 1
    result = {"concurrency": concurrency, "seconds": seconds, "warmup_s": warmup,
              "throughput": rate(np.sort(end[ok]), warmup, warmup + seconds), "p50_ms": s["p50_ms"],
              "p90_ms": s["p90_ms"], "p99_ms": s["p99_ms"], "mean_ms": s["mean_ms"], "answers_in_window": s["ok"],
              "requests": int(len(status)), "ok": int(ok.sum()), "failed": int((~ok).sum()), "failure_kinds": kinds,
              "first_error": first_error[0] if first_error else None,
              "drain_s": float(end.max() - warmup - seconds) if len(end) else 0.0,
              "client_cpu_us_per_request": ((usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime))
              / max(len(status), 1) * 1e6}
    if before and after:
        done = after["success"] - before["success"]
        result["server_success"] = done
        result["server_fail"] = after["fail"] - before["fail"]
        result["server_mean_batch"] = round((after["inference_count"] - before["inference_count"]) /
                                            max(after["execution_count"] - before["execution_count"], 1), 2)
        result["server_queue_ms"] = (after["queue_ns"] - before["queue_ns"]) / max(done, 1) / 1e6
        result["server_compute_ms"] = (after["compute_infer_ns"] - before["compute_infer_ns"]) / max(done, 1) / 1e6
        result["server_cpu_us_per_request"] = (cpu_after - cpu_before) / max(done, 1) * 1e6
    return result


def run(server, images: list[Path], levels: tuple[int, ...], seconds: float, warmup: float, timeout: float,
        left_s=lambda: float("inf"), log=print, into: dict | None = None) -> dict:
    """Every concurrency level in turn on a started server, skipping the rest when left_s() runs
    low or the server is gone. Fills and returns `into` (a new dict by default) as it goes, so a
    caller interrupted midway keeps the steps measured so far."""
    port = server.torchserve_port
    if not port:
        raise RuntimeError("this build of swerve has no --torchserve-port")
    requests = [curl_request(port, p.read_bytes()) for p in images]
    result = into if into is not None else {}
    result.update({"model": MODEL, "images": [p.name for p in images], "levels": list(levels), "seconds": seconds,
              "warmup_s": warmup, "client_timeout_s": timeout, "connection": "keep-alive, one per client",
              "steps": [], "skipped": []})
    for request in requests:
        problem = asyncio.run(_check(port, request))
        if problem:
            raise RuntimeError(f"POST /predictions/{MODEL}: {problem}")
    for c in levels:
        if left_s() < seconds + warmup + 15 or not server.alive():
            result["skipped"].append({"concurrency": c, "why": "time budget spent" if server.alive() else "server gone"})
            continue
        r = step(server, requests, c, seconds, warmup, timeout)
        result["steps"].append(r)
        log(f"  torchserve c={c:<3d} {r['throughput']:7.1f}/s  p50 {r['p50_ms'] or float('nan'):8.1f} ms  "
            f"p99 {r['p99_ms'] or float('nan'):8.1f} ms  failed {r['failed']}"
            + (f" {r['failure_kinds']} first: {r['first_error'][:200]}" if r["failed"] else "")
            + f"  mean batch {r.get('server_mean_batch')}")
    steps = [r for r in result["steps"] if r["throughput"]]
    if steps:
        peak = max(steps, key=lambda r: r["throughput"])
        last = result["steps"][-1]
        result["peak_throughput"], result["peak_concurrency"] = peak["throughput"], peak["concurrency"]
        result["max_concurrency"] = last["concurrency"]
        result["ratio_to_peak_at_max"] = last["throughput"] / peak["throughput"]
    result["failed"] = sum(r["failed"] for r in result["steps"])
    result["requests"] = sum(r["requests"] for r in result["steps"])
    return result


# -- the in-process base (a child process) --------------------------------------------------

def measure_inprocess(model_dir: Path, images: list[Path], threads: int, seconds: float, min_runs: int) -> dict:
    import onnxruntime as ort

    from bench.image_preprocess import pillow_preprocess
    from bench.inprocess import session

    sess = session(str(model_dir / "1" / "model.onnx"), threads)
    input_name = sess.get_inputs()[0].name
    labels = (model_dir / "labels.txt").read_text().splitlines()
    inputs = [p.read_bytes() for p in images]

    def classify(data: bytes) -> tuple[dict, float]:
        x = pillow_preprocess(data)[np.newaxis]
        t = time.perf_counter()
        logits = sess.run(None, {input_name: x})[0][0].astype(np.float64)
        model_s = time.perf_counter() - t
        e = np.exp(logits - logits.max())
        p = e / e.sum()
        top = np.argsort(-p)[:TOP_K]
        return {labels[i]: float(p[i]) for i in top}, model_s

    for data in inputs * 3:
        classify(data)
    total, model = [], []
    start = time.perf_counter()
    i = 0
    while True:
        t = time.perf_counter()
        _, m = classify(inputs[i % len(inputs)])
        now = time.perf_counter()
        total.append(now - t)
        model.append(m)
        i += 1
        if (i >= min_runs and now - start >= seconds) or now - start >= 4 * seconds + 30:
            break
    total_a, model_a = np.asarray(total), np.asarray(model)
    pct = lambda a, q: float(np.percentile(a, q, method="higher") * 1e3)  # noqa: E731
    return {"images": [p.name for p in images], "intra_op_threads": threads, "runs": len(total_a),
            "p50_ms": pct(total_a, 50), "p90_ms": pct(total_a, 90), "p99_ms": pct(total_a, 99),
            "mean_ms": float(total_a.mean() * 1e3), "throughput": float(1 / total_a.mean()),
            "model_p50_ms": pct(model_a, 50), "model_mean_ms": float(model_a.mean() * 1e3),
            "preprocess_mean_ms": float((total_a - model_a).mean() * 1e3), "onnxruntime": ort.__version__}


def inprocess_child(model_dir: Path, images: list[Path], threads: int, seconds: float, min_runs: int) -> dict:
    """measure_inprocess() in a child process (its session and thread pool end with it)."""
    from bench.util import log, run_json_child
    r = run_json_child("bench.torchserve_load", [str(model_dir), "--threads", str(threads), "--seconds", str(seconds),
                                                 "--min-runs", str(min_runs), *map(str, images)],
                       timeout=max(120.0, seconds * 8 + 60))
    log(f"  in-process {MODEL} (Pillow + numpy + onnxruntime, {threads} threads): p50 {r['p50_ms']:.2f} ms, "
        f"p99 {r['p99_ms']:.2f} ms, {r['throughput']:.1f} images/s (preprocess {r['preprocess_mean_ms']:.2f} ms + "
        f"model {r['model_mean_ms']:.2f} ms mean)")
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description="in-process base of the TorchServe-style scenario")
    parser.add_argument("model_dir", type=Path, help=f"the repository's {MODEL} folder")
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--min-runs", type=int, default=50)
    a = parser.parse_args()
    print(json.dumps(measure_inprocess(a.model_dir, a.images, a.threads, a.seconds, a.min_runs)))


if __name__ == "__main__":
    main()
