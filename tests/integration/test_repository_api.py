"""Triton's model repository extension in explicit model-control mode, through tritonclient.http and
raw HTTP: the index lists every model of the repository with state and reason (and only ready ones
with {"ready": true}); load and unload; load with a `config` override (version policy,
max_batch_size) that /config reflects; load of an uploaded model (`file:1/model.onnx` in base64
plus `config`); a failed load answers 400 and leaves the versions served before serving; unload
waits for requests in flight, and requests after it get 404 at once (an unloaded model is unknown). In the default mode
(none) load and unload are refused."""
from __future__ import annotations

import base64
import json
import os
import threading
import time

import numpy as np
import onnx
import pytest
import requests
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

import model_factory
from support import SwerveServer, assert_json_error, dense_body, infer_json, slow_body

X = np.array([[1.0, 2.0, 3.0, 4.0]], np.float32)
FAST_S = 2.0  # an answer for an unloaded model must come at least this fast


@pytest.fixture(scope="module")
def control_repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("control") / "models"
    model_factory.make_control_repo(repo)
    return repo


@pytest.fixture(scope="module")
def explicit_server(control_repo, start_server):
    srv = start_server(control_repo, "explicit", ("--model-control-mode", "explicit", "--load-model", "dense_tiny",
                                                  "--intra-op-threads", "1"))
    yield srv
    srv.stop_and_check()


@pytest.fixture
def explicit_client(explicit_server):
    c = httpclient.InferenceServerClient(explicit_server.address, network_timeout=60)
    yield c
    c.close()


def index(server, body=None) -> list[dict]:
    response = requests.post(f"{server.url}/v2/repository/index", timeout=10,
                             data=None if body is None else json.dumps(body))
    assert response.status_code == 200, response.text
    rows = response.json()
    assert isinstance(rows, list), rows
    return rows


def rows_of(rows: list[dict], name: str) -> list[dict]:
    return [row for row in rows if row["name"] == name]


def load(server, name: str, parameters: dict | None = None) -> requests.Response:
    body = None if parameters is None else json.dumps({"parameters": parameters})
    return requests.post(f"{server.url}/v2/repository/models/{name}/load", data=body, timeout=120)


def unload(server, name: str) -> requests.Response:
    return requests.post(f"{server.url}/v2/repository/models/{name}/unload", timeout=120)


def plus(server, version: str | None = None, x: np.ndarray = X) -> tuple[int, str | None, np.ndarray | None]:
    body = {"inputs": [{"name": "x", "shape": list(x.shape), "datatype": "FP32", "data": x.reshape(-1).tolist()}]}
    response = infer_json(server, "plus", body, version=version)
    if response.status_code != 200:
        return response.status_code, None, None
    answer = response.json()
    return 200, answer["model_version"], np.array(answer["outputs"][0]["data"], np.float32)


def timed_infer(server, model: str, body: dict) -> tuple[int, float]:
    began = time.monotonic()
    response = infer_json(server, model, body, timeout=30)
    return response.status_code, time.monotonic() - began


DENSE_BODY = dense_body()
SIMPLE_BODY = {"inputs": [{"name": n, "shape": [1, 16], "datatype": "INT32", "data": list(range(16))}
                          for n in ("INPUT0", "INPUT1")]}


# -- index ---------------------------------------------------------------------------------------

def test_index_lists_every_model_of_the_repository(explicit_server, explicit_client):
    rows = index(explicit_server)
    assert {row["name"] for row in rows} >= {"dense_tiny", "simple", "plus", "slow", "broken"}
    (dense,) = rows_of(rows, "dense_tiny")
    assert dense["version"] == "1" and dense["state"] == "READY"
    for row in rows:
        if row.get("state") not in (None, "READY"):
            assert row.get("reason"), f"a model that is not ready must say why: {row}"
    # tritonclient sees the same list.
    assert explicit_client.get_model_repository_index() == rows


def test_index_ready_filter(explicit_server, explicit_client):
    everything = index(explicit_server, {"ready": False})
    ready = index(explicit_server, {"ready": True})
    assert ready and all(row.get("state") == "READY" for row in ready)
    assert {row["name"] for row in ready} < {row["name"] for row in everything}
    assert "dense_tiny" in {row["name"] for row in ready} and "slow" not in {row["name"] for row in ready}
    assert explicit_client.get_model_repository_index() == everything


def test_only_post_is_allowed_on_the_repository_endpoints(explicit_server):
    for path in ("/v2/repository/index", "/v2/repository/models/simple/load", "/v2/repository/models/simple/unload"):
        assert_json_error(requests.get(explicit_server.url + path, timeout=10), (405,))


