"""BENCHMARKS.md from a run's results: the targets of issues 6, 7 and 14 first, then every table.

Ratios: a server latency is divided by the in-process batch-1 latency at the same percentile
(p50 by p50, p99 by p99); a server throughput by the best in-process throughput at the same
thread budget (any batch size, any split of the threads among sessions); both from this run.
"""
from __future__ import annotations

import os
from pathlib import Path


def _f(x, digits: int = 1, unit: str = "") -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and abs(x) >= 1000:
        return f"{x:,.0f}{unit}"
    return f"{x:.{digits}f}{unit}"


def _grouped(x, digits: int = 1) -> str:
    """`x` with `digits` decimals and thousands separators; "–" for None."""
    return "–" if x is None else f"{x:,.{digits}f}"


def _ratio(x, ref) -> str:
    if x is None or not ref:
        return "–"
    q = x / ref
    return f"{q:.2f}×" if q >= 0.1 else f"{q:.2g}×"


def _row(results: dict, model: str, protocol: str, c: int) -> dict | None:
    for r in results.get("perf", []) + results.get("json", []):
        if r.get("model") == model and r.get("protocol") == protocol and r.get("concurrency") == c:
            return r
    return None


def targets(results: dict) -> list[dict]:
    """Each target of issue 6: what, measured, met (True / False / None when not measured)."""
    out = []
    inproc = results.get("inprocess", {})
    rn = inproc.get("resnet50", {})
    rn_p50 = rn.get("batch1", {}).get("p50_ms")
    rn_best = rn.get("best_throughput")

    def add(name: str, measured: str, ok):
        out.append({"target": name, "measured": measured, "met": ok})

    for proto, label in (("http", "HTTP binary"), ("grpc", "gRPC")):
        r = _row(results, "resnet50", proto, 1)
        adjacent = (r or {}).get("inprocess_adjacent", {}).get("p50_ms")
        if r and r.get("p50_us") and (adjacent or rn_p50):
            ref = adjacent or rn_p50
            ratio = r["p50_us"] / 1000 / ref
            text = f"{r['p50_us'] / 1000:.1f} ms vs {ref:.1f} ms = {ratio:.3f}×"
            if adjacent:
                text = (f"{r['p50_us'] / 1000:.1f} ms vs {ref:.1f} ms in-process just before = {ratio:.3f}× "
                        f"({r['p50_us'] / 1000 / rn_p50:.3f}× the run's first in-process {rn_p50:.1f} ms)")
            add(f"ResNet-50, 1 client, {label}: p50 ≤ 1.03 × in-process p50", text, ratio <= 1.03)
        else:
            add(f"ResNet-50, 1 client, {label}: p50 ≤ 1.03 × in-process p50", _missing(r), None)
    for proto, label in (("http", "HTTP binary"), ("grpc", "gRPC")):
        r = _row(results, "resnet50", proto, 8)
        if r and r.get("throughput") is not None and rn_best:
            ratio = r["throughput"] / rn_best
            add(f"ResNet-50, 8 clients, {label}: throughput ≥ 1.0 × best in-process",
                f"{r['throughput']:.2f}/s vs {rn_best:.2f}/s = {ratio:.3f}×", ratio >= 1.0)
        else:
            add(f"ResNet-50, 8 clients, {label}: throughput ≥ 1.0 × best in-process", _missing(r), None)
        if r and r.get("p99_us") and r.get("p50_us"):
            ratio = r["p99_us"] / r["p50_us"]
            add(f"ResNet-50, 8 clients, {label}: p99 ≤ 1.3 × p50",
                f"p99 {r['p99_us'] / 1000:.0f} ms / p50 {r['p50_us'] / 1000:.0f} ms = {ratio:.2f}×", ratio <= 1.3)
        else:
            add(f"ResNet-50, 8 clients, {label}: p99 ≤ 1.3 × p50", _missing(r), None)
    for proto, label in (("grpc", "gRPC"), ("http", "HTTP binary")):
        r = _row(results, "dense_tiny", proto, 1)
        if r and r.get("p50_us") is not None:
            add(f"dense_tiny, 1 client, {label}: p50 ≤ 150 µs", f"{r['p50_us']:.0f} µs", r["p50_us"] <= 150)
        else:
            add(f"dense_tiny, 1 client, {label}: p50 ≤ 150 µs", _missing(r), None)
        r = _row(results, "dense_tiny", proto, 16)
        if r and r.get("throughput") is not None:
            add(f"dense_tiny, 16 clients, {label}: ≥ 13,000 requests/s", f"{r['throughput']:,.0f}/s",
                r["throughput"] >= 13000)
        else:
            add(f"dense_tiny, 16 clients, {label}: ≥ 13,000 requests/s", _missing(r), None)
    lt = results.get("loadtest")
    if lt:
        add(f"Load test 1 → {lt['clients']} clients: zero failed responses",
            f"{lt['failed']} failed of {lt['requests']}" + (f" ({_kinds(lt['failure_kinds'])})" if lt["failed"] else ""),
            lt["failed"] == 0)
        add(f"Load test: throughput at {lt['clients']} clients ≥ 90% of peak",
            f"{lt['throughput_at_max_clients']:.2f}/s vs peak {lt['peak_throughput']:.2f}/s = "
            f"{(lt['ratio_to_peak'] or 0) * 100:.0f}%", (lt["ratio_to_peak"] or 0) >= 0.9)
    else:
        add("Load test: zero failed responses", "not measured", None)
        add("Load test: throughput at 256 clients ≥ 90% of peak", "not measured", None)
    live = results.get("liveness", {}).get("saturated")
    if live and live.get("p99_ms") is not None:
        add("/v2/health/live p99 ≤ 10 ms while ResNet-50 is saturated",
            f"{live['p99_ms']:.2f} ms ({live['probes']} probes, {live['failures']} failed)",
            live["p99_ms"] <= 10 and live["failures"] == 0)
    else:
        add("/v2/health/live p99 ≤ 10 ms while ResNet-50 is saturated", "not measured", None)
    st = results.get("startup", {}).get("examples")
    if st:
        small = results.get("startup", {}).get("small")
        without = f"; {small['idle_rss_mb_median']:.1f} MB without the classifier" if small else ""
        add("Start-up to ready ≤ 0.5 s (example repository, with the classifier)",
            f"{st['ready_s_median'] * 1000:.0f} ms median of {st['repeats']} (max {st['ready_s_max'] * 1000:.0f} ms)",
            st["ready_s_median"] <= 0.5)
        add("Idle resident memory ≤ 60 MB (example repository, with the classifier)",
            f"{st['idle_rss_mb_median']:.1f} MB{without}", st["idle_rss_mb_median"] <= 60)
    else:
        add("Start-up to ready ≤ 0.5 s", "not measured", None)
        add("Idle resident memory ≤ 60 MB", "not measured", None)
    return out


