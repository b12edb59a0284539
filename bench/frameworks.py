"""The seed's scenario of issue 16, `frameworks`: one ResNet-50 served as a TensorFlow SavedModel, as
TorchScript and as ONNX side by side in one server (the seed compared TF Serving, TorchServe and
Triton on exactly that), each against its own framework run in-process in the same run.

The models (made once into bench/out/framework-models/, kept while their scripts are unchanged):
  resnet50_savedmodel   scripts/make_tf_models.py --models resnet50 (.venv-frameworks: Keras'
                        ResNet50(weights=None), its own random weights from seed 50), NHWC
                        `keras_tensor` [-1,224,224,3] -> `output_0` [-1,1000] (softmax).
  resnet50_torchscript  scripts/make_torch_models.py resnet50 (Debian's torch 1.13: torchvision's
                        resnet50, random weights of seed 0, traced), INPUT__0 [-1,3,224,224] ->
                        OUTPUT__0 [-1,1000] (logits).
  resnet50_onnx         scripts/make_torch_models.py resnet50_onnx: the same torchvision network with
                        the same weights, exported by torch.onnx.export (opset 17).
So TorchScript and ONNX are the same network and weights; the SavedModel is the same architecture
with other weights (and a softmax at the end). The repository bench/out/frameworks/ links each
version folder and gives all three the same batching: max_batch_size 8 and the dynamic batcher
merging up to 8 rows without a queue delay (the batching the server gives an ONNX model without
a configuration, there with max_batch_size 64).

Measured, in order (one server throughout; framework by framework, its in-process base and then
its points, so that the two sides of each ratio are under a minute apart on a shared machine):
  server      one `swerve serve` on the three (TensorFlow's library and the shim named by flag: the
              same files as in-process); each model warmed up unmeasured at every batch size 1..8 the
              batcher can form, its answers checked against the reference.
  in-process  the framework in a child process, the server idle meanwhile (its CPU time over the
              child is recorded) (bench.framework_inprocess):
              TensorFlow from .venv-frameworks, libtorch 2.x through Swerve's own shim (the library
              the server opens), ONNX Runtime from .venv; threads = the server's CPU budget; batch 1
              p50 / p99 (from the loading thread and another, the faster counting), batch 8 and
              concurrent-caller throughput; the answer on the model script's
              reference input checked against its reference output.
  points      perf_analyzer on that framework's model over HTTP binary at 1 and 8 clients and gRPC at
              1 client, short time windows; the server's statistics before and after each point give
              its failures and mean batch.
Ratios, per framework: server p50 at 1 client over the in-process batch-1 p50; server throughput at
8 clients over the best in-process throughput.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import perf
from bench.server import Server, http_get
from bench.util import PROJECT_ROOT, log
from bench.report import _grouped as _f, _ratio  # the report's own number and ratio formats

FRAMEWORK_PYTHON = PROJECT_ROOT / ".venv-frameworks" / "bin" / "python"
DEBIAN_PYTHON = "/usr/bin/python3"
TORCH_SHIM = PROJECT_ROOT / ".build-native" / "libswerve_torch_shim.so"
MAX_BATCH = 8
BATCHING = f"dynamic_batching {{ preferred_batch_size: [ {MAX_BATCH} ] }}\n"
TOLERANCE = 1e-4  # server answers against the reference, relative to the reference's largest magnitude
SETUP = "scripts/setup.sh installs .venv-frameworks (tensorflow-cpu, the torch wheel) and builds the shim"


@dataclass(frozen=True)
class FrameworkModel:
    """One of the three ResNet-50s: how it is served, run in-process and checked."""
    framework: str            # "tensorflow", "torch", "onnx" (bench.framework_inprocess's names)
    name: str                 # the model's name in the repository
    platform: str
    label: str                # for the report
    source: Path              # the model folder the script wrote (its 1/ is linked)
    model_file: str           # inside 1/
    input_npy: Path
    expected_npy: Path
    input_name: str
    output_name: str
    python: Path | str        # the interpreter of its in-process child


def tensorflow_dir() -> Path:
    """The tensorflow-cpu wheel's folder in .venv-frameworks (its libtensorflow_cc.so.2 is what
    the server opens and what Python's tensorflow runs)."""
    found = sorted(PROJECT_ROOT.glob(".venv-frameworks/lib/python3*/site-packages/tensorflow/libtensorflow_cc.so.2"))
    if not FRAMEWORK_PYTHON.exists() or not found:
        raise RuntimeError(f"no .venv-frameworks with tensorflow-cpu under {PROJECT_ROOT}: {SETUP}")
    return found[0].parent


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def make_models(out: Path, log_dir: Path) -> list[FrameworkModel]:
    """Generates what is missing or stale under out/framework-models and writes the repository
    out/frameworks; returns the three models."""
    tensorflow_dir()
    sources = out / "framework-models"
    sources.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)

    def step(cmd: list[str], name: str, timeout: float) -> None:
        t = time.perf_counter()
        with open(log_dir / f"make-{name}.log", "wb") as f:
            done = subprocess.run(cmd, cwd=PROJECT_ROOT, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: see {log_dir / f'make-{name}.log'}")
        log(f"  {name}: {time.perf_counter() - t:.0f} s")

    # The shim the server opens, against the wheel's libtorch (a no-op when it is up to date).
    step(["bash", "scripts/build_torch_shim.sh"], "torch-shim", 300)
    # TorchScript and ONNX from one script; each folder has a stamp of the script: kept when current.
    step([DEBIAN_PYTHON, "scripts/make_torch_models.py", str(sources / "torch"), "resnet50", "resnet50_onnx"],
         "torch-models", 900)
    # The SavedModel: make_tf_models.py writes afresh each time, so the bench keeps a stamp of it.
    tf_stamp = sources / "tf" / "resnet50.stamp"
    want = _digest(PROJECT_ROOT / "scripts/make_tf_models.py")
    if not tf_stamp.exists() or tf_stamp.read_text() != want or not (sources / "tf/resnet50/1/model.savedmodel").exists():
        step([str(FRAMEWORK_PYTHON), "scripts/make_tf_models.py", str(sources / "tf"), "--models", "resnet50"],
             "tf-models", 900)
        tf_stamp.write_text(want)

    torch_dir, onnx_dir, tf_dir = sources / "torch/resnet50", sources / "torch/resnet50_onnx", sources / "tf/resnet50"
    manifest = json.loads((tf_dir / "reference/manifest.json").read_text())
    (tf_in,), (tf_out,) = manifest["inputs"], manifest["outputs"]
    models = [
        FrameworkModel("tensorflow", "resnet50_savedmodel", "tensorflow_savedmodel",
                       "TensorFlow SavedModel (Keras ResNet50, own weights)", tf_dir, "model.savedmodel",
                       tf_dir / "reference" / tf_in["npy"], tf_dir / "reference" / tf_out["npy"], tf_in["name"],
                       tf_out["name"], FRAMEWORK_PYTHON),
        FrameworkModel("torch", "resnet50_torchscript", "pytorch_libtorch", "TorchScript (torchvision resnet50)",
                       torch_dir, "model.pt", torch_dir / "input__0.npy", torch_dir / "expected__0.npy", "INPUT__0",
                       "OUTPUT__0", PROJECT_ROOT / ".venv/bin/python"),
        FrameworkModel("onnx", "resnet50_onnx", "onnxruntime_onnx", "ONNX (the same torchvision resnet50)",
                       onnx_dir, "model.onnx", onnx_dir / "input__0.npy", onnx_dir / "expected__0.npy", "INPUT__0",
                       "OUTPUT__0", PROJECT_ROOT / ".venv/bin/python"),
    ]
    repo = out / "frameworks"
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    for m in models:
        folder = repo / m.name
        folder.mkdir()
        (folder / "1").symlink_to((m.source / "1").resolve())
        if m.framework == "tensorflow":
            config = f'platform: "{m.platform}"\nmax_batch_size: {MAX_BATCH}\n'
        else:  # the script's config: platform, max_batch_size 8, the tensors
            config = (m.source / "config.pbtxt").read_text()
        (folder / "config.pbtxt").write_text(config + BATCHING)
    return models


# -- in-process ----------------------------------------------------------------------------------

def inprocess_child(m: FrameworkModel, threads: int, seconds: float, min_runs: int) -> dict:
    """bench.framework_inprocess for one model in a child process (its runtime ends with it)."""
    cmd = [str(m.python), "-m", "bench.framework_inprocess", m.framework, str(m.source / "1" / m.model_file),
           "--input", str(m.input_npy), "--expected", str(m.expected_npy), "--input-name", m.input_name,
           "--output-name", m.output_name, "--threads", str(threads), "--batch", str(MAX_BATCH),
           "--seconds", str(seconds), "--min-runs", str(min_runs)]
    if m.framework == "torch":
        cmd += ["--shim", str(TORCH_SHIM)]
    timeout = 180 + seconds * 12
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT,
                              start_new_session=True)
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"in-process {m.framework} ran past {timeout:.0f} s") from e
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"in-process {m.framework} exited {done.returncode}: {done.stderr[-1500:]}")
    r = json.loads(lines[-1])
    log(f"  in-process {m.framework}: {r['runtime']}; batch 1 p50 {r['batch1']['p50_ms']:.1f} ms p99 "
        f"{r['batch1']['p99_ms']:.1f} ms; best {r['best_throughput']:.2f}/s ({r['best_config']}); reference "
        f"check {r['check']['relative']:.1e}")
    return r


