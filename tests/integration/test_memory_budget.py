"""The memory budget (issue 15): real sizes measured at load, eviction of least-recently-used
unpinned idle versions under `--model-memory-budget`, pinned models never evicted, and a model
larger than the whole budget refused with 507 (gRPC RESOURCE_EXHAUSTED).

(a) 200 models of 4 KB … 4 MB: the sum of swerve_model_memory_bytes is within 20% of the server's
    RSS growth over the same server on an empty repository; the sizes agree in /metrics, the
    statistics' memory_usage and the repository index.
(b) the acceptance run: 1,000 tiny models, budget = a quarter of their measured total, requests in
    Zipf(1.1) order from 16 clients (SWERVE_MANY_MODELS_REQUESTS, default below), every answer
    checked, none failed, RSS never above (budget + empty-repository RSS) × 1.2, evictions > 0.
(c) the same beside ten pinned ~22 MB models that get requests too: loaded once, never evicted.
(d) a model bigger than the budget: 507 naming the memory budget; the others keep answering.

Sizes are measured in a first server run on the same files (each model touched once)."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest

import many_models as mm
from support import ports_of

LAZY = ("--model-control-mode", "lazy")
TINY_COUNT = 1000
BIG_COUNT = 10
BIG_BYTES = 22 << 20
# The acceptance run: 100,000 requests (about 2 minutes per run with the debug build on 2 cores, a
# quarter budget making about one request in five a load); SWERVE_MANY_MODELS_REQUESTS scales it.
REQUESTS = int(os.environ.get("SWERVE_MANY_MODELS_REQUESTS", "100000"))
RSS_SLACK = 1.2
SIZE_TOLERANCE = 0.2
SAMPLED = ("swerve_model_loads_total", "swerve_model_evictions_total", "swerve_model_memory_loaded_bytes",
           "swerve_models_loaded")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> mm.Models:
    root = tmp_path_factory.getbasetemp() / "many_tiny"
    return mm.cached(("tiny", TINY_COUNT), lambda: mm.generate(root, "tiny", TINY_COUNT))


@pytest.fixture(scope="module")
def sized_models(tmp_path_factory) -> mm.Models:
    """200 models from 4 KB to 4 MB (log-spaced), about 117 MB of weights in all."""
    root = tmp_path_factory.getbasetemp() / "many_sized"
    widths = [mm.hidden_for_bytes(size) for size in mm.log_spaced_sizes(200, 4 << 10, 4 << 20)]
    return mm.cached(("sized", 200), lambda: mm.generate(root, "sized", 200, widths, seed=1))


@pytest.fixture(scope="module")
def big_models(tmp_path_factory) -> mm.Models:
    """Ten ~22 MB models (hidden width ~170,000), in a folder of their own."""
    root = tmp_path_factory.getbasetemp() / "many_big"
    return mm.cached(("big", BIG_COUNT),
                     lambda: mm.generate(root, "big", BIG_COUNT, mm.hidden_for_bytes(BIG_BYTES), seed=2))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, tiny_models, big_models) -> mm.Models:
    """One repository holding the 1,000 tiny and the ten big models (hard links to their files)."""
    root = tmp_path_factory.getbasetemp() / "many_mixed"
    if not root.exists():
        mm.link_models(tiny_models, root)
        mm.link_models(big_models, root)
    models = tiny_models + big_models
    models.root = root
    return models


def metrics_port(server) -> int:
    return ports_of(server)["metrics"]


@pytest.fixture(scope="module")
def empty_rss(tmp_path_factory, start_server) -> int:
    """Settled RSS of a lazy server on an empty repository (the runtime alone), in bytes."""
    empty = tmp_path_factory.mktemp("empty")
    srv = start_server(empty, "budget-empty", LAZY)
    try:
        time.sleep(0.5)
        return mm.settled_rss_bytes(srv.pid, seconds=1.5)
    finally:
        srv.stop_and_check()


@pytest.fixture(scope="module")
def measured(mixed, start_server) -> dict[str, int]:
    """swerve_model_memory_bytes of every tiny and big model: a lazy server without a budget, each
    model touched once (every answer checked)."""
    srv = start_server(mixed.root, "budget-measure", LAZY)
    try:
        result = mm.touch_each(srv.port, mixed, clients=4)
        assert result.failed == 0, result.summary()
        sizes = mm.memory_by_model(mm.scrape(metrics_port(srv)))
    finally:
        srv.stop_and_check()
    missing = [n for n in mixed.names if not sizes.get(n)]
    assert not missing, f"no swerve_model_memory_bytes for {len(missing)} loaded models, e.g. {missing[:5]}"
    tiny = sum(sizes[n] for n in mixed.names if n.startswith("tiny_"))
    big = sum(sizes[n] for n in mixed.names if n.startswith("big_"))
    print(f"measured: {TINY_COUNT} tiny models {tiny / 2**20:.1f} MiB ({tiny / TINY_COUNT / 1024:.0f} KiB each), "
          f"{BIG_COUNT} big {big / 2**20:.1f} MiB; {len(mixed)} first requests: {result.summary()}")
    return {n: int(sizes[n]) for n in mixed.names}


# -- (a) sizes ------------------------------------------------------------------------------------

def test_measured_sizes_add_up_to_the_rss_growth_and_agree_everywhere(sized_models, empty_rss, start_server):
    srv = start_server(sized_models.root, "budget-sizes", LAZY)
    try:
        result = mm.touch_each(srv.port, sized_models, clients=2)
        assert result.failed == 0, result.summary()
        time.sleep(0.5)
        rss_now = mm.settled_rss_bytes(srv.pid, seconds=2.0)
        samples = mm.scrape(metrics_port(srv))
        per_model = mm.memory_by_model(samples)
        assert sorted(per_model) == sorted(sized_models.names), "swerve_model_memory_bytes must list every loaded model"
        total = sum(per_model.values())
        growth = rss_now - empty_rss
        assert abs(total - growth) <= SIZE_TOLERANCE * growth, (
            f"sum of swerve_model_memory_bytes {total / 2**20:.1f} MiB vs RSS growth {growth / 2**20:.1f} MiB "
            f"({rss_now / 2**20:.1f} MiB now, {empty_rss / 2**20:.1f} MiB on an empty repository)")
        assert mm.metric_sum(samples, "swerve_model_memory_loaded_bytes") == total
        assert mm.metric_sum(samples, "swerve_models_loaded") == len(sized_models)
        # A model holds at least its weights.
        for i in np.argsort(sized_models.file_bytes)[-10:]:
            name = sized_models.names[i]
            assert per_model[name] >= 0.9 * sized_models.file_bytes[i], (
                f"{name}: {per_model[name]} bytes measured for a {sized_models.file_bytes[i]}-byte model")
        # The same figure in the statistics extension and the repository index.
        rows = {r["name"]: r for r in mm.repository_index(srv.port)}
        for name in sized_models.names:
            assert mm.stats_memory_bytes(srv.port, name) == per_model[name], name
            assert rows[name]["state"] == "READY" and rows[name].get("memory_bytes") == per_model[name], rows[name]
    finally:
        srv.stop_and_check()
    print(f"sizes: {total / 2**20:.1f} MiB measured, RSS growth {growth / 2**20:.1f} MiB")


# -- (b) and (c): Zipf load under a budget ------------------------------------------------------------

def run_under_budget(srv, models: mm.Models, order: np.ndarray, budget: int, empty: int) -> tuple[mm.LoadResult, mm.Sampler]:
    """Drives the order from 16 clients while sampling RSS and the load metrics; checks what every
    budgeted run must show and returns the result and the samples."""
    port = metrics_port(srv)
    with mm.Sampler(srv.pid, interval=0.1, metrics_port=port, metrics=SAMPLED, metrics_every=5) as sampler:
        result = mm.drive(srv.port, models, order, clients=16)
    samples = mm.scrape(port)
    print(f"budget {budget / 2**20:.1f} MiB: {result.summary()}; loads "
          f"{mm.metric_sum(samples, 'swerve_model_loads_total'):.0f}, evictions "
          f"{mm.metric_sum(samples, 'swerve_model_evictions_total'):.0f}, RSS max {sampler.max_rss_bytes / 2**20:.1f} MiB")
    assert result.requests == len(order), f"only {result.requests} of {len(order)} requests were sent"
    assert result.failed == 0, result.summary()
    assert mm.metric_sum(samples, "nv_inference_request_failure") == 0
    assert mm.metric_sum(samples, "swerve_model_memory_budget_bytes") == budget
    bound = (budget + empty) * RSS_SLACK
    assert sampler.max_rss_bytes <= bound, (
        f"RSS reached {sampler.max_rss_bytes / 2**20:.1f} MiB; bound (budget {budget / 2**20:.1f} + empty "
        f"{empty / 2**20:.1f}) × {RSS_SLACK} = {bound / 2**20:.1f} MiB")
    loaded = [r.get("swerve_model_memory_loaded_bytes") for r in sampler.rows
              if r.get("swerve_model_memory_loaded_bytes") is not None]
    assert loaded and max(loaded) <= budget, f"loaded bytes reached {max(loaded or [0])} over the budget {budget}"
    assert mm.metric_sum(samples, "swerve_model_evictions_total") > 0, "nothing was evicted"
    rows = mm.repository_index(srv.port)
    assert sum(r.get("memory_bytes", 0) for r in rows if r["state"] == "READY") <= budget
    assert any(r["state"] == "UNAVAILABLE" and r.get("reason") == "evicted" for r in rows), (
        "no index row says 'evicted'")
    return result, sampler


def test_zipf_load_within_a_quarter_of_the_total(tiny_models, measured, empty_rss, start_server):
    budget = sum(measured[n] for n in tiny_models.names) // 4
    srv = start_server(tiny_models.root, "budget-zipf", (*LAZY, "--model-memory-budget", str(budget)))
    try:
        order = mm.zipf_order(len(tiny_models), REQUESTS, s=1.1, seed=15)
        run_under_budget(srv, tiny_models, order, budget, empty_rss)
    finally:
        srv.stop_and_check()


def test_pinned_big_models_are_never_evicted(mixed, measured, empty_rss, start_server):
    tiny = [i for i, n in enumerate(mixed.names) if n.startswith("tiny_")]
    big = [i for i, n in enumerate(mixed.names) if n.startswith("big_")]
    budget = sum(measured[mixed.names[i]] for i in big) + sum(measured[mixed.names[i]] for i in tiny) // 4
    pins = [arg for i in big for arg in ("--load-model", mixed.names[i])]
    srv = start_server(mixed.root, "budget-pinned", (*LAZY, "--model-memory-budget", str(budget), *pins))
    try:
        samples = mm.scrape(metrics_port(srv))
        for i in big:
            assert mm.metric_sum(samples, "swerve_model_loads_total", model=mixed.names[i]) == 1, mixed.names[i]
        order = mm.mixed_order(np.asarray(tiny)[mm.zipf_order(len(tiny), REQUESTS, s=1.1, seed=15)], big, share=0.02)
        run_under_budget(srv, mixed, order, budget, empty_rss)
        samples = mm.scrape(metrics_port(srv))
        rows = {r["name"]: r for r in mm.repository_index(srv.port)}
        for i in big:
            name = mixed.names[i]
            assert mm.metric_sum(samples, "swerve_model_loads_total", model=name) == 1, f"{name} was loaded again"
            assert mm.metric_sum(samples, "swerve_model_evictions_total", model=name) == 0, f"{name} was evicted"
            assert rows[name]["state"] == "READY", rows[name]
    finally:
        srv.stop_and_check()


# -- (d) too big for the budget ------------------------------------------------------------------------

def test_a_model_larger_than_the_budget_is_refused_with_507(tmp_path, tiny_models, big_models, start_server):
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException
    repo = tmp_path / "models"
    small = tiny_models.subset(range(3))
    mm.link_models(small, repo)
    huge = big_models.subset([0])
    mm.link_models(huge, repo)
    srv = start_server(repo, "budget-too-big", (*LAZY, "--model-memory-budget", "8M"))
    try:
        samples = mm.scrape(metrics_port(srv))
        assert mm.metric_sum(samples, "swerve_model_memory_budget_bytes") == 8 * 1024 * 1024
        assert mm.touch_each(srv.port, small).failed == 0
        status, _, body = mm.infer(srv.port, huge.names[0], huge.inputs[0, 0])
        assert status == 507, f"HTTP {status}: {body[:300]!r}"
        message = mm.json_error(body)
        assert "memory budget" in message, message
        client = grpcclient.InferenceServerClient(f"127.0.0.1:{ports_of(srv)['grpc']}")
        try:
            x = grpcclient.InferInput(mm.INPUT, [1, mm.WIDTH], "FP32")
            x.set_data_from_numpy(huge.inputs[0, 0][None])
            with pytest.raises(InferenceServerException) as refused:
                client.infer(huge.names[0], [x])
            assert "RESOURCE_EXHAUSTED" in str(refused.value.status()), refused.value
            assert "memory budget" in refused.value.message(), refused.value.message()
        finally:
            client.close()
        # The others keep answering, without being reloaded (the refusal evicted nothing for nothing).
        result = mm.drive(srv.port, small, [0, 1, 2] * 10, clients=3)
        assert result.failed == 0, result.summary()
        samples = mm.scrape(metrics_port(srv))
        for name in small.names:
            assert mm.metric_sum(samples, "swerve_model_loads_total", model=name) == 1, name
        rows = {r["name"]: r for r in mm.repository_index(srv.port)}
        assert rows[huge.names[0]]["state"] != "READY", rows[huge.names[0]]
        assert mm.metric_sum(samples, "swerve_model_memory_loaded_bytes") <= 8 * 1024 * 1024
    finally:
        srv.stop_and_check()
