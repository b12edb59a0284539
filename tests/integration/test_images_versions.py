"""TorchServe per-version management on the real classifier served in two versions (issue 7):
describe one version or all, `PUT /models/{m}/{v}/set-default`, `DELETE /models/{m}/{v}`,
`POST /predictions/{m}/{v}`, as TorchServe answers them (pytorch/serve ManagementRequestHandler,
ModelVersionedRefs): the default version is what `/predictions/{m}` uses and what `GET /models/{m}`
describes; it cannot be unregistered while another version is served (403
InvalidModelVersionException); unknown versions get 404 `{code, type, message}`.

Both versions are the same model file, so answers cannot tell them apart: which version served a
request is read from each version's KServe v2 statistics (`inference_count`), and KServe v2
readiness, metadata and TF Serving status show which versions are served."""
from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient

from test_images import IMAGES, MODEL, EXPECTED, Endpoints, assert_ts_error, top1, torchserve_top5

CAT = (IMAGES / "cat.jpg").read_bytes()


@pytest.fixture(scope="module")
def two_version_repo(classifier_repo, tmp_path_factory) -> Path:
    """The classifier in versions 1 and 2 (the same model.onnx), with `version_policy: { all: {} }`."""
    root = tmp_path_factory.mktemp("classifier-two-versions")
    source = classifier_repo / MODEL
    target = root / MODEL
    target.mkdir()
    shutil.copy(source / "labels.txt", target / "labels.txt")
    config = (source / "config.pbtxt").read_text()
    assert "version_policy" not in config
    (target / "config.pbtxt").write_text(config + "version_policy: { all: {} }\n")
    for version in ("1", "2"):
        (target / version).mkdir()
        shutil.copy(source / "1" / "model.onnx", target / version / "model.onnx")
    return root


# Unregistering changes which versions are served: explicit model control, as for KServe's unload.
EXPLICIT = ("--model-control-mode", "explicit", "--load-model", "*")


@pytest.fixture(scope="module")
def shared(two_version_repo, start_server):
    """One server for the tests that change nothing."""
    srv = start_server(two_version_repo, "images-versions", EXPLICIT)
    yield Endpoints(srv)
    srv.stop_and_check()


@pytest.fixture
def fresh(two_version_repo, start_server):
    """A server of its own, for a test that changes the default or unregisters versions."""
    srv = start_server(two_version_repo, "images-versions-fresh", EXPLICIT)
    yield Endpoints(srv)
    srv.stop_and_check()


# -- helpers -------------------------------------------------------------------------------------

def inference_count(ep: Endpoints, version: int) -> int:
    r = requests.get(f"{ep.kserve}/v2/models/{MODEL}/versions/{version}/stats", timeout=10)
    assert r.status_code == 200, r.text[:300]
    stats = r.json()["model_stats"]
    assert len(stats) == 1 and stats[0]["version"] == str(version), stats
    return stats[0]["inference_count"]


def counts(ep: Endpoints, versions=(1, 2)) -> dict[int, int]:
    return {v: inference_count(ep, v) for v in versions}


def wait_for_counts(ep: Endpoints, expected: dict[int, int], timeout: float = 10.0) -> None:
    """Statistics are recorded as a request completes; allow a loaded machine a moment."""
    deadline = time.monotonic() + timeout
    while True:
        got = counts(ep, tuple(expected))
        if got == expected or time.monotonic() > deadline:
            assert got == expected, f"inference counts {got}, expected {expected}"
            return
        time.sleep(0.1)


def predict(ep: Endpoints, version: int | None = None) -> dict[str, float]:
    """One cat through /predictions/{m}[/{v}]; checks it classifies as a cat."""
    url = f"{ep.ts}/predictions/{MODEL}" + (f"/{version}" if version is not None else "")
    r = requests.post(url, data=CAT, timeout=30)
    assert r.status_code == 200, f"{url}: {r.status_code} {r.text[:300]}"
    top = r.json()
    assert isinstance(top, dict) and len(top) == 5 and top1(top) in EXPECTED["cat.jpg"]["accept_top1"], top
    return top


def describe(ep: Endpoints, suffix: str = "") -> list[dict]:
    r = requests.get(f"{ep.mgmt}/models/{MODEL}{suffix}", timeout=10)
    assert r.status_code == 200, f"GET /models/{MODEL}{suffix}: {r.status_code} {r.text[:300]}"
    described = r.json()
    assert isinstance(described, list) and described, described
    for entry in described:
        assert entry["modelName"] == MODEL and isinstance(entry["modelVersion"], str), entry
        assert entry["workers"] and all(w["status"] == "READY" for w in entry["workers"]), entry
    return described


