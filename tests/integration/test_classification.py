"""Triton's classification extension: `InferRequestedOutput(name, class_count=k)` replaces the output
with its top k entries as BYTES "value:index:label", highest first, the value written as C++
std::to_string writes it (6 decimals for floats, plain integers for integer outputs), labels from
labels.txt beside the model or from the output's label_filename in config.pbtxt. Checked against
the top k computed here from Python onnxruntime's output, batched and not, JSON and binary."""
from __future__ import annotations

import numpy as np
import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

import model_factory
from support import assert_json_error, infer_json

LABELS = model_factory.CLASS_LABELS


@pytest.fixture(scope="module")
def classification_server(repos, start_server):
    srv = start_server(repos["classification"], "classification", ("--intra-op-threads", "1"))
    yield srv
    srv.stop_and_check()


@pytest.fixture(scope="module")
def classification_client(classification_server):
    c = httpclient.InferenceServerClient(classification_server.address, network_timeout=30)
    yield c
    c.close()


def scores_input(rows: int | None, seed: int) -> np.ndarray:
    """Inputs whose classes never tie: a permutation of 0..9 / 10 plus a little noise per row."""
    rng = np.random.default_rng(seed)
    count = rows or 1
    x = np.stack([rng.permutation(10) / 10 + rng.uniform(0, 0.04) for _ in range(count)]).astype(np.float32)
    return x if rows is not None else x[0]


def format_value(value) -> str:
    """C++ std::to_string: "%f" for floating point, the plain number for integers."""
    return f"{float(value):f}" if np.asarray(value).dtype.kind == "f" else str(int(value))


def expected_top_k(values: np.ndarray, k: int, labels: list[str] | None) -> list:
    """Per row (or for the one vector), the top k "value:index[:label]" strings, highest first."""
    def one(row: np.ndarray) -> list[str]:
        order = sorted(range(len(row)), key=lambda i: (-float(row[i]), i))[:k]
        return [f"{format_value(row[i])}:{i}" + (f":{labels[i]}" if labels and i < len(labels) else "")
                for i in order]
    return one(values) if values.ndim == 1 else [one(row) for row in values]


def strings(array: np.ndarray) -> list:
    decode = np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else v, otypes=[object])
    return decode(array).tolist()


def classify(client, model: str, x: np.ndarray, k: int, binary: bool, output: str = "scores",
             binary_input: bool = False):
    tensor = httpclient.InferInput("x", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=binary_input)
    return client.infer(model, [tensor], outputs=[
        httpclient.InferRequestedOutput(output, binary_data=binary, class_count=k)])


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("rows", [1, 5])
@pytest.mark.parametrize("k", [1, 3, 10])
def test_batched_top_k_with_labels(classification_client, classification_server, reference, repos, binary, rows, k):
    x = scores_input(rows, seed=rows * 10 + k)
    scores = reference.run(repos["classification"] / "classifier" / "1" / "model.onnx", {"x": x})["scores"]
    result = classify(classification_client, "classifier", x, k, binary, binary_input=binary)
    output = result.get_output("scores")
    assert output["datatype"] == "BYTES"
    assert output["shape"] == [rows, k]
    assert ("data" in output) != binary
    assert strings(result.as_numpy("scores")) == expected_top_k(scores, k, LABELS)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_integer_output_values_are_written_without_decimals(classification_client, reference, repos, binary):
    x = scores_input(3, seed=33)
    counts = reference.run(repos["classification"] / "classifier" / "1" / "model.onnx", {"x": x})["counts"]
    result = classify(classification_client, "classifier", x, 4, binary, output="counts")
    assert result.get_output("counts")["shape"] == [3, 4]
    assert strings(result.as_numpy("counts")) == expected_top_k(counts, 4, LABELS)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_non_batched_model_gives_shape_k_and_unlabelled_classes_have_no_label(
        classification_client, reference, repos, binary):
    # labels.txt of classifier_static has 8 lines for 10 classes: classes 8 and 9 are "value:index".
    x = scores_input(None, seed=5)
    scores = reference.run(repos["classification"] / "classifier_static" / "1" / "model.onnx", {"x": x})["scores"]
    result = classify(classification_client, "classifier_static", x, 10, binary)
    assert result.get_output("scores")["shape"] == [10]
    got = strings(result.as_numpy("scores"))
    assert got == expected_top_k(scores, 10, LABELS[:8])
    assert sum(entry.count(":") == 1 for entry in got) == 2


