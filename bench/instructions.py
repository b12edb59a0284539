"""Instructions the server executes per request, counted by callgrind: a figure that stays put on a
noisy shared machine, where CPU times do not.

The release binary, its debug sections stripped (valgrind 3.19 cannot read the DWARF 5 that Swift
6.3 writes), runs under `valgrind --tool=callgrind` with `--intra-op-threads 1`, so ONNX Runtime
runs each request on the calling thread instead of a pool whose spinning would be counted. For
each protocol, one client sends requests one after the other on one connection (HTTP keep-alive,
one gRPC channel) to the 16×16 dense model: a warm-up, then the counters are zeroed
(`callgrind_control -z`), `requests` requests are sent, and the counters are dumped
(`callgrind_control -d`). Every thread of the server is counted (valgrind runs them one at a
time), so the figure is the server's whole cost of a request: reading, parsing, scheduling, the
model's run, the answer, and whatever the idle threads do meanwhile. The client, in this process,
is not counted.

Every answer is checked against the input (the model is y = x @ W + b; the first answer of each
protocol is compared with onnxruntime in this process), so a count of broken requests cannot
pass as cheap.

    python -m bench.instructions [--binary B] [--requests N] [--out results.json] [--keep DIR]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.server import Server
from bench.util import PROJECT_ROOT, log

MODEL = "dense_tiny"
SHAPE = [1, 16]


class CallgrindServer(Server):
    """`swerve serve` under callgrind; `pid` is the server's own (valgrind runs in its process)."""

    def __init__(self, *args, out_dir: Path, **kwargs):
        super().__init__(*args, **kwargs)
        self.out_dir = out_dir

    def command(self) -> list[str]:
        return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out_dir}/callgrind.out.%p",
                "--dump-instr=no", "--dump-line=no", "--compress-strings=no", *super().command()]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def zero(self) -> None:
        subprocess.run(["callgrind_control", "-z", str(self.pid)], check=True, capture_output=True, timeout=120)

    def dump(self, label: str) -> int:
        """Dumps the counters since the last zero and returns the instructions (Ir) they hold."""
        return _dump(self.pid, self.out_dir, label)


def _dump(pid: int, out_dir: Path, label: str) -> int:
    """Has callgrind in process `pid` dump its counters into `out_dir`; returns their instructions."""
    before = set(out_dir.glob("callgrind.out.*"))
    subprocess.run(["callgrind_control", "-d", label, str(pid)], check=True, capture_output=True, timeout=120)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for path in set(out_dir.glob("callgrind.out.*")) - before:
            match = re.search(r"^(?:summary|totals):\s+(\d+)", path.read_text(errors="replace"), re.M)
            if match:  # written whole: the totals come last
                return int(match.group(1))
        time.sleep(0.2)
    raise RuntimeError(f"callgrind wrote no dump for {label} within 60 s")


def _binary_request(x: np.ndarray) -> tuple[bytes, dict]:
    header = json.dumps({"inputs": [{"name": "x", "shape": SHAPE, "datatype": "FP32",
                                     "parameters": {"binary_data_size": x.nbytes}}],
                         "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}).encode()
    return header + x.tobytes(), {"Content-Type": "application/octet-stream",
                                  "Inference-Header-Content-Length": str(len(header))}


def _json_request(x: np.ndarray) -> tuple[bytes, dict]:
    body = json.dumps({"inputs": [{"name": "x", "shape": SHAPE, "datatype": "FP32",
                                   "data": x.ravel().tolist()}]}).encode()
    return body, {"Content-Type": "application/json"}


def _http_answer(body: bytes, headers: http.client.HTTPMessage, binary: bool) -> np.ndarray:
    if binary:
        size = int(headers["Inference-Header-Content-Length"])
        return np.frombuffer(body[size:], dtype=np.float32).reshape(SHAPE)
    return np.asarray(json.loads(body)["outputs"][0]["data"], dtype=np.float32).reshape(SHAPE)


def _http_sender(port: int, binary: bool):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def send(x: np.ndarray) -> np.ndarray:
        body, headers = (_binary_request if binary else _json_request)(x)
        connection.request("POST", f"/v2/models/{MODEL}/infer", body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:300]!r}")
        return _http_answer(data, response.headers, binary)
    return send, connection.close


def _grpc_sender(port: int):
    import tritonclient.grpc as grpcclient
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{port}")

    def send(x: np.ndarray) -> np.ndarray:
        tensor = grpcclient.InferInput("x", SHAPE, "FP32")
        tensor.set_data_from_numpy(x)
        return client.infer(MODEL, [tensor], client_timeout=600).as_numpy("y")
    return send, client.close


_INPROCESS_CHILD = """
import sys, numpy as np, onnxruntime as ort
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
x = np.random.default_rng(18).standard_normal((1, 16)).astype(np.float32)
for _ in range(int(sys.argv[3])):
    session.run(None, {"x": x})
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[2])):
    session.run(None, {"x": x})
print("done", flush=True)
sys.stdin.readline()
"""


def measure_inprocess(model_path: Path, requests: int, warmup: int, workdir: Path) -> int:
    """Instructions of `requests` runs of the model in Python onnxruntime (1 intra-op thread),
    counted the same way: the floor the server's figure is compared with."""
    out_dir = workdir / "inprocess"
    out_dir.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_dir}/callgrind.out.%p", "--dump-instr=no",
         "--dump-line=no", sys.executable, "-c", _INPROCESS_CHILD, str(model_path), str(requests), str(warmup)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the in-process child did not start under callgrind")
        subprocess.run(["callgrind_control", "-z", str(child.pid)], check=True, capture_output=True, timeout=120)
        child.stdin.write("go\n")
        child.stdin.flush()
        if child.stdout.readline().strip() != "done":
            raise RuntimeError("the in-process child stopped before its runs were done")
        total = _dump(child.pid, out_dir, "inprocess")
        child.stdin.write("stop\n")
        child.stdin.flush()
        child.wait(timeout=120)
        return total
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _reference(model_path: Path):
    import onnxruntime
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": x})[0]


