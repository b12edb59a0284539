"""A TorchServe client that disconnects while the images of its multipart request wait in the queue
(issue 14): every image still queued is dropped, not only the last one. Each image of a multipart
`POST /predictions/<model>` is its own core request and all of them carry the request's one
cancellation signal. The model here is slow (a second or so a run on two cores), has one instance and
does not batch, so of four images one runs and three wait in the queue when the client goes; the test
waits for that state on the server's pending-request gauge, not for a fixed time."""
from __future__ import annotations

import socket
import time

import numpy as np
import pytest
import requests
from onnx import TensorProto, helper, numpy_helper
from prometheus_client.parser import text_string_to_metric_families

import model_factory
from support import ports_of
from test_images import IMAGES

MODEL = "slow_images"
IMAGE_NAMES = ["cat.jpg", "espresso.png", "missile.jpg", "cat.jpg"]

CONFIG = f"""name: "{MODEL}"
platform: "onnxruntime_onnx"
max_batch_size: 1
input [ {{ name: "input" data_type: TYPE_FP32 dims: [ 3, 16, 16 ] }} ]
output [ {{ name: "scores" data_type: TYPE_FP32 dims: [ 256 ] }} ]
instance_group [ {{ count: 1 kind: KIND_CPU }} ]
parameters {{ key: "image_input" value: {{ string_value: "input" }} }}
parameters {{ key: "image_resize" value: {{ string_value: "16" }} }}
parameters {{ key: "image_crop" value: {{ string_value: "16" }} }}
"""


def slow_image_model(size: int = 256, steps: int = 1500):
    """input FP32 [N,3,16,16] -> scores FP32 [N,size]: the image's mean fills a size×size matrix
    that `steps` chained MatMuls with a fixed orthogonal matrix turn over, then each row's maximum.
    Only costs time (a second or so a run on two cores), so later requests wait in the queue."""
    rng = np.random.default_rng(256)
    q, _ = np.linalg.qr(rng.standard_normal((size, size)))
    nodes = [helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1, 2, 3], keepdims=0),
             helper.make_node("Reshape", ["mean", "column"], ["mean3"]),
             helper.make_node("Mul", ["mean3", "ones"], ["m0"])]
    for i in range(steps):
        nodes.append(helper.make_node("MatMul", [f"m{i}", "q"], [f"m{i + 1}"]))
    nodes.append(helper.make_node("ReduceMax", [f"m{steps}"], ["scores"], axes=[2], keepdims=0))
    graph = helper.make_graph(
        nodes, MODEL,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", size])],
        initializer=[numpy_helper.from_array(q.astype(np.float32), "q"),
                     numpy_helper.from_array(np.ones((size, size), np.float32), "ones"),
                     numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "column")])
    return model_factory.finish(graph)


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory, start_server):
    repo = tmp_path_factory.mktemp("torchserve-disconnect") / "models"
    model_factory.save(repo, MODEL, slow_image_model(), config=CONFIG)
    srv = start_server(repo, "torchserve-disconnect")
    yield srv
    srv.stop_and_check()


def stats(server) -> dict:
    r = requests.get(f"{server.url}/v2/models/{MODEL}/stats", timeout=10)
    r.raise_for_status()
    s = r.json()["model_stats"][0]
    return {"executions": s["execution_count"], "inferences": s["inference_count"],
            "success": s["inference_stats"]["success"]["count"], "fail": s["inference_stats"]["fail"]["count"]}


def pending(server) -> float:
    """The model's requests waiting in its queue now (nv_inference_pending_request_count)."""
    r = requests.get(f"http://127.0.0.1:{ports_of(server)['metrics']}/metrics", timeout=10)
    r.raise_for_status()
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if sample.name == "nv_inference_pending_request_count" and sample.labels.get("model") == MODEL:
                return sample.value
    raise AssertionError(f"no nv_inference_pending_request_count for {MODEL} in /metrics")


def wait_for(what: str, condition, timeout: float = 30.0):
    """Polls `condition()` every 10 ms until it returns a true value, which it returns; fails
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting until {what}")


def multipart_request(port: int) -> bytes:
    """The bytes of a whole `POST /predictions/<model>` with four images, as requests encodes it."""
    files = [("data", (name, (IMAGES / name).read_bytes(), "application/octet-stream")) for name in IMAGE_NAMES]
    prepared = requests.Request("POST", f"http://127.0.0.1:{port}/predictions/{MODEL}", files=files).prepare()
    head = (f"POST /predictions/{MODEL} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: {prepared.headers['Content-Type']}\r\nContent-Length: {len(prepared.body)}\r\n\r\n")
    return head.encode() + prepared.body


def test_disconnect_drops_every_queued_image_of_a_multipart_request(slow_server):
    server = slow_server
    ts_port = ports_of(server)["torchserve"]
    # One image answers (and shows the model and its image pipeline work); nothing is in flight after.
    r = requests.post(f"http://127.0.0.1:{ts_port}/predictions/{MODEL}", data=(IMAGES / "cat.jpg").read_bytes(),
                      timeout=60)
    assert r.status_code == 200, r.text[:300]
    assert pending(server) == 0
    start = stats(server)

    sock = socket.create_connection(("127.0.0.1", ts_port), timeout=10)
    try:
        sock.sendall(multipart_request(ts_port))
        # One image runs and three wait behind it (one instance, no batching). The gauge counts the
        # queued requests, as Triton's does; one that counted the running request too would read 4.
        wait_for("three images wait in the queue", lambda: pending(server) >= 3)
        at_close = stats(server)
    finally:
        sock.close()
    assert at_close["executions"] == start["executions"], (
        f"an image finished before the client closed ({start} -> {at_close}): the model is too fast for this test")

    def answered():
        now = stats(server)
        return now if now["success"] + now["fail"] - start["success"] - start["fail"] == 4 else None

    end = wait_for("the core has answered all four images", answered)
    assert pending(server) == 0
    ran = end["executions"] - start["executions"]
    assert end["inferences"] - start["inferences"] == ran
    assert ran <= 1, (
        f"{ran} of the 4 images ran after their client had disconnected; only the one running at the close "
        "may finish: the others stayed queued")
    assert end["success"] - start["success"] == ran and end["fail"] - start["fail"] == 4 - ran, (start, end)

    # The server answers the next request.
    r = requests.post(f"http://127.0.0.1:{ts_port}/predictions/{MODEL}", data=(IMAGES / "cat.jpg").read_bytes(),
                      timeout=60)
    assert r.status_code == 200, r.text[:300]
    assert server.alive()
