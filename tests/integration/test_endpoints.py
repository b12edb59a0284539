"""Health, server metadata, model metadata, model config and model readiness, through the real
tritonclient.http client and raw HTTP where the client cannot say it."""
from __future__ import annotations

import pytest
import requests
from tritonclient.utils import InferenceServerException

import model_factory
from support import assert_json_error

EXAMPLE_MODELS = ["simple", "simple_string", "identity_string", "dense_tiny", "logreg_iris", "sigmoid", "mul_1"]

# name -> (inputs, outputs) as metadata must show them: (name, datatype, shape)
EXPECTED_METADATA = {
    "simple": ([("INPUT0", "INT32", [-1, 16]), ("INPUT1", "INT32", [-1, 16])],
               [("OUTPUT0", "INT32", [-1, 16]), ("OUTPUT1", "INT32", [-1, 16])]),
    "simple_string": ([("INPUT0", "BYTES", [-1, 16]), ("INPUT1", "BYTES", [-1, 16])],
                      [("OUTPUT0", "BYTES", [-1, 16]), ("OUTPUT1", "BYTES", [-1, 16])]),
    "identity_string": ([("TEXT", "BYTES", [-1, 1])], [("ECHO", "BYTES", [-1, 1])]),
    "dense_tiny": ([("x", "FP32", [-1, 16])], [("y", "FP32", [-1, 16])]),
    "logreg_iris": ([("float_input", "FP32", [3, 2])], [("label", "INT64", [3])]),
    "sigmoid": ([("x", "FP32", [3, 4, 5])], [("y", "FP32", [3, 4, 5])]),
    "mul_1": ([("X", "FP32", [3, 2])], [("Y", "FP32", [3, 2])]),
    "add_mul": ([("A", "FP32", [-1, -1]), ("B", "FP32", [-1, -1])],
                [("SUM", "FP32", [-1, -1]), ("PRODUCT", "FP32", [-1, -1])]),
    "mixed_io": ([("A", "FP64", [-1, -1]), ("B", "INT32", [-1, -1]), ("C", "BOOL", [-1, -1])],
                 [("TOTAL", "FP64", [-1, -1]), ("PICKED", "INT32", [-1, -1]), ("FLIPPED", "BOOL", [-1, -1])]),
}
for _datatype in model_factory.DATATYPES:
    EXPECTED_METADATA[model_factory.identity_model_name(_datatype)] = (
        [("x", _datatype, [-1, -1])], [("y", _datatype, [-1, -1])])


def signature(tensors) -> list[tuple]:
    return [(t["name"], t["datatype"], list(t["shape"])) for t in tensors]


def test_server_is_live_and_ready(client, server):
    assert client.is_server_live()
    assert client.is_server_ready()
    assert requests.get(server.url + "/v2/health/live").status_code == 200
    assert requests.get(server.url + "/v2/health/ready").status_code == 200


def test_server_metadata_names_server_version_and_extensions(client):
    metadata = client.get_server_metadata()
    assert isinstance(metadata["name"], str) and metadata["name"]
    assert isinstance(metadata["version"], str) and metadata["version"]
    assert isinstance(metadata["extensions"], list)
    assert all(isinstance(e, str) for e in metadata["extensions"])


@pytest.mark.parametrize("model", sorted(EXPECTED_METADATA))
def test_model_metadata_shows_names_datatypes_and_shapes(client, model):
    metadata = client.get_model_metadata(model)
    assert metadata["name"] == model
    assert metadata["platform"] == "onnxruntime_onnx"
    assert metadata["versions"] == ["1"]
    inputs, outputs = EXPECTED_METADATA[model]
    assert signature(metadata["inputs"]) == inputs
    assert signature(metadata["outputs"]) == outputs


def test_model_metadata_for_an_explicit_version(client):
    assert client.get_model_metadata("simple", model_version="1")["name"] == "simple"


def test_logreg_iris_metadata_leaves_out_the_non_tensor_output(client):
    metadata = client.get_model_metadata("logreg_iris")
    assert [o["name"] for o in metadata["outputs"]] == ["label"]
    config = client.get_model_config("logreg_iris")
    assert [o["name"] for o in config["output"]] == ["label"]


def test_model_config_of_simple_is_tritons_config_json(client):
    config = client.get_model_config("simple")
    assert config["name"] == "simple"
    assert config["platform"] == "onnxruntime_onnx"
    assert config["backend"] == "onnxruntime"
    assert config["max_batch_size"] == 8
    assert config["version_policy"] == {"latest": {"num_versions": 1}}
    assert [(i["name"], i["data_type"], i["dims"]) for i in config["input"]] == [
        ("INPUT0", "TYPE_INT32", [16]), ("INPUT1", "TYPE_INT32", [16])]
    assert [(o["name"], o["data_type"], o["dims"]) for o in config["output"]] == [
        ("OUTPUT0", "TYPE_INT32", [16]), ("OUTPUT1", "TYPE_INT32", [16])]