def default_version(ep: Endpoints) -> str:
    """The default version as TorchServe reports it: the version GET /models/{m} describes."""
    described = describe(ep)
    assert len(described) == 1, f"GET /models/{{m}} describes the default version only: {described}"
    return described[0]["modelVersion"]


def kserve_ready(ep: Endpoints, version: int) -> int:
    return requests.get(f"{ep.kserve}/v2/models/{MODEL}/versions/{version}/ready", timeout=10).status_code


def served_versions(ep: Endpoints) -> list[str]:
    return sorted(entry["modelVersion"] for entry in describe(ep, "/all"))


# -- describe ------------------------------------------------------------------------------------

def test_describe_default_one_and_all(shared):
    ep = shared
    # No default set: the highest version, as for every API's requests without a version.
    assert default_version(ep) == "2"
    everything = describe(ep, "/all")
    assert [e["modelVersion"] for e in everything] == ["1", "2"], everything
    assert [e.get("isDefault") for e in everything] == [False, True], everything
    one = describe(ep, "/1")
    assert len(one) == 1 and one[0]["modelVersion"] == "1" and one[0].get("isDefault") is False, one
    for entry in everything:
        assert entry["batchSize"] == 8 and entry["minWorkers"] == len(entry["workers"]) >= 1, entry
    r = requests.get(f"{ep.kserve}/v2/models/{MODEL}", timeout=10)
    assert r.status_code == 200 and sorted(r.json()["versions"]) == ["1", "2"], r.text[:300]


def test_unknown_versions_are_404(shared):
    ep = shared
    for method, url in [
        ("GET", f"{ep.mgmt}/models/{MODEL}/7"),
        ("PUT", f"{ep.mgmt}/models/{MODEL}/7/set-default"),
        ("DELETE", f"{ep.mgmt}/models/{MODEL}/7"),
        ("DELETE", f"{ep.mgmt}/models/never_registered/1"),
        ("PUT", f"{ep.mgmt}/models/never_registered/1/set-default"),
        ("GET", f"{ep.mgmt}/models/never_registered/all"),
    ]:
        r = requests.request(method, url, timeout=10)
        message = assert_ts_error(r, 404)
        assert "7" in message or "abc" in message or "never_registered" in message, (method, url, message)
    assert_ts_error(requests.post(f"{ep.ts}/predictions/{MODEL}/7", data=CAT, timeout=30), 404)
    # A version that is not a positive integer is a malformed request: 400, as on every API.
    for method, url in [("PUT", f"{ep.mgmt}/models/{MODEL}/abc/set-default"), ("GET", f"{ep.mgmt}/models/{MODEL}/0"),
                        ("POST", f"{ep.ts}/predictions/{MODEL}/0"), ("POST", f"{ep.ts}/predictions/{MODEL}/abc")]:
        message = assert_ts_error(requests.request(method, url, data=CAT, timeout=30), 400)
        assert "is not a positive integer" in message, (method, url, message)
    # nothing changed
    assert served_versions(ep) == ["1", "2"] and default_version(ep) == "2"


# -- predictions per version -----------------------------------------------------------------------

def test_predictions_go_to_the_version_asked_for(shared):
    ep = shared
    before = counts(ep)
    first = predict(ep, 1)
    wait_for_counts(ep, {1: before[1] + 1, 2: before[2]})
    second = predict(ep, 2)
    wait_for_counts(ep, {1: before[1] + 1, 2: before[2] + 1})
    # without a version: the default (2)
    unversioned = predict(ep)
    wait_for_counts(ep, {1: before[1] + 1, 2: before[2] + 2})
    # the same model file in both versions: the same answer
    assert set(first) == set(second) == set(unversioned)
    for label in first:
        assert abs(first[label] - second[label]) < 1e-4 and abs(first[label] - unversioned[label]) < 1e-4
    # the management API's per-version metrics agree with KServe v2 statistics
    metrics = {int(e["modelVersion"]): e["metrics"]["inferenceCount"] for e in describe(ep, "/all")}
    assert metrics == counts(ep), metrics


def test_multipart_batch_on_a_version(shared):
    ep = shared
    before = counts(ep)
    files = [("data", ("cat.jpg", CAT, "image/jpeg")),
             ("data", ("espresso.png", (IMAGES / "espresso.png").read_bytes(), "image/png"))]
    r = requests.post(f"{ep.ts}/predictions/{MODEL}/1", files=files, timeout=30)
    assert r.status_code == 200, r.text[:300]
    answers = r.json()
    assert [top1(a) in EXPECTED[n]["accept_top1"] for a, n in zip(answers, ["cat.jpg", "espresso.png"])] == [True, True]
    wait_for_counts(ep, {1: before[1] + 2, 2: before[2]})


