"""The bundled example models served end to end, each answer compared with Python onnxruntime."""
from __future__ import annotations

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from support import assert_json_error, assert_same, infer_json, output_array, tensor_json


def json_input(name: str, array: np.ndarray, datatype: str) -> httpclient.InferInput:
    tensor = httpclient.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array, binary_data=False)
    return tensor


def json_outputs(*names: str) -> list[httpclient.InferRequestedOutput]:
    return [httpclient.InferRequestedOutput(n, binary_data=False) for n in names]


@pytest.mark.parametrize("batch", [1, 8])
def test_simple_returns_sum_and_difference(client, reference, model_files, batch):
    rng = np.random.default_rng(batch)
    a = rng.integers(-2**20, 2**20, (batch, 16), dtype=np.int32)
    b = rng.integers(-2**20, 2**20, (batch, 16), dtype=np.int32)
    result = client.infer("simple", [json_input("INPUT0", a, "INT32"), json_input("INPUT1", b, "INT32")],
                          outputs=json_outputs("OUTPUT0", "OUTPUT1"))
    expected = reference.run(model_files["simple"], {"INPUT0": a, "INPUT1": b})
    assert_same(result.as_numpy("OUTPUT0"), a + b, "OUTPUT0")
    assert_same(result.as_numpy("OUTPUT1"), expected["OUTPUT1"], "OUTPUT1")
    response = result.get_response()
    assert response["model_name"] == "simple"
    assert response["model_version"] == "1"


def test_simple_refuses_a_batch_over_max_batch_size(client):
    a = np.zeros((9, 16), np.int32)
    with pytest.raises(InferenceServerException) as error:
        client.infer("simple", [json_input("INPUT0", a, "INT32"), json_input("INPUT1", a, "INT32")],
                     outputs=json_outputs("OUTPUT0"))
    assert error.value.status() == "400"


@pytest.mark.parametrize("batch", [1, 8])
def test_dense_tiny_equals_onnxruntime(client, reference, model_files, batch):
    x = np.random.default_rng(100 + batch).standard_normal((batch, 16)).astype(np.float32)
    result = client.infer("dense_tiny", [json_input("x", x, "FP32")], outputs=json_outputs("y"))
    assert_same(result.as_numpy("y"), reference.run(model_files["dense_tiny"], {"x": x})["y"], "y")


def test_mul_1_equals_onnxruntime(client, reference, model_files):
    x = np.arange(6, dtype=np.float32).reshape(3, 2) / 7
    result = client.infer("mul_1", [json_input("X", x, "FP32")], outputs=json_outputs("Y"))
    assert_same(result.as_numpy("Y"), reference.run(model_files["mul_1"], {"X": x})["Y"], "Y")


def test_sigmoid_equals_onnxruntime_with_nested_data(server, client, reference, model_files):
    x = np.linspace(-6, 6, 60, dtype=np.float32).reshape(3, 4, 5)
    expected = reference.run(model_files["sigmoid"], {"x": x})["y"]
    result = client.infer("sigmoid", [json_input("x", x, "FP32")], outputs=json_outputs("y"))
    assert_same(result.as_numpy("y"), expected, "y (flat)")
    response = infer_json(server, "sigmoid", {"inputs": [tensor_json("x", x, "FP32", nested=True)]})
    assert response.status_code == 200, response.text
    assert_same(output_array(response.json(), "y", np.float32), expected, "y (nested)")


def test_static_model_refuses_another_shape(client):
    x = np.zeros((2, 2), np.float32)
    with pytest.raises(InferenceServerException) as error:
        client.infer("mul_1", [json_input("X", x, "FP32")], outputs=json_outputs("Y"))
    assert error.value.status() == "400"


def test_logreg_iris_serves_label_without_the_map_output(server, client, reference, model_files):
    x = np.array([[5.1, 3.5], [6.2, 2.9], [7.7, 3.0]], np.float32)
    expected = reference.run(model_files["logreg_iris"], {"float_input": x})["label"]
    result = client.infer("logreg_iris", [json_input("float_input", x, "FP32")], outputs=json_outputs("label"))
    assert result.get_output("label")["datatype"] == "INT64"
    assert_same(result.as_numpy("label"), expected, "label")
    # With no outputs named, every tensor output comes back: only the label.
    response = infer_json(server, "logreg_iris", {"inputs": [tensor_json("float_input", x, "FP32")]})
    assert response.status_code == 200, response.text
    assert [o["name"] for o in response.json()["outputs"]] == ["label"]
    assert_same(output_array(response.json(), "label", np.int64), expected, "label (all outputs)")


def test_logreg_iris_refuses_to_return_the_map_output(server):
    body = {"inputs": [{"name": "float_input", "shape": [3, 2], "datatype": "FP32", "data": [1.0] * 6}],
            "outputs": [{"name": "probabilities"}]}
    message = assert_json_error(infer_json(server, "logreg_iris", body))
    assert "probabilities" in message
    assert requests.get(server.url + "/v2/health/live").status_code == 200


@pytest.mark.parametrize("batch", [1, 8])
def test_simple_string_computes_on_decimal_strings(client, batch):
    rng = np.random.default_rng(batch)
    a = rng.integers(-1000, 1000, (batch, 16))
    b = rng.integers(-1000, 1000, (batch, 16))
    as_bytes = lambda v: np.array([str(int(n)).encode() for n in v.reshape(-1)], dtype=object).reshape(v.shape)
    result = client.infer("simple_string", [json_input("INPUT0", as_bytes(a), "BYTES"),
                                            json_input("INPUT1", as_bytes(b), "BYTES")],
                          outputs=json_outputs("OUTPUT0", "OUTPUT1"))
    assert result.get_output("OUTPUT0")["datatype"] == "BYTES"
    total = np.vectorize(lambda s: int(s))(result.as_numpy("OUTPUT0"))
    difference = np.vectorize(lambda s: int(s))(result.as_numpy("OUTPUT1"))
    assert np.array_equal(total, a + b) and np.array_equal(difference, a - b)


def test_simple_string_with_a_non_numeric_element_is_a_client_error(server):
    data = [str(i) for i in range(16)]
    bad = data[:5] + ["abc"] + data[6:]
    body = {"inputs": [{"name": "INPUT0", "shape": [1, 16], "datatype": "BYTES", "data": bad},
                       {"name": "INPUT1", "shape": [1, 16], "datatype": "BYTES", "data": data}]}
    assert_json_error(infer_json(server, "simple_string", body))
    good = {"inputs": [dict(body["inputs"][1], name="INPUT0"), body["inputs"][1]]}
    response = infer_json(server, "simple_string", good)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == [str(2 * i) for i in range(16)]


def test_identity_string_echoes_utf8(client, reference, model_files):
    text = np.array([["cat"], ["naïve café"], [""], ["🙂"], ['"quoted"\\']], dtype=object)
    result = client.infer("identity_string", [json_input("TEXT", text, "BYTES")], outputs=json_outputs("ECHO"))
    expected = reference.run(model_files["identity_string"], {"TEXT": text})["ECHO"]
    assert_same(result.as_numpy("ECHO"), expected, "ECHO")