# -- the server -----------------------------------------------------------------------------------

def _metadata(server: Server, name: str) -> dict:
    status, body = http_get(server.http_port, f"/v2/models/{name}", timeout=10)
    if status != 200:
        raise RuntimeError(f"GET /v2/models/{name}: HTTP {status} {body[:300]!r}")
    return json.loads(body)


def warm_up_and_check(server: Server, m: FrameworkModel, batches: tuple[int, ...]) -> dict:
    """One unmeasured request per batch size (each a first run at a new shape for the framework),
    made of the reference input repeated; every row of every answer compared with the reference
    output. Returns the largest difference relative to the reference's largest magnitude."""
    import tritonclient.http as httpclient
    meta = _metadata(server, m.name)
    (inp,), outputs = meta["inputs"], meta["outputs"]
    x1 = np.load(m.input_npy).astype(np.float32)
    expected = np.load(m.expected_npy).astype(np.float64)
    scale = float(np.abs(expected).max()) or 1.0
    client = httpclient.InferenceServerClient(f"127.0.0.1:{server.http_port}", network_timeout=300,
                                              connection_timeout=300)
    worst, t = 0.0, time.perf_counter()
    try:
        for b in batches:
            x = np.ascontiguousarray(np.repeat(x1, b, axis=0))
            tensor = httpclient.InferInput(inp["name"], list(x.shape), "FP32")
            tensor.set_data_from_numpy(x, binary_data=True)
            answer = client.infer(m.name, [tensor], outputs=[
                httpclient.InferRequestedOutput(o["name"], binary_data=True) for o in outputs])
            y = answer.as_numpy(m.output_name)
            if y is None or y.shape != (b, *expected.shape[1:]):
                raise RuntimeError(f"{m.name} batch {b}: output {m.output_name} is "
                                   f"{None if y is None else y.shape}, expected {(b, *expected.shape[1:])}")
            worst = max(worst, float(np.abs(y.astype(np.float64) - expected).max()) / scale)
    finally:
        client.close()
    return {"batches": list(batches), "seconds": round(time.perf_counter() - t, 2), "relative_diff": worst,
            "within_tolerance": worst <= TOLERANCE, "input": inp["name"], "input_shape": inp["shape"]}


