"""The metrics to scale replicas on (issue 17), read from /metrics while a queued load runs:
- `nv_inference_pending_request_count` rises while requests wait for the one instance of a slow
  model and falls back to 0 when they are answered (updated at enqueue and dequeue);
- `swerve_inference_requests_in_flight` counts the requests accepted and not answered, queued and
  running, and is 0 once every answer has arrived;
- summed over a pod's models, as deploy/'s scaling queries sum it, it is the pod's load however
  many of the models are idle; an average over the models' series (triton-inference-server#8979)
  would divide it by their number;
- `swerve_inference_queue_duration_seconds` observes every request that reached the queue,
  including those that timed out there, with the time they waited.
The metrics endpoint is polled until each condition holds, with a deadline; nothing sleeps."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import model_factory
from support import SwerveServer, free_port, infer_json, slow_body

PENDING = "nv_inference_pending_request_count"
IN_FLIGHT = "swerve_inference_requests_in_flight"
QUEUE = "swerve_inference_queue_duration_seconds"
CLIENTS = 6
DEADLINE_S = 60.0
QUEUE_TIMEOUT_US = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory, logs):
    repo = tmp_path_factory.mktemp("autoscale") / "models"
    one_instance = "max_batch_size: 0\ninstance_group [ { count: 1 kind: KIND_CPU } ]\n"
    # A run takes about a fifth of a second here: long enough for a queue to form behind it.
    model_factory.save(repo, "slow", model_factory.slow(size=256, steps=200), config=one_instance)
    # The same, but a request may wait at most 20 ms in the queue before it is refused.
    model_factory.save(repo, "slow_timeout", model_factory.slow(size=256, steps=200), config=one_instance + (
        "dynamic_batching { default_queue_policy { timeout_action: REJECT "
        f"default_timeout_microseconds: {QUEUE_TIMEOUT_US} }} }}\n"))
    for name in ("idle_a", "idle_b"):
        model_factory.save(repo, name, model_factory.plus_constant(1.0))
    metrics_port = free_port()
    srv = SwerveServer(repo, logs / "autoscale.log", ("--metrics-port", str(metrics_port), "--intra-op-threads", "1")).start()
    srv.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    for model in ("slow", "slow_timeout"):
        assert infer_json(srv, model, slow_body(), timeout=60).status_code == 200  # loads and warms
    yield srv
    srv.stop_and_check()


def scrape(server) -> dict[tuple[str, tuple], float]:
    response = requests.get(server.metrics_url, timeout=10)
    assert response.status_code == 200, response.text
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, model: str) -> float:
    key = (name, (("model", model), ("version", "1")))
    assert key in samples, f"no {name} for {model} in /metrics"
    return samples[key]


def series(samples: dict, name: str) -> dict[str, float]:
    """Every model's sample of a gauge, by model."""
    return {dict(labels)["model"]: v for (sample, labels), v in samples.items() if sample == name}


def poll(server, condition, what: str):
    """Scrapes until `condition(samples)` is true; returns those samples."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        samples = scrape(server)
        if condition(samples):
            return samples
    raise AssertionError(f"{what}: not seen within {DEADLINE_S} s; last: "
                         f"pending {series(samples, PENDING)}, in flight {series(samples, IN_FLIGHT)}")


def test_gauges_rise_while_requests_queue_and_fall_to_zero_after(server):
    before = scrape(server)
    assert series(before, IN_FLIGHT) == {"slow": 0, "slow_timeout": 0, "idle_a": 0, "idle_b": 0}
    assert series(before, PENDING) == {"slow": 0, "slow_timeout": 0, "idle_a": 0, "idle_b": 0}
    with ThreadPoolExecutor(CLIENTS) as clients:
        answers = [clients.submit(infer_json, server, "slow", slow_body(), timeout=120) for _ in range(CLIENTS)]
        # All accepted, one running on the one instance, the others waiting for it.
        during = poll(server, lambda s: value(s, IN_FLIGHT, "slow") == CLIENTS and value(s, PENDING, "slow") == CLIENTS - 1,
                      f"{CLIENTS} requests in flight, {CLIENTS - 1} of them pending")
        assert [a.result().status_code for a in answers] == [200] * CLIENTS
    # Each gauge is decremented before its request's answer is sent: with every answer here,
    # both are 0 at once.
    after = scrape(server)
    assert series(after, IN_FLIGHT) == {"slow": 0, "slow_timeout": 0, "idle_a": 0, "idle_b": 0}
    assert series(after, PENDING) == {"slow": 0, "slow_timeout": 0, "idle_a": 0, "idle_b": 0}
    # The pod's load as deploy/'s queries compute it (a sum over the pod's models) is the
    # requests in flight, idle models or not; an average over the models' series divides it by 4.
    in_flight = series(during, IN_FLIGHT)
    assert len(in_flight) == 4 and sum(in_flight.values()) == CLIENTS
    assert sum(in_flight.values()) / len(in_flight) == CLIENTS / 4
    # Every request was observed in the queue histogram, the waits adding up to at least the
    # runs that went before each one (the first waited for none).
    count = value(after, QUEUE + "_count", "slow") - value(before, QUEUE + "_count", "slow")
    assert count == CLIENTS
    waited = value(after, QUEUE + "_sum", "slow") - value(before, QUEUE + "_sum", "slow")
    assert waited > 0


def test_requests_that_time_out_in_the_queue_are_observed_with_their_wait(server):
    before = scrape(server)
    with ThreadPoolExecutor(CLIENTS) as clients:
        answers = [clients.submit(infer_json, server, "slow_timeout", slow_body(), timeout=120) for _ in range(CLIENTS)]
        poll(server, lambda s: value(s, PENDING, "slow_timeout") > 0, "requests pending behind the running one")
        statuses = sorted(a.result().status_code for a in answers)
    timed_out = statuses.count(504)
    assert timed_out >= 1 and statuses.count(200) + timed_out == CLIENTS, statuses
    after = scrape(server)
    assert value(after, PENDING, "slow_timeout") == 0 and value(after, IN_FLIGHT, "slow_timeout") == 0
    count = value(after, QUEUE + "_count", "slow_timeout") - value(before, QUEUE + "_count", "slow_timeout")
    assert count == CLIENTS, f"{count} queue observations for {CLIENTS} requests ({timed_out} timed out in the queue)"
    # Each request that timed out waited at least its queue timeout.
    waited = value(after, QUEUE + "_sum", "slow_timeout") - value(before, QUEUE + "_sum", "slow_timeout")
    assert waited >= timed_out * QUEUE_TIMEOUT_US / 1e6, (waited, timed_out)
    # The requests that timed out count as failures, once each.
    failures = value(after, "nv_inference_request_failure_total", "slow_timeout") - \
        value(before, "nv_inference_request_failure_total", "slow_timeout")
    assert failures == timed_out