def test_a_repository_name_in_the_path_is_not_supported(explicit_server):
    # Triton answers its UNSUPPORTED error ("'repository_name' specification is not supported")
    # with 501 Not Implemented; Swerve answers the same, so clients that handle it keep working.
    for path in ("/v2/repository/models2/index", "/v2/repository/models2/models/simple/load"):
        assert_json_error(requests.post(explicit_server.url + path, timeout=10), (501,))


# -- load and unload -------------------------------------------------------------------------------

def test_load_then_unload(explicit_server, explicit_client):
    assert not explicit_client.is_model_ready("simple")
    response = load(explicit_server, "simple")
    assert response.status_code == 200 and response.content == b"", response.text
    assert explicit_client.is_model_ready("simple")
    response = infer_json(explicit_server, "simple", SIMPLE_BODY)
    assert response.status_code == 200 and response.json()["outputs"][0]["data"] == [2 * i for i in range(16)]
    (row,) = rows_of(index(explicit_server), "simple")
    assert (row["version"], row["state"]) == ("1", "READY")

    response = unload(explicit_server, "simple")
    assert response.status_code == 200 and response.content == b"", response.text
    assert not explicit_client.is_model_ready("simple")
    status, took = timed_infer(explicit_server, "simple", SIMPLE_BODY)
    assert status == 404 and took < FAST_S, (status, took)
    rows = rows_of(index(explicit_server), "simple")
    assert all(row.get("state") != "READY" for row in rows), rows
    assert all(row.get("reason") for row in rows if "state" in row), rows
    assert not rows_of(index(explicit_server, {"ready": True}), "simple")


def test_tritonclient_load_and_unload(explicit_client):
    explicit_client.load_model("simple")
    assert explicit_client.is_model_ready("simple")
    explicit_client.load_model("simple")  # loading a loaded model again is fine
    assert explicit_client.is_model_ready("simple")
    explicit_client.unload_model("simple")
    assert not explicit_client.is_model_ready("simple")


def test_load_with_a_config_override_then_without(explicit_server, explicit_client):
    # The repository's plus has no config: latest 1 → version 3 only.
    assert load(explicit_server, "plus").status_code == 200
    assert explicit_client.get_model_metadata("plus")["versions"] == ["3"]

    config = {"name": "plus", "version_policy": {"all": {}}}
    explicit_client.load_model("plus", config=json.dumps(config))
    assert sorted(explicit_client.get_model_metadata("plus")["versions"]) == ["1", "2", "3"]
    assert "all" in explicit_client.get_model_config("plus")["version_policy"]
    for version in ("1", "2", "3"):
        status, served, y = plus(explicit_server, version)
        assert (status, served) == (200, version)
        np.testing.assert_allclose(y, X.reshape(-1) + 100 * int(version))

    config = {"name": "plus", "max_batch_size": 2, "version_policy": {"specific": {"versions": [1, 2]}}}
    explicit_client.load_model("plus", config=json.dumps(config))
    assert sorted(explicit_client.get_model_metadata("plus")["versions"]) == ["1", "2"]
    shown = explicit_client.get_model_config("plus")
    assert shown["max_batch_size"] == 2
    assert [int(v) for v in shown["version_policy"]["specific"]["versions"]] == [1, 2]
    assert plus(explicit_server)[:2] == (200, "2")
    assert plus(explicit_server, "3")[0] == 404
    assert plus(explicit_server, x=np.zeros((3, 4), np.float32))[0] == 400  # batch 3 > max_batch_size 2

    # Loading again without a config goes back to the repository's configuration.
    explicit_client.load_model("plus")
    assert explicit_client.get_model_metadata("plus")["versions"] == ["3"]
    assert explicit_client.get_model_config("plus")["max_batch_size"] != 2
    assert plus(explicit_server)[:2] == (200, "3")


