"""Lazy model control (issue 15), behaviour not timing: `swerve serve --model-control-mode lazy`
only indexes the repository at start (1,000 models: ready with zero loads, every index row
UNAVAILABLE "not loaded"); a model version is loaded by its first request (KServe v2 HTTP and gRPC,
TF Serving predict), once, however many first requests arrive together; /v2/models/<m>/ready
answers from the index without loading; a model folder written while the server runs answers its
next request, and a removed one stops being served once its requests in flight have finished;
--load-model and a config.pbtxt `pinned` parameter load at start; the thread count does not grow
with the models loaded. Answers are compared with Python onnxruntime on the same files."""
from __future__ import annotations

import os
import shutil
import threading
import time

import numpy as np
import onnxruntime
import pytest
import requests

import many_models as mm
import model_factory
from support import ports_of

LAZY = ("--model-control-mode", "lazy")
TINY_COUNT = 1000


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> mm.Models:
    """1,000 distinct 16×16 dense models (tiny_0000 … tiny_0999) and their reference answers,
    generated once per session (about 1 s)."""
    root = tmp_path_factory.getbasetemp() / "many_tiny"
    return mm.cached(("tiny", TINY_COUNT), lambda: mm.generate(root, "tiny", TINY_COUNT))


@pytest.fixture(scope="module")
def lazy_server(tiny_models, start_server):
    """One lazy server on the 1,000 tiny models, shared by the tests below that each touch models
    of their own (so their load counts do not depend on the order the tests run in)."""
    srv = start_server(tiny_models.root, "lazy", LAZY)
    yield srv
    srv.stop_and_check()


def metrics_port(server) -> int:
    return ports_of(server)["metrics"]


def loads(server, model: str | None = None) -> float:
    samples = mm.scrape(metrics_port(server))
    return mm.metric_sum(samples, "swerve_model_loads_total", **({"model": model} if model else {}))


def index_rows(server) -> dict[str, dict]:
    return {row["name"]: row for row in mm.repository_index(server.port)}


def assert_answers(server, models: mm.Models, i: int, row: int = 0) -> None:
    status, headers, body = mm.infer(server.port, models.names[i], models.inputs[i, row])
    assert status == 200, f"{models.names[i]}: HTTP {status}: {body[:300]!r}\n{server.log_tail()}"
    problem = mm.check_answer(mm.answer_array(headers, body), models.expected[i, row])
    assert problem is None, f"{models.names[i]}: {problem}"


# -- start-up -----------------------------------------------------------------------------------

def test_start_with_1000_models_is_ready_with_nothing_loaded(tiny_models, start_server):
    t = time.perf_counter()
    srv = start_server(tiny_models.root, "lazy-start", LAZY)
    ready_s = time.perf_counter() - t
    try:
        samples = mm.scrape(metrics_port(srv))
        assert mm.metric_sum(samples, "swerve_model_loads_total") == 0, "a model was loaded at start"
        for gauge in ("swerve_models_loaded", "swerve_model_memory_loaded_bytes", "swerve_model_memory_budget_bytes"):
            assert mm.metric_present(samples, gauge), f"no {gauge} in /metrics"
            assert mm.metric_sum(samples, gauge) == 0, f"{gauge} = {mm.metric_sum(samples, gauge)} at start"
        assert not mm.memory_by_model(samples), "swerve_model_memory_bytes for a model nothing loaded"

        rows = mm.repository_index(srv.port)
        assert sorted(r["name"] for r in rows) == tiny_models.names, "the index must list every model"
        for row in rows:
            assert row.get("version") == "1", row
            assert row["state"] == "UNAVAILABLE" and row.get("reason") == "not loaded", row
            assert "memory_bytes" not in row, row
        assert mm.repository_index(srv.port, ready_only=True) == []
        assert mm.metric_sum(mm.scrape(metrics_port(srv)), "swerve_model_loads_total") == 0, (
            "reading the index loaded a model")
    finally:
        srv.stop_and_check()
    print(f"lazy start on {TINY_COUNT} models: ready in {ready_s:.2f} s")


# -- first requests -----------------------------------------------------------------------------