def test_model_config_without_config_file_is_completed_from_the_model(client):
    config = client.get_model_config("dense_tiny")
    assert config["name"] == "dense_tiny" and config["platform"] == "onnxruntime_onnx"
    # A variable first dimension is a batch dimension: --default-max-batch-size (64) of them.
    assert config["max_batch_size"] == 64, config["max_batch_size"]
    assert [(i["name"], i["data_type"], i["dims"]) for i in config["input"]] == [("x", "TYPE_FP32", [16])]
    assert [(o["name"], o["data_type"], o["dims"]) for o in config["output"]] == [("y", "TYPE_FP32", [16])]


def test_model_config_of_a_static_model_has_no_batch_dimension(client):
    config = client.get_model_config("mul_1")
    assert config["max_batch_size"] == 0
    assert [(i["name"], i["data_type"], i["dims"]) for i in config["input"]] == [("X", "TYPE_FP32", [3, 2])]


@pytest.mark.parametrize("datatype", list(model_factory.DATATYPES))
def test_model_config_uses_triton_type_names(client, datatype):
    config = client.get_model_config(model_factory.identity_model_name(datatype))
    expected_type = model_factory.DATATYPES[datatype][2]
    assert config["input"][0]["data_type"] == expected_type
    assert config["output"][0]["data_type"] == expected_type
    dims = [-1] if config["max_batch_size"] > 0 else [-1, -1]
    assert config["input"][0]["dims"] == dims and config["output"][0]["dims"] == dims


def test_config_endpoint_serves_int64_fields_as_json_numbers(server):
    body = requests.get(server.url + "/v2/models/simple/config").json()
    assert body["input"][0]["dims"] == [16]  # not ["16"], as plain protobuf JSON would write


@pytest.mark.parametrize("model", EXAMPLE_MODELS)
def test_every_example_model_is_ready(client, server, model):
    assert client.is_model_ready(model)
    assert client.is_model_ready(model, model_version="1")
    assert requests.get(f"{server.url}/v2/models/{model}/ready").status_code == 200


def test_unknown_model_is_not_ready_and_has_no_metadata(client, server):
    assert not client.is_model_ready("no_such_model")
    with pytest.raises(InferenceServerException) as error:
        client.get_model_metadata("no_such_model")
    assert error.value.status() == "404"
    assert "no_such_model" in error.value.message()
    with pytest.raises(InferenceServerException) as error:
        client.get_model_config("no_such_model")
    assert error.value.status() == "404"


@pytest.mark.parametrize("path", [
    "/v2/models/no_such_model",
    "/v2/models/no_such_model/ready",
    "/v2/models/no_such_model/config",
    "/v2/models/no_such_model/versions/1",
    "/v2/models/simple/versions/7",
    "/v2/models/simple/versions/7/ready",
    "/v2/models/simple/versions/7/config",
])
def test_unknown_model_or_version_answers_404_with_json_error(server, path):
    assert_json_error(requests.get(server.url + path), (404,))


def test_infer_on_unknown_model_or_version_answers_404(server):
    body = {"inputs": [{"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": [0] * 16}]}
    assert_json_error(requests.post(server.url + "/v2/models/no_such_model/infer", json=body), (404,))
    assert_json_error(requests.post(server.url + "/v2/models/simple/versions/9/infer", json=body), (404,))


@pytest.mark.parametrize("method,path", [
    ("POST", "/v2/health/live"),
    ("POST", "/v2/health/ready"),
    ("DELETE", "/v2"),
    ("POST", "/v2/models/simple"),
    ("PUT", "/v2/models/simple/ready"),
    ("GET", "/v2/models/simple/infer"),
    ("GET", "/v2/models/simple/versions/1/infer"),
])
def test_wrong_method_answers_405_with_json_error(server, method, path):
    assert_json_error(requests.request(method, server.url + path), (405,))


def test_log_has_a_line_per_loaded_model(server):
    log = server.log_text()
    missing = [m for m in EXPECTED_METADATA if not any(m in line for line in log.splitlines()[1:])]
    assert not missing, f"no log line names {missing}; log:\n{server.log_tail()}"


def test_tritonclient_sees_the_same_metadata_as_raw_http(client, server):
    raw = requests.get(server.url + "/v2/models/simple").json()
    assert raw == client.get_model_metadata("simple")
