"""Model control while clients keep sending requests.

Poll mode (--repository-poll-secs 0.5): a new version folder appears and the old one is removed
while clients send requests without pause: zero failed requests, and the served version switches
(a new version is loaded before the old one goes). Explicit mode: model B is loaded and unloaded
over and over through the repository API while clients send requests to model A (zero failures)
and to B (each answer 200, 404 or 503, and fast: never a hang)."""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import onnx
import pytest
import requests

import model_factory
from support import assert_json_error, dense_body, infer_json

X = [1.0, 2.0, 3.0, 4.0]
PLUS_BODY = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": X}]}
DENSE_BODY = dense_body()
POLL_SECS = 0.5
SWITCH_TIMEOUT_S = 20.0
FAST_S = 2.0


@dataclass
class Load:
    """Clients sending one model requests in a loop until stopped, recording every answer."""
    server: object
    model: str
    body: dict
    clients: int = 2
    answers: list = field(default_factory=list)  # (client, status, model_version, first output value, seconds)
    errors: list = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list = field(default_factory=list)

    def __enter__(self) -> "Load":
        for index in range(self.clients):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _run(self, index: int) -> None:
        with requests.Session() as session:
            while not self.stop.is_set():
                began = time.monotonic()
                try:
                    response = infer_json(self.server, self.model, self.body, session=session, timeout=30)
                except requests.RequestException as error:
                    self.errors.append(repr(error))
                    continue
                took = time.monotonic() - began
                if response.status_code == 200:
                    answer = response.json()
                    self.answers.append((index, 200, answer["model_version"], answer["outputs"][0]["data"][0], took))
                else:
                    self.answers.append((index, response.status_code, None, response.text[:200], took))

    def statuses(self) -> Counter:
        return Counter(a[1] for a in self.answers)

    def failed(self) -> list:
        return [a for a in self.answers if a[1] != 200] + self.errors

    def wait_for(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(predicate(a) for a in self.answers[-20:]):
                return
            time.sleep(0.05)
        raise AssertionError(f"{what} within {timeout} s; last answers {self.answers[-5:]}, "
                             f"log:\n{self.server.log_tail(20)}")


def add_version(model_dir, version: int, prepare_dir) -> None:
    """Writes version `version` (answers x + 100·version) beside the repository, then moves it in
    with one rename, so the poller never sees half a model file."""
    staging = prepare_dir / f"{model_dir.name}-{version}"
    staging.mkdir(parents=True)
    onnx.save(model_factory.plus_constant(100.0 * version), str(staging / "model.onnx"))
    os.rename(staging, model_dir / str(version))


def assert_versions_only_move_forward(load: Load) -> None:
    for client in range(load.clients):
        served = [int(a[2]) for a in load.answers if a[0] == client and a[1] == 200]
        assert served == sorted(served), f"client {client} saw the version go back: {served}"


def assert_answers_match_versions(load: Load) -> None:
    for _, status, version, first, _ in load.answers:
        if status == 200:
            assert first == pytest.approx(X[0] + 100 * int(version)), (version, first)


# -- poll mode -----------------------------------------------------------------------------------

@pytest.fixture
def poll_repo(tmp_path):
    repo = tmp_path / "models"
    model_factory.save(repo, "switch", model_factory.plus_constant(100.0), version=1)
    model_factory.save(repo, "steady", model_factory.load_example_script().dense_tiny())
    return repo


@pytest.fixture
def poll_server(poll_repo, start_server):
    srv = start_server(poll_repo, "poll", ("--model-control-mode", "poll", "--repository-poll-secs", str(POLL_SECS),
                                           "--intra-op-threads", "1"))
    yield srv
    srv.stop_and_check()


def test_poll_mode_switches_versions_without_a_failed_request(poll_server, poll_repo, tmp_path):
    model_dir = poll_repo / "switch"
    with Load(poll_server, "switch", PLUS_BODY) as load:
        load.wait_for(lambda a: a[2] == "1", 10, "no answer from version 1")
        add_version(model_dir, 2, tmp_path / "staging")
        load.wait_for(lambda a: a[2] == "2", SWITCH_TIMEOUT_S, "version 2 never served")
        shutil.rmtree(model_dir / "1")
        time.sleep(3 * POLL_SECS)
        # A new version and the removal of the current one in the same poll interval.
        add_version(model_dir, 3, tmp_path / "staging")
        shutil.rmtree(model_dir / "2")
        load.wait_for(lambda a: a[2] == "3", SWITCH_TIMEOUT_S, "version 3 never served")
        time.sleep(3 * POLL_SECS)
    assert not load.failed(), f"{len(load.failed())} failed requests during the switch: {load.failed()[:5]}"
    assert {a[2] for a in load.answers} == {"1", "2", "3"}
    assert_versions_only_move_forward(load)
    assert_answers_match_versions(load)
    assert len(load.answers) > 50, "too few requests to say anything"
    assert load.answers[-1][2] == "3"
    metadata = requests.get(f"{poll_server.url}/v2/models/switch", timeout=10).json()
    assert metadata["versions"] == ["3"]
    # The removed versions are unknown now (404), and the message says they were unloaded.
    for gone in ("1", "2"):
        message = assert_json_error(infer_json(poll_server, "switch", PLUS_BODY, version=gone), (404,))
        assert f"version {gone}" in message and "unloaded" in message, message


def test_poll_mode_picks_up_a_version_whose_file_arrives_after_its_folder(poll_server, poll_repo):
    # A copy that is not atomic: the folder exists (and is polled) before the model file is written.
    model_dir = poll_repo / "switch"
    (model_dir / "2").mkdir()
    time.sleep(3 * POLL_SECS)
    assert infer_json(poll_server, "switch", PLUS_BODY).json()["model_version"] == "1", "v1 must keep serving"
    onnx.save(model_factory.plus_constant(200.0), str(model_dir / "2" / "model.onnx"))
    deadline = time.monotonic() + 16 * POLL_SECS
    while time.monotonic() < deadline:
        response = infer_json(poll_server, "switch", PLUS_BODY)
        assert response.status_code == 200, response.text
        if response.json()["model_version"] == "2":
            break
        time.sleep(0.1)
    else:
        raise AssertionError("version 2 was never served once its model file was written; index: "
                             + requests.post(f"{poll_server.url}/v2/repository/index", timeout=10).text)


def test_poll_mode_loads_new_models_and_unloads_removed_ones(poll_server, poll_repo, tmp_path):
    staging = tmp_path / "staging"
    model_factory.save(staging, "newcomer", model_factory.plus_constant(5.0))
    with Load(poll_server, "steady", DENSE_BODY) as load:
        os.rename(staging / "newcomer", poll_repo / "newcomer")
        deadline = time.monotonic() + SWITCH_TIMEOUT_S
        while infer_json(poll_server, "newcomer", PLUS_BODY).status_code != 200:
            assert time.monotonic() < deadline, "the new model was never loaded"
            time.sleep(0.1)
        shutil.rmtree(poll_repo / "newcomer")
        deadline = time.monotonic() + SWITCH_TIMEOUT_S
        while True:
            began = time.monotonic()
            status = infer_json(poll_server, "newcomer", PLUS_BODY).status_code
            assert time.monotonic() - began < FAST_S
            if status == 404:
                break
            assert status == 200 and time.monotonic() < deadline, "the removed model was never unloaded"
            time.sleep(0.1)
    assert not load.failed(), f"requests to a model nobody touched failed: {load.failed()[:5]}"


def test_load_and_unload_are_refused_in_poll_mode(poll_server):
    for action in ("load", "unload"):
        response = requests.post(f"{poll_server.url}/v2/repository/models/switch/{action}", timeout=30)
        assert_json_error(response, (400,))
    assert infer_json(poll_server, "switch", PLUS_BODY).status_code == 200


# -- explicit mode ----------------------------------------------------------------------------------

@pytest.fixture
def explicit_repo(tmp_path):
    repo = tmp_path / "models"
    example = model_factory.load_example_script()
    model_factory.save(repo, "model_a", example.dense_tiny())
    model_factory.save(repo, "model_b", model_factory.plus_constant(100.0))
    return repo


def test_loading_and_unloading_b_never_disturbs_a(explicit_repo, start_server):
    server = start_server(explicit_repo, "explicit-load", ("--model-control-mode", "explicit",
                                                           "--load-model", "model_a", "--intra-op-threads", "1"))
    cycles = 8
    with Load(server, "model_a", DENSE_BODY) as on_a, Load(server, "model_b", PLUS_BODY, clients=2) as on_b:
        for _ in range(cycles):
            response = requests.post(f"{server.url}/v2/repository/models/model_b/load", timeout=60)
            assert response.status_code == 200, response.text
            time.sleep(0.15)
            response = requests.post(f"{server.url}/v2/repository/models/model_b/unload", timeout=60)
            assert response.status_code == 200, response.text
            time.sleep(0.15)
    assert not on_a.failed(), f"{len(on_a.failed())} failed requests to model_a: {on_a.failed()[:5]}"
    assert len(on_a.answers) > 50
    statuses = on_b.statuses()
    assert not on_b.errors, on_b.errors[:5]
    assert set(statuses) <= {200, 404, 503}, f"model_b answered {statuses}: {[a for a in on_b.answers if a[1] not in (200, 404, 503)][:3]}"
    assert statuses[200] > 0 and statuses[404] + statuses[503] > 0, statuses
    slowest = max(a[4] for a in on_b.answers)
    assert slowest < FAST_S, f"a request to model_b took {slowest:.1f} s"
    for _, status, version, first, _ in on_b.answers:
        if status == 200:
            assert first == pytest.approx(X[0] + 100)
    assert server.alive()
    ready = requests.post(f"{server.url}/v2/repository/index", data=json.dumps({"ready": True}), timeout=10).json()
    assert {row["name"] for row in ready} == {"model_a"}