def targets_issue7(results: dict) -> list[dict]:
    """Each target of issue 7 (images and the TorchServe-style scenario): what, measured, met."""
    out = []

    def add(name: str, measured: str, ok):
        out.append({"target": name, "measured": measured, "met": ok})

    im = results.get("images")
    name = "Image decode + preprocess: images/s ≥ 2 × Pillow + numpy (all sample images in turn, 1 thread each)"
    if im and im.get("ratio", {}).get("all") is not None:
        r = im["ratio"]["all"]
        add(name, f"{im['swerve']['all_images_per_second']:,.0f}/s vs {im['pillow']['all_images_per_second']:,.0f}/s "
            f"= {r:.2f}× (" + ", ".join(f"{k} {v:.2f}×" for k, v in im["ratio"].items() if k != "all") + ")", r >= 2.0)
    else:
        add(name, "not measured", None)
    ts = results.get("torchserve") or {}
    steps = ts.get("steps") or []
    top = max(ts.get("levels") or [256])
    name = f"JPEG clients on /predictions, 1 → {top} clients: zero failed responses"
    if steps:
        reached = steps[-1]["concurrency"]
        text = f"{ts['failed']} failed of {ts['requests']} over {len(steps)} steps"
        kinds: dict[str, int] = {}
        for r in steps:
            for k, v in r.get("failure_kinds", {}).items():
                kinds[k] = kinds.get(k, 0) + v
        if kinds:
            text += f" ({_kinds(kinds)})"
        if reached < top:
            text += f"; only up to {reached} clients"
        add(name, text, ts["failed"] == 0 and reached == top)
    else:
        add(name, "not measured", None)
    name = f"JPEG clients on /predictions: throughput at {top} clients ≥ 90% of the peak step"
    if steps and ts.get("peak_throughput") and steps[-1]["concurrency"] == top:
        ratio = ts["ratio_to_peak_at_max"]
        add(name, f"{steps[-1]['throughput']:.1f}/s vs peak {ts['peak_throughput']:.1f}/s at {ts['peak_concurrency']} "
            f"clients = {ratio * 100:.0f}%", ratio >= 0.9)
    else:
        add(name, "not measured", None)
    return out