def test_first_request_loads_the_model_and_answers(lazy_server, tiny_models):
    i = 1
    name = tiny_models.names[i]
    assert loads(lazy_server, name) == 0
    before = mm.scrape(metrics_port(lazy_server))
    assert_answers(lazy_server, tiny_models, i, 0)
    samples = mm.scrape(metrics_port(lazy_server))
    assert mm.metric_sum(samples, "swerve_model_loads_total", model=name) == 1
    assert mm.metric_sum(samples, "swerve_model_load_failures_total", model=name) == 0
    assert (mm.metric_sum(samples, "swerve_model_load_duration_seconds_count")
            - mm.metric_sum(before, "swerve_model_load_duration_seconds_count")) >= 1, (
        "the load is not in swerve_model_load_duration_seconds")
    assert mm.metric_sum(samples, "swerve_models_loaded") >= 1
    assert mm.memory_by_model(samples).get(name, 0) > 0, "no swerve_model_memory_bytes for the loaded model"
    row = index_rows(lazy_server)[name]
    assert row["state"] == "READY" and row.get("memory_bytes", 0) > 0, row
    # Later requests use the loaded version.
    for r in range(1, mm.ROWS):
        assert_answers(lazy_server, tiny_models, i, r)
    assert loads(lazy_server, name) == 1