def measure(binary: Path, requests: int, warmup: int, workdir: Path) -> dict:
    repository = workdir / "models"
    shutil.copytree(PROJECT_ROOT / "examples/models" / MODEL, repository / MODEL)
    stripped = workdir / "swerve"
    subprocess.run(["strip", "--strip-debug", "-o", str(stripped), str(binary)], check=True)
    reference = _reference(repository / MODEL / "1/model.onnx")
    rng = np.random.default_rng(18)
    inputs = [rng.standard_normal(SHAPE).astype(np.float32) for _ in range(8)]
    server = CallgrindServer(stripped, repository, workdir / "server.log", grpc=True,
                             extra_args=("--intra-op-threads", "1"), out_dir=workdir)
    results: dict = {"binary": str(binary), "requests": requests, "warmup": warmup, "protocols": {}}
    inprocess = measure_inprocess(repository / MODEL / "1/model.onnx", requests, warmup, workdir)
    results["inprocess_instructions_per_run"] = inprocess / requests
    log(f"instructions: in-process onnxruntime: {inprocess / requests:,.0f} per run")
    with server:
        ready = server.start(ready_timeout=600, poll_interval=0.2)
        log(f"instructions: server ready under callgrind in {ready:.1f} s")
        for protocol in ("http-binary", "http-json", "grpc"):
            if protocol == "grpc":
                send, close = _grpc_sender(server.grpc_port)
            else:
                send, close = _http_sender(server.http_port, binary=protocol == "http-binary")
            try:
                first = send(inputs[0])
                if not np.allclose(first, reference(inputs[0]), rtol=1e-5, atol=1e-5):
                    raise RuntimeError(f"{protocol}: the answer differs from onnxruntime's")
                for i in range(warmup):
                    send(inputs[i % len(inputs)])
                server.zero()
                start = time.perf_counter()
                for i in range(requests):
                    x = inputs[i % len(inputs)]
                    y = send(x)
                    if y.shape != tuple(SHAPE):
                        raise RuntimeError(f"{protocol}: answer of shape {y.shape}")
                seconds = time.perf_counter() - start
                total = server.dump(protocol)
            finally:
                close()
            per_request = total / requests
            results["protocols"][protocol] = {"instructions": total, "instructions_per_request": per_request,
                                              "ratio_to_inprocess": per_request / results["inprocess_instructions_per_run"],
                                              "seconds_under_valgrind": seconds}
            log(f"instructions: {protocol}: {per_request:,.0f} per request ({requests} requests)")
    return results


# -- in `make bench` (registered in bench/runner.py as `instructions`) ------------------------------

def settings(mode: str) -> dict:
    return {"requests": 300, "warmup": 50} if mode == "full" else {"requests": 100, "warmup": 20}


def limit(mode: str) -> float:
    """Most seconds the scenario may take: two starts under valgrind (a minute each on a loaded
    machine) and the requests at about 30 ms each, twice over."""
    s = settings(mode)
    return 300 + 2 * 4 * (s["requests"] + s["warmup"]) * 0.03


def scenario(run) -> None:
    """Counts the instructions per request of the run's binary; needs valgrind."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        run.note("instructions skipped: valgrind is not installed (Debian: apt-get install valgrind)")
        return
    s = settings(run.plan.mode)
    workdir = run.out / "instructions"
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    run.results["instructions"] = measure(run.binary, s["requests"], s["warmup"], workdir)


PROTOCOL_ROWS = [("http-binary", "HTTP binary", "http"), ("http-json", "HTTP JSON", "http-json"), ("grpc", "gRPC", "grpc")]


def section(results: dict) -> str:
    """The report's "Instructions per request" section ('' when the scenario did not run)."""
    from bench.report import _grouped, _row
    ins = results.get("instructions")
    if not ins or not ins.get("protocols"):
        return ""
    lines = ["", "## Instructions per request (callgrind, dense_tiny)", "",
             "The server's instructions per request, all its threads, counted by valgrind's callgrind "
             "(`bench/instructions.py`): one client, one request at a time, on one connection, "
             f"{ins['requests']} requests after {ins['warmup']} unmeasured ones, `--intra-op-threads 1`. "
             "Unlike the times above, the count hardly moves with the machine's load: a change that adds "
             "work shows here even in a noisy run. In-process: Python onnxruntime running the same model "
             "on one thread, counted the same way (Python's own call overhead included).", "",
             "| protocol | instructions per request | × in-process run | server CPU µs/req at 1 client (perf scenario) |",
             "|---|---|---|---|"]
    for key, label, perf_protocol in PROTOCOL_ROWS:
        p = ins["protocols"].get(key)
        if not p:
            continue
        row = _row(results, "dense_tiny", perf_protocol, 1) or {}
        lines.append(f"| {label} | {_grouped(p['instructions_per_request'], 0)} | "
                     f"{p['ratio_to_inprocess']:.1f}× | {_grouped(row.get('server_cpu_us_per_request'), 0)} |")
    lines.append(f"| in-process onnxruntime | {_grouped(ins['inprocess_instructions_per_run'], 0)} | 1.0× | – |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, default=PROJECT_ROOT / ".build/release/swerve")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", type=Path, help="a folder to keep the callgrind dumps in (callgrind_annotate reads them)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        results = measure(args.binary.resolve(), args.requests, args.warmup, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="swerve-callgrind-") as tmp:
            results = measure(args.binary.resolve(), args.requests, args.warmup, Path(tmp))
    text = json.dumps(results, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
