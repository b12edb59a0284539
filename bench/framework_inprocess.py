"""In-process TensorFlow, libtorch and ONNX Runtime on the `frameworks` scenario's ResNet-50s: the
floors the server's figures for each framework are divided by.

Runs in its own process, one framework per process (JSON on stdout), so that each runtime's
thread pools are gone before the next one or the server starts:

    .venv-frameworks/bin/python -m bench.framework_inprocess tensorflow MODEL.savedmodel ...
    .venv/bin/python -m bench.framework_inprocess torch MODEL.pt --shim libswerve_torch_shim.so ...
    .venv/bin/python -m bench.framework_inprocess onnx MODEL.onnx ...

Each runs the same file the server serves, with the library the server uses and its thread
settings at the same CPU budget:
  tensorflow  the tensorflow-cpu wheel of .venv-frameworks (whose libtensorflow_cc.so.2 the server
              opens): tf.saved_model.load, the serving signature called with a tf.constant;
              intra-op threads = the budget, inter-op 1 (the server runs a graph's operations in
              the calling thread).
  torch       Swerve's libtorch shim (.build-native/libswerve_torch_shim.so, libtorch of the torch
              wheel) through ctypes, the C functions the server calls: swerve_torch_set_threads
              (budget, 1), swerve_torch_load(path, optimize=1) (frozen and optimized for
              inference, as served), swerve_torch_forward on a float32 buffer, the output copied
              out, the result freed.
  onnx        Python onnxruntime (the server's libonnxruntime), one session, intra-op threads =
              the budget, sequential execution (bench.inprocess.session).
Measured for each: batch 1, one call at a time (p50 / p90 / p99 / mean), once from the thread that
loaded the model and once from another thread (the server never runs a model on its loading thread;
libtorch's OpenMP pool spin-waits differently by calling thread, which on a busy 2-core machine made
the loading thread's batch-1 p50 3 to 12 times the other's), the faster of the two being the figure;
batch B (8), one call at a time on that thread (items per second); `threads` Python threads calling the one model at batch 1 at once (every
call releases the GIL); for ONNX Runtime also `threads` sessions of 1 thread each (what the main
`inprocess` scenario calls its sessions figure; TensorFlow's and libtorch's pools are process-wide,
so they have no such split in one process). The best of these is the in-process throughput.
Before timing, the model's answer on the reference input (the model script's) is compared with the
reference output: max |difference| over max |reference|.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

Call = Callable[[np.ndarray], np.ndarray]


# -- the three runtimes: each returns (call, details) ----------------------------------------------

def open_tensorflow(path: str, threads: int, input_name: str, output_name: str) -> tuple[Call, dict]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    t = time.perf_counter()
    loaded = tf.saved_model.load(path)
    load_s = time.perf_counter() - t

    def call(x: np.ndarray) -> np.ndarray:
        # looked up through `loaded` each time: the signature needs its SavedModel object alive
        return loaded.signatures["serving_default"](**{input_name: tf.constant(x)})[output_name].numpy()

    return call, {"runtime": f"TensorFlow {tf.__version__} (Python, tf.saved_model.load + signature call)",
                  "load_s": load_s, "intra_op_threads": threads, "inter_op_threads": 1}


class TorchShim:
    """The C functions of native/torch_shim/swerve_torch_shim.h that a forward pass needs."""

    API_VERSION = 1
    FP32 = 8

    def __init__(self, path: str):
        lib = ctypes.CDLL(path)  # CDLL: every call releases the GIL
        err = ctypes.POINTER(ctypes.c_void_p)
        lib.swerve_torch_api_version.restype = ctypes.c_int32
        lib.swerve_torch_version.restype = ctypes.c_char_p
        lib.swerve_torch_set_threads.argtypes = [ctypes.c_int32, ctypes.c_int32, err]
        lib.swerve_torch_set_threads.restype = ctypes.c_int32
        lib.swerve_torch_load.argtypes = [ctypes.c_char_p, ctypes.c_int32, err]
        lib.swerve_torch_load.restype = ctypes.c_void_p
        lib.swerve_torch_module_note.argtypes = [ctypes.c_void_p]
        lib.swerve_torch_module_note.restype = ctypes.c_char_p
        lib.swerve_torch_module_free.argtypes = [ctypes.c_void_p]
        lib.swerve_torch_forward.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int32),
                                             ctypes.POINTER(ctypes.c_int32),
                                             ctypes.POINTER(ctypes.POINTER(ctypes.c_int64)),
                                             ctypes.POINTER(ctypes.c_void_p), err]
        lib.swerve_torch_forward.restype = ctypes.c_void_p
        lib.swerve_torch_result_count.argtypes = [ctypes.c_void_p]
        lib.swerve_torch_result_count.restype = ctypes.c_int32
        lib.swerve_torch_result_tensor.argtypes = [
            ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_int32),
            ctypes.POINTER(ctypes.POINTER(ctypes.c_int64)), ctypes.POINTER(ctypes.c_void_p),
            ctypes.POINTER(ctypes.c_int64), err]
        lib.swerve_torch_result_tensor.restype = ctypes.c_int32
        lib.swerve_torch_result_free.argtypes = [ctypes.c_void_p]
        lib.swerve_torch_string_free.argtypes = [ctypes.c_void_p]
        self.lib = lib
        version = lib.swerve_torch_api_version()
        if version != self.API_VERSION:
            raise SystemExit(f"{path}: shim API version {version}, this client speaks {self.API_VERSION}")
        self.version = lib.swerve_torch_version().decode()

    def _check(self, ok: bool, error: ctypes.c_void_p, what: str) -> None:
        if ok:
            return
        message = ctypes.string_at(error.value).decode(errors="replace") if error.value else "no message"
        if error.value:
            self.lib.swerve_torch_string_free(error)
        raise SystemExit(f"{what}: {message}")

    def set_threads(self, intra_op: int, inter_op: int) -> int:
        error = ctypes.c_void_p()
        n = self.lib.swerve_torch_set_threads(intra_op, inter_op, ctypes.byref(error))
        self._check(n >= 0, error, "swerve_torch_set_threads")
        return n

    def load(self, path: str) -> tuple[int, str]:
        error = ctypes.c_void_p()
        module = self.lib.swerve_torch_load(path.encode(), 1, ctypes.byref(error))
        self._check(bool(module), error, f"swerve_torch_load {path}")
        return module, self.lib.swerve_torch_module_note(module).decode()

    def forward(self, module: int, x: np.ndarray) -> np.ndarray:
        """forward(x) for one contiguous float32 tensor; output 0, copied out, as float32."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        dtypes = (ctypes.c_int32 * 1)(self.FP32)
        ranks = (ctypes.c_int32 * 1)(x.ndim)
        dims = (ctypes.c_int64 * x.ndim)(*x.shape)
        shapes = (ctypes.POINTER(ctypes.c_int64) * 1)(dims)
        data = (ctypes.c_void_p * 1)(x.ctypes.data)
        error = ctypes.c_void_p()
        result = self.lib.swerve_torch_forward(module, 1, dtypes, ranks, shapes, data, ctypes.byref(error))
        self._check(bool(result), error, "swerve_torch_forward")
        try:
            dtype, rank = ctypes.c_int32(), ctypes.c_int32()
            shape, out, size = ctypes.POINTER(ctypes.c_int64)(), ctypes.c_void_p(), ctypes.c_int64()
            ok = self.lib.swerve_torch_result_tensor(result, 0, ctypes.byref(dtype), ctypes.byref(rank),
                                                     ctypes.byref(shape), ctypes.byref(out), ctypes.byref(size),
                                                     ctypes.byref(error))
            self._check(ok == 0, error, "swerve_torch_result_tensor")
            if dtype.value != self.FP32:
                raise SystemExit(f"output 0 has element type {dtype.value}, not FP32")
            dims_out = [shape[i] for i in range(rank.value)]
            return np.frombuffer(ctypes.string_at(out.value, size.value), dtype=np.float32).reshape(dims_out)
        finally:
            self.lib.swerve_torch_result_free(result)


