"""One model-control rule for every API (issue 14): outside `--model-control-mode explicit`, what
changes which models are loaded is refused with the same answer whichever API asks — KServe's
repository load and unload over HTTP and gRPC, TorchServe's register, scale and unregister —
while reading and choosing a default version among the served ones stay allowed. (Explicit mode,
where all of them work, is covered by test_repository_api.py and test_images*.py.)"""
from __future__ import annotations

import grpc
import pytest
import requests
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from support import ports_of

REFUSAL = "--model-control-mode explicit"


@pytest.fixture(scope="module")
def endpoints(server):
    ports = ports_of(server)
    return {"kserve": server.url, "mgmt": f"http://127.0.0.1:{ports['torchserve-management']}",
            "grpc": f"127.0.0.1:{ports['grpc']}"}


def test_every_api_refuses_model_changes_outside_explicit_mode(endpoints):
    http_calls = [
        ("POST", f"{endpoints['kserve']}/v2/repository/models/simple/load", "kserve", b"{}"),
        ("POST", f"{endpoints['kserve']}/v2/repository/models/simple/unload", "kserve", b"{}"),
        ("POST", f"{endpoints['mgmt']}/models?url=dense_tiny", "torchserve", b""),
        ("PUT", f"{endpoints['mgmt']}/models/simple?min_worker=2", "torchserve", b""),
        ("DELETE", f"{endpoints['mgmt']}/models/simple", "torchserve", b""),
        ("DELETE", f"{endpoints['mgmt']}/models/simple/1", "torchserve", b""),
    ]
    for method, url, api, body in http_calls:
        response = requests.request(method, url, data=body, timeout=30)
        assert response.status_code == 400, (method, url, response.status_code, response.text)
        message = response.json()["error"] if api == "kserve" else response.json()["message"]
        assert REFUSAL in message, (method, url, message)
        if api == "torchserve":
            assert response.json()["type"] == "BadRequestException" and response.json()["code"] == 400

    client = grpcclient.InferenceServerClient(endpoints["grpc"])
    try:
        for call in (lambda: client.load_model("simple"), lambda: client.unload_model("simple")):
            with pytest.raises(InferenceServerException) as error:
                call()
            assert str(error.value.status()) == str(grpc.StatusCode.INVALID_ARGUMENT)
            assert REFUSAL in error.value.message()
        assert client.is_model_ready("simple"), "a refused unload must leave the model served"
    finally:
        client.close()


def test_choosing_the_default_version_is_allowed_in_every_mode(endpoints):
    response = requests.put(f"{endpoints['mgmt']}/models/simple/1/set-default", timeout=30)
    assert response.status_code == 200, response.text
    described = requests.get(f"{endpoints['mgmt']}/models/simple", timeout=30).json()
    assert described[0]["modelVersion"] == "1" and described[0]["isDefault"] is True
