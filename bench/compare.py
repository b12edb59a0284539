"""Compares two runs' raw numbers side by side.

usage: .venv/bin/python -m bench.compare OLD.json NEW.json
       (e.g. bench/results/latest.json against bench/out/results-<timestamp>.json)
"""
from __future__ import annotations

import json
import sys


def key_figures(r: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    for model, ip in r.get("inprocess", {}).items():
        out[f"in-process {model} batch-1 p50 ms"] = ip["batch1"]["p50_ms"]
        out[f"in-process {model} best /s"] = ip["best_throughput"]
    for row in r.get("perf", []) + r.get("json", []):
        if row.get("throughput") is None:
            continue
        name = f"{row['model']} {row['protocol']} c={row['concurrency']}"
        out[f"{name} /s"] = row["throughput"]
        if row.get("p50_us") is not None:
            out[f"{name} p50 µs"] = row["p50_us"]
        if row.get("p99_us") is not None:
            out[f"{name} p99 µs"] = row["p99_us"]
    lt = r.get("loadtest")
    if lt:
        out["load test failed"] = lt["failed"]
        out["load test peak /s"] = lt["peak_throughput"]
        out["load test at max clients /s"] = lt["throughput_at_max_clients"]
    live = r.get("liveness", {}).get("saturated", {})
    if live.get("p99_ms") is not None:
        out["live p99 ms (saturated)"] = live["p99_ms"]
    for point in (r.get("tfserving_rows") or {}).get("points", []):
        if point.get("p50_ms") is not None:
            out[f"TF Serving {point['rows']} rows p50 ms"] = point["p50_ms"]
    st = r.get("startup", {}).get("examples")
    if st:
        out["start-up ms"] = st["ready_s_median"] * 1000
        out["idle RSS MB"] = st["idle_rss_mb_median"]
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    old, new = (json.load(open(p)) for p in argv)
    a, b = key_figures(old), key_figures(new)
    print(f"{'figure':48s} {old.get('timestamp', 'old'):>16s} {new.get('timestamp', 'new'):>16s}  new/old")
    for k in list(dict.fromkeys(list(a) + list(b))):
        x, y = a.get(k), b.get(k)
        ratio = f"{y / x:.2f}" if x and y is not None else "–"
        print(f"{k:48s} {_f(x):>16s} {_f(y):>16s}  {ratio}")
    return 0


def _f(x) -> str:
    if x is None:
        return "–"
    return f"{x:,.2f}" if abs(x) >= 1 else f"{x:.4g}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
