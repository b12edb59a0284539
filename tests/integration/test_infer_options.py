"""Request options of the infer endpoint: outputs selection, the request id, parameters, versions in
the URL."""
from __future__ import annotations

import numpy as np
import tritonclient.http as httpclient

from support import assert_json_error, infer_json, simple_body

# simple_body()'s inputs: INPUT0 counts 0..15, INPUT1 is all ones.
A = np.arange(16, dtype=np.int32).reshape(1, 16)
B = np.ones((1, 16), dtype=np.int32)


def simple_inputs() -> list[httpclient.InferInput]:
    inputs = []
    for name, array in (("INPUT0", A), ("INPUT1", B)):
        tensor = httpclient.InferInput(name, [1, 16], "INT32")
        tensor.set_data_from_numpy(array, binary_data=False)
        inputs.append(tensor)
    return inputs


def test_only_the_requested_outputs_are_returned(client):
    result = client.infer("simple", simple_inputs(),
                          outputs=[httpclient.InferRequestedOutput("OUTPUT1", binary_data=False)])
    assert [o["name"] for o in result.get_response()["outputs"]] == ["OUTPUT1"]
    assert np.array_equal(result.as_numpy("OUTPUT1"), A - B)


def test_all_outputs_are_returned_when_none_are_requested(server):
    response = infer_json(server, "simple", simple_body())
    assert response.status_code == 200, response.text
    assert sorted(o["name"] for o in response.json()["outputs"]) == ["OUTPUT0", "OUTPUT1"]


def test_an_unknown_requested_output_is_a_400(server):
    message = assert_json_error(infer_json(server, "simple", simple_body(outputs=[{"name": "OUTPUT7"}])), (400,))
    assert "OUTPUT7" in message


def test_request_id_is_echoed(client):
    result = client.infer("simple", simple_inputs(), request_id="request-42 ✓",
                          outputs=[httpclient.InferRequestedOutput("OUTPUT0", binary_data=False)])
    assert result.get_response()["id"] == "request-42 ✓"


def test_no_id_in_the_response_without_one_in_the_request(server):
    response = infer_json(server, "simple", simple_body())
    assert response.status_code == 200
    assert "id" not in response.json()


def test_request_parameters_are_accepted(client):
    parameters = {"custom_string": "value", "custom_int": 7, "custom_bool": True, "custom_float": 0.5}
    result = client.infer("simple", simple_inputs(), parameters=parameters,
                          outputs=[httpclient.InferRequestedOutput("OUTPUT0", binary_data=False)])
    assert np.array_equal(result.as_numpy("OUTPUT0"), A + B)


def test_input_and_output_parameters_are_accepted(server):
    body = simple_body(parameters={"trace": "yes"}, outputs=[{"name": "OUTPUT0", "parameters": {"note": 1}}])
    for tensor in body["inputs"]:
        tensor["parameters"] = {"note": "x", "flag": False}
    response = infer_json(server, "simple", body)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == (A + B).reshape(-1).tolist()


def test_binary_data_output_false_is_honoured(server):
    response = infer_json(server, "simple", simple_body(parameters={"binary_data_output": False}))
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert all("data" in o for o in response.json()["outputs"])


def test_infer_on_an_explicit_version(client, server):
    result = client.infer("simple", simple_inputs(), model_version="1",
                          outputs=[httpclient.InferRequestedOutput("OUTPUT0", binary_data=False)])
    assert result.get_response()["model_version"] == "1"
    response = infer_json(server, "simple", simple_body(), version="1")
    assert response.status_code == 200 and response.json()["model_version"] == "1"


def test_response_content_type_is_json(server):
    response = infer_json(server, "simple", simple_body())
    assert response.headers["Content-Type"].startswith("application/json")