def test_load_an_uploaded_model(explicit_server, explicit_client, reference, tmp_path):
    model = model_factory.load_example_script().dense_tiny(seed=77)
    path = tmp_path / "uploaded.onnx"
    onnx.save(model, str(path))
    config = {"name": "uploaded_dense", "platform": "onnxruntime_onnx"}
    explicit_client.load_model("uploaded_dense", config=json.dumps(config),
                               files={"file:1/model.onnx": path.read_bytes()})
    assert explicit_client.is_model_ready("uploaded_dense")
    x = np.random.default_rng(77).standard_normal((2, 16)).astype(np.float32)
    tensor = httpclient.InferInput("x", [2, 16], "FP32")
    tensor.set_data_from_numpy(x, binary_data=True)
    result = explicit_client.infer("uploaded_dense", [tensor])
    np.testing.assert_allclose(result.as_numpy("y"), reference.run(path, {"x": x})["y"], rtol=1e-6)
    assert ("uploaded_dense", "READY") in {(r["name"], r.get("state")) for r in index(explicit_server)}
    explicit_client.unload_model("uploaded_dense")
    assert not explicit_client.is_model_ready("uploaded_dense")


def test_uploaded_files_replace_a_repository_model_until_reloaded(explicit_server, tmp_path):
    # Raw HTTP this time: the file is base64 in a JSON string.
    model_bytes = model_factory.plus_constant(7.0).SerializeToString()
    parameters = {"config": json.dumps({"name": "plus"}), "file:1/model.onnx": base64.b64encode(model_bytes).decode()}
    response = load(explicit_server, "plus", parameters)
    assert response.status_code == 200, response.text
    status, served, y = plus(explicit_server)
    assert (status, served) == (200, "1")
    np.testing.assert_allclose(y, X.reshape(-1) + 7)
    assert load(explicit_server, "plus").status_code == 200
    status, served, y = plus(explicit_server)
    assert (status, served) == (200, "3")
    np.testing.assert_allclose(y, X.reshape(-1) + 300)


# -- failed loads -----------------------------------------------------------------------------------

def failed_loads():
    garbage = base64.b64encode(b"this is not an onnx model").decode()
    good = base64.b64encode(model_factory.plus_constant(1.0).SerializeToString()).decode()
    yield "config_contradicts_the_model", {"config": json.dumps(
        {"name": "plus", "input": [{"name": "x", "data_type": "TYPE_INT32", "dims": [4]}]})}
    yield "config_is_not_json", {"config": "{not json"}
    yield "config_has_an_unknown_field", {"config": json.dumps({"name": "plus", "max_batch_sise": 4})}
    yield "config_is_not_a_string", {"config": {"name": "plus"}}
    yield "policy_selects_no_version", {"config": json.dumps({"name": "plus", "version_policy": {"specific": {"versions": [9]}}})}
    yield "uploaded_file_is_not_a_model", {"config": json.dumps({"name": "plus"}), "file:1/model.onnx": garbage}
    yield "uploaded_file_without_config", {"file:1/model.onnx": good}
    yield "uploaded_file_not_base64", {"config": json.dumps({"name": "plus"}), "file:1/model.onnx": "@@@not base64@@@"}
    yield "uploaded_file_outside_the_model_folder", {"config": json.dumps({"name": "plus"}), "file:../1/model.onnx": good}
    yield "uploaded_file_not_in_a_version_folder", {"config": json.dumps({"name": "plus"}), "file:model.onnx": good}


FAILED_LOADS = list(failed_loads())


@pytest.mark.parametrize("parameters", [c[1] for c in FAILED_LOADS], ids=[c[0] for c in FAILED_LOADS])
def test_failed_load_is_a_400_and_the_served_versions_keep_serving(explicit_server, explicit_client, parameters):
    assert load(explicit_server, "plus").status_code == 200
    assert plus(explicit_server)[:2] == (200, "3")

    assert_json_error(load(explicit_server, "plus", parameters), (400,))

    status, served, y = plus(explicit_server)
    assert (status, served) == (200, "3"), "the version served before the failed load must keep serving"
    np.testing.assert_allclose(y, X.reshape(-1) + 300)
    assert explicit_client.is_model_ready("plus")
    assert explicit_client.is_model_ready("plus", "3")
    (row,) = [r for r in rows_of(index(explicit_server), "plus") if r.get("version") == "3"]
    assert row["state"] == "READY", f"version 3 serves but the index says {row}"
    assert "plus" in {r["name"] for r in index(explicit_server, {"ready": True})}


def test_loading_a_broken_model_is_a_400_naming_the_problem(explicit_server):
    message = assert_json_error(load(explicit_server, "broken"), (400,))
    assert "config.pbtxt" in message or "max_batch_size" in message, message
    rows = rows_of(index(explicit_server), "broken")
    assert rows and all(row.get("state") != "READY" and row.get("reason") for row in rows), rows
    # The model is known and failed: not ready (503), with the reason.
    response = infer_json(explicit_server, "broken", DENSE_BODY)
    assert response.status_code == 503 and "broken" in response.json()["error"], response.text