def open_torch(path: str, threads: int, shim_path: str) -> tuple[Call, dict]:
    shim = TorchShim(shim_path)
    in_effect = shim.set_threads(threads, 1)
    t = time.perf_counter()
    module, note = shim.load(path)
    load_s = time.perf_counter() - t

    def call(x: np.ndarray) -> np.ndarray:
        return shim.forward(module, x)

    return call, {"runtime": f"libtorch {shim.version} (Swerve's shim {Path(shim_path).name} via ctypes)",
                  "load_s": load_s, "intra_op_threads": in_effect, "inter_op_threads": 1,
                  "frozen": note == "", "note": note}


def open_onnx(path: str, threads: int, input_name: str) -> tuple[Call, dict]:
    import onnxruntime as ort
    from bench.inprocess import session
    t = time.perf_counter()
    sess = session(path, threads)
    load_s = time.perf_counter() - t

    def call(x: np.ndarray) -> np.ndarray:
        return sess.run(None, {input_name: x})[0]

    return call, {"runtime": f"ONNX Runtime {ort.__version__} (Python onnxruntime)", "load_s": load_s,
                  "intra_op_threads": threads, "inter_op_threads": 1}


# -- measurements ------------------------------------------------------------------------------------

def timed(call: Call, x: np.ndarray, warmup: int, min_runs: int, min_seconds: float, max_seconds: float) -> np.ndarray:
    """Latencies in seconds of consecutive calls: at least min_runs and min_seconds, at most max_seconds."""
    for _ in range(warmup):
        call(x)
    lat = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        call(x)
        now = time.perf_counter()
        lat.append(now - t)
        if (len(lat) >= min_runs and now - start >= min_seconds) or now - start >= max_seconds:
            return np.asarray(lat)


def concurrent(calls: list[Call], x: np.ndarray, seconds: float) -> dict:
    """One Python thread per call, each calling its own in a loop at batch 1 for `seconds`."""
    for call in calls:
        call(x)
    counts = [0] * len(calls)
    barrier = threading.Barrier(len(calls) + 1)
    stop = [0.0]

    def worker(i: int) -> None:
        barrier.wait()
        n = 0
        while time.perf_counter() < stop[0]:
            calls[i](x)
            n += 1
        counts[i] = n

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for w in workers:
        w.start()
    begin = time.perf_counter()
    stop[0] = begin + seconds
    barrier.wait()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - begin
    return {"runs": sum(counts), "throughput": sum(counts) / elapsed}