def test_concurrent_first_requests_wait_on_one_load(lazy_server, tiny_models):
    i, clients = 2, 16
    name = tiny_models.names[i]
    assert loads(lazy_server, name) == 0
    barrier = threading.Barrier(clients)
    results: list = [None] * clients

    def first(c: int) -> None:
        conn = mm.Connection(lazy_server.port).open()  # connected first: the requests leave together
        request = mm.http_request(lazy_server.port, name, tiny_models.inputs[i, c % mm.ROWS])
        barrier.wait()
        try:
            results[c] = conn.send(request)
        except OSError as e:
            results[c] = e
        finally:
            conn.close()

    threads = [threading.Thread(target=first, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for c, result in enumerate(results):
        assert isinstance(result, tuple), f"client {c}: {result!r}"
        status, headers, body = result
        assert status == 200, f"client {c}: HTTP {status}: {body[:300]!r}"
        assert mm.check_answer(mm.answer_array(headers, body), tiny_models.expected[i, c % mm.ROWS]) is None
    samples = mm.scrape(metrics_port(lazy_server))
    assert mm.metric_sum(samples, "swerve_model_loads_total", model=name) == 1, "16 first requests, not one load"
    assert mm.metric_sum(samples, "swerve_model_load_failures_total", model=name) == 0


def test_readiness_answers_from_the_index_without_loading(lazy_server, tiny_models):
    i = 3
    name = tiny_models.names[i]
    for _ in range(3):
        assert mm.model_ready(lazy_server.port, name) != 200, "ready before it was ever loaded"
    assert loads(lazy_server, name) == 0, "GET /ready loaded the model"
    assert index_rows(lazy_server)[name]["state"] == "UNAVAILABLE"
    assert_answers(lazy_server, tiny_models, i)
    assert mm.model_ready(lazy_server.port, name) == 200
    assert loads(lazy_server, name) == 1
    # The server stays ready throughout, and an unknown model is still unknown.
    assert requests.get(lazy_server.url + "/v2/health/ready", timeout=10).status_code == 200
    assert mm.infer(lazy_server.port, "no_such_model", tiny_models.inputs[0, 0])[0] == 404


def test_grpc_infer_loads_lazily_with_the_same_answers(lazy_server, tiny_models):
    import tritonclient.grpc as grpcclient
    i = 4
    name = tiny_models.names[i]
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{ports_of(lazy_server)['grpc']}")
    try:
        assert not client.is_model_ready(name)
        assert loads(lazy_server, name) == 0
        for row in range(mm.ROWS):
            x = grpcclient.InferInput(mm.INPUT, [1, mm.WIDTH], "FP32")
            x.set_data_from_numpy(tiny_models.inputs[i, row][None])
            result = client.infer(name, [x], outputs=[grpcclient.InferRequestedOutput(mm.OUTPUT)])
            assert mm.check_answer(result.as_numpy(mm.OUTPUT), tiny_models.expected[i, row]) is None
        assert client.is_model_ready(name)
    finally:
        client.close()
    assert loads(lazy_server, name) == 1


def test_tfserving_predict_loads_lazily(lazy_server, tiny_models):
    i = 5
    name = tiny_models.names[i]
    assert loads(lazy_server, name) == 0
    url = f"http://127.0.0.1:{ports_of(lazy_server)['tfserving']}/v1/models/{name}:predict"
    r = requests.post(url, json={"instances": tiny_models.inputs[i].tolist()}, timeout=60)
    assert r.status_code == 200, r.text[:300]
    got = np.array(r.json()["predictions"], dtype=np.float32)
    np.testing.assert_allclose(got, tiny_models.expected[i], rtol=mm.RTOL, atol=mm.ATOL)
    assert loads(lazy_server, name) == 1


# -- the repository changes while the server runs --------------------------------------------------

def test_a_model_written_while_running_answers_its_first_request(tmp_path, start_server):
    repo = tmp_path / "models"
    existing = mm.generate(repo, "here", 2, seed=21)
    srv = start_server(repo, "lazy-new-model", LAZY)
    try:
        assert_answers(srv, existing, 0)
        # Written beside the repository, then moved in (as a deployment tool would), and asked at once:
        # no restart, no poll interval to wait for.
        staging = tmp_path / "staging"
        new = mm.generate(staging, "arrived", 1, seed=22)
        os.rename(staging / new.names[0], repo / new.names[0])
        new.root = repo
        assert_answers(srv, new, 0)
        assert loads(srv, new.names[0]) == 1
        assert index_rows(srv)[new.names[0]]["state"] == "READY"
        # A second one written in place, file by file, also answers its first request.
        late = mm.generate(repo, "late", 1, seed=23)
        assert_answers(srv, late, 0)
        assert_answers(srv, existing, 1)
    finally:
        srv.stop_and_check()


def test_a_removed_model_folder_is_unloaded_after_its_requests_in_flight(tmp_path, start_server):
    repo = tmp_path / "models"
    others = mm.generate(repo, "stays", 1, seed=31)
    model_factory.save(repo, "slow", model_factory.slow(steps=100))  # about 0.5 s a run here
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    x = np.array([0.5], np.float32)
    expected = onnxruntime.InferenceSession(str(repo / "slow/1/model.onnx"), options,
                                            providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    srv = start_server(repo, "lazy-removed", LAZY)
    body = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [0.5]}]}
    url = f"{srv.url}/v2/models/slow/infer"
    try:
        first = requests.post(url, json=body, timeout=60)  # loads it
        assert first.status_code == 200, first.text[:300]
        in_flight: list = [None] * 3

        def call(k: int) -> None:
            try:
                in_flight[k] = requests.post(url, json=body, timeout=60)
            except requests.RequestException as e:
                in_flight[k] = e

        threads = [threading.Thread(target=call, args=(k,)) for k in range(len(in_flight))]
        for t in threads:
            t.start()
        time.sleep(0.15)  # the first of them is running, the others queued behind it
        shutil.rmtree(repo / "slow")
        for t in threads:
            t.join(60)
        for k, r in enumerate(in_flight):
            assert isinstance(r, requests.Response) and r.status_code == 200, (
                f"request {k} in flight when the folder was removed: "
                f"{r if not isinstance(r, requests.Response) else (r.status_code, r.text[:300])}")
            np.testing.assert_allclose(np.array(r.json()["outputs"][0]["data"], np.float32), expected.reshape(-1),
                                       rtol=mm.RTOL)
        # Once they are done the model is no longer served (a few seconds at most for the unload).
        statuses = []
        gone = mm.wait_for(lambda: statuses.append(requests.post(url, json=body, timeout=60).status_code)
                           or statuses[-1] == 404, timeout=5.0, interval=0.1)
        assert gone, f"the removed model still answers: statuses {statuses[-5:]}"
        assert set(statuses) <= {200, 404}, f"requests after the removal failed otherwise: {statuses}"
        row = index_rows(srv).get("slow")
        assert row is None or row["state"] != "READY", row
        assert mm.model_ready(srv.port, "slow") != 200
        assert_answers(srv, others, 0)
    finally:
        srv.stop_and_check()


# -- pinned models ----------------------------------------------------------------------------------