def test_label_filename_from_config_pbtxt(classification_client, reference, repos):
    x = scores_input(2, seed=8)
    path = repos["classification"] / "classifier_config_labels" / "1" / "model.onnx"
    outputs = reference.run(path, {"x": x})
    tensor = httpclient.InferInput("x", [2, 10], "FP32")
    tensor.set_data_from_numpy(x, binary_data=True)
    result = classification_client.infer("classifier_config_labels", [tensor], outputs=[
        httpclient.InferRequestedOutput("scores", binary_data=True, class_count=3),
        httpclient.InferRequestedOutput("counts", binary_data=False, class_count=2)])
    assert strings(result.as_numpy("scores")) == expected_top_k(outputs["scores"], 3, [l.upper() for l in LABELS])
    # counts has no label_filename and the model folder has no labels.txt: "value:index".
    assert strings(result.as_numpy("counts")) == expected_top_k(outputs["counts"], 2, None)


def test_model_without_labels_gives_value_and_index(classification_client, reference, repos):
    x = scores_input(2, seed=9)
    scores = reference.run(repos["classification"] / "classifier_unlabelled" / "1" / "model.onnx", {"x": x})["scores"]
    result = classify(classification_client, "classifier_unlabelled", x, 3, binary=True)
    assert strings(result.as_numpy("scores")) == expected_top_k(scores, 3, None)


def test_class_count_above_the_number_of_classes_gives_every_class(classification_client, reference, repos):
    x = scores_input(2, seed=10)
    scores = reference.run(repos["classification"] / "classifier" / "1" / "model.onnx", {"x": x})["scores"]
    result = classify(classification_client, "classifier", x, 50, binary=False)
    assert result.get_output("scores")["shape"] == [2, 10]
    assert strings(result.as_numpy("scores")) == expected_top_k(scores, 10, LABELS)


def test_other_outputs_are_left_as_they_are(classification_client, reference, repos):
    x = scores_input(2, seed=11)
    outputs = reference.run(repos["classification"] / "classifier" / "1" / "model.onnx", {"x": x})
    tensor = httpclient.InferInput("x", [2, 10], "FP32")
    tensor.set_data_from_numpy(x)
    result = classification_client.infer("classifier", [tensor], outputs=[
        httpclient.InferRequestedOutput("scores", class_count=2),
        httpclient.InferRequestedOutput("counts", binary_data=True)])
    assert strings(result.as_numpy("scores")) == expected_top_k(outputs["scores"], 2, LABELS)
    assert np.array_equal(result.as_numpy("counts"), outputs["counts"])
    assert result.get_output("counts")["datatype"] == "INT32"


def test_dynamic_batching_keeps_each_request_its_own_classes(classification_server, reference, repos):
    # Concurrent requests may run as one batch; each must get the classes of its own rows.
    from concurrent.futures import ThreadPoolExecutor
    path = repos["classification"] / "classifier" / "1" / "model.onnx"

    def one(seed: int) -> bool:
        client = httpclient.InferenceServerClient(classification_server.address, network_timeout=30)
        try:
            x = scores_input(1 + seed % 3, seed=100 + seed)
            result = classify(client, "classifier", x, 2, binary=seed % 2 == 0)
            return strings(result.as_numpy("scores")) == expected_top_k(
                reference.run(path, {"x": x})["scores"], 2, LABELS)
        finally:
            client.close()

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(one, range(48)))


def test_classification_in_a_raw_json_request(classification_server, reference, repos):
    x = scores_input(1, seed=12)
    body = {"inputs": [{"name": "x", "shape": [1, 10], "datatype": "FP32", "data": x.reshape(-1).tolist()}],
            "outputs": [{"name": "scores", "parameters": {"classification": 2}}]}
    response = infer_json(classification_server, "classifier", body)
    assert response.status_code == 200, response.text
    output = response.json()["outputs"][0]
    scores = reference.run(repos["classification"] / "classifier" / "1" / "model.onnx", {"x": x})["scores"]
    assert output["datatype"] == "BYTES" and output["shape"] == [1, 2]
    assert output["data"] == expected_top_k(scores, 2, LABELS)[0]


@pytest.mark.parametrize("value", [-1, "three", 1.5, True])
def test_invalid_classification_counts_are_400(classification_server, value):
    body = {"inputs": [{"name": "x", "shape": [1, 10], "datatype": "FP32", "data": [0.5] * 10}],
            "outputs": [{"name": "scores", "parameters": {"classification": value}}]}
    assert_json_error(infer_json(classification_server, "classifier", body), (400,))


def test_classifying_a_bytes_output_is_a_400(client):
    # On the main server: identity_bytes has a BYTES output, which has no values to rank.
    tensor = httpclient.InferInput("x", [1, 2], "BYTES")
    tensor.set_data_from_numpy(np.array([["a", "b"]], dtype=object))
    with pytest.raises(InferenceServerException) as error:
        client.infer("identity_bytes", [tensor], outputs=[httpclient.InferRequestedOutput("y", class_count=1)])
    assert error.value.status() == "400"