def check(call: Call, x: np.ndarray, expected: np.ndarray) -> dict:
    got = call(x)
    if got.shape != expected.shape:
        raise SystemExit(f"reference check: output shape {got.shape}, expected {expected.shape}")
    diff = float(np.abs(got.astype(np.float64) - expected).max())
    scale = float(np.abs(expected).max())
    return {"max_abs_diff": diff, "max_abs_reference": scale, "relative": diff / scale if scale else diff}


def measure(framework: str, call: Call, details: dict, x1: np.ndarray, expected: np.ndarray, batch: int,
            threads: int, seconds: float, min_runs: int, max_seconds: float,
            extra_sessions: Callable[[], list[Call]] | None = None) -> dict:
    """Batch 1 from the thread that loaded the model and from another one (the server runs models
    on its scheduler's threads, never the loading one; libtorch's OpenMP pool spins differently
    depending on the calling thread); the faster of the two is the batch-1 figure, and batch B runs
    on that thread too."""
    result = {"framework": framework, **details, "check": check(call, x1, expected)}
    pct = lambda a, q: float(np.percentile(a, q, method="higher") * 1e3)  # noqa: E731
    summary = lambda a: {"runs": len(a), "p50_ms": pct(a, 50), "p90_ms": pct(a, 90), "p99_ms": pct(a, 99),  # noqa: E731
                         "mean_ms": float(a.mean() * 1e3), "throughput": float(1 / a.mean())}
    # at most twice `seconds` each: a slow variant must not eat the scenario's time
    batch1 = lambda: timed(call, x1, warmup=3, min_runs=min_runs, min_seconds=seconds,  # noqa: E731
                           max_seconds=min(max_seconds, 2 * seconds))
    with ThreadPoolExecutor(max_workers=1) as other:
        by_thread = {"loading thread": summary(batch1()), "another thread": summary(other.submit(batch1).result())}
        faster = min(by_thread, key=lambda k: by_thread[k]["p50_ms"])
        result["batch1"] = {**by_thread[faster], "thread": faster}
        result["batch1_by_thread"] = by_thread
        xb = np.ascontiguousarray(np.repeat(x1, batch, axis=0))
        batched = lambda: timed(call, xb, warmup=1, min_runs=max(3, min_runs // 8), min_seconds=seconds,  # noqa: E731
                                max_seconds=max_seconds)
        big = batched() if faster == "loading thread" else other.submit(batched).result()
    result[f"batch{batch}"] = {"batch": batch, "runs": len(big), "p50_ms": pct(big, 50),
                               "throughput": float(batch / big.mean())}
    candidates = {"batch 1": result["batch1"]["throughput"], f"batch {batch}": result[f"batch{batch}"]["throughput"]}
    if threads > 1:
        result["callers"] = {"callers": threads, **concurrent([call] * threads, x1, seconds)}
        candidates[f"batch 1, {threads} callers at once"] = result["callers"]["throughput"]
        if extra_sessions is not None:
            result["sessions"] = {"sessions": threads, "threads_per_session": 1,
                                  **concurrent(extra_sessions(), x1, seconds)}
            candidates[f"batch 1, {threads} sessions × 1 thread"] = result["sessions"]["throughput"]
    best = max(candidates, key=candidates.get)
    result["best_throughput"], result["best_config"] = candidates[best], best
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("framework", choices=["tensorflow", "torch", "onnx"])
    parser.add_argument("model", help="model.savedmodel folder, model.pt or model.onnx")
    parser.add_argument("--input", required=True, help="reference input .npy (batch 1)")
    parser.add_argument("--expected", required=True, help="reference output .npy")
    parser.add_argument("--input-name", default="INPUT__0")
    parser.add_argument("--output-name", default="OUTPUT__0")
    parser.add_argument("--shim", help="libswerve_torch_shim.so (torch)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0, help="least time per measurement")
    parser.add_argument("--min-runs", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=30.0, help="most time per measurement")
    a = parser.parse_args()
    x1 = np.ascontiguousarray(np.load(a.input), dtype=np.float32)
    expected = np.load(a.expected).astype(np.float64)
    sessions = None
    if a.framework == "tensorflow":
        call, details = open_tensorflow(a.model, a.threads, a.input_name, a.output_name)
    elif a.framework == "torch":
        if not a.shim:
            parser.error("torch needs --shim")
        call, details = open_torch(a.model, a.threads, a.shim)
    else:
        call, details = open_onnx(a.model, a.threads, a.input_name)
        sessions = lambda: [open_onnx(a.model, 1, a.input_name)[0] for _ in range(a.threads)]  # noqa: E731
    print(json.dumps(measure(a.framework, call, details, x1, expected, a.batch, a.threads, a.seconds, a.min_runs,
                             a.max_seconds, sessions)))


if __name__ == "__main__":
    main()