def test_pinned_models_are_loaded_at_start(tmp_path, start_server):
    repo = tmp_path / "models"
    plain = mm.generate(repo, "plain", 4, seed=41)
    by_config = mm.generate(repo, "pinned_cfg", 1, seed=42, configs=mm.pinned_config)
    srv = start_server(repo, "lazy-pinned", (*LAZY, "--load-model", plain.names[0]))
    try:
        samples = mm.scrape(metrics_port(srv))
        pinned = [plain.names[0], by_config.names[0]]
        rows = index_rows(srv)
        for name in pinned:
            assert rows[name]["state"] == "READY" and rows[name].get("memory_bytes", 0) > 0, rows[name]
            assert mm.metric_sum(samples, "swerve_model_loads_total", model=name) == 1, name
            assert mm.model_ready(srv.port, name) == 200, name
        for name in plain.names[1:]:
            assert rows[name]["state"] == "UNAVAILABLE" and rows[name].get("reason") == "not loaded", rows[name]
            assert mm.metric_sum(samples, "swerve_model_loads_total", model=name) == 0, name
        assert mm.metric_sum(samples, "swerve_models_loaded") == 2
        assert_answers(srv, plain, 0)
        assert_answers(srv, by_config, 0)
        assert loads(srv) == 2, "requests to pinned models loaded them again"
    finally:
        srv.stop_and_check()


# -- threads ----------------------------------------------------------------------------------------

def test_thread_count_does_not_grow_with_the_models_loaded(tmp_path, tiny_models, lazy_server, start_server):
    empty = tmp_path / "empty"
    empty.mkdir()
    bare = start_server(empty, "lazy-empty", LAZY)
    try:
        time.sleep(1.0)
        baseline = mm.thread_count(bare.pid)
    finally:
        bare.stop_and_check()
    bound = baseline + 4 * mm.cpu_count()
    touched = list(range(500, 1000))
    with mm.Sampler(lazy_server.pid, interval=0.2) as sampler:
        result = mm.touch_each(lazy_server.port, tiny_models, touched, clients=4)
    assert result.failed == 0, result.summary()
    per_model = mm.metric_by(mm.scrape(metrics_port(lazy_server)), "swerve_model_loads_total")
    assert all(per_model.get(tiny_models.names[i]) == 1 for i in touched), "each touched model loaded once"
    time.sleep(0.5)
    after = mm.thread_count(lazy_server.pid)
    assert after <= bound, (f"{after} threads after loading 500 models; the empty-repository server has "
                            f"{baseline}, bound {bound} (at most {sampler.max_threads} while loading)")
    print(f"threads: empty server {baseline}, after 500 models {after}, most while loading {sampler.max_threads}; "
          f"500 first requests: {result.summary()}")


def test_models_uploaded_or_registered_through_the_apis_answer_in_lazy_mode(tmp_path, start_server):
    """Lazy mode takes the repository APIs as explicit mode does: a model uploaded with KServe's
    load (`file:` parameters, nothing on disk) answers at once, and a model of the repository
    registered through TorchServe's management API is loaded then, not on its first request."""
    import base64
    import json
    repo = tmp_path / "models"
    on_disk = mm.generate(repo, "disk", 1, seed=41)
    staging = mm.generate(tmp_path / "staging", "uploaded", 1, seed=42)
    srv = start_server(repo, "lazy-upload", LAZY)
    try:
        name = staging.names[0]
        model = (staging.root / name / "1" / "model.onnx").read_bytes()
        parameters = {"config": json.dumps({"name": name}), "file:1/model.onnx": base64.b64encode(model).decode()}
        response = requests.post(f"http://127.0.0.1:{srv.port}/v2/repository/models/{name}/load",
                                 json={"parameters": parameters}, timeout=30)
        assert response.status_code == 200, response.text
        assert not (repo / name).exists(), "the upload was written into the repository"
        assert index_rows(srv)[name]["state"] == "READY"
        assert_answers(srv, staging, 0)

        management = ports_of(srv)["torchserve-management"]
        registered = requests.post(f"http://127.0.0.1:{management}/models",
                                   params={"url": on_disk.names[0], "initial_workers": "1"}, timeout=30)
        assert registered.status_code == 200, registered.text
        assert loads(srv, on_disk.names[0]) == 1, "register loads the model"
        assert index_rows(srv)[on_disk.names[0]]["state"] == "READY"
        assert_answers(srv, on_disk, 0)
        assert loads(srv, on_disk.names[0]) == 1, "the request found it loaded"
    finally:
        srv.stop_and_check()
