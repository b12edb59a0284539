"""Triton's statistics extension and the Prometheus endpoint, on a server of its own so that every
count is exactly what these tests sent: success, fail, inference_count (batch elements) versus
execution_count (model runs), queue and compute counts, batch_stats, last_inference; the /metrics
counters (Triton's names and labels) equal them and parse with prometheus_client's parser; the
latency histograms count every request, with the buckets given by --metrics-histogram-buckets; the
pending gauge counts the requests waiting for an instance. Also the debug-level request log lines
(model, version, status, duration, request id)."""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient
from prometheus_client.parser import text_string_to_metric_families
from tritonclient.utils import InferenceServerException

import model_factory
from support import SwerveServer, assert_json_error, dense_body, free_port, infer_json, model_statistics, slow_body

BUCKETS = [0.0005, 0.005, 0.05, 0.5, 5.0]
COUNTERS = ["nv_inference_request_success", "nv_inference_request_failure", "nv_inference_count",
            "nv_inference_exec_count", "nv_inference_request_duration_us", "nv_inference_queue_duration_us",
            "nv_inference_compute_input_duration_us", "nv_inference_compute_infer_duration_us",
            "nv_inference_compute_output_duration_us"]
HISTOGRAMS = ["swerve_inference_request_duration_seconds", "swerve_inference_queue_duration_seconds",
              "swerve_inference_compute_duration_seconds"]
PHASES = ["success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss"]


class MetricsServer(SwerveServer):
    """A server whose metrics port is known (the last --metrics-port on the command line wins)."""

    def __init__(self, repository, log_path, extra_args=(), **kwargs):
        self.metrics_port = free_port()
        super().__init__(repository, log_path, ("--metrics-port", str(self.metrics_port), *extra_args), **kwargs)

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"


@pytest.fixture(scope="module")
def stats_repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("stats") / "models"
    model_factory.make_stats_repo(repo)
    return repo


@pytest.fixture(scope="module")
def stats_server(stats_repo, logs):
    buckets = ",".join(str(b) for b in BUCKETS)
    srv = MetricsServer(stats_repo, logs / "stats.log", ("--metrics-histogram-buckets", buckets,
                                                         "--log-level", "debug", "--intra-op-threads", "1")).start()
    yield srv
    srv.stop_and_check()


@pytest.fixture(scope="module")
def stats_client(stats_server):
    c = httpclient.InferenceServerClient(stats_server.address, network_timeout=30)
    yield c
    c.close()


def counts(stats: dict) -> dict:
    flat = {"inference_count": stats["inference_count"], "execution_count": stats["execution_count"]}
    for phase in PHASES:
        flat[phase] = stats["inference_stats"][phase]["count"]
    return flat


def delta(after: dict, before: dict) -> dict:
    return {key: after[key] - before[key] for key in after}


