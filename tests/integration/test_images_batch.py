"""Several images in one request (issue 7) on the KServe v2 and TF Serving APIs: a BYTES input of
shape [N] holding N encoded images (JPEG and PNG mixed) gives logits [N, 1000] whose rows classify
like the single-image requests, over HTTP (tritonclient.http, binary tensors: KServe JSON sends BYTES
as UTF-8 strings, which cannot hold a JPEG) and gRPC (tritonclient.grpc); TF Serving `instances`
and `inputs` with several b64 images. One bad image in such a batch fails the request (it is one
tensor) with a 400 / INVALID_ARGUMENT naming the element and the problem, and the server answers
on. Also TF Serving's signature_name, versions and errors."""
from __future__ import annotations

import base64

import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from support import ports_of
from test_images import EXPECTED, HOSTILE, IMAGES, MODEL, TOLERANCE, Endpoints

PAIR = ["cat.jpg", "espresso.png"]


@pytest.fixture(scope="module")
def ep(classifier_repo, start_server) -> Endpoints:
    srv = start_server(classifier_repo, "images-batch")
    yield Endpoints(srv)
    srv.stop_and_check()


@pytest.fixture(scope="module")
def http(ep):
    client = httpclient.InferenceServerClient(ep.server.address, network_timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def grpc(ep):
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{ports_of(ep.server)['grpc']}")
    yield client
    client.close()


def image(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


def http_logits(http, images: list[bytes], shape: list[int] | None = None, outputs=None):
    inp = httpclient.InferInput("input", shape or [len(images)], "BYTES")
    inp.set_data_from_numpy(np.array(images, dtype=np.object_).reshape(shape or [len(images)]), binary_data=True)
    return http.infer(MODEL, [inp], outputs=outputs or [httpclient.InferRequestedOutput("logits", binary_data=True)])


def grpc_logits(grpc, images: list[bytes]) -> np.ndarray:
    inp = grpcclient.InferInput("input", [len(images)], "BYTES")
    inp.set_data_from_numpy(np.array(images, dtype=np.object_))
    return grpc.infer(MODEL, [inp]).as_numpy("logits")


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits.astype(np.float64) - logits.max())
    return e / e.sum()


def check_row(labels, logits_row: np.ndarray, name: str) -> None:
    """Accepted top-1, and the reference top-5 probabilities within the issue's tolerance."""
    probs = softmax(logits_row)
    assert labels[int(probs.argmax())] in EXPECTED[name]["accept_top1"], name
    for label, p in EXPECTED[name]["reference_top5"].items():
        assert abs(probs[labels.index(label)] - p) <= TOLERANCE, f"{name}: {label} {probs[labels.index(label)]:.4f} vs {p}"


@pytest.fixture(scope="module")
def singles(http) -> dict[str, np.ndarray]:
    """Each sample image's logits from a request of its own."""
    return {name: http_logits(http, [image(name)]).as_numpy("logits")[0] for name in sorted(EXPECTED)}


# -- KServe v2 over HTTP and gRPC ----------------------------------------------------------------------

def test_http_batch_of_jpeg_and_png(http, labels, singles):
    for order in (PAIR, PAIR[::-1]):
        result = http_logits(http, [image(n) for n in order])
        logits = result.as_numpy("logits")
        assert logits is not None and logits.shape == (2, 1000) and logits.dtype == np.float32, logits
        assert result.get_response()["outputs"][0]["shape"] == [2, 1000]
        for row, name in zip(logits, order):
            check_row(labels, row, name)
            np.testing.assert_allclose(row, singles[name], rtol=0, atol=1e-3, err_msg=f"{name} in a batch vs alone")


def test_http_batch_shape_n_by_1_and_all_samples(http, labels, singles):
    names = sorted(EXPECTED)
    logits = http_logits(http, [image(n) for n in names], shape=[len(names), 1]).as_numpy("logits")
    assert logits.shape == (len(names), 1000)
    for row, name in zip(logits, names):
        check_row(labels, row, name)
        np.testing.assert_allclose(row, singles[name], rtol=0, atol=1e-3)


def test_http_batch_with_classification_output(http):
    """Triton's class_count on an image batch: per-row "value:index:label", best first."""
    result = http_logits(http, [image(n) for n in PAIR],
                         outputs=[httpclient.InferRequestedOutput("logits", binary_data=True, class_count=3)])
    classes = result.as_numpy("logits")
    assert classes.shape == (2, 3), classes
    for row, name in zip(classes, PAIR):
        entries = [c.decode().split(":", 2) for c in row]
        values = [float(value) for value, _, _ in entries]
        assert values == sorted(values, reverse=True), entries
        assert entries[0][2] in EXPECTED[name]["accept_top1"], entries


def test_grpc_batch_of_jpeg_and_png(grpc, labels, singles):
    for order in (PAIR, PAIR[::-1]):
        logits = grpc_logits(grpc, [image(n) for n in order])
        assert logits.shape == (2, 1000) and logits.dtype == np.float32, logits
        for row, name in zip(logits, order):
            check_row(labels, row, name)
            np.testing.assert_allclose(row, singles[name], rtol=0, atol=1e-3)


def test_batch_of_max_batch_size_and_one_more(http):
    eight = [image(PAIR[i % 2]) for i in range(8)]
    assert http_logits(http, eight).as_numpy("logits").shape == (8, 1000)
    with pytest.raises(InferenceServerException) as info:
        http_logits(http, eight + [image("cat.jpg")])
    assert info.value.status() == "400" and "max_batch_size" in info.value.message(), info.value.message()


@pytest.mark.parametrize("bad", HOSTILE)
def test_http_batch_with_one_bad_image_is_400(http, ep, bad, labels):
    """The bad image's own problem, and which element it is, in the message; the server answers on."""
    alone = requests.post(f"{ep.ts}/predictions/{MODEL}", data=image(f"hostile/{bad}"), timeout=30)
    assert alone.status_code == 400, alone.text[:300]
    problem = alone.json()["message"]
    for position, images in ((1, [image("cat.jpg"), image(f"hostile/{bad}")]),
                             (0, [image(f"hostile/{bad}"), image("espresso.png")])):
        with pytest.raises(InferenceServerException) as info:
            http_logits(http, images)
        message = info.value.message() or ""
        assert info.value.status() == "400", f"{bad}: {info.value.status()} {message}"
        assert f"element {position}" in message and problem in message, f"{bad}: {message!r} vs alone {problem!r}"
    assert ep.server.alive()
    check_row(labels, http_logits(http, [image("cat.jpg")]).as_numpy("logits")[0], "cat.jpg")


def test_grpc_batch_with_one_bad_image_is_invalid_argument(grpc, ep, labels):
    with pytest.raises(InferenceServerException) as info:
        grpc_logits(grpc, [image("missile.jpg"), image("hostile/truncated.png")])
    assert info.value.status() == "StatusCode.INVALID_ARGUMENT", info.value.status()
    assert "element 1" in info.value.message() and "PNG" in info.value.message(), info.value.message()
    assert ep.server.alive()
    logits = grpc_logits(grpc, [image("missile.jpg")])
    check_row(labels, logits[0], "missile.jpg")
    assert requests.get(f"{ep.kserve}/v2/health/ready", timeout=10).status_code == 200


# -- TF Serving REST --------------------------------------------------------------------------------

def b64(name: str) -> dict[str, str]:
    return {"b64": base64.b64encode(image(name)).decode()}


def test_tfserving_batches(ep, labels, singles):
    bodies = [
        ({"instances": [b64(n) for n in PAIR]}, "predictions"),
        ({"inputs": [b64(n) for n in PAIR]}, "outputs"),
        ({"inputs": {"input": [b64(n) for n in PAIR]}}, "outputs"),
        ({"signature_name": "", "instances": [{"input": b64(n)} for n in PAIR]}, "predictions"),
    ]
    for body, key in bodies:
        r = requests.post(f"{ep.tf}/v1/models/{MODEL}:predict", json=body, timeout=60)
        assert r.status_code == 200, f"{body.keys()}: {r.status_code} {r.text[:300]}"
        logits = np.array(r.json()[key], dtype=np.float32)
        assert logits.shape == (2, 1000), logits.shape
        for row, name in zip(logits, PAIR):
            check_row(labels, row, name)
            np.testing.assert_allclose(row, singles[name], rtol=0, atol=1e-3)
    r = requests.post(f"{ep.tf}/v1/models/{MODEL}/versions/1:predict", json={"instances": [b64("missile.jpg")]}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    check_row(labels, np.array(r.json()["predictions"][0]), "missile.jpg")


def test_tfserving_batch_with_one_bad_image(ep):
    body = {"instances": [b64("cat.jpg"), b64("hostile/truncated.jpg")]}
    r = requests.post(f"{ep.tf}/v1/models/{MODEL}:predict", json=body, timeout=30)
    assert r.status_code == 400, r.text[:300]
    error = r.json().get("error")
    assert isinstance(error, str) and "element 1" in error and "JPEG" in error, error
    r = requests.post(f"{ep.tf}/v1/models/{MODEL}:predict", json={"instances": [{"b64": "not base64!"}]}, timeout=30)
    assert r.status_code == 400 and r.json().get("error"), r.text[:300]
    assert ep.server.alive()


def test_tfserving_signature_name(ep):
    one = {"instances": [b64("espresso.png")]}
    for name in ("serving_default", ""):
        r = requests.post(f"{ep.tf}/v1/models/{MODEL}:predict", json={"signature_name": name, **one}, timeout=30)
        assert r.status_code == 200, f"{name!r}: {r.text[:300]}"
    for name in ("predict_images", 7):
        r = requests.post(f"{ep.tf}/v1/models/{MODEL}:predict", json={"signature_name": name, **one}, timeout=30)
        assert r.status_code == 400, f"{name!r}: {r.status_code} {r.text[:300]}"
        assert "signature" in r.json()["error"], r.text
    r = requests.get(f"{ep.tf}/v1/models/{MODEL}/metadata", timeout=10)
    assert list(r.json()["metadata"]["signature_def"]["signature_def"]) == ["serving_default"], r.text[:300]


def test_tfserving_versions_and_errors(ep):
    r = requests.get(f"{ep.tf}/v1/models/{MODEL}/versions/1", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}, r.text
    r = requests.get(f"{ep.tf}/v1/models/{MODEL}/versions/1/metadata", timeout=10)
    assert r.status_code == 200, r.text[:300]
    meta = r.json()
    assert meta["model_spec"] == {"name": MODEL, "signature_name": "", "version": "1"}, meta["model_spec"]
    signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    shape = [d["size"] for d in signature["inputs"]["input"]["tensor_shape"]["dim"]]
    assert signature["inputs"]["input"]["dtype"] == "DT_FLOAT" and shape == ["-1", "3", "224", "224"], signature
    assert [d["size"] for d in signature["outputs"]["logits"]["tensor_shape"]["dim"]] == ["-1", "1000"], signature

    for method, url, status in [
        ("GET", f"{ep.tf}/v1/models/no_such_model", 404),
        ("GET", f"{ep.tf}/v1/models/{MODEL}/versions/9", 404),
        ("GET", f"{ep.tf}/v1/models/{MODEL}/versions/9/metadata", 404),
        ("POST", f"{ep.tf}/v1/models/no_such_model:predict", 404),
        ("POST", f"{ep.tf}/v1/models/{MODEL}/versions/9:predict", 404),
        ("POST", f"{ep.tf}/v1/models/{MODEL}:classify", 400),
        ("POST", f"{ep.tf}/v1/models/{MODEL}:nonsense", 400),
    ]:
        r = requests.request(method, url, json={"instances": [b64("cat.jpg")]}, timeout=30)
        assert r.status_code == status, f"{method} {url}: {r.status_code} {r.text[:300]}"
        assert isinstance(r.json().get("error"), str) and r.json()["error"], r.text[:300]
    for body in ({}, {"instances": []}, {"instances": [b64("cat.jpg")], "inputs": [b64("cat.jpg")]}):
        r = requests.post(f"{ep.tf}/v1/models/{MODEL}:predict", json=body, timeout=30)
        assert r.status_code == 400 and r.json().get("error"), f"{body}: {r.status_code} {r.text[:300]}"
    r = requests.post(f"{ep.tf}/v1/models/{MODEL}:predict", data=b"{not json", timeout=30)
    assert r.status_code == 400 and r.json().get("error"), r.text[:300]
