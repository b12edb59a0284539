"""The classifier's post-processing settings (issue 7): `postprocess_softmax` and `postprocess_top_k`
in config.pbtxt shape the TorchServe answer exactly as the image pipeline reads them (`no` turns the
softmax off, values are trimmed), labels.txt may have CRLF line endings, and two classes with one
label (ImageNet's two "crane"s and two "maillot"s) stay two keys. Copies of the real classifier
under other names; answers are checked against the model's own logits from the KServe v2 API."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient

from test_images import EXPECTED, IMAGES, MODEL, Endpoints

RAW = "lite0_raw"    # softmax off (" no "), top 3, labels.txt with CRLF
ALL = "lite0_all"    # softmax on, all 1000 classes


def copy_classifier(source: Path, root: Path, name: str, parameters: dict[str, str], crlf: bool = False) -> None:
    target = root / name
    (target / "1").mkdir(parents=True)
    shutil.copy(source / "1" / "model.onnx", target / "1" / "model.onnx")
    labels = (source / "labels.txt").read_text().splitlines()
    (target / "labels.txt").write_bytes(("\r\n" if crlf else "\n").join(labels).encode() + (b"\r\n" if crlf else b"\n"))
    config = (source / "config.pbtxt").read_text().replace(f'name: "{MODEL}"', f'name: "{name}"')
    for key, value in parameters.items():
        old = next(line for line in config.splitlines() if f'key: "{key}"' in line)
        config = config.replace(old, f'parameters {{ key: "{key}" value: {{ string_value: "{value}" }} }}')
    (target / "config.pbtxt").write_text(config)


@pytest.fixture(scope="module")
def ep(classifier_repo, tmp_path_factory, start_server) -> Endpoints:
    root = tmp_path_factory.mktemp("classifier-settings")
    source = classifier_repo / MODEL
    copy_classifier(source, root, RAW, {"postprocess_softmax": " no ", "postprocess_top_k": "3"}, crlf=True)
    copy_classifier(source, root, ALL, {"postprocess_top_k": "1000"})
    srv = start_server(root, "images-settings")
    yield Endpoints(srv)
    srv.stop_and_check()


def kserve_logits(ep: Endpoints, model: str, data: bytes, class_count: int = 0):
    client = httpclient.InferenceServerClient(ep.server.address, network_timeout=30)
    try:
        inp = httpclient.InferInput("input", [1], "BYTES")
        inp.set_data_from_numpy(np.array([data], dtype=np.object_), binary_data=True)
        output = httpclient.InferRequestedOutput("logits", binary_data=True, class_count=class_count)
        return client.infer(model, [inp], outputs=[output]).as_numpy("logits")[0]
    finally:
        client.close()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_softmax_off_and_top_k_from_config(ep, labels, name):
    data = (IMAGES / name).read_bytes()
    r = requests.post(f"{ep.ts}/predictions/{RAW}", data=data, timeout=30)
    assert r.status_code == 200, r.text[:300]
    top = r.json()
    logits = kserve_logits(ep, RAW, data)
    best = np.argsort(-logits, kind="stable")[:3]
    # raw logits (not probabilities), the three highest, with their labels from the CRLF file
    assert list(top) == [labels[i] for i in best], (top, [labels[i] for i in best])
    for i in best:
        assert abs(top[labels[i]] - float(logits[i])) < 1e-3, (labels[i], top[labels[i]], logits[i])
    assert max(top.values()) > 1.0, f"softmax was applied: {top}"
    assert list(top)[0] in EXPECTED[name]["accept_top1"]


def test_crlf_labels_in_kserve_classification(ep, labels):
    classes = kserve_logits(ep, RAW, (IMAGES / "espresso.png").read_bytes(), class_count=5)
    entries = [c.decode().split(":", 2) for c in classes]
    assert [label for _, _, label in entries] == [labels[int(index)] for _, index, _ in entries], entries
    assert all("\r" not in label for _, _, label in entries), entries
    assert entries[0][2] == "espresso", entries


def test_all_classes_keep_duplicate_labels_apart(ep, labels):
    r = requests.post(f"{ep.ts}/predictions/{ALL}", data=(IMAGES / "cat.jpg").read_bytes(), timeout=30)
    assert r.status_code == 200, r.text[:300]
    top = r.json()
    assert len(top) == 1000, len(top)
    for label, indices in (("crane", (134, 517)), ("maillot", (638, 639))):
        assert [labels[i] for i in indices] == [label, label]
        assert label not in top and all(f"{label} ({i})" in top for i in indices), [k for k in top if label in k]
    values = list(top.values())
    assert values == sorted(values, reverse=True) and abs(sum(values) - 1) < 1e-3 and min(values) >= 0
    assert list(top)[0] in EXPECTED["cat.jpg"]["accept_top1"]
