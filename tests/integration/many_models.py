"""Many distinct models at once (issue 15: lazy loading, memory budget, eviction): shared by
test_lazy_loading.py, test_memory_budget.py and bench/many_models.py.

- Generation: N distinct dense models written as `<root>/<name>/1/model.onnx`, fast (no checker
  per model). `tiny`: y = x·W + b, W 16×16 (about 1.4 KB per file), different random weights
  per model. `sized`: y = relu(x·W1 + b1)·W2 + b2 with a hidden width H, so that one file holds
  about 132·H bytes: a few KB to a few MB (or tens of MB for the "big" pinned models).
- Reference answers: Python onnxruntime, one session per model, ROWS inputs per model run as one
  batch; the sessions are dropped at once (1,000 sessions would hold memory for nothing).
- /proc sampling of a pid (VmRSS, Threads), settled RSS (minimum of a few samples of an idle
  process), a background sampler of RSS and /metrics over time.
- A Zipf(s) order over model indices with a fixed seed.
- A concurrent checked load driver: C client threads, each on its own keep-alive socket, take the
  next request of one shared order and check every answer against the reference answer
  (np.allclose, rtol 1e-5, atol 1e-6); any non-200, connection error, timeout or wrong answer is a
  failure, counted by kind.
- Prometheus /metrics (prometheus_client's parser), the repository index, statistics memory_usage.

Only numpy, onnx, onnxruntime, prometheus_client and the standard library: the bench loads this
file by path.
"""
from __future__ import annotations

import itertools
import json
import os
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence
from urllib import request as urlrequest
from urllib.error import HTTPError, URLError

import numpy as np

WIDTH = 16  # input and output width of every generated model
ROWS = 4  # distinct inputs per model; request k to a model uses row k % ROWS
INPUT, OUTPUT = "x", "y"
RTOL, ATOL = 1e-5, 1e-6
OPSET, IR_VERSION = 13, 8
HOST = "127.0.0.1"


# ---------------------------------------------------------------------------------------------
# Generation

def _model_bytes(name: str, initializers: list[tuple[str, np.ndarray]], hidden: int) -> bytes:
    """The serialized ONNX model: x FP32 [N,16] -> y FP32 [N,16]; one dense layer when hidden == 0,
    else dense(hidden) + relu + dense(16)."""
    from onnx import TensorProto, helper, numpy_helper
    if hidden == 0:
        nodes = [helper.make_node("MatMul", [INPUT, "W"], ["xW"]), helper.make_node("Add", ["xW", "b"], [OUTPUT])]
    else:
        nodes = [helper.make_node("MatMul", [INPUT, "W1"], ["h0"]), helper.make_node("Add", ["h0", "b1"], ["h1"]),
                 helper.make_node("Relu", ["h1"], ["h2"]), helper.make_node("MatMul", ["h2", "W2"], ["h3"]),
                 helper.make_node("Add", ["h3", "b2"], [OUTPUT])]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", WIDTH])],
                              [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", WIDTH])],
                              initializer=[numpy_helper.from_array(a, n) for n, a in initializers])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="swerve-tests")
    model.ir_version = IR_VERSION
    return model.SerializeToString()


def model_bytes(name: str, hidden: int, seed: int) -> bytes:
    """A distinct model from its seed: weights N(0, 1/fan_in), so outputs stay near 1 whatever H."""
    rng = np.random.default_rng(seed)
    if hidden == 0:
        w = (rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH)).astype(np.float32)
        b = (rng.standard_normal(WIDTH) * 0.1).astype(np.float32)
        return _model_bytes(name, [("W", w), ("b", b)], 0)
    w1 = (rng.standard_normal((WIDTH, hidden), dtype=np.float32) / np.float32(np.sqrt(WIDTH)))
    b1 = (rng.standard_normal(hidden, dtype=np.float32) * np.float32(0.1))
    w2 = (rng.standard_normal((hidden, WIDTH), dtype=np.float32) / np.float32(np.sqrt(hidden)))
    b2 = (rng.standard_normal(WIDTH) * 0.1).astype(np.float32)
    return _model_bytes(name, [("W1", w1), ("b1", b1), ("W2", w2), ("b2", b2)], hidden)


