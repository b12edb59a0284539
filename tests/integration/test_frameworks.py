"""TensorFlow SavedModels and TorchScript models served beside ONNX (issue 16), through every API:
a ResNet-50 of each framework (Keras' ResNet50 exported as a SavedModel, torchvision's traced to
TorchScript, random weights from a fixed seed) and an ONNX model in one repository.

- KServe v2 over HTTP (binary and JSON tensors) and gRPC with tritonclient, TF Serving's
  `:predict`: outputs within 1e-4 (relative to the output's largest magnitude) of what the same
  model gives run in-process by its own framework on the same input (the model scripts' reference
  files, made by TensorFlow and by torch in their processes);
- TorchServe's `/predictions` with a JPEG: the server's image pipeline, then the model; compared
  with the reference pipeline (scripts/image_reference.py) followed by the framework in-process;
- perf_analyzer unchanged against both; statistics and metrics count their requests;
- `swerve check` validates SavedModels and TorchScript models;
- a server that finds neither framework's library fails only those models, each with the install
  step in its reason, and serves the ONNX model.

Models are made once into .build-native/test-models (git-ignored; the scripts skip what is up to
date): about 15 s for TorchScript and 40 s for the SavedModel the first time.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from support import (model_statistics, perf_analyzer_requests, perf_analyzer_throughputs, ports_of,
                     run_perf_analyzer, run_swerve, swerve_binary, onnxruntime_library)
import model_factory

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CACHE = PROJECT_ROOT / ".build-native" / "test-models"
FRAMEWORK_PYTHON = PROJECT_ROOT / ".venv-frameworks" / "bin" / "python"
DEBIAN_PYTHON = "/usr/bin/python3"
REFERENCE = Path(__file__).with_name("framework_reference.py")
IMAGE = PROJECT_ROOT / "tests" / "fixtures" / "images" / "cat.jpg"
TOLERANCE = 1e-4

# The image pipeline both ResNet-50s are served with (and the reference applies).
IMAGE_PARAMETERS = {"image_resize": "256", "image_crop": "224", "image_mean": "127", "image_std": "128",
                    "image_scale": "255", "image_channel_order": "RGB",
                    "postprocess_softmax": "true", "postprocess_top_k": "5"}


@dataclass
class Served:
    """One framework model as the repository serves it, with its reference input and output."""
    name: str
    framework: str            # "torch" or "tensorflow"
    platform: str
    input: str
    output: str
    layout: str               # NCHW (torchvision) or NHWC (Keras)
    x: np.ndarray
    expected: np.ndarray
    model_path: Path          # model.pt, or the model.savedmodel folder


def parameters_text(parameters: dict[str, str]) -> str:
    return "\n".join(f'parameters {{ key: "{k}" value {{ string_value: "{v}" }} }}' for k, v in parameters.items())


def make_torch(repo: Path) -> Served:
    subprocess.run([DEBIAN_PYTHON, str(PROJECT_ROOT / "scripts" / "make_torch_models.py"), str(CACHE / "torch"), "resnet50"],
                   check=True, timeout=600)
    source = CACHE / "torch" / "resnet50"
    folder = repo / "resnet50_torchscript"
    shutil.copytree(source / "1", folder / "1")
    config = (source / "config.pbtxt").read_text()
    config += "dynamic_batching { max_queue_delay_microseconds: 2000 }\n"
    config += "instance_group [ { count: 2 kind: KIND_CPU } ]\n"
    config += parameters_text({"image_input": "INPUT__0", "image_layout": "NCHW", **IMAGE_PARAMETERS}) + "\n"
    (folder / "config.pbtxt").write_text(config)
    (folder / "labels.txt").write_text("".join(f"class_{i}\n" for i in range(1000)))
    return Served("resnet50_torchscript", "torch", "pytorch_libtorch", "INPUT__0", "OUTPUT__0", "NCHW",
                  np.load(source / "input__0.npy"), np.load(source / "expected__0.npy"), folder / "1" / "model.pt")


def make_tensorflow(repo: Path) -> Served:
    subprocess.run([str(FRAMEWORK_PYTHON), str(PROJECT_ROOT / "scripts" / "make_tf_models.py"), str(CACHE / "tf"),
                    "--models", "resnet50,two_signatures"], check=True, timeout=900)
    source = CACHE / "tf" / "resnet50"
    manifest = json.loads((source / "reference" / "manifest.json").read_text())
    (inp,), (out,) = manifest["inputs"], manifest["outputs"]
    folder = repo / "resnet50_savedmodel"
    shutil.copytree(source / "1", folder / "1")
    config = 'platform: "tensorflow_savedmodel"\nmax_batch_size: 8\n'
    config += "dynamic_batching { max_queue_delay_microseconds: 2000 }\n"
    config += parameters_text({"image_input": inp["name"], "image_layout": "NHWC", **IMAGE_PARAMETERS}) + "\n"
    (folder / "config.pbtxt").write_text(config)
    (folder / "labels.txt").write_text("".join(f"class_{i}\n" for i in range(1000)))
    return Served("resnet50_savedmodel", "tensorflow", "tensorflow_savedmodel", inp["name"], out["name"], "NHWC",
                  np.load(source / "reference" / inp["npy"]), np.load(source / "reference" / out["npy"]),
                  folder / "1" / "model.savedmodel")


@pytest.fixture(scope="module")
def framework_repo(tmp_path_factory) -> tuple[Path, dict[str, Served]]:
    repo = tmp_path_factory.mktemp("frameworks") / "models"
    repo.mkdir()
    served = {s.framework: s for s in (make_torch(repo), make_tensorflow(repo))}
    # A SavedModel served with its second signature, picked in config.pbtxt.
    shutil.copytree(CACHE / "tf" / "two_signatures" / "1", repo / "plus_one_tf" / "1")
    (repo / "plus_one_tf" / "config.pbtxt").write_text(parameters_text({"signature_def": "plus_one"}) + "\n")
    for model in served.values():
        # The same model file without the image pipeline, for TF Serving's tensor instances.
        plain = repo / f"{model.name}_tensors"
        plain.mkdir()
        (plain / "1").symlink_to(repo / model.name / "1")
        config = (repo / model.name / "config.pbtxt").read_text()
        (plain / "config.pbtxt").write_text("\n".join(line for line in config.splitlines() if not line.startswith("parameters")) + "\n")
    model_factory.save(repo, "dense_onnx", model_factory.load_example_script().dense_tiny())
    return repo, served


@pytest.fixture(scope="module")
def fw_server(framework_repo, start_server):
    srv = start_server(framework_repo[0], "frameworks")
    yield srv
    srv.stop_and_check()


@pytest.fixture(params=["torch", "tensorflow"])
def model(request, framework_repo) -> Served:
    return framework_repo[1][request.param]


def assert_close(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, expected {expected.shape}"
    scale = max(1.0, float(np.abs(expected).max()))
    worst = float(np.abs(got.astype(np.float64) - expected).max())
    assert worst <= TOLERANCE * scale, f"{what}: largest difference {worst} over {TOLERANCE} × {scale}"


def in_process(model: Served, x: np.ndarray, tmp_path: Path) -> np.ndarray:
    """`model` run on `x` by its own framework in a process of its own."""
    x_path, y_path = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x_path, x)
    if model.framework == "torch":
        command = [DEBIAN_PYTHON, str(REFERENCE), "torch", str(model.model_path), str(x_path), str(y_path)]
    else:
        command = [str(FRAMEWORK_PYTHON), str(REFERENCE), "tensorflow", str(model.model_path), "serving_default",
                   model.input, str(x_path), model.output, str(y_path)]
    subprocess.run(command, check=True, timeout=300, capture_output=True)
    return np.load(y_path)


# -- KServe v2, TF Serving --------------------------------------------------------------------

def test_metadata_names_the_framework_and_the_signature(fw_server, model):
    meta = requests.get(f"{fw_server.url}/v2/models/{model.name}", timeout=10).json()
    assert meta["platform"] == model.platform, meta
    assert [i["name"] for i in meta["inputs"]] == [model.input], meta
    assert meta["inputs"][0]["shape"] == [-1, *model.x.shape[1:]], meta
    assert [o["name"] for o in meta["outputs"]] == [model.output], meta
    config = requests.get(f"{fw_server.url}/v2/models/{model.name}/config", timeout=10).json()
    assert config["max_batch_size"] == 8 and config["platform"] == model.platform, config
    instances = sum(group["count"] for group in config["instance_group"])
    assert instances == (2 if model.framework == "torch" else 1), config["instance_group"]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_kserve_http_matches_the_framework_in_process(fw_server, model, binary):
    client = httpclient.InferenceServerClient(fw_server.address, network_timeout=120)
    try:
        tensor = httpclient.InferInput(model.input, list(model.x.shape), "FP32")
        tensor.set_data_from_numpy(model.x, binary_data=binary)
        result = client.infer(model.name, [tensor], outputs=[httpclient.InferRequestedOutput(model.output, binary_data=binary)])
    finally:
        client.close()
    assert_close(result.as_numpy(model.output), model.expected, f"{model.name} over HTTP")


def test_kserve_grpc_matches_the_framework_in_process(fw_server, model):
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{ports_of(fw_server)['grpc']}")
    try:
        tensor = grpcclient.InferInput(model.input, list(model.x.shape), "FP32")
        tensor.set_data_from_numpy(model.x)
        result = client.infer(model.name, [tensor], client_timeout=120)
    finally:
        client.close()
    assert_close(result.as_numpy(model.output), model.expected, f"{model.name} over gRPC")


def test_tfserving_predict_matches_the_framework_in_process(fw_server, model):
    # TF Serving's JSON takes an image model's image input as {"b64": ...} only: the copy of the
    # model without the image pipeline takes the tensor.
    url = f"http://127.0.0.1:{ports_of(fw_server)['tfserving']}/v1/models/{model.name}_tensors:predict"
    r = requests.post(url, json={"instances": model.x.tolist()}, timeout=120)
    assert r.status_code == 200, r.text[:300]
    assert_close(np.asarray(r.json()["predictions"], dtype=np.float32), model.expected, f"{model.name} :predict")


def test_batched_requests_answer_each_its_own(fw_server, model, tmp_path):
    """Three requests at once, merged by the dynamic batcher, each answered with its own row."""
    rng = np.random.default_rng(16)
    rows = [rng.standard_normal(model.x.shape).astype(np.float32) for _ in range(3)]
    expected = in_process(model, np.concatenate(rows), tmp_path)
    client = httpclient.InferenceServerClient(fw_server.address, concurrency=3, network_timeout=120)
    try:
        pending = []
        for row in rows:
            tensor = httpclient.InferInput(model.input, list(row.shape), "FP32")
            tensor.set_data_from_numpy(row)
            pending.append(client.async_infer(model.name, [tensor]))
        for index, request in enumerate(pending):
            assert_close(request.get_result().as_numpy(model.output), expected[index:index + 1], f"row {index}")
    finally:
        client.close()


def test_signature_def_picks_the_savedmodel_signature_tfserving_names(fw_server):
    tf_url = f"http://127.0.0.1:{ports_of(fw_server)['tfserving']}/v1/models/plus_one_tf"
    meta = requests.get(f"{tf_url}/metadata", timeout=10).json()
    assert list(meta["metadata"]["signature_def"]["signature_def"]) == ["plus_one"], meta
    for body in ({"signature_name": "plus_one", "instances": [1, -5, 41]}, {"instances": [1, -5, 41]}):
        r = requests.post(f"{tf_url}:predict", json=body, timeout=30)
        assert r.status_code == 200 and r.json() == {"predictions": [2, -4, 42]}, r.text
    r = requests.post(f"{tf_url}:predict", json={"signature_name": "serving_default", "instances": [1]}, timeout=30)
    assert r.status_code == 400 and "plus_one" in r.json()["error"], r.text
    v2 = requests.post(f"{fw_server.url}/v2/models/plus_one_tf/infer", json={"inputs": [
        {"name": "a", "datatype": "INT64", "shape": [3], "data": [1, -5, 41]}]}, timeout=30)
    assert v2.status_code == 200, v2.text
    (out,) = v2.json()["outputs"]
    assert out["name"] == "a_plus_one" and out["data"] == [2, -4, 42], out


# -- TorchServe with a JPEG ---------------------------------------------------------------------

def reference_image(layout: str) -> np.ndarray:
    """cat.jpg through the reference pipeline with IMAGE_PARAMETERS, batched, in `layout`."""
    p = IMAGE_PARAMETERS
    raw = subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "python"), str(PROJECT_ROOT / "scripts" / "image_reference.py"),
                          "preprocess", str(IMAGE), p["image_resize"], p["image_crop"], p["image_mean"], p["image_std"],
                          p["image_scale"]], check=True, capture_output=True, timeout=60).stdout
    chw = np.frombuffer(raw, dtype="<f4").reshape(3, 224, 224)
    return (chw if layout == "NCHW" else chw.transpose(1, 2, 0))[None].copy()


def test_torchserve_jpeg_matches_reference_pipeline_and_framework(fw_server, model, tmp_path):
    logits = in_process(model, reference_image(model.layout), tmp_path)[0].astype(np.float64)
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    expected = {f"class_{i}": probabilities[i] for i in np.argsort(-probabilities)[:5]}
    r = requests.put(f"http://127.0.0.1:{ports_of(fw_server)['torchserve']}/predictions/{model.name}",
                     data=IMAGE.read_bytes(), timeout=120)
    assert r.status_code == 200, r.text[:300]
    top = r.json()
    assert max(top, key=top.get) == max(expected, key=expected.get), (top, expected)
    for label, p in expected.items():
        # Resizing differs from Pillow's by rounding, as for the ONNX classifier (test_images.py).
        assert abs(top.get(label, 0.0) - p) <= 0.03, (label, top, expected)


# -- tools --------------------------------------------------------------------------------------

def test_perf_analyzer_drives_both_frameworks(fw_server, model):
    before = model_statistics(fw_server, model.name)["inference_stats"]
    output = run_perf_analyzer("-m", model.name, "-i", "http", "-u", fw_server.address, "--concurrency-range", "1:2",
                               "--measurement-interval", "500", "--max-trials", "3", "--stability-percentage", "1000",
                               timeout=300)
    assert sorted(perf_analyzer_throughputs(output)) == [1, 2], output[-3000:]
    after = model_statistics(fw_server, model.name)["inference_stats"]
    assert after["success"]["count"] - before["success"]["count"] >= perf_analyzer_requests(output) > 0
    assert after["fail"]["count"] == before["fail"]["count"]


def test_metrics_count_framework_requests(fw_server, model):
    text = requests.get(f"http://127.0.0.1:{ports_of(fw_server)['metrics']}/metrics", timeout=10).text
    lines = [line for line in text.splitlines()
             if line.startswith("nv_inference_request_success{") and f'model="{model.name}"' in line]
    assert lines and float(lines[0].rsplit(" ", 1)[1]) > 0, lines


def test_check_validates_savedmodel_and_torchscript(framework_repo):
    result = run_swerve("check", "--model-repository", str(framework_repo[0]), "--onnxruntime-lib", str(onnxruntime_library()),
                        timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("resnet50_torchscript", "resnet50_savedmodel", "plus_one_tf", "dense_onnx"):
        assert name in result.stdout, result.stdout


# -- a framework missing --------------------------------------------------------------------------

def test_missing_frameworks_fail_only_their_models_with_the_install_step(framework_repo, start_server, tmp_path):
    """The binary copied away from the project (so neither .venv-frameworks nor .build-native is
    found beside it or the working directory): the ONNX model serves, each framework model fails
    with the set-up step in its reason."""
    binary = tmp_path / "bin" / "swerve"
    binary.parent.mkdir()
    shutil.copy2(swerve_binary(), binary)
    srv = start_server(framework_repo[0], "frameworks-missing", binary=binary, cwd=tmp_path,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    try:
        index = requests.post(f"{srv.url}/v2/repository/index", json={}, timeout=10).json()
        states = {entry["name"]: entry for entry in index}
        assert states["dense_onnx"]["state"] == "READY", states
        for name, step in (("resnet50_torchscript", "setup.sh"), ("resnet50_savedmodel", "setup.sh"), ("plus_one_tf", "setup.sh")):
            assert states[name]["state"] == "UNAVAILABLE", states[name]
            assert step in states[name]["reason"], states[name]["reason"]
        r = requests.post(f"{srv.url}/v2/models/dense_onnx/infer", json={"inputs": [
            {"name": "x", "datatype": "FP32", "shape": [1, 16], "data": [0.5] * 16}]}, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        srv.stop_and_check()