def limit(plan) -> float:
    """Most seconds the scenario may take (about 1.5 times the expected); the models are made before."""
    windows = dict(zip(plan.fw_concurrency, plan.fw_window_ms))
    point_s = sum(3 * (windows[c] / 1000 * (plan.fw_max_trials + 2) + 8) * (2 if c in plan.fw_grpc_concurrency else 1)
                  for c in plan.fw_concurrency)
    return (120 + 3 * (plan.fw_inproc_seconds * 5 + 25) + 3 * len(plan.fw_warmup_batches) * 2 + point_s) * 1.5


def scenario(run) -> None:
    p = run.plan
    models = run.framework_models  # made before the scenarios (runner.make_models)
    if not isinstance(models, list):
        raise RuntimeError(f"the models could not be made: {models}")
    res = run.results["frameworks"] = {"inprocess": {}, "points": [], "models": {}}
    for m in models:
        res["models"][m.name] = {"framework": m.framework, "platform": m.platform, "label": m.label}

    extra = ("--tensorflow-lib", str(tensorflow_dir()), "--torch-shim", str(TORCH_SHIM))
    with Server(run.binary, run.out / "frameworks", run.logs / "frameworks.log", grpc=run.grpc,
                extra_args=extra) as server:
        ready = server.start(ready_timeout=300)
        res["ready_s"] = ready
        res["rss_mb_loaded"] = server.rss_kb()["VmRSS"] / 1024
        served = []
        for m in models:
            status, body = http_get(server.http_port, f"/v2/models/{m.name}/ready", timeout=10)
            if status != 200:
                index_status, index = http_get(server.http_port, "/v2/repository/index", timeout=10)
                reason = next((e.get("reason") for e in json.loads(index or b"[]") if e.get("name") == m.name),
                              None) if index_status == 200 else None
                res["models"][m.name]["error"] = f"not ready: {reason or body[:300]!r}"
                run.note(f"frameworks: {m.name} is not ready in the server: {reason or status}")
                continue
            check = warm_up_and_check(server, m, p.fw_warmup_batches)
            res["models"][m.name]["server_check"] = check
            log(f"  {m.name}: warmed up at batch {list(p.fw_warmup_batches)} in {check['seconds']:.1f} s; answers vs "
                f"reference {check['relative_diff']:.1e}")
            if not check["within_tolerance"]:
                run.note(f"frameworks: {m.name}'s answers differ from the reference by {check['relative_diff']:.1e} "
                         f"(relative; tolerance {TOLERANCE})")
            served.append(m)
        # Framework by framework: its in-process base (the server idle meanwhile, its CPU time recorded),
        # then its points, so that each ratio's two sides are under a minute apart on a shared machine.
        for m in models:
            if run.left_s() < 30:
                run.note(f"frameworks: {m.framework} skipped: time budget spent")
                continue
            cpu_before = server.cpu_seconds()
            try:
                base = inprocess_child(m, run.threads, p.fw_inproc_seconds, p.fw_inproc_min_runs)
                base["server_cpu_s_meanwhile"] = round(server.cpu_seconds() - cpu_before, 3)
            except RuntimeError as e:
                base = {"error": str(e)[:800]}
                run.note(f"frameworks: in-process {m.framework} failed: {str(e)[:300]}")
            res["inprocess"][m.framework] = base
            if m not in served:
                continue
            for c, window in zip(p.fw_concurrency, p.fw_window_ms):
                for protocol in ["http"] + (["grpc"] if run.grpc and c in p.fw_grpc_concurrency else []):
                    if run.left_s() < 20:
                        run.note(f"frameworks: {m.name} {protocol} c={c} skipped: time budget spent")
                        continue
                    if not server.alive():
                        run.note(f"frameworks: {m.name} {protocol} c={c} skipped: the server is gone")
                        continue
                    timeout = min(window / 1000 * (p.fw_max_trials + 3) * 2 + 60, max(run.left_s(), 30))
                    r = perf.run_point(server, m.name, protocol, c, window, p.fw_max_trials,
                                       p.fw_stability_pct, run.logs / "perf", timeout)
                    r["framework"] = m.framework
                    res["points"].append(r)
                    if "throughput" in r:
                        log(f"  {m.name:21s} {protocol:4s} c={c}: {r['throughput']:6.2f}/s  p50 "
                            f"{(r['p50_us'] or 0) / 1000:7.1f} ms  p99 {(r['p99_us'] or 0) / 1000:7.1f} ms  "
                            f"batch {r.get('server_mean_batch')}  failures {r.get('server_fail')}")
                    else:
                        log(f"  {m.name} {protocol} c={c}: FAILED {r.get('error')}")
        totals = {}
        for m in served:
            s = server.stats(m.name)
            if s:
                totals[m.name] = {"success": s["success"], "fail": s["fail"],
                                  "mean_batch": round(s["inference_count"] / max(s["execution_count"], 1), 2)}
        res["server_totals"] = totals
        run.record_server("frameworks", server, {"ready_s": ready, "rss_mb_loaded": res["rss_mb_loaded"]})
    res["rss_mb_end"] = run.results["servers"][-1]["rss_mb_end"]
    res["peak_rss_mb"] = run.results["servers"][-1]["peak_rss_mb"]
    failed = sum(v["fail"] for v in res["server_totals"].values())
    if failed:
        run.note(f"frameworks: the server counted {failed} failed inferences")