def hidden_for_bytes(size: int) -> int:
    """The hidden width whose sized model file is about `size` bytes (4·(33·H + 16) + ~300)."""
    return max(1, int((size / 4 - 16) / 33))


def log_spaced_sizes(count: int, smallest: int, largest: int) -> list[int]:
    """`count` file sizes from `smallest` to `largest` bytes, evenly spaced on a log scale."""
    return [int(s) for s in np.geomspace(smallest, largest, count)]


def pinned_config(name: str) -> str:
    """A config.pbtxt that pins its model (issue 15: loaded at start, never evicted)."""
    return f'name: "{name}"\nparameters {{ key: "pinned" value {{ string_value: "true" }} }}\n'


@dataclass
class Models:
    """Generated models and their reference answers: inputs[i, r] -> expected[i, r] for model names[i]."""
    root: Path
    names: list[str]
    hidden: list[int]
    file_bytes: list[int]
    inputs: np.ndarray  # [n, ROWS, WIDTH] float32
    expected: np.ndarray  # [n, ROWS, WIDTH] float32
    seconds: dict = field(default_factory=dict)  # generation and reference timings

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def path(self, i: int) -> Path:
        return self.root / self.names[i] / "1" / "model.onnx"

    def subset(self, indices: Sequence[int]) -> "Models":
        idx = list(indices)
        return Models(self.root, [self.names[i] for i in idx], [self.hidden[i] for i in idx],
                      [self.file_bytes[i] for i in idx], self.inputs[idx], self.expected[idx])

    def __add__(self, other: "Models") -> "Models":
        """Both sets as one list (their roots may differ: path() then names the first's root)."""
        return Models(self.root, self.names + other.names, self.hidden + other.hidden,
                      self.file_bytes + other.file_bytes, np.concatenate([self.inputs, other.inputs]),
                      np.concatenate([self.expected, other.expected]))


def write_model(root: Path, name: str, hidden: int, seed: int, config: str | None = None) -> int:
    """Writes <root>/<name>/1/model.onnx (and config.pbtxt); returns the file's size."""
    data = model_bytes(name, hidden, seed)
    version = root / name / "1"
    version.mkdir(parents=True, exist_ok=True)
    (version / "model.onnx").write_bytes(data)
    if config is not None:
        (root / name / "config.pbtxt").write_text(config)
    return len(data)


def reference_answers(paths: Sequence[Path], inputs: np.ndarray) -> np.ndarray:
    """onnxruntime's answers: inputs [n, ROWS, WIDTH] -> outputs [n, ROWS, WIDTH], one session per
    model (one intra-op thread), created, run on its ROWS inputs as one batch, and dropped."""
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    out = np.empty_like(inputs)
    for i, path in enumerate(paths):
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        out[i] = session.run([OUTPUT], {INPUT: inputs[i]})[0]
        del session
    return out


def generate(root: Path, prefix: str, count: int, hidden: int | Sequence[int] = 0, seed: int = 0,
             configs: Callable[[str], str | None] | None = None, first: int = 0) -> Models:
    """Writes `count` distinct models `<prefix>_<i>` (i from `first`) into `root` and computes their
    reference answers. `hidden`: 0 for the 16×16 tiny model, or one width for all, or one per model.
    `configs(name)` gives an optional config.pbtxt text."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    widths = [hidden] * count if isinstance(hidden, int) else list(hidden)
    assert len(widths) == count
    digits = max(4, len(str(first + count)))
    names = [f"{prefix}_{first + i:0{digits}d}" for i in range(count)]
    t0 = time.perf_counter()
    sizes = [write_model(root, name, h, seed * 1_000_003 + first + i, configs(name) if configs else None)
             for i, (name, h) in enumerate(zip(names, widths))]
    t1 = time.perf_counter()
    rng = np.random.default_rng(seed + 7)
    inputs = rng.standard_normal((count, ROWS, WIDTH)).astype(np.float32)
    expected = reference_answers([root / n / "1" / "model.onnx" for n in names], inputs)
    t2 = time.perf_counter()
    return Models(root, names, widths, sizes, inputs, expected, {"write_s": t1 - t0, "reference_s": t2 - t1})


def link_models(models: Models, target_root: Path) -> None:
    """Puts the models' folders into another repository as hard links (a copy where links fail)."""
    import shutil
    for name in models.names:
        source = models.root / name
        for path in source.rglob("*"):
            dest = target_root / name / path.relative_to(source)
            if path.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, dest)
            except OSError:
                shutil.copy2(path, dest)


