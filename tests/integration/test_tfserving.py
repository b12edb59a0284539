"""TensorFlow Serving's REST API (issue 7) on numeric and string models of the main repository:
the row (`instances`) and columnar (`inputs`) formats, named and unnamed inputs, model status and
metadata, `NaN` / `Infinity` / `-Infinity` tokens as TF Serving reads and writes them, and errors
as `{"error": "..."}`. Answers are compared with Python onnxruntime on the same model files."""
from __future__ import annotations

import json

import numpy as np
import pytest
import requests

from support import assert_same, ports_of


@pytest.fixture(scope="module")
def tf(server) -> str:
    return f"http://127.0.0.1:{ports_of(server)['tfserving']}/v1/models"


def predict(tf: str, model: str, body) -> requests.Response:
    """POSTs `body` (an object, written with Python's json, NaN and Infinity tokens included, or
    raw text) to `:predict`."""
    data = body if isinstance(body, str) else json.dumps(body)
    return requests.post(f"{tf}/{model}:predict", data=data, headers={"Content-Type": "application/json"}, timeout=30)


def assert_tf_error(response: requests.Response, status: int, *words: str) -> str:
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:300]}"
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"].strip(), body
    for word in words:
        assert word in body["error"], body["error"]
    return body["error"]


def test_row_format_matches_onnxruntime(tf, reference, model_files):
    x = np.random.default_rng(1).standard_normal((3, 16)).astype(np.float32)
    r = predict(tf, "dense_tiny", {"instances": x.tolist()})
    assert r.status_code == 200, r.text[:300]
    expected = reference.run(model_files["dense_tiny"], {"x": x})["y"]
    assert_same(np.array(r.json()["predictions"], dtype=np.float32), expected, "dense_tiny predictions")


def test_columnar_format_with_named_inputs(tf, reference, model_files):
    rng = np.random.default_rng(2)
    a, b = (rng.integers(-1000, 1000, (2, 16)).astype(np.int32) for _ in range(2))
    r = predict(tf, "simple", {"inputs": {"INPUT0": a.tolist(), "INPUT1": b.tolist()}})
    assert r.status_code == 200, r.text[:300]
    outputs = r.json()["outputs"]
    expected = reference.run(model_files["simple"], {"INPUT0": a, "INPUT1": b})
    assert sorted(outputs) == ["OUTPUT0", "OUTPUT1"], outputs
    for name in outputs:
        assert_same(np.array(outputs[name], dtype=np.int32), expected[name], name)


def test_row_format_with_named_inputs_answers_one_object_per_row(tf, reference, model_files):
    rng = np.random.default_rng(3)
    a, b = (rng.integers(-1000, 1000, (3, 16)).astype(np.int32) for _ in range(2))
    rows = [{"INPUT0": a[i].tolist(), "INPUT1": b[i].tolist()} for i in range(3)]
    r = predict(tf, "simple", {"signature_name": "serving_default", "instances": rows})
    assert r.status_code == 200, r.text[:300]
    predictions = r.json()["predictions"]
    expected = reference.run(model_files["simple"], {"INPUT0": a, "INPUT1": b})
    assert len(predictions) == 3 and all(sorted(p) == ["OUTPUT0", "OUTPUT1"] for p in predictions), predictions
    for name in ("OUTPUT0", "OUTPUT1"):
        assert_same(np.array([p[name] for p in predictions], dtype=np.int32), expected[name], name)


def test_strings_in_both_formats(tf):
    texts = ["NaN", 'say "Infinity"', "-Infinity", "héllo"]
    r = predict(tf, "identity_string", {"instances": [[t] for t in texts]})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["predictions"] == [[t] for t in texts]
    r = predict(tf, "identity_string", {"inputs": [[t] for t in texts]})
    assert r.status_code == 200 and r.json()["outputs"] == [[t] for t in texts], r.text[:300]


def test_nan_and_infinity_tokens_in_and_out(tf, reference, model_files):
    x = np.random.default_rng(4).standard_normal((3, 4, 5)).astype(np.float32)
    x[0, 0, 0], x[1, 2, 3], x[2, 3, 4] = np.nan, np.inf, -np.inf
    body = json.dumps({"inputs": x.tolist()})
    assert "NaN" in body and "-Infinity" in body  # Python writes TF Serving's tokens
    r = predict(tf, "sigmoid", body)
    assert r.status_code == 200, r.text[:300]
    got = np.array(json.loads(r.text)["outputs"], dtype=np.float32)
    expected = reference.run(model_files["sigmoid"], {"x": x})["y"]
    assert np.isnan(got[0, 0, 0]) and got[1, 2, 3] == 1.0 and got[2, 3, 4] == 0.0, got.reshape(-1)[:5]
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(expected), rtol=1e-6)
    # a NaN in the output is written as TF Serving's token
    assert "NaN" in r.text


def test_errors_are_tf_serving_json(tf):
    assert_tf_error(predict(tf, "no_such_model", {"instances": [[1.0]]}), 404, "no_such_model")
    assert_tf_error(predict(tf, "dense_tiny", '{"instances": [[1.0, '), 400, "JSON")
    assert_tf_error(predict(tf, "dense_tiny", {"instances": [[1.0] * 16, [1.0] * 15]}), 400, "ragged")
    assert_tf_error(predict(tf, "dense_tiny", {"instances": [["a"] * 16]}), 400)
    assert_tf_error(predict(tf, "dense_tiny", {"signature_name": "nope", "instances": [[1.0] * 16]}), 400, "nope")
    assert_tf_error(predict(tf, "dense_tiny", {"neither": 1}), 400)
    assert_tf_error(predict(tf, "dense_tiny", {"instances": [[1.0] * 17]}), 400)
    assert_tf_error(predict(tf, "simple", {"instances": [{"INPUT0": [1] * 16, "INPUT1": [2**40] * 16}]}), 400)
    assert_tf_error(predict(tf, "identity_string", '{"instances": [[NaN]]}'), 400)
    # A method Swerve does not serve (TF Serving's classify and regress): 400, naming the method and
    # the one it serves.
    for method in ("classify", "regress"):
        r = requests.post(f"{tf}/dense_tiny:{method}", json={"examples": []}, timeout=10)
        assert_tf_error(r, 400, f":{method}", ":predict")


def test_status_and_metadata(tf):
    r = requests.get(f"{tf}/dense_tiny", timeout=10)
    assert r.status_code == 200, r.text[:300]
    [status] = r.json()["model_version_status"]
    assert status["version"] == "1" and status["state"] == "AVAILABLE", status
    assert status["status"]["error_code"] == "OK", status
    assert requests.get(f"{tf}/dense_tiny/versions/1", timeout=10).status_code == 200
    assert_tf_error(requests.get(f"{tf}/dense_tiny/versions/9", timeout=10), 404)
    r = requests.get(f"{tf}/simple/metadata", timeout=10)
    assert r.status_code == 200, r.text[:300]
    metadata = r.json()
    assert metadata["model_spec"]["name"] == "simple", metadata
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sorted(signature["inputs"]) == ["INPUT0", "INPUT1"], signature
    assert signature["inputs"]["INPUT0"]["dtype"] == "DT_INT32", signature