# -- report ----------------------------------------------------------------------------------------


def _point(res: dict, name: str, protocol: str, c: int) -> dict | None:
    return next((r for r in res.get("points", []) if r["model"] == name and r["protocol"] == protocol
                 and r["concurrency"] == c), None)


def section(results: dict) -> str:
    """The report's "ResNet-50 in three frameworks" section ('' when the scenario did not run)."""
    res = results.get("frameworks")
    if not res:
        return ""
    lines: list[str] = []
    w = lines.append
    w("## ResNet-50 in three frameworks, one server (issue 16)")
    w("")
    w("The seed's comparison (TF Serving, TorchServe and Triton on the same ResNet-50) in one `swerve serve`: a "
      "TensorFlow SavedModel, TorchScript and ONNX side by side in one repository, each against its own framework "
      "run in-process in this run. TorchScript and ONNX are the **same** torchvision resnet50 with the same random "
      "weights (seed 0; `scripts/make_torch_models.py resnet50` traced, `resnet50_onnx` exported by "
      "`torch.onnx.export` from Debian's torch 1.13); the SavedModel is Keras' ResNet50 (`weights=None`): the same "
      "architecture, its **own** random weights (seed 50) and a softmax at the end (`scripts/make_tf_models.py`). "
      f"All three: max_batch_size {MAX_BATCH}, the dynamic batcher merging up to {MAX_BATCH} rows with no queue delay; "
      "each runtime's intra-op threads = the CPU budget, one instance.")
    w("")
    cpu = [v.get("server_cpu_s_meanwhile") for v in res.get("inprocess", {}).values() if "server_cpu_s_meanwhile" in v]
    w("- **Order**: one server throughout; framework by framework, its in-process base (the server idle: "
      + (f"{max(cpu):.2f} s of server CPU at most during a base" if cpu else "its CPU time recorded")
      + ") and right after it that model's points, so the two sides of each ratio are under a minute apart.")
    w("- **In-process** (a child process per framework, same files, same libraries, same thread "
      "settings): TensorFlow — Python `tf.saved_model.load` + the serving signature (the wheel whose "
      "`libtensorflow_cc.so.2` the server opens; intra-op = budget, inter-op 1); libtorch — Swerve's own shim "
      "(`.build-native/libswerve_torch_shim.so`, the torch wheel's libtorch) called through ctypes exactly as the "
      "server calls it (frozen + optimize_for_inference, `swerve_torch_forward`, output copied out); ONNX Runtime — "
      "Python onnxruntime (the server's library), sequential execution. Throughput candidates: batch 1, batch 8, "
      "2 callers at once on the one model (and for ONNX Runtime 2 sessions × 1 thread); the best is the base.")
    plan = results.get("plan", {})
    windows = ", ".join(f"{w / 1000:g} s at {c} client{'s' if c > 1 else ''}"
                        for c, w in zip(plan.get("fw_concurrency", []), plan.get("fw_window_ms", [])))
    grpc = sorted({r["concurrency"] for r in res.get("points", []) if r["protocol"] == "grpc"})
    w(f"- **Server**: perf_analyzer (sync clients, random data, windows of {windows}, "
      f"{plan.get('fw_max_trials')} windows taken as they come) over HTTP binary"
      + (f" and gRPC (at {', '.join(map(str, grpc))} client{'s' if grpc != [1] else ''})" if grpc else "")
      + ", one model at a time; before that, each model's warm-up requests at batch "
      + ", ".join(map(str, plan.get("fw_warmup_batches", []))) + " (unmeasured), "
      "their answers checked against the model script's reference output. Failures: the server's statistics "
      "(failed inferences) over each point, plus perf_analyzer's own exit status.")
    w(f"- Server ready in {_f(res.get('ready_s'), 1)} s with the three loaded; RSS {_f(res.get('rss_mb_loaded'), 0)} MB "
      f"loaded, {_f(res.get('rss_mb_end'), 0)} MB at the end (peak {_f(res.get('peak_rss_mb'), 0)} MB).")
    w("")
    w("| model | framework in-process | batch-1 p50 ms | p99 ms | the other thread's p50 ms | batch-8 /s | 2 callers /s | "
      "best /s | reference check |")
    w("|---|---|---|---|---|---|---|---|---|")
    for name, info in res.get("models", {}).items():
        ip = res.get("inprocess", {}).get(info["framework"], {})
        if "error" in ip or not ip:
            w(f"| {name} | failed: {ip.get('error', 'not measured')[:200]} |" + " |" * 7)
            continue
        other = next((v for k, v in ip.get("batch1_by_thread", {}).items() if k != ip["batch1"].get("thread")), {})
        sc = info.get("server_check", {})
        check = f"in-process {ip['check']['relative']:.1e}" + (f", server {sc['relative_diff']:.1e}" if sc else "")
        w(f"| {name} | {ip['runtime']} | {_f(ip['batch1']['p50_ms'], 1)} ({ip['batch1'].get('thread')}) | "
          f"{_f(ip['batch1']['p99_ms'], 1)} | {_f(other.get('p50_ms'), 1)} | "
          f"{_f(ip.get('batch8', {}).get('throughput'), 2)} | {_f(ip.get('callers', {}).get('throughput'), 2)} | "
          f"**{_f(ip['best_throughput'], 2)}** ({ip['best_config']}) | {check} |")
    w("")
    w("Batch 1 runs once from the thread that loaded the model and once from another thread (the server never "
      "runs a model on its loading thread; libtorch's OpenMP pool spin-waits differently by calling thread): the "
      "faster is the base, and batch 8 runs on that thread. Reference check: max |answer − reference| / max "
      "|reference| on the script's reference input (the TorchScript and ONNX references are torch 1.13's outputs; "
      "the server's over the warm-up batches of that input).")
    w("")
    w("| model | protocol | clients | throughput /s | × best in-process | p50 ms | × in-process p50 | p99 ms | "
      "× in-process p99 | mean batch | server queue ms | server compute ms | server CPU ms/req | failures |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    order = {"http": 0, "grpc": 1}
    names = list(res.get("models", {}))
    for r in sorted(res.get("points", []), key=lambda r: (names.index(r["model"]) if r["model"] in names else 9,
                                                          order.get(r["protocol"], 9), r["concurrency"])):
        ip = res.get("inprocess", {}).get(r.get("framework"), {})
        proto = {"http": "HTTP binary", "grpc": "gRPC"}[r["protocol"]]
        if r.get("throughput") is None:
            w(f"| {r['model']} | {proto} | {r['concurrency']} | failed: {r.get('error', '?')[:200]} |" + " |" * 10)
            continue
        b1 = ip.get("batch1", {})
        p50 = r["p50_us"] / 1000 if r.get("p50_us") is not None else None
        p99 = r["p99_us"] / 1000 if r.get("p99_us") is not None else None
        cpu = r.get("server_cpu_us_per_request")
        w(f"| {r['model']} | {proto} | {r['concurrency']} | {_f(r['throughput'], 2)} | "
          f"{_ratio(r['throughput'], ip.get('best_throughput'))} | {_f(p50, 1)} | {_ratio(p50, b1.get('p50_ms'))} | "
          f"{_f(p99, 1)} | {_ratio(p99, b1.get('p99_ms'))} | {_f(r.get('server_mean_batch'), 2)} | "
          f"{_f((r.get('server_queue_us') or 0) / 1000, 1)} | {_f((r.get('server_compute_infer_us') or 0) / 1000, 1)} | "
          f"{_f(cpu / 1000 if cpu else None, 1)} | {r.get('errors')} |")
    w("")
    # The two headline ratios per framework, HTTP binary.
    w("Per framework, HTTP binary (the ratios the issue asks for):")
    w("")
    w("| model | server p50, 1 client / in-process batch-1 p50 | server throughput, 8 clients / best in-process | "
      "failed inferences (server statistics, whole run) |")
    w("|---|---|---|---|")
    for name, info in res.get("models", {}).items():
        ip = res.get("inprocess", {}).get(info["framework"], {})
        one, eight = _point(res, name, "http", 1), _point(res, name, "http", 8)
        p50 = one["p50_us"] / 1000 if one and one.get("p50_us") else None
        ref = ip.get("batch1", {}).get("p50_ms")
        first = (f"{p50:.1f} / {ref:.1f} ms = **{_ratio(p50, ref)}**" if p50 and ref else "–")
        tp, best = (eight or {}).get("throughput"), ip.get("best_throughput")
        second = f"{tp:.2f} / {best:.2f} = **{_ratio(tp, best)}**" if tp and best else "–"
        totals = res.get("server_totals", {}).get(name)
        fails = f"{totals['fail']} of {totals['success'] + totals['fail']}" if totals else "–"
        w(f"| {name} | {first} | {second} | {fails} |")
    w("")
    return "\n".join(lines) + "\n"