_CACHE: dict[tuple, Models] = {}


def cached(key: tuple, make: Callable[[], Models]) -> Models:
    """One generation per key per process (pytest session), shared by every test module."""
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


# ---------------------------------------------------------------------------------------------
# Requests and answers

def json_body(x: np.ndarray) -> bytes:
    """A KServe v2 JSON infer body for one row x [WIDTH] (shape [1, 16]); float32 values written
    exactly (Python's shortest repr of the float32 value as a double)."""
    return json.dumps({"inputs": [{"name": INPUT, "shape": [1, WIDTH], "datatype": "FP32",
                                   "data": [float(v) for v in x]}]}, separators=(",", ":")).encode()


def binary_body(x: np.ndarray) -> tuple[bytes, int]:
    """A KServe v2 binary-tensor body (Triton's extension) for one row, asking for a binary output;
    returns (body, JSON header length)."""
    raw = np.ascontiguousarray(x, dtype=np.float32).tobytes()
    header = json.dumps({"inputs": [{"name": INPUT, "shape": [1, WIDTH], "datatype": "FP32",
                                     "parameters": {"binary_data_size": len(raw)}}],
                         "outputs": [{"name": OUTPUT, "parameters": {"binary_data": True}}]},
                        separators=(",", ":")).encode()
    return header + raw, len(header)


def http_request(port: int, model: str, x: np.ndarray, binary: bool = False) -> bytes:
    """The full bytes of a keep-alive POST /v2/models/<model>/infer."""
    if binary:
        body, header_length = binary_body(x)
        extra = (f"Content-Type: application/octet-stream\r\n"
                 f"Inference-Header-Content-Length: {header_length}\r\n")
    else:
        body, extra = json_body(x), "Content-Type: application/json\r\n"
    head = (f"POST /v2/models/{model}/infer HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n")
    return head.encode() + body


def answer_array(headers: dict[bytes, bytes], body: bytes) -> np.ndarray:
    """The output `y` of an infer response, JSON or binary (Inference-Header-Content-Length)."""
    header_length = headers.get(b"inference-header-content-length")
    if header_length is not None:
        n = int(header_length)
        head = json.loads(body[:n])
        offset = n
        for output in head["outputs"]:
            size = int(output.get("parameters", {}).get("binary_data_size", 0))
            if output["name"] == OUTPUT:
                return np.frombuffer(body[offset:offset + size], dtype=np.float32).reshape(output["shape"])
            offset += size
        raise ValueError(f"no output {OUTPUT!r} in {head}")
    for output in json.loads(body)["outputs"]:
        if output["name"] == OUTPUT:
            return np.asarray(output["data"], dtype=np.float32).reshape(output["shape"])
    raise ValueError(f"no output {OUTPUT!r} in the answer")