def scrape(server: MetricsServer) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(sample name, sorted labels): value}, parsed by prometheus_client."""
    response = requests.get(server.metrics_url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain"), response.headers
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric(samples: dict, name: str, model: str, **labels) -> float:
    """A sample of a model's version 1 (prometheus_client's parser names counter samples `<name>_total`
    although the text has `<name>`, as Triton writes it; test_metrics_text_... checks the text)."""
    labels = tuple(sorted({"model": model, "version": "1", **labels}.items()))
    for key in ((name, labels), (name + "_total", labels)):
        if key in samples:
            return samples[key]
    raise AssertionError(f"no {name}{dict(labels)} in /metrics; have {sorted({k[0] for k in samples})}")


def dense_infer(client, batch: int, seed: int = 0, request_id: str = "") -> None:
    x = np.random.default_rng(seed).standard_normal((batch, 16)).astype(np.float32)
    tensor = httpclient.InferInput("x", [batch, 16], "FP32")
    tensor.set_data_from_numpy(x, binary_data=True)
    client.infer("dense_tiny", [tensor], request_id=request_id)


def string_infer(server, first: str) -> requests.Response:
    values = [first] + [str(i) for i in range(15)]
    body = {"inputs": [{"name": n, "shape": [1, 16], "datatype": "BYTES", "data": values} for n in ("INPUT0", "INPUT1")]}
    return infer_json(server, "simple_string", body)


# -- statistics --------------------------------------------------------------------------------------

def test_a_model_has_zero_statistics_until_its_first_request_counts_one(stats_server):
    stats = model_statistics(stats_server, "identity_bytes")
    assert stats["name"] == "identity_bytes" and stats["version"] == "1"
    assert stats["last_inference"] == 0
    assert set(counts(stats).values()) == {0}
    assert set(stats["inference_stats"]) >= set(PHASES)
    assert stats["batch_stats"] == []
    for key in ("response_stats", "memory_usage"):
        assert key in stats
    # One request of batch 1: every count that a success moves is now exactly 1.
    began_ms = time.time() * 1000
    body = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "BYTES", "data": ["a", "b"]}]}
    response = infer_json(stats_server, "identity_bytes", body)
    assert response.status_code == 200, response.text
    stats = model_statistics(stats_server, "identity_bytes")
    assert counts(stats) == {"inference_count": 1, "execution_count": 1, "success": 1, "fail": 0, "queue": 1,
                             "compute_input": 1, "compute_infer": 1, "compute_output": 1, "cache_hit": 0,
                             "cache_miss": 0}, counts(stats)
    assert stats["last_inference"] >= began_ms - 1, stats["last_inference"]
    assert [(b["batch_size"], b["compute_infer"]["count"]) for b in stats["batch_stats"]] == [(1, 1)], stats["batch_stats"]


def test_sequential_requests_are_counted_exactly(stats_server, stats_client):
    batches = [1, 2, 3, 1, 4, 5, 2]
    before = model_statistics(stats_server, "dense_tiny")
    metrics_before = scrape(stats_server)
    began_ms = time.time() * 1000
    for i, batch in enumerate(batches):
        dense_infer(stats_client, batch, seed=i)
    ended_ms = time.time() * 1000
    after = model_statistics(stats_server, "dense_tiny")
    changed = delta(counts(after), counts(before))
    n = len(batches)
    assert changed == {"inference_count": sum(batches), "execution_count": n, "success": n, "fail": 0, "queue": n,
                       "compute_input": n, "compute_infer": n, "compute_output": n, "cache_hit": 0, "cache_miss": 0}
    assert began_ms - 1 <= after["last_inference"] <= ended_ms + 1
    phases = after["inference_stats"]
    assert phases["success"]["ns"] > phases["compute_infer"]["ns"] > 0
    assert phases["success"]["ns"] >= phases["queue"]["ns"]
    # batch_stats: one execution per request, by batch size.
    by_size = {b["batch_size"]: b["compute_infer"]["count"] for b in after["batch_stats"]}
    for size in set(batches):
        old = {b["batch_size"]: b["compute_infer"]["count"] for b in before["batch_stats"]}.get(size, 0)
        assert by_size[size] - old == batches.count(size), (size, after["batch_stats"])
    assert sum(size * count for size, count in by_size.items()) == after["inference_count"]

    # /metrics says the same.
    samples = scrape(stats_server)
    for name, key in (("nv_inference_request_success", "success"), ("nv_inference_request_failure", "fail"),
                      ("nv_inference_count", "inference_count"), ("nv_inference_exec_count", "execution_count")):
        assert metric(samples, name, "dense_tiny") == counts(after)[key], name
        assert metric(samples, name, "dense_tiny") - metric(metrics_before, name, "dense_tiny") == changed[key], name


def test_failures_are_counted_once_and_not_as_executions(stats_server):
    before = model_statistics(stats_server, "simple_string")
    for first in ("1", "not a number", "2", "x", "abc"):
        response = string_infer(stats_server, first)
        assert response.status_code == (200 if first in ("1", "2") else 400), response.text
    changed = delta(counts(model_statistics(stats_server, "simple_string")), counts(before))
    assert changed["success"] == 2 and changed["fail"] == 3, changed
    assert changed["execution_count"] == 2 and changed["inference_count"] == 2, changed
    samples = scrape(stats_server)
    assert metric(samples, "nv_inference_request_failure", "simple_string") == changed["fail"]
    assert metric(samples, "nv_inference_request_success", "simple_string") == changed["success"]


def test_a_request_that_fails_after_running_is_not_also_a_success(stats_server):
    # Classification of a BYTES output fails after the model ran: one request, one failure.
    before = model_statistics(stats_server, "identity_bytes")
    body = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "BYTES", "data": ["a", "b"]}],
            "outputs": [{"name": "y", "parameters": {"classification": 1}}]}
    assert_json_error(infer_json(stats_server, "identity_bytes", body), (400,))
    changed = delta(counts(model_statistics(stats_server, "identity_bytes")), counts(before))
    assert changed["success"] + changed["fail"] == 1, f"one request counted as {changed}"
    assert changed["fail"] == 1, changed


def test_concurrent_requests_may_share_executions_but_every_element_is_counted(stats_server):
    before = model_statistics(stats_server, "dense_tiny")
    metrics_before = scrape(stats_server)
    requests_sent, batch = 32, 2

    def one(i: int) -> None:
        c = httpclient.InferenceServerClient(stats_server.address, network_timeout=30)
        try:
            dense_infer(c, batch, seed=i)
        finally:
            c.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(requests_sent)))
    after = model_statistics(stats_server, "dense_tiny")
    changed = delta(counts(after), counts(before))
    assert changed["success"] == requests_sent and changed["fail"] == 0
    assert changed["inference_count"] == requests_sent * batch
    assert 1 <= changed["execution_count"] <= requests_sent
    assert changed["queue"] == requests_sent
    assert changed["compute_infer"] == requests_sent  # compute counts are per request, as Triton's
    old = {b["batch_size"]: b["compute_infer"]["count"] for b in before["batch_stats"]}
    executions = sum(b["compute_infer"]["count"] - old.get(b["batch_size"], 0) for b in after["batch_stats"])
    elements = sum(b["batch_size"] * (b["compute_infer"]["count"] - old.get(b["batch_size"], 0))
                   for b in after["batch_stats"])
    assert (executions, elements) == (changed["execution_count"], changed["inference_count"])
    samples = scrape(stats_server)
    for name, key in (("nv_inference_request_success", "success"), ("nv_inference_count", "inference_count"),
                      ("nv_inference_exec_count", "execution_count")):
        assert metric(samples, name, "dense_tiny") - metric(metrics_before, name, "dense_tiny") == changed[key], name


def test_statistics_endpoints_and_tritonclient(stats_server, stats_client):
    before = model_statistics(stats_server, "dense_tiny")["inference_count"]
    dense_infer(stats_client, 3)
    dense_infer(stats_client, 2)
    everything = requests.get(f"{stats_server.url}/v2/models/stats", timeout=10).json()["model_stats"]
    assert {(s["name"], s["version"]) for s in everything} == {
        ("dense_tiny", "1"), ("simple_string", "1"), ("identity_bytes", "1")}
    [dense] = [s for s in everything if s["name"] == "dense_tiny"]
    # Every way of asking counts the 5 batch elements just sent.
    assert dense["inference_count"] == before + 5, (before, dense["inference_count"])
    versioned = model_statistics(stats_server, "dense_tiny", "1")
    assert (versioned["name"], versioned["inference_count"]) == ("dense_tiny", before + 5), versioned
    via_client = stats_client.get_inference_statistics("dense_tiny")["model_stats"][0]
    assert via_client["inference_count"] == before + 5, (before, via_client["inference_count"])
    for path in ("/v2/models/no_such_model/stats", "/v2/models/dense_tiny/versions/7/stats"):
        assert_json_error(requests.get(stats_server.url + path, timeout=10), (404,))
    with pytest.raises(InferenceServerException) as error:
        stats_client.get_inference_statistics("no_such_model")
    assert error.value.status() == "404"


# -- /metrics --------------------------------------------------------------------------------------

def test_metrics_durations_agree_with_statistics(stats_server, stats_client):
    phases_before = model_statistics(stats_server, "dense_tiny")["inference_stats"]
    for i in range(3):
        dense_infer(stats_client, 1, seed=i)
    stats = model_statistics(stats_server, "dense_tiny")
    samples = scrape(stats_server)
    phases = stats["inference_stats"]
    requests_seen = phases["success"]["count"] + phases["fail"]["count"]
    # The three requests moved every phase by three counts, and the request and inference times
    # grew (a request that finds the model idle may wait 0 ns in the queue; compute input and output
    # times: test_compute_input_and_output_are_timed).
    for phase in ("success", "queue", "compute_input", "compute_infer", "compute_output"):
        assert phases[phase]["count"] - phases_before[phase]["count"] == 3, (phase, phases_before[phase], phases[phase])
    for phase in ("success", "compute_infer"):
        assert phases[phase]["ns"] > phases_before[phase]["ns"], (phase, phases_before[phase], phases[phase])
    # Counters in microseconds; each request's duration is truncated to whole microseconds.
    pairs = [("nv_inference_request_duration_us", phases["success"]["ns"] + phases["fail"]["ns"], requests_seen),
             ("nv_inference_queue_duration_us", phases["queue"]["ns"], phases["queue"]["count"]),
             ("nv_inference_compute_input_duration_us", phases["compute_input"]["ns"], phases["compute_input"]["count"]),
             ("nv_inference_compute_infer_duration_us", phases["compute_infer"]["ns"], phases["compute_infer"]["count"]),
             ("nv_inference_compute_output_duration_us", phases["compute_output"]["ns"], phases["compute_output"]["count"])]
    for name, ns, count in pairs:
        value = metric(samples, name, "dense_tiny")
        assert ns / 1000 - count - 1 <= value <= ns / 1000 + 1, f"{name} = {value}, statistics say {ns} ns"
    assert metric(samples, "nv_inference_request_duration_us", "dense_tiny") > 0
    assert metric(samples, "nv_inference_pending_request_count", "dense_tiny") == 0


def test_compute_input_and_output_are_timed(stats_server, stats_client):
    """Triton's compute_input (inputs into the backend) and compute_output (outputs out of it) are
    durations: requests with 8 rows of input and output take some nanoseconds in each."""
    phases_before = model_statistics(stats_server, "dense_tiny")["inference_stats"]
    for i in range(3):
        dense_infer(stats_client, 8, seed=i)
    phases = model_statistics(stats_server, "dense_tiny")["inference_stats"]
    samples = scrape(stats_server)
    for phase in ("compute_input", "compute_output"):
        assert phases[phase]["count"] - phases_before[phase]["count"] == 3, (phase, phases_before[phase], phases[phase])
        assert phases[phase]["ns"] > phases_before[phase]["ns"], (phase, phases_before[phase], phases[phase])
        assert metric(samples, f"nv_inference_{phase}_duration_us", "dense_tiny") > 0, phase


def test_histograms_count_every_request_with_the_configured_buckets(stats_server, stats_client):
    samples_before = scrape(stats_server)
    for i in range(4):
        dense_infer(stats_client, 2, seed=i)
    stats = model_statistics(stats_server, "dense_tiny")
    phases = stats["inference_stats"]
    samples = scrape(stats_server)
    # Four requests, one after another: four more in each histogram (one execution each).
    for name in HISTOGRAMS:
        added = metric(samples, name + "_count", "dense_tiny") - metric(samples_before, name + "_count", "dense_tiny")
        assert added == 4, f"{name}: {added} observations for 4 requests"
        grown = metric(samples, name + "_sum", "dense_tiny") - metric(samples_before, name + "_sum", "dense_tiny")
        # A request that finds an instance free runs at once: its queue time may be 0.
        assert grown >= 0 if name == "swerve_inference_queue_duration_seconds" else grown > 0, (name, grown)
    expected_counts = {
        "swerve_inference_request_duration_seconds": (phases["success"]["count"] + phases["fail"]["count"],
                                                      phases["success"]["ns"] + phases["fail"]["ns"]),
        "swerve_inference_queue_duration_seconds": (phases["queue"]["count"], phases["queue"]["ns"]),
        "swerve_inference_compute_duration_seconds": (stats["execution_count"], None),
    }
    for name, (count, ns) in expected_counts.items():
        assert metric(samples, name + "_count", "dense_tiny") == count, name
        buckets = {labels: value for (sample, labels), value in samples.items()
                   if sample == name + "_bucket" and ("model", "dense_tiny") in labels}
        bounds = sorted((float(dict(labels)["le"]), value) for labels, value in buckets.items())
        assert [b for b, _ in bounds] == BUCKETS + [float("inf")], f"{name} buckets {[b for b, _ in bounds]}"
        values = [v for _, v in bounds]
        assert values == sorted(values), f"{name} buckets are not cumulative: {values}"
        assert values[-1] == count, f"{name}: +Inf bucket {values[-1]} != count {count}"
        total = metric(samples, name + "_sum", "dense_tiny")
        assert total > 0
        if ns is not None:
            assert total == pytest.approx(ns / 1e9, rel=1e-3, abs=1e-5), name


def test_pending_request_count_is_the_requests_waiting_for_an_instance(tmp_path, logs):
    """Triton's nv_inference_pending_request_count: incremented when a request is queued,
    decremented when an instance starts executing it. Five requests at once on one instance of
    the slow model: four wait while the first runs, so the gauge peaks at exactly 4, then 0."""
    model_factory.save(tmp_path / "models", "slow", model_factory.slow(steps=100))
    (tmp_path / "models" / "slow" / "config.pbtxt").write_text(
        "max_batch_size: 0\ninstance_group [ { count: 1 kind: KIND_CPU } ]\n")
    server = MetricsServer(tmp_path / "models", logs / "pending.log", ("--intra-op-threads", "1")).start()
    try:
        assert infer_json(server, "slow", slow_body()).status_code == 200  # warm
        assert metric(scrape(server), "nv_inference_pending_request_count", "slow") == 0
        with ThreadPoolExecutor(5) as pool:
            answers = [pool.submit(infer_json, server, "slow", slow_body(), timeout=120) for _ in range(5)]
            readings = []
            while not all(a.done() for a in answers):
                readings.append(metric(scrape(server), "nv_inference_pending_request_count", "slow"))
                time.sleep(0.01)
        assert [a.result().status_code for a in answers] == [200] * 5
        assert max(readings) == 4, f"pending gauge readings while 5 requests ran one at a time: {readings}"
        assert metric(scrape(server), "nv_inference_pending_request_count", "slow") == 0
    finally:
        server.stop_and_check()


def test_every_triton_counter_is_there_for_every_model(stats_server):
    samples = scrape(stats_server)
    for model in ("dense_tiny", "simple_string", "identity_bytes"):
        for name in COUNTERS + ["nv_inference_pending_request_count"]:
            metric(samples, name, model)


def test_process_metrics(stats_server):
    samples = scrape(stats_server)
    rss = samples[("process_resident_memory_bytes", ())]
    actual = stats_server.rss_kib() * 1024
    assert 0.7 * actual <= rss <= 1.3 * actual, (rss, actual)
    assert samples[("swerve_loaded_model_versions", ())] == 3


def test_metrics_text_is_prometheus_exposition_format(stats_server, stats_client):
    dense_infer(stats_client, 1)
    text = requests.get(stats_server.metrics_url, timeout=10).text
    for name in COUNTERS:
        assert re.search(rf"^# TYPE {name} counter$", text, re.M), f"{name} is not typed as a counter"
        # Triton's exact sample names and labels, which existing dashboards query.
        assert re.search(rf'^{name}{{model="dense_tiny",version="1"}} [0-9.e+]+$', text, re.M), name
    for name in HISTOGRAMS:
        assert re.search(rf"^# TYPE {name} histogram$", text, re.M), f"{name} is not typed as a histogram"


def test_metrics_can_be_turned_off(stats_repo, logs):
    server = MetricsServer(stats_repo, logs / "no-metrics.log", ("--allow-metrics", "false"))
    server.start()
    try:
        with pytest.raises(requests.ConnectionError):
            requests.get(server.metrics_url, timeout=5)
        assert requests.get(server.url + "/v2/health/ready", timeout=5).status_code == 200
    finally:
        server.stop_and_check()


# -- request log lines -------------------------------------------------------------------------------

def wait_for_log(server, pattern: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.log_text().splitlines():
            if re.search(pattern, line):
                return line
        time.sleep(0.05)
    raise AssertionError(f"no log line matching {pattern!r}; log tail:\n{server.log_tail(20)}")


def test_debug_log_has_a_line_per_request(stats_server, stats_client):
    dense_infer(stats_client, 1, request_id="stats-log-ok-42")
    line = wait_for_log(stats_server, r"stats-log-ok-42")
    for field in ("dense_tiny", "200"):
        assert field in line, line
    assert re.search(r"version\W+1\b", line), line
    assert re.search(r"duration", line), line


def test_failed_requests_are_logged_with_their_id(stats_server):
    body = {"id": "stats-log-bad-43", "inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}
    assert infer_json(stats_server, "dense_tiny", body).status_code == 400
    line = wait_for_log(stats_server, r"stats-log-bad-43.*400|400.*stats-log-bad-43")
    assert "dense_tiny" in line, line


def test_requests_without_an_id_get_a_generated_one_in_the_log(stats_server):
    before = len(stats_server.log_text().splitlines())
    assert infer_json(stats_server, "dense_tiny", dense_body()).status_code == 200
    time.sleep(0.2)
    new = [l for l in stats_server.log_text().splitlines()[before:] if "dense_tiny" in l and "200" in l]
    assert new, stats_server.log_tail(10)
    assert re.search(r"request_id\W+\w", new[-1]), new[-1]
