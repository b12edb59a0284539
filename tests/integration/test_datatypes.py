"""Every KServe datatype, through tritonclient.http and raw JSON: the server's outputs equal Python
onnxruntime's on the same model and input (exactly for integers, booleans and bytes; within 1e-6
relative for floats), for batch 1 and batch 8 and different sizes of the dynamic dimension."""
from __future__ import annotations

import zlib

import numpy as np
import pytest
import tritonclient.http as httpclient

import model_factory
from support import assert_same, infer_json, output_array, sample, tensor_json

DATATYPES = list(model_factory.DATATYPES)
SHAPES = [(1, 4), (8, 4), (8, 1), (3, 37)]  # batch 1, batch 8, and the K dimension changing


def triton_infer(client, model: str, inputs: dict[str, np.ndarray], datatypes: dict[str, str], outputs: list[str]):
    """Infers through tritonclient with JSON tensors both ways (binary tensors come later)."""
    request_inputs = []
    for name, array in inputs.items():
        tensor = httpclient.InferInput(name, list(array.shape), datatypes[name])
        tensor.set_data_from_numpy(array, binary_data=False)
        request_inputs.append(tensor)
    request_outputs = [httpclient.InferRequestedOutput(n, binary_data=False) for n in outputs]
    return client.infer(model, request_inputs, outputs=request_outputs)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("datatype", DATATYPES)
def test_identity_output_equals_onnxruntime(client, reference, model_files, datatype, shape):
    model = model_factory.identity_model_name(datatype)
    x = sample(datatype, shape, seed=zlib.crc32(f"{datatype}{shape}".encode()))
    expected = reference.run(model_files[model], {"x": x})["y"]
    result = triton_infer(client, model, {"x": x}, {"x": datatype}, outputs=["y"])
    output = result.get_output("y")
    assert output["datatype"] == datatype
    assert output["shape"] == list(shape)
    assert_same(result.as_numpy("y"), expected, f"{model} {shape}")


@pytest.mark.parametrize("datatype", DATATYPES)
def test_identity_accepts_nested_data(server, reference, model_files, datatype):
    model = model_factory.identity_model_name(datatype)
    x = sample(datatype, (8, 3), seed=7)
    expected = reference.run(model_files[model], {"x": x})["y"]
    response = infer_json(server, model, {"inputs": [tensor_json("x", x, datatype, nested=True)]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == model
    assert body["outputs"][0]["shape"] == [8, 3]
    assert_same(output_array(body, "y", model_factory.DATATYPES[datatype][1]), expected, model)


def test_uint64_and_int64_extremes_survive_exactly(server):
    # 2**64 - 1 and -2**63 are not representable in a double: a parser going through Double fails this.
    for datatype, values in (("UINT64", [2**64 - 1, 2**63 + 1, 0, 9007199254740993]),
                             ("INT64", [-2**63, 2**63 - 1, -9007199254740993, 1])):
        model = model_factory.identity_model_name(datatype)
        body = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": datatype, "data": values}]}
        response = infer_json(server, model, body)
        assert response.status_code == 200, response.text
        assert response.json()["outputs"][0]["data"] == values


def test_fp16_accepted_as_json_numbers(server):
    values = [0.5, -2.0, 65504.0, 6.103515625e-05, 0.0, 1.0009765625]  # all exact in FP16
    body = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP16", "data": values}]}
    response = infer_json(server, "identity_fp16", body)
    assert response.status_code == 200, response.text
    output = response.json()["outputs"][0]
    assert output["datatype"] == "FP16"
    assert np.array_equal(np.array(output["data"], np.float16), np.array(values, np.float16))


def test_bool_outputs_are_json_booleans(server):
    body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "BOOL", "data": [True, False, True]}]}
    response = infer_json(server, "identity_bool", body)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == [True, False, True]


@pytest.mark.parametrize("batch", [1, 8])
def test_several_inputs_and_outputs_of_one_type(client, reference, model_files, batch):
    rng = np.random.default_rng(batch)
    a = rng.standard_normal((batch, 5)).astype(np.float32)
    b = rng.standard_normal((batch, 5)).astype(np.float32)
    expected = reference.run(model_files["add_mul"], {"A": a, "B": b})
    result = triton_infer(client, "add_mul", {"A": a, "B": b}, {"A": "FP32", "B": "FP32"}, ["SUM", "PRODUCT"])
    assert sorted(o["name"] for o in result.get_response()["outputs"]) == ["PRODUCT", "SUM"]
    for name in ("SUM", "PRODUCT"):
        assert_same(result.as_numpy(name), expected[name], name)


@pytest.mark.parametrize("shape", [(1, 2), (8, 6), (2, 11)], ids=lambda s: "x".join(map(str, s)))
def test_several_inputs_and_outputs_of_mixed_types(client, reference, model_files, shape):
    rng = np.random.default_rng(shape[1])
    feeds = {"A": rng.standard_normal(shape), "B": rng.integers(-1000, 1000, shape, dtype=np.int32),
             "C": rng.integers(0, 2, shape).astype(bool)}
    expected = reference.run(model_files["mixed_io"], feeds)
    result = triton_infer(client, "mixed_io", feeds, {"A": "FP64", "B": "INT32", "C": "BOOL"},
                          ["TOTAL", "PICKED", "FLIPPED"])
    datatypes = {o["name"]: o["datatype"] for o in result.get_response()["outputs"]}
    assert datatypes == {"TOTAL": "FP64", "PICKED": "INT32", "FLIPPED": "BOOL"}
    for name in ("TOTAL", "PICKED", "FLIPPED"):
        assert_same(result.as_numpy(name), expected[name], name)


def test_inputs_may_come_in_any_order(server, reference, model_files):
    a = np.array([[1.5, 2.5]], np.float32)
    b = np.array([[3.0, -1.0]], np.float32)
    body = {"inputs": [tensor_json("B", b, "FP32"), tensor_json("A", a, "FP32")]}
    response = infer_json(server, "add_mul", body)
    assert response.status_code == 200, response.text
    expected = reference.run(model_files["add_mul"], {"A": a, "B": b})
    assert_same(output_array(response.json(), "SUM", np.float32), expected["SUM"], "SUM")