def json_error(body: bytes) -> str:
    """The message of a KServe v2 error body {"error": "..."} ('' when it is not one)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return ""
    return parsed.get("error", "") if isinstance(parsed, dict) and isinstance(parsed.get("error"), str) else ""


def check_answer(got: np.ndarray, expected_row: np.ndarray) -> str | None:
    """None when the answer equals the reference row (shape [1, 16]), else what is wrong."""
    if got.shape != (1, WIDTH):
        return f"shape {list(got.shape)}, expected [1, {WIDTH}]"
    if not np.allclose(got[0], expected_row, rtol=RTOL, atol=ATOL):
        return f"values {got[0, :4]}… != expected {expected_row[:4]}…"
    return None


class Connection:
    """One keep-alive HTTP/1.1 connection on a raw socket: pre-built request bytes in, (status,
    lower-cased headers, body) out. Reopened after an error or a `Connection: close`."""

    def __init__(self, port: int, timeout: float = 60.0, host: str = HOST):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock, self.buffer = None, b""

    def _recv(self) -> bytes:
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("connection closed by the server")
        return data

    def open(self) -> "Connection":
        """Connects now (send() connects when needed)."""
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        return self

    def send(self, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        self.open()
        self.sock.sendall(request)
        buf = self.buffer
        while (end := buf.find(b"\r\n\r\n")) < 0:
            buf += self._recv()
        lines = buf[:end].split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(b":")
            headers[key.strip().lower()] = value.strip()
        rest = buf[end + 4:]
        if b"content-length" in headers:
            length = int(headers[b"content-length"])
            while len(rest) < length:
                rest += self._recv()
            body, self.buffer = rest[:length], rest[length:]
        elif b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            parts = []
            while True:
                while (eol := rest.find(b"\r\n")) < 0:
                    rest += self._recv()
                size = int(rest[:eol].split(b";")[0], 16)
                while len(rest) < eol + 2 + size + 2:
                    rest += self._recv()
                parts.append(rest[eol + 2:eol + 2 + size])
                rest = rest[eol + 2 + size + 2:]
                if size == 0:
                    break
            body, self.buffer = b"".join(parts), rest
        else:
            raise ValueError("an answer without Content-Length or chunked body")
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, headers, body


def infer(port: int, model: str, x: np.ndarray, binary: bool = False,
          timeout: float = 60.0) -> tuple[int, dict[bytes, bytes], bytes]:
    """One infer request on a fresh connection."""
    conn = Connection(port, timeout)
    try:
        return conn.send(http_request(port, model, x, binary))
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# The load driver

@dataclass
class LoadResult:
    """What a run of `drive` saw: every request's latency and outcome."""
    requests: int
    ok: int
    failed: int
    seconds: float
    latencies_s: np.ndarray  # per request, in order of the shared sequence (NaN if never sent)
    ends_s: np.ndarray  # when each answer came, seconds since the start
    failure_kinds: Counter
    first_errors: list[str]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float | None:
        lat = self.latencies_s[np.isfinite(self.latencies_s)]
        return float(np.percentile(lat, q, method="higher") * 1000) if len(lat) else None

    def summary(self) -> str:
        return (f"{self.requests} requests in {self.seconds:.1f} s ({self.rate:.0f}/s), {self.failed} failed"
                + (f" {dict(self.failure_kinds)}; first: {self.first_errors[:3]}" if self.failed else "")
                + f"; p50 {self.percentile_ms(50) or 0:.2f} ms, p99 {self.percentile_ms(99) or 0:.2f} ms")


