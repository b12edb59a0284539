"""In-process ONNX Runtime: the floor every server figure is measured against.

Runs in its own process (`python -m bench.inprocess MODEL.onnx ...`, JSON on stdout) so that its
sessions and thread pools are gone before a server starts. Same model file, same CPU provider and
the same intra-op thread budget as the server. Measures:
  - batch 1, one session with all the threads, one call at a time: p50 / p99 / mean latency;
  - batch B (e.g. 8), one session with all the threads: throughput in items per second;
  - S sessions with threads/S intra-op threads each, called from S Python threads at once
    (onnxruntime releases the GIL), batch 1: throughput.
The best throughput of these is what a server at the same budget is compared with.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def session(path: str, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def feed(sess: ort.InferenceSession, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs of the model's signature with the first dimension set to `batch`."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for inp in sess.get_inputs():
        shape = [batch if i == 0 else (d if isinstance(d, int) else 1) for i, d in enumerate(inp.shape)]
        if inp.type == "tensor(float)":
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
        elif inp.type == "tensor(int32)":
            feeds[inp.name] = rng.integers(-100, 100, shape).astype(np.int32)
        else:
            raise SystemExit(f"unsupported input type {inp.type}")
    return feeds


def timed_runs(sess, feeds, warmup: int, min_runs: int, min_seconds: float, max_seconds: float) -> np.ndarray:
    """Latencies in seconds of consecutive runs: at least min_runs and min_seconds, at most max_seconds."""
    for _ in range(warmup):
        sess.run(None, feeds)
    lat = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        sess.run(None, feeds)
        now = time.perf_counter()
        lat.append(now - t)
        elapsed = now - start
        if (len(lat) >= min_runs and elapsed >= min_seconds) or elapsed >= max_seconds:
            return np.asarray(lat)


def concurrent_sessions(path: str, sessions: int, threads: int, seconds: float) -> dict:
    """`sessions` sessions of threads // sessions intra-op threads each, driven at once."""
    per = max(1, threads // sessions)
    sess = [session(path, per) for _ in range(sessions)]
    feeds = [feed(s, 1, seed=i) for i, s in enumerate(sess)]
    for s, f in zip(sess, feeds):
        s.run(None, f)
    counts = [0] * sessions
    stop = time.perf_counter() + seconds
    barrier = threading.Barrier(sessions)

    def worker(i: int) -> None:
        barrier.wait()
        n = 0
        while time.perf_counter() < stop:
            sess[i].run(None, feeds[i])
            n += 1
        counts[i] = n

    begin = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(sessions)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - begin
    return {"sessions": sessions, "threads_per_session": per, "runs": sum(counts),
            "throughput": sum(counts) / elapsed}


def measure(path: str, threads: int, batch: int, seconds: float, min_runs: int, max_seconds: float,
            batch1_only: bool = False) -> dict:
    sess = session(path, threads)
    one = timed_runs(sess, feed(sess, 1), warmup=5, min_runs=min_runs, min_seconds=seconds, max_seconds=max_seconds)
    result = {
        "intra_op_threads": threads,
        "batch1": {"runs": len(one), "p50_ms": float(np.percentile(one, 50, method="higher") * 1e3),
                   "p90_ms": float(np.percentile(one, 90, method="higher") * 1e3),
                   "p99_ms": float(np.percentile(one, 99, method="higher") * 1e3),
                   "mean_ms": float(one.mean() * 1e3), "throughput": float(1 / one.mean())},
    }
    if batch1_only:
        return result
    big = timed_runs(sess, feed(sess, batch), warmup=2, min_runs=max(3, min_runs // 8),
                     min_seconds=seconds, max_seconds=max_seconds)
    result[f"batch{batch}"] = {"batch": batch, "runs": len(big), "p50_ms": float(np.percentile(big, 50) * 1e3),
                               "throughput": float(batch / big.mean())}
    del sess
    if threads > 1:
        result["sessions"] = concurrent_sessions(path, threads, threads, seconds)
    candidates = {"batch 1, 1 session": result["batch1"]["throughput"],
                  f"batch {batch}, 1 session": result[f"batch{batch}"]["throughput"]}
    if "sessions" in result:
        candidates[f"batch 1, {threads} sessions x 1 thread"] = result["sessions"]["throughput"]
    best = max(candidates, key=candidates.get)
    result["best_throughput"] = candidates[best]
    result["best_config"] = best
    result["onnxruntime"] = ort.__version__
    return result


def run_child(model: Path, seconds: float, min_runs: int, threads: int = 2, batch: int = 8,
              batch1_only: bool = False) -> dict:
    """measure() in a child process (its sessions and thread pools end with it)."""
    from bench.util import log, run_json_child
    result = run_json_child("bench.inprocess", [str(model), "--threads", str(threads), "--batch", str(batch),
                                                "--seconds", str(seconds), "--min-runs", str(min_runs)]
                            + (["--batch1-only"] if batch1_only else []),
                            timeout=max(120.0, seconds * 12 + 60))
    one = result["batch1"]
    if batch1_only:
        log(f"  in-process {model.parent.parent.name} just before: batch 1 p50 {one['p50_ms']:.3f} ms "
            f"p99 {one['p99_ms']:.3f} ms")
        return result
    log(f"  in-process {model.parent.parent.name}: batch 1 p50 {one['p50_ms']:.3f} ms p99 {one['p99_ms']:.3f} ms; "
        f"best {result['best_throughput']:.1f}/s ({result['best_config']})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="least time per measurement")
    parser.add_argument("--min-runs", type=int, default=100)
    parser.add_argument("--max-seconds", type=float, default=30.0, help="most time per measurement")
    parser.add_argument("--batch1-only", action="store_true", help="only the batch-1 latencies")
    a = parser.parse_args()
    print(json.dumps(measure(a.model, a.threads, a.batch, a.seconds, a.min_runs, a.max_seconds, a.batch1_only)))


if __name__ == "__main__":
    main()
