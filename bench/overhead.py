"""The server's own cost per request on the tiny model (issue 18), for one or more builds side by side.

For each build (``--binary LABEL=PATH``, repeatable): a fresh `swerve serve` on a repository holding
only dense_tiny (16x16 dense, `scripts/make_example_repo.py`), driven by perf_analyzer over HTTP
binary and gRPC at 1 and 16 clients (bench.perf.run_point: time windows, the server's CPU time
from /proc/<pid>/stat over the run divided by its answers) and by the bench's own keep-alive JSON
client at 1 and 16 clients (bench.jsonload, the server's CPU time read the same way around it).
In-process onnxruntime batch 1 on the same model file is measured in the same run (a child process,
before the first build and after the last). With ``--rounds 2`` the builds run A B A B, so drift of
the machine shows as the spread between a build's rounds. Beside the times, the server's voluntary
context switches per answer (all its threads, /proc/<pid>/task/*/status): thread hand-overs per
request, a count the machine's other load hardly moves. ``--liveness-mb 9`` also probes
/v2/health/live (bench.liveness) while 2 clients POST JSON bodies of that size: CPU work a handler
does on an event loop shows there as probe latency.

    .venv/bin/python -m bench.overhead --binary before=/tmp/base/release/swerve \\
        --binary after=.build/release/swerve --rounds 2 --liveness-mb 9

Prints one table per run and writes the raw numbers as JSON (``--json``). The machine should be
quiet: the clients share the server's cores, so every other load shows in every figure.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import http.client
import threading

from bench import inprocess, jsonload, liveness, perf
from bench.server import Server, supports_grpc
from bench.util import log

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODEL = "dense_tiny"


def make_repository(into: Path) -> Path:
    """A repository with dense_tiny alone, made by the examples' own script."""
    examples = into / "examples"
    subprocess.run([sys.executable, "scripts/make_example_repo.py", str(examples)], cwd=PROJECT_ROOT, check=True,
                   timeout=120, stdout=subprocess.DEVNULL)
    repo = into / "repo"
    shutil.copytree(examples / MODEL, repo / MODEL)
    return repo


