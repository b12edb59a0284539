"""KServe's v1 protocol on the KServe v2 HTTP port, turned on by `--allow-kserve-v1=true` (issue 17):
`POST /v1/models/<m>:predict` is TF Serving's `:predict` (the same translation, so the same answer
as on the TF Serving port), `GET /v1/models/<m>` is KServe's status shape `{"name", "ready"}` (503
when not ready, 404 when unknown, as KServe's model server answers), `GET /v1/models` lists the
ready models. Without the flag the KServe port has no /v1 routes, and the TF Serving port keeps TF
Serving's own status shape either way."""
from __future__ import annotations

import json

import numpy as np
import pytest
import requests

import model_factory
from support import SwerveServer, assert_json_error, infer_json, ports_of

OFFSET = 2.5


@pytest.fixture(scope="module")
def v1_repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("kserve-v1") / "models"
    model_factory.save(repo, "plus", model_factory.plus_constant(OFFSET))
    # A model that fails to load: known to the server, never ready.
    (repo / "broken" / "1").mkdir(parents=True)
    (repo / "broken" / "1" / "model.onnx").write_bytes(b"this is not an ONNX model")
    return repo


@pytest.fixture(scope="module")
def v1_server(v1_repo, logs):
    server = SwerveServer(v1_repo, logs / "kserve-v1.log", ("--allow-kserve-v1=true",)).start()
    yield server
    server.stop_and_check()


@pytest.fixture(scope="module")
def plain_server(v1_repo, logs):
    server = SwerveServer(v1_repo, logs / "kserve-v1-off.log").start()
    yield server
    server.stop_and_check()


def post_json(url: str, body) -> requests.Response:
    return requests.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=30)


def test_predict_answers_predictions_for_instances(v1_server):
    x = np.random.default_rng(17).standard_normal((3, 4)).astype(np.float32)
    r = post_json(f"{v1_server.url}/v1/models/plus:predict", {"instances": x.tolist()})
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["predictions"], body
    np.testing.assert_allclose(np.array(body["predictions"], dtype=np.float32), x + OFFSET, rtol=1e-6)


def test_predict_is_the_tf_serving_translation(v1_server):
    """The same bodies give byte-for-byte the same answers on the KServe port (v1) and the TF
    Serving port: one translation, served twice."""
    tf = f"http://127.0.0.1:{ports_of(v1_server)['tfserving']}/v1/models/plus:predict"
    kserve = f"{v1_server.url}/v1/models/plus:predict"
    for body in ({"instances": [[1, 2, 3, 4]]}, {"inputs": [[0.5, 0, -1, 1e3], [4, 3, 2, 1]]},
                 {"instances": [{"x": [1, 1, 1, 1]}]}):
        a, b = post_json(kserve, body), post_json(tf, body)
        assert (a.status_code, a.content) == (b.status_code, b.content), (body, a.text, b.text)
    for bad in ({"instances": [[1, 2, 3]]}, {"nothing": 1}):
        a, b = post_json(kserve, bad), post_json(tf, bad)
        assert a.status_code == b.status_code == 400, (bad, a.text, b.text)
        assert assert_json_error(a) == assert_json_error(b)


def test_model_status_is_kserve_shape(v1_server):
    r = requests.get(f"{v1_server.url}/v1/models/plus", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "plus", "ready": True}


def test_model_status_of_a_model_that_failed_is_503(v1_server):
    r = requests.get(f"{v1_server.url}/v1/models/broken", timeout=10)
    assert assert_json_error(r, (503,)) == "Model with name broken is not ready."


def test_model_status_of_an_unknown_model_is_404(v1_server):
    r = requests.get(f"{v1_server.url}/v1/models/nope", timeout=10)
    assert assert_json_error(r, (404,)) == "Model with name nope does not exist."
    r = post_json(f"{v1_server.url}/v1/models/nope:predict", {"instances": [[1, 2, 3, 4]]})
    assert_json_error(r, (404,))


def test_model_list_names_the_ready_models(v1_server):
    r = requests.get(f"{v1_server.url}/v1/models", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == {"models": ["plus"]}


def test_explain_is_not_implemented(v1_server):
    r = post_json(f"{v1_server.url}/v1/models/plus:explain", {"instances": [[1, 2, 3, 4]]})
    assert "explainer" in assert_json_error(r, (501,))


def test_v2_still_answers_on_the_same_port(v1_server):
    body = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}
    r = infer_json(v1_server, "plus", body)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["outputs"][0]["data"] == [1 + OFFSET, 2 + OFFSET, 3 + OFFSET, 4 + OFFSET]


def test_tf_serving_port_keeps_its_own_status_shape(v1_server):
    r = requests.get(f"http://127.0.0.1:{ports_of(v1_server)['tfserving']}/v1/models/plus", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}


def test_without_the_flag_the_kserve_port_has_no_v1_routes(plain_server):
    for path in ("/v1/models", "/v1/models/plus"):
        r = requests.get(plain_server.url + path, timeout=10)
        assert_json_error(r, (404,))
    r = post_json(f"{plain_server.url}/v1/models/plus:predict", {"instances": [[1, 2, 3, 4]]})
    assert_json_error(r, (404,))
    # The TF Serving port serves :predict as always.
    tf = f"http://127.0.0.1:{ports_of(plain_server)['tfserving']}/v1/models/plus:predict"
    assert post_json(tf, {"instances": [[1, 2, 3, 4]]}).json() == {"predictions": [[3.5, 4.5, 5.5, 6.5]]}


def test_a_value_other_than_true_or_false_is_refused(v1_repo):
    from support import run_swerve
    result = run_swerve("serve", "--model-repository", str(v1_repo), "--allow-kserve-v1=yes")
    assert result.returncode != 0
    assert "--allow-kserve-v1" in result.stderr, result.stderr