def targets_issue14(results: dict) -> list[dict]:
    """Issue 14's target: TF Serving's row format answers in time linear in the rows."""
    tf = results.get("tfserving_rows") or {}
    name = "TF Serving row format, 1,000 → 10,000 rows: latency grows linearly (≤ 15×; quadratic would be ~100×)"
    if tf.get("ratio") is None:
        failed = [p for p in tf.get("points", []) if p.get("error")]
        return [{"target": name, "measured": f"failed: {failed[0]['error']}" if failed else "not measured",
                 "met": False if failed else None}]
    first, last = tf["points"][0], tf["points"][-1]
    return [{"target": name, "measured": f"{last['p50_ms']:.1f} ms / {first['p50_ms']:.1f} ms = {tf['ratio']:.1f}×",
             "met": tf["ratio"] <= 15}]


def _short(path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(__file__).resolve().parents[1]))
    except (TypeError, ValueError):
        return str(path)


def _missing(r: dict | None) -> str:
    if r is None:
        return "not measured"
    return f"failed: {r.get('error', 'no figure')}"


def _kinds(kinds: dict) -> str:
    return ", ".join(f"{v} {k}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))


def render(results: dict, plots: list[Path], report_dir: Path) -> str:
    m = results.get("machine", {})
    lines: list[str] = []
    w = lines.append
    full = results.get("mode") == "full"
    w("# Swerve benchmarks")
    w("")
    w(f"Written by `make bench` ({'full' if full else results.get('mode')} run, "
      f"`python -m bench{'' if full else ' --quick'}`) on {results.get('date')}, "
      f"{results.get('duration_s', 0) / 60:.1f} min of measurement. Raw numbers: "
      f"`bench/results/latest.json` (this run) and `bench/out/results-{results.get('timestamp')}.json`; "
      "how each figure is taken: `bench/README.md`.")
    w("")
    w(f"- **Machine**: {m.get('nproc')} CPUs ({m.get('cpu_model')}), {m.get('affinity_cpus')} usable by this "
      f"process, cgroup CPU quota {m.get('cgroup_cpu_quota')}; {m.get('memory_gib')} GiB memory; "
      f"{m.get('os')}, Linux {m.get('kernel')}. Load average at start "
      f"{', '.join(f'{x:.2f}' for x in results.get('load_average_at_start', []))}.")
    w(f"- **Versions**: swerve {m.get('swerve_commit')} (`{_short(m.get('swerve_binary'))}`); {m.get('swift')}; ONNX Runtime "
      f"{m.get('onnxruntime')} (the same library in the server and in-process); Python {m.get('python')}, "
      f"numpy {m.get('numpy')}; {m.get('perf_analyzer')}.")
    cfg = next((s.get("config_lines") for s in results.get("servers", []) if s.get("config_lines")), None)
    w("- **Server**: `swerve serve` with its defaults (only ports and the library path given); the bench "
      "repository holds `resnet50` and `dense_tiny` without config.pbtxt. One server at a time, a fresh "
      "one for each scenario; clients on the same machine and the same 2 cores." if cfg is not None else
      "- **Server**: `swerve serve` with its defaults, a fresh one for each scenario.")
    for line in cfg or []:
        w(f"  - log: `{line.strip()}`")
    w("- **Ratios** (`×`): a server latency over the in-process batch-1 latency at the same percentile; a "
      "server throughput over the best in-process throughput at the same thread budget; both from this run.")
    w("")

    for issue, rows in ((6, targets(results)), (7, targets_issue7(results)), (14, targets_issue14(results))):
        w(f"## Targets (issue {issue})")
        w("")
        w("| target | measured | met |")
        w("|---|---|---|")
        for t in rows:
            met = {True: "**met**", False: "not met", None: "not measured"}[t["met"]]
            w(f"| {t['target']} | {t['measured']} | {met} |")
        w("")

    inproc = results.get("inprocess", {})
    if inproc:
        w("## In-process ONNX Runtime (the floor)")
        w("")
        w("Python `onnxruntime`, the same model files and library, intra-op threads = the server's CPU budget, "
          "CPU provider, random inputs.")
        w("")
        w("| model | threads | batch-1 p50 | batch-1 p99 | batch-1 throughput | batch-8 throughput | "
          "2 sessions × 1 thread | best throughput |")
        w("|---|---|---|---|---|---|---|---|")
        for model, unit, k in (("resnet50", "ms", 1.0), ("dense_tiny", "µs", 1000.0)):
            r = inproc.get(model)
            if not r:
                continue
            b1, b8, ss = r["batch1"], r.get("batch8", {}), r.get("sessions", {})
            w(f"| {model} | {r['intra_op_threads']} | {_f(b1['p50_ms'] * k, 2)} {unit} | {_f(b1['p99_ms'] * k, 2)} {unit} | "
              f"{_f(b1['throughput'], 1)}/s | {_f(b8.get('throughput'), 1)}/s | {_f(ss.get('throughput'), 1)}/s | "
              f"**{_f(r['best_throughput'], 1)}/s** ({r['best_config']}) |")
        w("")

    for model, unit, scale, title in (("resnet50", "ms", 1e-3, "ResNet-50 (4.1 GFLOPs per image)"),
                                      ("dense_tiny", "µs", 1.0, "dense_tiny (16×16 dense: the server's own overhead)")):
        rows = [r for r in results.get("perf", []) + results.get("json", []) if r.get("model") == model]
        if not rows:
            continue
        ref = inproc.get(model, {})
        p50_ref = ref.get("batch1", {}).get("p50_ms")
        p99_ref = ref.get("batch1", {}).get("p99_ms")
        best = ref.get("best_throughput")
        w(f"## {title}")
        w("")
        w("perf_analyzer (sync clients, time windows) for HTTP binary and gRPC; the bench's own keep-alive "
          "client for HTTP JSON. Server queue / compute: perf_analyzer's reading of the statistics extension. "
          "CPU per request: the server's and the client's CPU time over the run divided by the answers.")
        w("")
        w(f"| protocol | clients | throughput /s | × best in-process | p50 {unit} | × | p99 {unit} | × | p99/p50 | "
          f"server queue {unit} | server compute {unit} | mean batch | server CPU µs/req | client CPU µs/req | errors |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        order = {"http": 0, "grpc": 1, "http-json": 2}
        for r in sorted(rows, key=lambda r: (order.get(r["protocol"], 9), r["concurrency"])):
            name = {"http": "HTTP binary", "grpc": "gRPC", "http-json": "HTTP JSON"}[r["protocol"]]
            if r.get("throughput") is None:
                w(f"| {name} | {r['concurrency']} | failed: {r.get('error', '?')} |" + " |" * 12)
                continue
            p50 = r["p50_us"] * scale if r.get("p50_us") is not None else None
            p99 = r["p99_us"] * scale if r.get("p99_us") is not None else None
            q = r.get("server_queue_us")
            comp = r.get("server_compute_infer_us")
            unstable = " (unstable)" if r.get("stable") is False else ""
            w(f"| {name} | {r['concurrency']} | {_f(r['throughput'], 1)}{unstable} | {_ratio(r['throughput'], best)} | "
              f"{_f(p50, 2)} | {_ratio(p50 / scale / 1000 if p50 is not None else None, p50_ref)} | {_f(p99, 2)} | "
              f"{_ratio(p99 / scale / 1000 if p99 is not None else None, p99_ref)} | "
              f"{_ratio(r.get('p99_us'), r.get('p50_us'))} | {_f(q * scale if q is not None else None, 2)} | "
              f"{_f(comp * scale if comp is not None else None, 2)} | {_f(r.get('server_mean_batch'), 2)} | "
              f"{_f(r.get('server_cpu_us_per_request'), 0)} | "
              f"{_f(r.get('client_cpu_us_per_request'), 0)} | "
              f"{r.get('errors', 0)} |")
        adj = [(r["protocol"], r["inprocess_adjacent"]) for r in rows if r.get("inprocess_adjacent")]
        if adj:
            w("")
            w("In-process batch 1 measured again just before each 1-client point (server idle), for the "
              "1-client ratios: " + "; ".join(
                  f"before {proto}: p50 {a['p50_ms'] * 1000 * scale:.2f} {unit}, p99 {a['p99_ms'] * 1000 * scale:.2f} {unit}"
                  for proto, a in adj) + ".")
        w("")

    profiles = results.get("profiles", [])
    if profiles:
        w("## Where the tiny model saturates (Linux perf, server process only)")
        w("")
        cores = results.get("machine", {}).get("affinity_cpus") or 2
        w(f"CPU arithmetic: at 13,000 requests/s, {cores} cores give {cores * 1e6 / 13000:.0f} µs of CPU per request "
          "for server and client together. Measured at 16 clients (CPU time over the run / answers):")
        w("")
        for proto, label in (("http", "HTTP binary"), ("grpc", "gRPC")):
            r = _row(results, "dense_tiny", proto, 16)
            if r and r.get("server_cpu_us_per_request") and r.get("client_cpu_us_per_request"):
                total = r["server_cpu_us_per_request"] + r["client_cpu_us_per_request"]
                w(f"- {label}: server {r['server_cpu_us_per_request']:.0f} µs + perf_analyzer "
                  f"{r['client_cpu_us_per_request']:.0f} µs = {total:.0f} µs per request → at most "
                  f"~{cores * 1e6 / total:,.0f} requests/s on {cores} cores (measured {r['throughput']:,.0f}/s); "
                  f"13,000/s needs the server at ≤ {max(cores * 1e6 / 13000 - r['client_cpu_us_per_request'], 0):.0f} µs.")
        w("")
        w("Sampled at 499 Hz while perf_analyzer drove dense_tiny, after the measured points (the figures above "
          "are not sampled). Share of the server's samples:")
        w("")
        for p in profiles:
            name = {"http": "HTTP binary", "grpc": "gRPC"}.get(p["protocol"], p["protocol"])
            w(f"- **{name}, {p['concurrency']} clients** — by module: " +
              ", ".join(f"{m['name']} {m['percent']:.0f}%" for m in p["modules"][:6]))
            for s in p["symbols"][:10]:
                w(f"  - {s['percent']:.1f}% `{s['name']}`")
        w("")

    lt = results.get("loadtest")
    if lt:
        w("## Load test (ResNet-50, HTTP binary)")
        w("")
        w(f"Closed-loop clients added evenly from 1 to {lt['clients']} over {lt['ramp_s']:.0f} s, then held "
          f"{lt['hold_s']:.0f} s; client timeout {lt['client_timeout_s']:.0f} s; every non-200, connection error "
          "and timeout counted.")
        w("")
        w(f"- requests {lt['requests']}, answered 200: {lt['ok']}, **failed: {lt['failed']}**"
          + (f" ({_kinds(lt['failure_kinds'])}; first: `{(lt.get('first_error') or '')[:200]}`)" if lt["failed"] else ""))
        w(f"- peak throughput {lt['peak_throughput']:.2f}/s (best {lt.get('peak_window_s', 5)} s window, at ~{lt['peak_clients']} clients); at "
          f"{lt['clients']} clients {lt['throughput_at_max_clients']:.2f}/s = "
          f"{(lt['ratio_to_peak'] or 0) * 100:.0f}% of peak, ratio to best in-process "
          f"{_ratio(lt['throughput_at_max_clients'], inproc.get('resnet50', {}).get('best_throughput'))}")
        w(f"- latency at {lt['clients']} clients: p50 {_f(lt['p50_ms_at_max_clients'], 0)} ms, p99 "
          f"{_f(lt['p99_ms_at_max_clients'], 0)} ms; slowest answer {_f(lt['max_latency_ms'], 0)} ms; drain after the "
          f"hold {lt['drain_s']:.1f} s")
        if lt.get("server_success") is not None:
            w(f"- the server's statistics: {lt['server_success']} successful inferences, {lt['server_fail']} failed, "
              f"mean batch {lt.get('server_mean_batch')}" + (
                  f" — {lt['server_success'] - lt['ok']} more than the clients received: work done for requests "
                  "whose clients had given up" if lt["server_success"] > lt["ok"] else ""))
        ld = lt.get("liveness_during") or {}
        if ld.get("p99_ms") is not None:
            w(f"- /v2/health/live during the whole test (10 probes/s, fresh connections): p50 {ld['p50_ms']:.2f} ms, "
              f"p99 {ld['p99_ms']:.2f} ms, max {ld['max_ms']:.1f} ms, {ld['failures']} failed of {ld['probes']}")
        w("")
        w("| second | clients | answers/s | failures | p50 ms | p99 ms |")
        w("|---|---|---|---|---|---|")
        secs = lt["seconds"]
        for s in secs[::5] if len(secs) > 30 else secs:
            w(f"| {s['t']} | {s['clients']} | {s['ok']} | {s['failed']} | {_f(s['p50_ms'], 0)} | {_f(s['p99_ms'], 0)} |")
        w("")
        w("(every 5th second shown when long; all in the JSON)")
        w("")

    _images_section(results, w)
    _tfserving_rows_section(results, w)
    _torchserve_section(results, w)

    live = results.get("liveness")
    if live:
        idle, sat = live.get("idle", {}), live.get("saturated", {})
        w("## Liveness under load")
        w("")
        w(f"GET /v2/health/live on a fresh connection every {sat.get('interval_s', 0) * 1000:.0f} ms from a separate "
          f"process, while {sat.get('clients')} closed-loop clients kept ResNet-50 saturated "
          f"({_f(sat.get('load_throughput'), 2)}/s answered, {sat.get('load_errors')} errors).")
        w("")
        w("| condition | probes | failed | p50 ms | p90 ms | p99 ms | max ms |")
        w("|---|---|---|---|---|---|---|")
        for name, d in (("idle", idle), ("ResNet-50 saturated", sat)):
            w(f"| {name} | {d.get('probes')} | {d.get('failures')} | {_f(d.get('p50_ms'), 2)} | {_f(d.get('p90_ms'), 2)} | "
              f"{_f(d.get('p99_ms'), 2)} | {_f(d.get('max_ms'), 2)} |")
        w("")

    st = results.get("startup")
    if st:
        w("## Start-up and memory")
        w("")
        w("Process created → first 200 from /v2/health/ready (polled every 2 ms); RSS = VmRSS one second after "
          "ready, idle.")
        w("")
        w("| repository | runs | ready median | min | max | idle RSS |")
        w("|---|---|---|---|---|---|")
        for key, name in (("empty", "empty (runtime only)"), ("small", "the 7 small example models"),
                          ("examples", "example repository (`make models`: 7 small models + EfficientNet-Lite0)"),
                          ("bench", "resnet50 + dense_tiny")):
            s = st.get(key)
            if s:
                w(f"| {name} | {s['repeats']} | {s['ready_s_median'] * 1000:.0f} ms | {s['ready_s_min'] * 1000:.0f} ms | "
                  f"{s['ready_s_max'] * 1000:.0f} ms | {s['idle_rss_mb_median']:.1f} MB |")
        w("")
    servers = results.get("servers", [])
    if servers:
        w("Each scenario's server (RSS at the end, peak RSS, how it stopped on SIGTERM):")
        w("")
        w("| scenario | ready | RSS loaded | RSS at end | peak RSS | stop | exit | error lines in log |")
        w("|---|---|---|---|---|---|---|---|")
        for s in servers:
            w(f"| {s['scenario']} | {_f(s.get('ready_s'), 2)} s | {_f(s.get('rss_mb_loaded'), 0)} MB | "
              f"{_f(s['rss_mb_end'], 0)} MB | {_f(s['peak_rss_mb'], 0)} MB | {s['stop_s']:.2f} s | {s['exit_status']} | "
              f"{s['error_lines']} |")
        w("")

    if plots:
        w("## Plots")
        w("")
        for p in plots:
            rel = os.path.relpath(Path(p).resolve(), report_dir.resolve()) if Path(p).is_absolute() else str(p)
            w(f"![{Path(p).stem}]({rel})")
        w("")
    cond = results.get("conditions", {})
    if cond:
        w("## Machine load during the run")
        w("")
        w("At the end of each scenario: 1-minute load average (the bench itself drives the 2 cores, so 2–4 is "
          "expected under load), and the share of the last 60 s in which some task waited for CPU or memory "
          "(Linux PSI). Memory pressure or compiler processes mean another load shared the machine.")
        w("")
        w("| scenario | seconds | load average | CPU pressure % | memory pressure % | compilers running |")
        w("|---|---|---|---|---|---|")
        for name, c in cond.items():
            w(f"| {name} | {results.get('scenario_seconds', {}).get(name, '–')} | {c.get('load_average_1m', 0):.1f} | "
              f"{_f(c.get('cpu_some_avg60'), 0)} | {_f(c.get('memory_some_avg60'), 0)} | {c.get('compilers_running')} |")
        w("")
    notes = results.get("notes", [])
    if notes:
        w("## Notes from this run")
        w("")
        for n in notes:
            w(f"- {n}")
        w("")
    return "\n".join(lines)


def _images_section(results: dict, w) -> None:
    im = results.get("images")
    if not im:
        return
    w("## Images: decode + preprocess vs Pillow")
    w("")
    w("From the encoded bytes in memory to the model's input tensor, MODELS.md's reference steps: decode, EXIF "
      "orientation, RGB, shorter side to 256 (antialiased bilinear), center crop 224, (v − 127) / 128 as float32, "
      "HWC → CHW. Swerve: `swerve-image-bench` (SwerveImage, the server's own code, same tensors bit for bit); "
      "Pillow + numpy: `bench.image_preprocess.pillow_preprocess`. One thread each, one image after the other, "
      f"both in this run (`python -m bench.image_preprocess`): {im.get('rounds', 1)} rounds, Swerve then Pillow in each, "
      f"{im.get('seconds_per_point', 0) / im.get('rounds', 1):.1f} s per figure and round; each figure is the median of "
      "its rounds. "
      "The decode columns are whole decodes; inside the pipeline a JPEG is decoded only where the resize and crop "
      "read. `swerve-image-bench` sets the server's malloc policy (`Malloc.keepRequestBuffers`).")
    w("")
    w("| image | size | bytes | Swerve images/s | Pillow + numpy images/s | ratio | Swerve ms | Pillow ms | "
      "decode ms Swerve | decode ms Pillow |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for sw, pi in zip(im["swerve"]["images"], im["pillow"]["images"]):
        w(f"| {sw['name']} | {sw['width']}×{sw['height']} | {sw['bytes']:,} | {_f(sw['images_per_second'], 0)} | "
          f"{_f(pi['images_per_second'], 0)} | {im['ratio'][sw['name']]:.2f}× | {_f(sw['ms_per_image'], 2)} | "
          f"{_f(pi['ms_per_image'], 2)} | {_f(sw['decode_ms_per_image'], 2)} | {_f(pi['decode_ms_per_image'], 2)} |")
    sw, pi = im["swerve"], im["pillow"]
    w(f"| **all in turn** | | | **{_f(sw['all_images_per_second'], 0)}** | {_f(pi['all_images_per_second'], 0)} | "
      f"**{im['ratio']['all']:.2f}×** | {_f(sw['all_ms_per_image'], 2)} | {_f(pi['all_ms_per_image'], 2)} | | |")
    w("")


def _tfserving_rows_section(results: dict, w) -> None:
    tf = results.get("tfserving_rows")
    if not tf:
        return
    w("## TF Serving row format: latency by rows")
    w("")
    w(f"`{{\"instances\": [...]}}` of N rows of 4 floats POSTed to `/v1/models/{tf['model']}:predict` (FP32 [N,4] "
      "identity, max_batch_size 0: one tensor per request), one client on a keep-alive connection, one request at a "
      "time; per size one unmeasured request (its answer checked against the input), then the measured ones. "
      "Latency covers parsing the body, inference and writing `{\"predictions\": [...]}`.")
    w("")
    w("| rows | request bytes | answer bytes | requests | p50 ms | min ms | max ms | µs per row (p50) |")
    w("|---|---|---|---|---|---|---|---|")
    for p in tf["points"]:
        if p.get("p50_ms") is None:
            w(f"| {p['rows']:,} | {p['body_bytes']:,} | failed: {p.get('error', '?')[:200]} |" + " |" * 5)
            continue
        w(f"| {p['rows']:,} | {p['body_bytes']:,} | {p['answer_bytes']:,} | {p['requests']} | {_f(p['p50_ms'], 2)} | "
          f"{_f(p['min_ms'], 2)} | {_f(p['max_ms'], 2)} | {_f(p['p50_ms'] * 1000 / p['rows'], 2)} |")
    if tf.get("ratio") is not None:
        w("")
        w(f"{tf['points'][-1]['rows']:,} rows over {tf['points'][0]['rows']:,} rows: **{tf['ratio']:.1f}×** the p50 "
          f"latency for {tf['rows_ratio']:.0f}× the rows (linear ≈ {tf['rows_ratio']:.0f}×).")
    w("")


def _torchserve_section(results: dict, w) -> None:
    ts = results.get("torchserve")
    if not ts:
        return
    base = ts.get("inprocess") or {}
    steps = ts.get("steps") or []
    w(f"## TorchServe-style JPEG clients ({ts.get('model', 'efficientnet_lite0')})")
    w("")
    w(f"A fresh `swerve serve` on a repository holding only the example classifier (`scripts/make_classifier.py`: "
      f"EfficientNet-Lite0, max_batch_size 8, the server's image pipeline and top 5 labels). Closed-loop clients, "
      f"each on its own keep-alive connection (curl in a shell loop would open one per request), POST the bytes of "
      f"{' and '.join(ts.get('images', []))} in turn as the raw body to `/predictions/{ts.get('model')}` with "
      f"the headers of `curl --data-binary @image.jpg`. Each step: {ts.get('warmup_s', 0):.1f} s warm-up, then "
      f"{ts.get('seconds', 0):.1f} s measured; client timeout {ts.get('client_timeout_s', 0):.0f} s. Failed: every "
      "non-200, connection error, timeout and 200 whose body is not a JSON object of 5 label → probability entries, "
      "counted over the whole step (warm-up and drain included).")
    w("")
    if base:
        w(f"- **In-process base** (one Python client, the same work per image: Pillow + numpy decode and preprocess, "
          f"onnxruntime on the same model.onnx with {base['intra_op_threads']} intra-op threads, softmax and top 5; "
          f"{base['runs']} images in turn, in a child process before the server starts): p50 "
          f"**{base['p50_ms']:.2f} ms**, p99 {base['p99_ms']:.2f} ms, **{base['throughput']:.1f} images/s** "
          f"(mean: preprocess {base['preprocess_mean_ms']:.2f} ms + model {base['model_mean_ms']:.2f} ms).")
    if steps:
        one = next((r for r in steps if r["concurrency"] == 1), None)
        if one and base and one.get("p50_ms"):
            w(f"- Server at 1 client: p50 {one['p50_ms']:.2f} ms = **{_ratio(one['p50_ms'], base['p50_ms'])}** the "
              f"in-process p50; {one['throughput']:.1f}/s = {_ratio(one['throughput'], base['throughput'])} the "
              "in-process images/s.")
        w(f"- {ts['requests']} requests, **{ts['failed']} failed**; peak {ts.get('peak_throughput', 0):.1f}/s at "
          f"{ts.get('peak_concurrency')} clients; at {ts.get('max_concurrency')} clients "
          f"{(ts.get('ratio_to_peak_at_max') or 0) * 100:.0f}% of the peak.")
        if ts.get("server_mean_batch") is not None:
            w(f"- The server's statistics over the whole scenario: {ts.get('server_success')} successful "
              f"inferences, {ts.get('server_fail')} failed, mean batch {ts['server_mean_batch']}; RSS "
              f"{_f(ts.get('rss_mb_loaded'), 0)} MB loaded, {_f(ts.get('rss_mb_end'), 0)} MB at the end, peak "
              f"{_f(ts.get('peak_rss_mb'), 0)} MB.")
        w("")
        w("| clients | answers/s | × in-process | p50 ms | × in-process p50 | p99 ms | p99/p50 | requests | failed | "
          "mean batch | server queue ms | server compute ms | server CPU µs/req | client CPU µs/req |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in steps:
            failed = str(r["failed"]) + (f" ({_kinds(r['failure_kinds'])})" if r["failed"] else "")
            w(f"| {r['concurrency']} | {_f(r['throughput'], 1)} | {_ratio(r['throughput'], base.get('throughput'))} | "
              f"{_f(r['p50_ms'], 1)} | {_ratio(r['p50_ms'], base.get('p50_ms'))} | {_f(r['p99_ms'], 1)} | "
              f"{_ratio(r['p99_ms'], r['p50_ms'])} | {r['requests']} | {failed} | {_f(r.get('server_mean_batch'), 2)} | "
              f"{_f(r.get('server_queue_ms'), 1)} | {_f(r.get('server_compute_ms'), 1)} | "
              f"{_f(r.get('server_cpu_us_per_request'), 0)} | {_f(r.get('client_cpu_us_per_request'), 0)} |")
        firsts = [(r["concurrency"], r["first_error"]) for r in steps if r.get("first_error")]
        if firsts:
            w("")
            w("First failure of each step with failures: " + "; ".join(
                f"{c} clients: `{e[:200]}`" for c, e in firsts))
    w("")