def voluntary_switches(server: Server) -> int:
    """Voluntary context switches of every thread of the server so far (a thread that blocks or
    hands work to another thread and waits): a count that the machine's other load hardly moves,
    unlike times. Threads that exited meanwhile are not counted."""
    total = 0
    for task in Path(f"/proc/{server.proc.pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def with_switches(server: Server, measure) -> dict:
    """Runs `measure()` and adds the server's voluntary context switches per answered request."""
    before, switches = server.stats(MODEL), voluntary_switches(server)
    row = measure()
    switches, answered = voluntary_switches(server) - switches, server.stats(MODEL).get("success", 0) - before.get("success", 0)
    if answered > 0:
        row["server_switches_per_request"] = switches / answered
    return row


def json_point(server: Server, concurrency: int, seconds: float, warmup: float) -> dict:
    """The JSON client's closed loop, with the server's CPU time over the run per answered request."""
    before, cpu_before = server.stats(MODEL), server.cpu_seconds()
    row = jsonload.run(server.http_port, MODEL, [1, 16], "x", concurrency, seconds, warmup)
    after, cpu = server.stats(MODEL), server.cpu_seconds() - cpu_before
    answered = after.get("success", 0) - before.get("success", 0)
    if answered > 0:
        row["server_cpu_us_per_request"] = cpu / answered * 1e6
    return row


def big_json_liveness(server: Server, megabytes: float, seconds: float = 6.0, clients: int = 2) -> dict:
    """/v2/health/live probed every 20 ms on fresh connections (bench.liveness, its own process)
    while `clients` keep POSTing a KServe JSON request of about `megabytes` to dense_tiny: the
    tensor is small, the rest an ignored field of numbers that the server still reads. Shows
    whether a handler's CPU work on a large body delays the listeners' event loops."""
    numbers = ",".join(f"{(i * 7919 % 20000 - 10000) / 3333.0:.5f}" for i in range(int(megabytes * 1e6 / 9)))
    body = ('{"inputs":[{"name":"x","shape":[1,16],"datatype":"FP32","data":[' + ",".join(["0.5"] * 16)
            + ']}],"extra":[' + numbers + "]}").encode()
    stop = time.perf_counter() + seconds
    answered, failures = [0], []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=60)
        while time.perf_counter() < stop:
            conn.request("POST", f"/v2/models/{MODEL}/infer", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                failures.append(response.status)
            answered[0] += 1

    prober = liveness.start_prober(server.http_port, seconds, 0.02)
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    result = liveness.finish_prober(prober, seconds + 30)
    result.update({"protocol": "liveness, large JSON", "concurrency": clients, "body_mb": round(len(body) / 1e6, 1),
                   "large_requests": answered[0], "large_failures": len(failures)})
    return result


def measure_build(label: str, binary: Path, repo: Path, logs: Path, window_ms: int, json_seconds: float,
                  concurrencies: list[int], wanted: list[str], liveness_mb: float) -> list[dict]:
    rows: list[dict] = []
    grpc = supports_grpc(binary)
    log_path = logs / f"{label}-{int(time.time())}.log"
    with Server(binary, repo, log_path, grpc=grpc) as server:
        server.start()
        protocols = [p for p in ("http", "grpc") if p in wanted and (p != "grpc" or grpc)]
        for protocol in protocols:
            for c in concurrencies:
                r = with_switches(server, lambda: perf.run_point(
                    server, MODEL, protocol, c, window_ms, max_trials=5, stability_pct=1000, workdir=logs / label,
                    timeout=120))
                r["protocol"] = "HTTP binary" if protocol == "http" else "gRPC"
                rows.append(r)
                _log(label, r)
        for c in concurrencies if "json" in wanted else []:
            r = with_switches(server, lambda: json_point(server, c, json_seconds, 1.0))
            r["protocol"] = "HTTP JSON"
            rows.append(r)
            _log(label, r)
        if liveness_mb > 0:
            r = big_json_liveness(server, liveness_mb)
            rows.append(r)
            log(f"  {label} liveness while {r['concurrency']} clients POST {r['body_mb']} MB JSON bodies: "
                f"p50 {r.get('p50_ms')} ms p99 {r.get('p99_ms')} ms max {r.get('max_ms')} ms {r.get('error', '')}")
        status = server.stop()
    keep_failed_log(label, log_path, status)
    for r in rows:
        r["build"] = label
    return rows


def keep_failed_log(label: str, log_path: Path, status: int | None) -> None:
    """Copies the server's log into bench/out when the server crashed or did not exit 0 on SIGTERM
    (the run's temporary folder, logs included, is deleted at the end), and says where."""
    text = log_path.read_text(errors="replace") if log_path.is_file() else ""
    if status == 0 and "Backtrace" not in text and "Fatal error" not in text:
        return
    kept = PROJECT_ROOT / "bench/out" / f"overhead-failed-{label}-{int(time.time())}.log"
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(log_path, kept)
    log(f"  {label}: the server exited with {status} or logged a crash; its log is kept in {kept}")


def _log(label: str, r: dict) -> None:
    if "throughput" not in r:
        log(f"  {label} {r['protocol']} c={r['concurrency']}: failed: {r.get('error') or r.get('first_error')}")
        return
    log(f"  {label} {r['protocol']} c={r['concurrency']}: {r['throughput']:,.0f}/s p50 {r['p50_us']:.0f} µs "
        f"server CPU {r.get('server_cpu_us_per_request', float('nan')):.0f} µs/req")


def table(rows: list[dict], ort: list[dict]) -> str:
    probes = [r for r in rows if r["protocol"].startswith("liveness")]
    rows = [r for r in rows if not r["protocol"].startswith("liveness")]
    lines = ["| build | protocol | clients | req/s | p50 µs | p99 µs | server CPU µs/req | server switches/req | errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "throughput" not in r:
            lines.append(f"| {r['build']} | {r['protocol']} | {r['concurrency']} | failed | | | | | |")
            continue
        cpu, switches = r.get("server_cpu_us_per_request"), r.get("server_switches_per_request")
        lines.append(f"| {r['build']} | {r['protocol']} | {r['concurrency']} | {r['throughput']:,.0f} | "
                     f"{r['p50_us']:.0f} | {r['p99_us']:.0f} | {'–' if cpu is None else f'{cpu:.0f}'} | "
                     f"{'–' if switches is None else f'{switches:.2f}'} | {r.get('errors', 0)} |")
    if probes:
        lines += ["", "| build | /v2/health/live while 2 clients POST large JSON bodies | probes | p50 ms | p99 ms | max ms | failures |",
                  "|---|---|---|---|---|---|---|"]
        for r in probes:
            if "p50_ms" not in r:
                lines.append(f"| {r['build']} | failed: {r.get('error')} | | | | | |")
                continue
            lines.append(f"| {r['build']} | {r['body_mb']} MB bodies, {r['large_requests']} answered | {r['probes']} | "
                         f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['failures']} |")
    for i, o in enumerate(ort):
        one = o["batch1"]
        lines.append(f"\nIn-process onnxruntime batch 1 ({'before' if i == 0 else 'after'} the servers): "
                     f"p50 {one['p50_ms'] * 1e3:.1f} µs, p99 {one['p99_ms'] * 1e3:.1f} µs")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", action="append", required=True, metavar="LABEL=PATH",
                        help="a build to measure (repeatable)")
    parser.add_argument("--rounds", type=int, default=1, help="measure the builds in turn this many times")
    parser.add_argument("--window-ms", type=int, default=2000, help="perf_analyzer's window")
    parser.add_argument("--json-seconds", type=float, default=4.0, help="the JSON client's measured time")
    parser.add_argument("--concurrency", type=int, action="append", help="clients (default 1 and 16)")
    parser.add_argument("--protocol", action="append", choices=["http", "grpc", "json"],
                        help="what to drive: http (binary tensors), grpc, json (default all three)")
    parser.add_argument("--liveness-mb", type=float, default=0.0,
                        help="also probe /v2/health/live while 2 clients POST JSON bodies of this many MB (0: no)")
    parser.add_argument("--threads", type=int, default=2, help="in-process onnxruntime intra-op threads")
    parser.add_argument("--json", type=Path, help="write the raw numbers here")
    a = parser.parse_args(argv)
    builds = []
    for spec in a.binary:
        label, _, path = spec.partition("=")
        if not path or not Path(path).is_file():
            parser.error(f"--binary {spec!r}: expected LABEL=PATH of an existing file")
        builds.append((label, Path(path)))
    concurrencies = a.concurrency or [1, 16]
    with tempfile.TemporaryDirectory(prefix="swerve-overhead-") as tmp:
        repo = make_repository(Path(tmp))
        logs = Path(tmp) / "logs"
        model_file = repo / MODEL / "1/model.onnx"
        ort = [inprocess.run_child(model_file, 2.0, 2000, a.threads, batch1_only=True)]
        rows: list[dict] = []
        for round_ in range(a.rounds):
            for label, binary in builds:
                for r in measure_build(label, binary, repo, logs, a.window_ms, a.json_seconds, concurrencies,
                                   a.protocol or ["http", "grpc", "json"], a.liveness_mb):
                    r["round"] = round_ + 1
                    rows.append(r)
        ort.append(inprocess.run_child(model_file, 2.0, 2000, a.threads, batch1_only=True))
    print(table(rows, ort))
    if a.json:
        a.json.write_text(json.dumps({"rows": rows, "inprocess": ort}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