# -- set-default ----------------------------------------------------------------------------------

def test_set_default_moves_unversioned_requests(fresh):
    ep = fresh
    assert default_version(ep) == "2"
    r = requests.put(f"{ep.mgmt}/models/{MODEL}/1/set-default", timeout=10)
    assert r.status_code == 200, r.text[:300]
    assert r.json() == {"status": f'Default version successfully updated for model "{MODEL}" to "1"'}, r.text
    assert default_version(ep) == "1"
    assert [e.get("isDefault") for e in describe(ep, "/all")] == [True, False]

    before = counts(ep)
    predict(ep)
    wait_for_counts(ep, {1: before[1] + 1, 2: before[2]})
    # an explicit version still goes where it says
    predict(ep, 2)
    wait_for_counts(ep, {1: before[1] + 1, 2: before[2] + 1})
    # the default lives in the core: KServe v2 and TF Serving requests without a version use it too
    client = httpclient.InferenceServerClient(ep.server.address, network_timeout=30)
    try:
        inp = httpclient.InferInput("input", [1], "BYTES")
        inp.set_data_from_numpy(np.array([CAT], dtype=np.object_), binary_data=True)
        result = client.infer(MODEL, [inp])
        assert result.get_response()["model_version"] == "1", result.get_response()
    finally:
        client.close()
    r = requests.post(f"{ep.tf}/v1/models/{MODEL}:predict",
                      json={"instances": [{"b64": base64.b64encode(CAT).decode()}]}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    wait_for_counts(ep, {1: before[1] + 3, 2: before[2] + 1})
    r = requests.get(f"{ep.tf}/v1/models/{MODEL}/metadata", timeout=10)
    assert r.status_code == 200 and r.json()["model_spec"]["version"] == "1", r.text[:300]

    # setting it again, or back, is fine
    for version in ("1", "2"):
        r = requests.put(f"{ep.mgmt}/models/{MODEL}/{version}/set-default", timeout=10)
        assert r.status_code == 200, r.text[:300]
    assert default_version(ep) == "2"


# -- unregister one version -------------------------------------------------------------------------

def test_default_version_cannot_be_unregistered_while_others_serve(fresh):
    ep = fresh
    # the implicit default (the highest version)
    r = requests.delete(f"{ep.mgmt}/models/{MODEL}/2", timeout=30)
    message = assert_ts_error(r, 403)
    assert r.json()["type"] == "InvalidModelVersionException", r.text
    assert "Cannot remove default version" in message and MODEL in message, message
    assert kserve_ready(ep, 1) == 200 and kserve_ready(ep, 2) == 200
    assert served_versions(ep) == ["1", "2"]

    # an explicit default
    assert requests.put(f"{ep.mgmt}/models/{MODEL}/1/set-default", timeout=10).status_code == 200
    assert_ts_error(requests.delete(f"{ep.mgmt}/models/{MODEL}/1", timeout=30), 403)
    assert kserve_ready(ep, 1) == 200 and kserve_ready(ep, 2) == 200
    predict(ep, 1)
    predict(ep, 2)


def test_unregister_one_version_leaves_the_other_served(fresh):
    ep = fresh
    assert requests.put(f"{ep.mgmt}/models/{MODEL}/2/set-default", timeout=10).status_code == 200
    r = requests.delete(f"{ep.mgmt}/models/{MODEL}/1", timeout=60)
    assert r.status_code == 200, r.text[:300]
    assert "unregistered" in r.json()["status"], r.text

    # KServe v2: version 1 not ready, version 2 ready, metadata lists 2 only
    assert kserve_ready(ep, 1) == 404 and kserve_ready(ep, 2) == 200
    assert requests.get(f"{ep.kserve}/v2/models/{MODEL}/ready", timeout=10).status_code == 200
    r = requests.get(f"{ep.kserve}/v2/models/{MODEL}", timeout=10)
    assert r.status_code == 200 and r.json()["versions"] == ["2"], r.text[:300]
    # TF Serving: version 1 ended, version 2 available
    r = requests.get(f"{ep.tf}/v1/models/{MODEL}", timeout=10)
    states = {s["version"]: s["state"] for s in r.json()["model_version_status"]}
    assert states == {"1": "END", "2": "AVAILABLE"}, r.text[:300]
    # TorchServe: gone from describe, 404 on its predictions and on a second delete
    assert served_versions(ep) == ["2"] and default_version(ep) == "2"
    assert_ts_error(requests.get(f"{ep.mgmt}/models/{MODEL}/1", timeout=10), 404)
    assert_ts_error(requests.post(f"{ep.ts}/predictions/{MODEL}/1", data=CAT, timeout=30), 404)
    assert_ts_error(requests.delete(f"{ep.mgmt}/models/{MODEL}/1", timeout=30), 404)
    assert_ts_error(requests.put(f"{ep.mgmt}/models/{MODEL}/1/set-default", timeout=10), 404)
    assert MODEL in [m["modelName"] for m in requests.get(f"{ep.mgmt}/models", timeout=10).json()["models"]]

    before = inference_count(ep, 2)
    predict(ep)
    predict(ep, 2)
    wait_for_counts(ep, {2: before + 2})

    # the last version may go, default or not (TorchServe refuses only while others remain)
    r = requests.delete(f"{ep.mgmt}/models/{MODEL}/2", timeout=60)
    assert r.status_code == 200, r.text[:300]
    assert kserve_ready(ep, 2) == 404
    assert_ts_error(requests.post(f"{ep.ts}/predictions/{MODEL}", data=CAT, timeout=30), 404)
    assert_ts_error(requests.get(f"{ep.mgmt}/models/{MODEL}", timeout=10), 404)
    assert MODEL not in [m["modelName"] for m in requests.get(f"{ep.mgmt}/models", timeout=10).json()["models"]]
    assert requests.get(f"{ep.ts}/ping", timeout=10).status_code == 200  # the server stays healthy
    assert ep.server.alive()


def test_unregistering_without_a_version_means_the_default_version(fresh):
    ep = fresh
    # TorchServe: DELETE /models/{m} unregisters the default version, refused while others serve
    r = requests.delete(f"{ep.mgmt}/models/{MODEL}", timeout=30)
    message = assert_ts_error(r, 403)
    assert r.json()["type"] == "InvalidModelVersionException", r.text
    assert "Cannot remove default version 2" in message, message
    assert served_versions(ep) == ["1", "2"]
    assert kserve_ready(ep, 1) == 200 and kserve_ready(ep, 2) == 200
    predict(ep, 1)

    # with one version left, it unregisters the model
    assert requests.put(f"{ep.mgmt}/models/{MODEL}/1/set-default", timeout=10).status_code == 200
    assert requests.delete(f"{ep.mgmt}/models/{MODEL}/2", timeout=60).status_code == 200
    r = requests.delete(f"{ep.mgmt}/models/{MODEL}", timeout=60)
    assert r.status_code == 200, r.text[:300]
    assert kserve_ready(ep, 1) == 404
    assert_ts_error(requests.get(f"{ep.mgmt}/models/{MODEL}", timeout=10), 404)
    assert_ts_error(requests.delete(f"{ep.mgmt}/models/{MODEL}", timeout=10), 404)


def test_scaling_keeps_the_versions_and_the_default(fresh):
    ep = fresh
    assert requests.put(f"{ep.mgmt}/models/{MODEL}/1/set-default", timeout=10).status_code == 200
    r = requests.put(f"{ep.mgmt}/models/{MODEL}", params={"min_worker": 2}, timeout=120)
    assert r.status_code == 200, r.text[:300]
    everything = describe(ep, "/all")
    assert [e["modelVersion"] for e in everything] == ["1", "2"], everything
    assert all(len(e["workers"]) == 2 for e in everything), everything
    assert default_version(ep) == "1"
    before = counts(ep)
    predict(ep)
    wait_for_counts(ep, {1: before[1] + 1, 2: before[2]})

    # a version unregistered before scaling stays unregistered
    assert requests.put(f"{ep.mgmt}/models/{MODEL}/2/set-default", timeout=10).status_code == 200
    assert requests.delete(f"{ep.mgmt}/models/{MODEL}/1", timeout=60).status_code == 200
    r = requests.put(f"{ep.mgmt}/models/{MODEL}", params={"min_worker": 1}, timeout=120)
    assert r.status_code == 200, r.text[:300]
    assert served_versions(ep) == ["2"] and len(describe(ep)[0]["workers"]) == 1
    assert kserve_ready(ep, 1) == 404 and kserve_ready(ep, 2) == 200
    predict(ep)


def test_sample_images_classify_on_both_versions(shared):
    """Issue 7's first criterion on each version: the accepted top-1 for every sample image."""
    ep = shared
    for name in sorted(EXPECTED):
        data = (IMAGES / name).read_bytes()
        for version in (1, 2):
            r = requests.post(f"{ep.ts}/predictions/{MODEL}/{version}", data=data, timeout=30)
            assert r.status_code == 200 and top1(r.json()) in EXPECTED[name]["accept_top1"], (name, version, r.text[:300])
    assert torchserve_top5(ep, CAT)