def test_loading_a_model_that_is_not_in_the_repository_is_a_400(explicit_server):
    message = assert_json_error(load(explicit_server, "no_such_model"), (400,))
    assert "no_such_model" in message


def test_unloading_a_model_that_was_never_loaded_does_not_hang(explicit_server):
    began = time.monotonic()
    response = unload(explicit_server, "no_such_model")
    assert response.status_code == 404 and "no_such_model" in response.json()["error"], response.text
    assert time.monotonic() - began < FAST_S


def test_malformed_load_bodies_are_400(explicit_server):
    for body in (b"[1, 2]", b"{", b'{"parameters": 5}', b'{"parameters": []}'):
        response = requests.post(f"{explicit_server.url}/v2/repository/models/simple/load", data=body, timeout=30)
        assert_json_error(response, (400,))


# -- unload with requests in flight ---------------------------------------------------------------

def test_unload_waits_for_requests_in_flight_then_refuses_new_ones(explicit_server):
    assert load(explicit_server, "slow").status_code == 200
    body = slow_body()
    began = time.monotonic()
    assert infer_json(explicit_server, "slow", body).status_code == 200
    one = time.monotonic() - began

    statuses: list[int] = []
    finished: list[float] = []

    def send() -> None:
        statuses.append(infer_json(explicit_server, "slow", body, timeout=60).status_code)
        finished.append(time.monotonic())

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(one / 2)  # all three on the wire: the first running, the others queued behind it
    response = unload(explicit_server, "slow")
    unloaded_at = time.monotonic()
    for thread in threads:
        thread.join(60)
    assert response.status_code == 200, response.text
    assert statuses == [200, 200, 200], f"requests in flight during unload: {statuses}"
    assert unloaded_at >= max(finished) - 0.05, "unload answered before the requests in flight finished"
    status, took = timed_infer(explicit_server, "slow", body)
    assert status == 404 and took < FAST_S, (status, took)


# -- none mode ------------------------------------------------------------------------------------

def test_load_and_unload_are_refused_without_explicit_mode(server, client):
    # The shared server runs in the default mode, none.
    for action in ("load", "unload"):
        response = requests.post(f"{server.url}/v2/repository/models/simple/{action}", timeout=30)
        assert_json_error(response, (400,))
    with pytest.raises(InferenceServerException) as error:
        client.load_model("simple")
    assert error.value.status() == "400"
    with pytest.raises(InferenceServerException):
        client.unload_model("simple")
    assert client.is_model_ready("simple")  # still served
    rows = client.get_model_repository_index()
    assert ("simple", "READY") in {(r["name"], r.get("state")) for r in rows}


# -- resources --------------------------------------------------------------------------------------

def test_load_unload_cycles_keep_memory_bounded(explicit_server):
    def cycles(count: int) -> None:
        with requests.Session() as session:
            for _ in range(count):
                assert session.post(f"{explicit_server.url}/v2/repository/models/simple/load", timeout=60).status_code == 200
                assert infer_json(explicit_server, "simple", SIMPLE_BODY, session=session).status_code == 200
                assert session.post(f"{explicit_server.url}/v2/repository/models/simple/unload", timeout=60).status_code == 200

    cycles(20)  # warm-up: allocator pools, ONNX Runtime's lazily created state
    before = explicit_server.rss_kib()
    cycles(100)
    grown = explicit_server.rss_kib() - before
    assert grown < 8 * 1024, f"RSS grew by {grown} KiB over 100 load/unload cycles"


def test_uploaded_model_files_are_removed_when_no_longer_served(control_repo, logs, tmp_path):
    # Each upload is written to a folder under $TMPDIR; replaced or unloaded, it must go.
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))

    def uploads() -> list[str]:
        return sorted(p.name for p in scratch.iterdir() if p.name.startswith("swerve-override"))

    server = SwerveServer(control_repo, logs / "upload-cleanup.log", ("--model-control-mode", "explicit"), env=env)
    server.start()
    try:
        model = base64.b64encode(model_factory.plus_constant(1.0).SerializeToString()).decode()
        for _ in range(3):
            response = load(server, "uploaded", {"config": json.dumps({"name": "uploaded"}), "file:1/model.onnx": model})
            assert response.status_code == 200, response.text
        assert len(uploads()) <= 1, f"replaced uploads left behind: {uploads()}"
        assert unload(server, "uploaded").status_code == 200
        assert uploads() == [], f"unloaded uploads left behind: {uploads()}"
    finally:
        server.stop_and_check()
