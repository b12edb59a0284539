"""Runs every scenario in order, one server at a time, then writes the JSON, the plots and the report.

usage: .venv/bin/python -m bench [--quick] [--binary PATH] [--only SCENARIO,...] [--report PATH]

The full run (`make bench`) writes BENCHMARKS.md at the project root, bench/plots/*.png and
bench/results/latest.json, plus everything raw under bench/out/. --quick (a minute or two:
shorter windows, fewer concurrencies) writes its report under bench/out/ only, unless --report
says otherwise. Every scenario is bounded in time; servers are killed whatever happens.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import (frameworks, image_preprocess, instructions, inprocess, jsonload, liveness, loadtest, many_models, perf, profile,
                   startup, tfserving_rows, torchserve_load)
from bench.machine import describe
from bench.server import Server, supports_grpc
from bench.util import PROJECT_ROOT, busy_builds, load_average, log, pressure

SCENARIOS = ["inprocess", "startup", "images", "perf-http", "perf-grpc", "json", "tfserving-rows", "liveness", "loadtest",
             "torchserve", "many_models", "frameworks", "instructions"]


@dataclass(frozen=True)
class Plan:
    """How long and how wide each scenario runs."""
    mode: str
    resnet_concurrency: tuple[int, ...] = (1, 2, 4, 8, 16)
    tiny_concurrency: tuple[int, ...] = (1, 16, 64)
    resnet_window_ms: int = 4000
    tiny_window_ms: int = 2000
    perf_max_trials: int = 5
    perf_stability_pct: int = 20  # perf_analyzer's -s; 1000 = take the windows as they come
    inproc_seconds: float = 5.0
    inproc_min_runs: int = 100
    json_tiny_concurrency: tuple[int, ...] = (1, 16)
    json_resnet_concurrency: tuple[int, ...] = (1,)
    json_seconds: float = 8.0
    json_resnet_seconds: float = 10.0
    json_warmup_s: float = 1.0
    load_clients: int = 256
    load_ramp_s: float = 60.0
    load_hold_s: float = 20.0
    load_timeout_s: float = 30.0
    load_peak_window_s: int = 10
    live_clients: int = 16
    live_seconds: float = 15.0
    live_interval_s: float = 0.02
    startup_repeats: int = 5
    profile_seconds: float = 6.0
    adjacent_seconds: float = 3.0  # in-process batch 1 again just before each 1-client point
    images_seconds: float = 1.5  # per point of the decode + preprocess microbenchmark, each side
    ts_concurrency: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    ts_seconds: float = 6.0
    ts_warmup_s: float = 1.0
    ts_timeout_s: float = 30.0
    ts_inproc_seconds: float = 4.0
    tf_rows: tuple[int, ...] = (1000, 10000)  # TF Serving row format: instances per request
    tf_seconds: float = 3.0  # per size, after one unmeasured request
    tf_min_runs: int = 5
    tf_timeout_s: float = 60.0
    fw_concurrency: tuple[int, ...] = (1, 8)  # issue 16: ResNet-50 as SavedModel, TorchScript and ONNX
    fw_window_ms: tuple[int, ...] = (2000, 4000)  # per entry of fw_concurrency (8 clients answer in batches)
    fw_max_trials: int = 3
    fw_stability_pct: int = 1000  # three windows as they come: the scenario stays near 3 minutes
    fw_grpc_concurrency: tuple[int, ...] = (1,)  # gRPC too at these (HTTP binary at all)
    fw_inproc_seconds: float = 2.5  # per in-process figure and framework
    fw_inproc_min_runs: int = 20
    fw_warmup_batches: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)  # every batch the batcher can form
    budget_s: float = 16 * 60  # the measurements, not the build; scenarios past it are skipped


FULL = Plan(mode="full")
QUICK = Plan(mode="quick", resnet_concurrency=(1, 8), tiny_concurrency=(1, 16), resnet_window_ms=1500,
             tiny_window_ms=800, perf_max_trials=3, perf_stability_pct=1000, inproc_seconds=1.0, inproc_min_runs=20,
             json_seconds=2.0, json_resnet_seconds=2.0, json_warmup_s=0.5, load_ramp_s=15.0, load_hold_s=6.0,
             load_peak_window_s=5, live_seconds=3.0, startup_repeats=1, profile_seconds=2.0, adjacent_seconds=1.0,
             images_seconds=0.3, ts_concurrency=(1, 8, 64, 256), ts_seconds=1.5, ts_warmup_s=0.5,
             ts_inproc_seconds=1.0, tf_seconds=0.5, tf_min_runs=3, fw_window_ms=(1000, 1000), fw_grpc_concurrency=(),
             fw_inproc_seconds=1.0, fw_inproc_min_runs=5, fw_warmup_batches=(1, 8), budget_s=5 * 60)


class Run:
    """State of one benchmark run: paths, plan, results, notes."""

    def __init__(self, plan: Plan, binary: Path, out: Path, only: list[str]):
        self.plan, self.binary, self.out, self.only = plan, binary, out, only
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.logs = out / "logs" / self.stamp
        self.examples = out / "examples"
        self.models = out / "models"
        self.classifier = out / "classifier"  # efficientnet_lite0 alone: the TorchServe-style scenario
        # the `frameworks` scenario's three ResNet-50s (bench.frameworks.make_models), or why they are missing
        self.framework_models: list[frameworks.FrameworkModel] | str | None = None
        self.started = time.monotonic()
        self.grpc = False
        self.threads = len(os.sched_getaffinity(0))  # the server's default budget (it logs "CPU budget N")
        self.results: dict = {"mode": plan.mode, "plan": dataclasses.asdict(plan), "timestamp": self.stamp,
                              "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "notes": [], "servers": []}

    def note(self, text: str) -> None:
        log("NOTE: " + text)
        self.results["notes"].append(text)

    def left_s(self) -> float:
        return self.plan.budget_s - (time.monotonic() - self.started)

    def wanted(self, scenario: str) -> bool:
        return not self.only or scenario in self.only

    def server(self, label: str) -> Server:
        return Server(self.binary, self.models, self.logs / f"{label}.log", grpc=self.grpc)

    def record_server(self, label: str, server: Server, extra: dict | None = None) -> None:
        """After a scenario: was the server still alive, how did it stop, what did it log."""
        alive = server.alive()
        rss = server.rss_kb() if alive else {}
        t = time.perf_counter()
        code = server.stop()
        stop_s = time.perf_counter() - t
        text = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
        crashed = "Fatal error" in text or "Program crashed" in text
        config = [line.split("swerve: ", 1)[-1] for line in text.splitlines()
                  if any(k in line for k in ("CPU budget", "loaded model", "instance", "batching", "thread"))
                  and "unloaded" not in line][:8]
        entry = {"scenario": label, "config_lines": config, "alive_at_end": alive, "exit_status": code, "stop_s": round(stop_s, 3),
                 "rss_mb_end": rss.get("VmRSS", 0) / 1024, "peak_rss_mb": rss.get("VmHWM", 0) / 1024,
                 "error_lines": sum(1 for line in text.splitlines() if " error " in line or " critical " in line),
                 "crashed": crashed, "log": project_relative(server.log_path), **(extra or {})}
        self.results["servers"].append(entry)
        if not alive or crashed:
            self.note(f"{label}: the server {'crashed' if crashed else 'was gone'} "
                      f"(exit status {code}); log: {entry['log']}")
        elif code not in (0, None):
            self.note(f"{label}: the server exited with status {code} on SIGTERM after {stop_s:.1f} s")


# -- steps ----------------------------------------------------------------------------------

def make_models(run: Run) -> None:
    py = sys.executable
    subprocess.run([py, "scripts/make_example_repo.py", str(run.examples)], cwd=PROJECT_ROOT, check=True,
                   timeout=120, stdout=subprocess.DEVNULL)
    if run.models.exists():
        shutil.rmtree(run.models)
    subprocess.run([py, "scripts/make_resnet50.py", str(run.models)], cwd=PROJECT_ROOT, check=True, timeout=300,
                   stdout=subprocess.DEVNULL)
    shutil.copytree(run.examples / "dense_tiny", run.models / "dense_tiny")
    (run.out / "empty").mkdir(parents=True, exist_ok=True)
    if run.wanted("torchserve") or run.wanted("startup"):
        # Debian's python3-torch exports it (scripts/make_classifier.py), deterministically: about 3 s
        if run.classifier.exists():
            shutil.rmtree(run.classifier)
        subprocess.run(["/usr/bin/python3", "scripts/make_classifier.py", str(run.classifier)], cwd=PROJECT_ROOT,
                       check=True, timeout=600, stdout=subprocess.DEVNULL)
        # The bundled example repository (`make models`) is the small models plus the classifier.
        bundled = run.out / "bundled"
        if bundled.exists():
            shutil.rmtree(bundled)
        shutil.copytree(run.examples, bundled)
        shutil.copytree(run.classifier / "efficientnet_lite0", bundled / "efficientnet_lite0")
    if run.wanted("frameworks"):
        # TorchScript + ONNX (Debian's torch) and the SavedModel (.venv-frameworks), each kept while its
        # script is unchanged: about 3 minutes the first time on 2 cores, seconds after
        try:
            run.framework_models = frameworks.make_models(run.out, run.logs)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            run.framework_models = f"{type(e).__name__}: {e}"


def scenario_inprocess(run: Run) -> None:
    p = run.plan
    threads = run.threads
    run.results["inprocess"] = {
        "resnet50": inprocess.run_child(run.models / "resnet50/1/model.onnx", p.inproc_seconds, p.inproc_min_runs,
                                        threads),
        "dense_tiny": inprocess.run_child(run.models / "dense_tiny/1/model.onnx", p.inproc_seconds,
                                          p.inproc_min_runs * 100, threads),
    }


def scenario_startup(run: Run) -> None:
    p = run.plan
    res = {"examples": startup.measure(run.binary, run.out / "bundled", run.logs, "examples", p.startup_repeats,
                                       run.grpc),
           "small": startup.measure(run.binary, run.examples, run.logs, "small", 1, run.grpc),
           "empty": startup.measure(run.binary, run.out / "empty", run.logs, "empty", 1, run.grpc),
           "bench": startup.measure(run.binary, run.models, run.logs, "bench", 1, run.grpc, settle_s=2.0)}
    run.results["startup"] = res


def scenario_images(run: Run) -> None:
    binary = run.binary.parent / image_preprocess.PRODUCT
    if not binary.exists():
        raise RuntimeError(f"no {binary}: `make bench` builds it (swift build -c release --product "
                           f"{image_preprocess.PRODUCT})")
    result = image_preprocess.run(image_preprocess.DEFAULT_IMAGES, run.plan.images_seconds, binary)
    run.results["images"] = result
    for line in image_preprocess.table(result).splitlines():
        log("  " + line)


def scenario_torchserve(run: Run) -> None:
    p = run.plan
    model_dir = run.classifier / torchserve_load.MODEL
    images = [PROJECT_ROOT / "tests/fixtures/images" / name for name in torchserve_load.IMAGES]
    res = run.results["torchserve"] = {
        "inprocess": torchserve_load.inprocess_child(model_dir, images, run.threads, p.ts_inproc_seconds,
                                                     20 if p.mode == "quick" else 50)}
    with Server(run.binary, run.classifier, run.logs / "torchserve.log", grpc=run.grpc) as server:
        ready = server.start()
        loaded_rss = server.rss_kb()["VmRSS"] / 1024
        try:
            torchserve_load.run(server, images, p.ts_concurrency, p.ts_seconds, p.ts_warmup_s, p.ts_timeout_s,
                                left_s=run.left_s, log=log, into=res)
        finally:
            overall = server.stats(torchserve_load.MODEL)
            run.record_server("torchserve", server, {"ready_s": ready, "rss_mb_loaded": loaded_rss})
    if overall:
        res["server_mean_batch"] = round(overall["inference_count"] / max(overall["execution_count"], 1), 2)
        res["server_success"], res["server_fail"] = overall["success"], overall["fail"]
    res["rss_mb_loaded"] = loaded_rss
    res["rss_mb_end"] = run.results["servers"][-1]["rss_mb_end"]
    res["peak_rss_mb"] = run.results["servers"][-1]["peak_rss_mb"]
    for s in res.get("skipped", []):
        run.note(f"torchserve: c={s['concurrency']} skipped: {s['why']}")
    if res.get("peak_throughput"):
        log(f"  torchserve: {res['failed']} failed of {res['requests']}; peak {res['peak_throughput']:.1f}/s at "
            f"c={res['peak_concurrency']}; at c={res['max_concurrency']} {res['ratio_to_peak_at_max'] * 100:.0f}% of it; "
            f"server mean batch {res.get('server_mean_batch')}")


def scenario_perf(run: Run, protocol: str) -> None:
    p = run.plan
    label = f"perf-{protocol}"
    rows = run.results.setdefault("perf", [])  # filled as it goes: a failure later keeps these
    with run.server(label) as server:
        ready = server.start()
        loaded_rss = server.rss_kb()["VmRSS"] / 1024
        for model, levels, window in (("resnet50", p.resnet_concurrency, p.resnet_window_ms),
                                      ("dense_tiny", p.tiny_concurrency, p.tiny_window_ms)):
            for c in levels:
                if run.left_s() < 20:
                    run.note(f"{label}: {model} c={c} skipped: time budget spent")
                    continue
                if not server.alive():
                    run.note(f"{label}: {model} c={c} skipped: the server is gone")
                    continue
                timeout = min(window / 1000 * (p.perf_max_trials + 3) * 2 + 60, max(run.left_s(), 30))
                adjacent = None
                if c == 1:
                    # the in-process floor again, right now (the server idle): the 1-client ratio is
                    # then immune to the machine's load drifting between the two measurements
                    adjacent = inprocess.run_child(run.models / model / "1/model.onnx", p.adjacent_seconds,
                                                   20 if model == "resnet50" else 2000, run.threads,
                                                   batch1_only=True)["batch1"]
                r = perf.run_point(server, model, protocol, c, window, p.perf_max_trials, p.perf_stability_pct,
                                   run.logs / "perf", timeout)
                if adjacent:
                    r["inprocess_adjacent"] = adjacent
                rows.append(r)
                _log_row(r)
        if server.alive() and run.left_s() > 60:
            if profile.available():
                c = 16 if 16 in p.tiny_concurrency else max(p.tiny_concurrency)
                run.results.setdefault("profiles", []).append(
                    profile.profile(server, protocol, c, p.profile_seconds, run.logs / "perf"))
            else:
                run.note("Linux perf is missing or not permitted here: no profile of the tiny model")
        run.record_server(label, server, {"ready_s": ready, "rss_mb_loaded": loaded_rss})


def scenario_json(run: Run) -> None:
    p = run.plan
    rows = run.results.setdefault("json", [])
    with run.server("json") as server:
        ready = server.start()
        for c in p.json_tiny_concurrency:
            rows.append(jsonload.run(server.http_port, "dense_tiny", [1, 16], "x", c, p.json_seconds, p.json_warmup_s))
            _log_row(rows[-1])
        for c in p.json_resnet_concurrency:
            rows.append(jsonload.run(server.http_port, "resnet50", [1, 3, 224, 224], "input", c,
                                     p.json_resnet_seconds, max(p.json_warmup_s, 1.0), timeout=60))
            _log_row(rows[-1])
        run.record_server("json", server, {"ready_s": ready})


def scenario_tfserving_rows(run: Run) -> None:
    p = run.plan
    repo = run.out / "tfserving"
    if repo.exists():
        shutil.rmtree(repo)
    tfserving_rows.make_repository(repo)
    with Server(run.binary, repo, run.logs / "tfserving-rows.log", grpc=run.grpc) as server:
        ready = server.start()
        port = server.other_ports.get("tfserving-port")
        if not port:
            raise RuntimeError("this build of swerve has no --tfserving-port")
        try:
            run.results["tfserving_rows"] = tfserving_rows.run(port, p.tf_rows, p.tf_seconds, p.tf_min_runs,
                                                               p.tf_timeout_s, log)
        finally:
            run.record_server("tfserving-rows", server, {"ready_s": ready})


def scenario_liveness(run: Run) -> None:
    p = run.plan
    with run.server("liveness") as server:
        ready = server.start()
        idle = liveness.probe(server.http_port, 2.0, p.live_interval_s)
        loaded = liveness.under_load(server.http_port, p.live_clients, p.live_seconds, p.live_interval_s)
        run.record_server("liveness", server, {"ready_s": ready})
    run.results["liveness"] = {"idle": idle, "saturated": loaded}
    log(f"  live p99 idle {idle.get('p99_ms') or float('nan'):.2f} ms, under load ({p.live_clients} clients on "
        f"resnet50) {loaded.get('p99_ms') or float('nan'):.2f} ms, {loaded.get('failures')} failed probes")


def scenario_loadtest(run: Run) -> None:
    p = run.plan
    with run.server("loadtest") as server:
        ready = server.start()
        duration = p.load_ramp_s + p.load_hold_s
        before = server.stats("resnet50")
        prober = liveness.start_prober(server.http_port, duration, 0.1)
        try:
            result = loadtest.run(server.http_port, p.load_clients, p.load_ramp_s, p.load_hold_s, p.load_timeout_s,
                                  p.load_peak_window_s)
        except BaseException:
            liveness.kill_probers()
            raise
        result["liveness_during"] = liveness.finish_prober(prober, duration + p.load_timeout_s + 30)
        time.sleep(1.0)  # answers to requests whose clients gave up may still be computed
        after = server.stats("resnet50")
        if before and after:
            # more successes on the server than 200s at the client: work done for clients that had gone
            result["server_success"] = after["success"] - before["success"]
            result["server_fail"] = after["fail"] - before["fail"]
            result["server_mean_batch"] = (round((after["inference_count"] - before["inference_count"]) /
                                                 max(after["execution_count"] - before["execution_count"], 1), 1))
        run.record_server("loadtest", server, {"ready_s": ready})
    run.results["loadtest"] = result
    log(f"  load test: {result['ok']} ok, {result['failed']} failed {result['failure_kinds']}; peak "
        f"{result['peak_throughput']:.1f}/s at {result['peak_clients']} clients, "
        f"{result['throughput_at_max_clients']:.1f}/s at {p.load_clients}")


def _log_row(r: dict) -> None:
    if "throughput" in r:
        log(f"  {r['model']:10s} {r['protocol']:9s} c={r['concurrency']:<3d} {r['throughput']:9.1f}/s  "
            f"p50 {(r['p50_us'] or 0) / 1000:8.3f} ms  p99 {(r['p99_us'] or 0) / 1000:8.3f} ms  errors {r.get('errors')}")
    else:
        log(f"  {r['model']} {r['protocol']} c={r['concurrency']}: FAILED {r.get('error')}")


class ScenarioTimeout(BaseException):
    """Raised by the watchdog (SIGALRM) in a scenario that ran past its limit; a BaseException so
    that no `except Exception` on the way swallows it. The `with Server` blocks kill the server."""


def _watchdog(signum, frame):
    liveness.kill_probers()
    raise ScenarioTimeout()


def project_relative(path: Path) -> str:
    """The path relative to the project when it is inside it (--out may put logs elsewhere)."""
    resolved = path.resolve()
    return str(resolved.relative_to(PROJECT_ROOT)) if resolved.is_relative_to(PROJECT_ROOT) else str(resolved)


def scenario_limit(plan: Plan, name: str) -> float:
    """The most seconds a scenario may take, from its plan (generous: about twice the expected)."""
    perf_points = (len(plan.resnet_concurrency) * plan.resnet_window_ms +
                   len(plan.tiny_concurrency) * plan.tiny_window_ms) / 1000 * (plan.perf_max_trials + 3)
    return {"inprocess": 60 + plan.inproc_seconds * 12, "startup": 60 + 10 * plan.startup_repeats,
            "perf-http": 60 + perf_points * 1.5, "perf-grpc": 60 + perf_points * 1.5,
            "json": 60 + 3 * (plan.json_seconds + plan.json_warmup_s) + 2 * plan.json_resnet_seconds,
            "liveness": 60 + plan.live_seconds * 2,
            "loadtest": 60 + plan.load_ramp_s + plan.load_hold_s + plan.load_timeout_s,
            "images": 60 + 30 * plan.images_seconds,
            "tfserving-rows": 60 + len(plan.tf_rows) * (plan.tf_seconds + 2 * plan.tf_timeout_s),
            "torchserve": 90 + plan.ts_inproc_seconds * 8 + len(plan.ts_concurrency) * (plan.ts_seconds + plan.ts_warmup_s + 10)
            + plan.ts_timeout_s, "many_models": many_models.limit(plan.mode), "frameworks": frameworks.limit(plan),
            "instructions": instructions.limit(plan.mode)}[name]


def _interrupt(signum, frame):
    liveness.kill_probers()
    raise KeyboardInterrupt(f"signal {signum}")


# -- main -----------------------------------------------------------------------------------

def kept_soak_section(path: Path) -> str:
    """The "## Soak" section of the report being replaced (written by `make soak`), to keep at its end."""
    if not path.exists():
        return ""
    text = path.read_text()
    start = text.find("\n## Soak")
    if start < 0:
        return ""
    end = text.find("\n## ", start + 1)
    return "\n" + text[start + 1:end if end >= 0 else len(text)].rstrip() + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Swerve's benchmark (see bench/README.md)")
    parser.add_argument("--quick", action="store_true", help="a minute or two, for development")
    parser.add_argument("--binary", type=Path, default=PROJECT_ROOT / ".build/release/swerve")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench/out")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--report", type=Path, default=None,
                        help="where BENCHMARKS.md goes (default: the project root for a full run, "
                             "bench/out/ for --quick)")
    parser.add_argument("--no-publish", action="store_true",
                        help="do not update bench/plots/ and bench/results/latest.json")
    args = parser.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {SCENARIOS}")
    binary = args.binary.resolve()
    if not binary.exists():
        print(f"bench: no server binary at {binary}: run `make build` (or pass --binary)", file=sys.stderr)
        return 2
    plan = QUICK if args.quick else FULL
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    run = Run(plan, binary, out, only)
    publish = plan.mode == "full" and not args.no_publish and not only
    report_path = args.report or (PROJECT_ROOT / "BENCHMARKS.md" if publish else out / "BENCHMARKS.md")

    # SIGTERM (e.g. make killed) unwinds like Ctrl-C so every `with Server` kills its process.
    signal.signal(signal.SIGTERM, _interrupt)

    log(f"{plan.mode} run; binary {binary}; raw output under {out}")
    run.results["machine"] = describe(binary)
    run.results["load_average_at_start"] = load_average()
    builds = busy_builds()
    if builds:
        run.note(f"{len(builds)} compiler processes were running when the benchmark started "
                 f"(figures may be low): {builds[0]}")
    run.grpc = supports_grpc(binary)
    if not run.grpc:
        run.note("this build of swerve has no --grpc-port: the gRPC rows are skipped")

    log("generating the models")
    make_models(run)
    steps = [("inprocess", scenario_inprocess), ("startup", scenario_startup), ("images", scenario_images),
             ("perf-http", lambda r: scenario_perf(r, "http")), ("perf-grpc", lambda r: scenario_perf(r, "grpc")),
             ("json", scenario_json), ("tfserving-rows", scenario_tfserving_rows), ("liveness", scenario_liveness), ("loadtest", scenario_loadtest),
             ("torchserve", scenario_torchserve), ("many_models", many_models.scenario),
             ("frameworks", frameworks.scenario), ("instructions", instructions.scenario)]
    interrupted = False
    for name, step in steps:
        if not run.wanted(name):
            continue
        if name == "perf-grpc" and not run.grpc:
            continue
        if run.left_s() < 30:
            run.note(f"{name} skipped: the run's time budget ({plan.budget_s / 60:.0f} min) is spent")
            continue
        limit = min(scenario_limit(plan, name), run.left_s() + 60)
        log(f"scenario {name} (load average {load_average()[0]:.2f}, {run.left_s():.0f} s of budget left, "
            f"limit {limit:.0f} s)")
        t = time.monotonic()
        signal.signal(signal.SIGALRM, _watchdog)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            step(run)
        except ScenarioTimeout:
            run.note(f"{name} stopped by the watchdog after {limit:.0f} s (its figures so far are kept where they "
                     "were recorded); load average then " + ", ".join(f"{x:.1f}" for x in load_average()))
        except KeyboardInterrupt:
            liveness.kill_probers()
            run.note(f"{name}: interrupted")
            interrupted = True
            break
        except Exception as e:  # noqa: BLE001 - one failed scenario must not lose the others
            run.note(f"{name} failed: {type(e).__name__}: {str(e)[:600]}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        run.results.setdefault("scenario_seconds", {})[name] = round(time.monotonic() - t, 1)
        run.results.setdefault("conditions", {})[name] = {"load_average_1m": load_average()[0], **pressure(),
                                                          "compilers_running": len(busy_builds())}
    run.results["duration_s"] = round(time.monotonic() - run.started, 1)
    run.results["load_average_at_end"] = load_average()

    from bench import plots, report
    results_path = out / f"results-{run.stamp}.json"
    results_path.write_text(json.dumps(run.results, indent=1))
    plot_dir = out / f"plots-{run.stamp}"
    try:
        pngs = plots.write_all(run.results, plot_dir) + many_models.plot(run.results, plot_dir)
    except Exception as e:  # noqa: BLE001 - a report without plots beats no report
        run.note(f"plots failed: {type(e).__name__}: {e}")
        pngs = []
    if publish:
        (PROJECT_ROOT / "bench/results").mkdir(parents=True, exist_ok=True)
        shutil.copy(results_path, PROJECT_ROOT / "bench/results/latest.json")
        (PROJECT_ROOT / "bench/plots").mkdir(parents=True, exist_ok=True)
        for png in pngs:
            shutil.copy(png, PROJECT_ROOT / "bench/plots" / png.name)
        plot_links = [Path("bench/plots") / p.name for p in pngs]
    else:
        plot_links = [p for p in pngs]
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(report.render(run.results, plot_links, report_path.parent) + many_models.section(run.results)
                           + frameworks.section(run.results) + instructions.section(run.results)
                           + kept_soak_section(report_path))
    results_path.write_text(json.dumps(run.results, indent=1))
    log(f"wrote {report_path}, {results_path}" + (", bench/results/latest.json, bench/plots/" if publish else ""))
    log(f"done in {run.results['duration_s'] / 60:.1f} min")
    return 130 if interrupted else 0