def drive(port: int, models: Models, order: Sequence[int], clients: int = 16, binary: bool = False,
          timeout: float = 60.0, stop: threading.Event | None = None) -> LoadResult:
    """Sends one request per entry of `order` (model indices into `models`; entry k uses row
    k % ROWS) from `clients` threads, each on its own keep-alive connection, each taking the next
    entry of the shared order; checks every answer. Stops early when `stop` is set."""
    order = np.asarray(order, dtype=np.int64)
    total = len(order)
    requests: dict[tuple[int, int], bytes] = {}
    latencies = np.full(total, np.nan)
    ends = np.full(total, np.nan)
    kinds: Counter = Counter()
    first_errors: list[str] = []
    lock = threading.Lock()
    counter = itertools.count()  # next() is atomic under the GIL
    t0 = time.perf_counter()

    def fail(kind: str, text: str) -> None:
        with lock:
            kinds[kind] += 1
            if len(first_errors) < 10:
                first_errors.append(text)

    def client() -> None:
        conn = Connection(port, timeout)
        try:
            while stop is None or not stop.is_set():
                k = next(counter)
                if k >= total:
                    return
                i, row = int(order[k]), k % ROWS
                request = requests.get((i, row))
                if request is None:
                    request = requests[(i, row)] = http_request(port, models.names[i], models.inputs[i, row], binary)
                begin = time.perf_counter()
                try:
                    status, headers, body = conn.send(request)
                except socket.timeout:
                    fail("timeout", f"{models.names[i]}: no answer within {timeout} s")
                    conn.close()
                    status = None
                except (OSError, ValueError, IndexError) as e:
                    fail("connection", f"{models.names[i]}: {type(e).__name__}: {e}")
                    conn.close()
                    status = None
                end = time.perf_counter()
                latencies[k], ends[k] = end - begin, end - t0
                if status is None:
                    continue
                if status != 200:
                    fail(f"HTTP {status}", f"{models.names[i]}: HTTP {status}: {body[:300]!r}")
                    continue
                try:
                    problem = check_answer(answer_array(headers, body), models.expected[i, row])
                except (ValueError, KeyError, TypeError) as e:
                    problem = f"unreadable answer ({e}): {body[:200]!r}"
                if problem:
                    fail("wrong answer", f"{models.names[i]} row {row}: {problem}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, name=f"load-client-{c}", daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    sent = int(np.isfinite(latencies).sum())
    failed = sum(kinds.values())
    return LoadResult(sent, sent - failed, failed, seconds, latencies, ends, kinds, first_errors)


def zipf_order(n: int, count: int, s: float = 1.1, seed: int = 15, shuffle: bool = True) -> np.ndarray:
    """`count` model indices drawn from Zipf(s) over n models (rank r has weight 1 / r^s), with a
    fixed seed; ranks are mapped onto models by a fixed permutation (so the hot models are not
    simply the first ones) unless `shuffle` is false."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    ranks = rng.choice(n, size=count, p=weights / weights.sum())
    if not shuffle:
        return ranks
    return rng.permutation(n)[ranks]


def mixed_order(base: np.ndarray, extra: Sequence[int], share: float, seed: int = 16) -> np.ndarray:
    """`base` with a `share` of its entries replaced by uniform picks from `extra` (e.g. pinned models)."""
    rng = np.random.default_rng(seed)
    out = np.array(base, copy=True)
    where = rng.random(len(out)) < share
    out[where] = rng.choice(np.asarray(extra), size=int(where.sum()))
    return out


# ---------------------------------------------------------------------------------------------
# /proc

def proc_status(pid: int) -> dict[str, int]:
    """The numeric fields of /proc/<pid>/status (VmRSS and VmHWM in kB, Threads, …)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if parts and parts[0].isdigit():
            out[key] = int(parts[0])
    return out


def rss_bytes(pid: int) -> int:
    return proc_status(pid)["VmRSS"] * 1024


def thread_count(pid: int) -> int:
    return proc_status(pid)["Threads"]


def settled_rss_bytes(pid: int, seconds: float = 2.0, interval: float = 0.2) -> int:
    """The smallest VmRSS over `seconds` of an idle process (memory freed and trimmed shortly
    after a load or a burst of requests shows as the smaller samples)."""
    samples = []
    deadline = time.monotonic() + seconds
    while True:
        samples.append(rss_bytes(pid))
        if time.monotonic() >= deadline:
            return min(samples)
        time.sleep(interval)


class Sampler:
    """Samples a pid's VmRSS and thread count (and, given a metrics port, the /metrics values
    named in `metrics`, summed over labels) every `interval` seconds in a background thread."""

    def __init__(self, pid: int, interval: float = 0.1, metrics_port: int | None = None,
                 metrics: Sequence[str] = (), metrics_every: int = 5):
        self.pid, self.interval, self.metrics_port = pid, interval, metrics_port
        self.metrics, self.metrics_every = list(metrics), metrics_every
        self.rows: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self.t0 = 0.0

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            try:
                status = proc_status(self.pid)
            except OSError:
                return
            row = {"t": time.perf_counter() - self.t0, "rss_bytes": status.get("VmRSS", 0) * 1024,
                   "threads": status.get("Threads", 0)}
            if self.metrics_port and self.metrics and n % self.metrics_every == 0:
                try:
                    row.update(scrape_sums(self.metrics_port, self.metrics, timeout=5))
                except (OSError, ValueError):
                    pass
            self.rows.append(row)
            n += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> "Sampler":
        self.t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    @property
    def max_rss_bytes(self) -> int:
        return max((r["rss_bytes"] for r in self.rows), default=0)

    @property
    def max_threads(self) -> int:
        return max((r["threads"] for r in self.rows), default=0)


# ---------------------------------------------------------------------------------------------
# Prometheus, statistics and the repository index

def http_json(method: str, url: str, body: object | None = None, timeout: float = 30.0) -> tuple[int, object]:
    """(status, parsed JSON body or the text when it is not JSON)."""
    data = None if body is None else json.dumps(body).encode()
    req = urlrequest.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urlrequest.urlopen(req, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def scrape(metrics_port: int, timeout: float = 10.0) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(sample name, sorted labels): value}, parsed by prometheus_client."""
    from prometheus_client.parser import text_string_to_metric_families
    with urlrequest.urlopen(f"http://{HOST}:{metrics_port}/metrics", timeout=timeout) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def scrape_sums(metrics_port: int, names: Sequence[str], timeout: float = 10.0) -> dict[str, float]:
    """Each named metric summed over all its labels, read from the /metrics text with a cheap
    line filter (for sampling during a load: prometheus_client's parser takes about 10 µs a sample,
    and 1,000 models make tens of thousands of samples)."""
    with urlrequest.urlopen(f"http://{HOST}:{metrics_port}/metrics", timeout=timeout) as response:
        text = response.read().decode()
    wanted = {variant: name for name in names for variant in _names(name)}
    sums = {name: 0.0 for name in names}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        brace, space = line.find("{"), line.find(" ")
        sample = line[:brace] if 0 <= brace < space else line[:space]
        name = wanted.get(sample)
        if name is None:
            continue
        rest = line[line.rfind("}") + 1:] if 0 <= brace < space else line[space:]
        sums[name] += float(rest.split()[0])
    return sums


def _names(name: str) -> set[str]:
    """A counter's sample may be written with or without `_total` (prometheus_client's parser adds it)."""
    base = name[:-len("_total")] if name.endswith("_total") else name
    return {name, base, base + "_total"}


def metric_present(samples: dict, name: str) -> bool:
    names = _names(name)
    return any(key[0] in names for key in samples)


def metric_sum(samples: dict, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (0 when there are none)."""
    names = _names(name)
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n in names and want <= set(ls))


