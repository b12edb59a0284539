"""TF Serving's row format at growing sizes (issue 14): `{"instances": [...]}` of N rows of 4
floats POSTed to `:predict` of a [N,4] FP32 identity model (max_batch_size 0, so the whole request
is one tensor), one request at a time on a keep-alive connection. Each size: one unmeasured
request, then requests for `seconds` (at least `min_runs`); the figure is the median latency. When
the answer takes time linear in the rows, 10,000 rows take about 10× as long as 1,000.
"""
from __future__ import annotations

import http.client
import json
import statistics
import time
from pathlib import Path

import numpy as np

MODEL = "identity_rows"


def make_repository(repo: Path) -> Path:
    """A repository holding only `identity_rows`: x FP32 [N,4] -> y = x, max_batch_size 0."""
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], MODEL,
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="swerve-bench")
    model.ir_version = 8
    (repo / MODEL / "1").mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(repo / MODEL / "1/model.onnx"))
    (repo / MODEL / "config.pbtxt").write_text("max_batch_size: 0\n")
    return repo


def _post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", f"/v1/models/{MODEL}:predict", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


def measure(port: int, rows: int, seconds: float, min_runs: int, timeout: float) -> dict:
    """Latency of `:predict` with `rows` instances; the first answer is checked against the input."""
    x = np.round(np.random.default_rng(rows).standard_normal((rows, 4)), 4).astype(np.float32)
    body = json.dumps({"instances": x.tolist()}, separators=(",", ":")).encode()
    result = {"rows": rows, "body_bytes": len(body)}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        status, answer = _post(conn, body)
        if status != 200:
            return {**result, "error": f"HTTP {status}: {answer[:300]!r}"}
        predictions = np.array(json.loads(answer)["predictions"], dtype=np.float32)
        if predictions.shape != x.shape or not np.array_equal(predictions, x):
            return {**result, "error": f"the answer is not the input (shape {predictions.shape})"}
        result["answer_bytes"] = len(answer)
        times: list[float] = []
        stop_at = time.perf_counter() + seconds
        while len(times) < min_runs or time.perf_counter() < stop_at:
            t = time.perf_counter()
            status, answer = _post(conn, body)
            times.append((time.perf_counter() - t) * 1000)
            if status != 200:
                return {**result, "error": f"HTTP {status}: {answer[:300]!r}"}
    except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
        return {**result, "error": f"{type(e).__name__}: {e}"}
    finally:
        conn.close()
    return {**result, "requests": len(times), "p50_ms": statistics.median(times), "min_ms": min(times),
            "max_ms": max(times)}


def run(port: int, sizes: tuple[int, ...], seconds: float, min_runs: int, timeout: float, log) -> dict:
    """Every size in turn; `ratio` is the largest size's median over the smallest's."""
    points = []
    for rows in sizes:
        points.append(measure(port, rows, seconds, min_runs, timeout))
        p = points[-1]
        log(f"  {rows} rows: " + (f"p50 {p['p50_ms']:.2f} ms (min {p['min_ms']:.2f}, {p['requests']} requests)"
                                  if "p50_ms" in p else f"FAILED {p['error']}"))
    out = {"model": MODEL, "points": points}
    first, last = points[0], points[-1]
    if len(points) > 1 and first.get("p50_ms") and last.get("p50_ms"):
        out["rows_ratio"] = last["rows"] / first["rows"]
        out["ratio"] = last["p50_ms"] / first["p50_ms"]
        log(f"  {last['rows']} / {first['rows']} rows: {out['ratio']:.1f}× the latency "
            f"(linear: {out['rows_ratio']:.0f}×)")
    return out