def metric_by(samples: dict, name: str, label: str = "model") -> dict[str, float]:
    """A metric's values summed per value of one label (e.g. per model)."""
    names = _names(name)
    out: dict[str, float] = {}
    for (n, ls), v in samples.items():
        if n in names:
            key = dict(ls).get(label)
            if key is not None:
                out[key] = out.get(key, 0.0) + v
    return out


def memory_by_model(samples: dict) -> dict[str, float]:
    """swerve_model_memory_bytes per model (version 1 of the generated models)."""
    return metric_by(samples, "swerve_model_memory_bytes")


def repository_index(http_port: int, ready_only: bool | None = None) -> list[dict]:
    """POST /v2/repository/index: rows {name, version, state, reason[, memory_bytes]}."""
    body = None if ready_only is None else {"ready": ready_only}
    status, rows = http_json("POST", f"http://{HOST}:{http_port}/v2/repository/index", body if body else {})
    assert status == 200, f"repository index: HTTP {status}: {str(rows)[:300]}"
    assert isinstance(rows, list), rows
    return rows


def stats_memory_bytes(http_port: int, model: str) -> int | None:
    """The CPU byte_size of the model's memory_usage in GET /v2/models/<m>/stats (Triton's field),
    summed over its versions; None when the field is missing."""
    status, body = http_json("GET", f"http://{HOST}:{http_port}/v2/models/{model}/stats")
    assert status == 200, f"stats of {model}: HTTP {status}: {str(body)[:300]}"
    total, seen = 0, False
    for entry in body["model_stats"]:
        for usage in entry.get("memory_usage", []) or []:
            seen = True
            if usage.get("type") == "CPU":
                total += int(usage["byte_size"])
    return total if seen else None


def model_ready(http_port: int, model: str) -> int:
    """The status of GET /v2/models/<m>/ready (200 when ready)."""
    return http_json("GET", f"http://{HOST}:{http_port}/v2/models/{model}/ready")[0]


def touch_each(port: int, models: Models, indices: Sequence[int] | None = None, clients: int = 1,
               binary: bool = False) -> LoadResult:
    """One checked request to each model (in order when clients == 1): the first request of each."""
    order = list(range(len(models))) if indices is None else list(indices)
    return drive(port, models, order, clients=clients, binary=binary)


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def url_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urlrequest.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (HTTPError, URLError, OSError):
        return False
