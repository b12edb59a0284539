"""Version policies from config.pbtxt: latest N (default 1), all, specific. Each model has versions
1, 2 and 3; version v answers x + 100·v, so every answer tells which version computed it."""
from __future__ import annotations

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from model_factory import VERSION_POLICIES
from support import assert_json_error, infer_json

X = np.array([[1.0, 2.0, 3.0, 4.0]], np.float32)


@pytest.fixture(scope="module")
def versions_server(repos, start_server):
    srv = start_server(repos["versions"], "versions", ("--intra-op-threads", "1"))
    yield srv
    srv.stop_and_check()


@pytest.fixture
def versions_client(versions_server):
    c = httpclient.InferenceServerClient(versions_server.address, network_timeout=30)
    yield c
    c.close()


def infer_version(client, model: str, version: str = "") -> tuple[str, np.ndarray]:
    tensor = httpclient.InferInput("x", [1, 4], "FP32")
    tensor.set_data_from_numpy(X, binary_data=False)
    result = client.infer(model, [tensor], model_version=version,
                          outputs=[httpclient.InferRequestedOutput("y", binary_data=False)])
    return result.get_response()["model_version"], result.as_numpy("y")


@pytest.mark.parametrize("model", sorted(VERSION_POLICIES))
def test_metadata_lists_the_versions_the_policy_serves(versions_client, model):
    _, served, _ = VERSION_POLICIES[model]
    metadata = versions_client.get_model_metadata(model)
    assert sorted(metadata["versions"], key=int) == served


@pytest.mark.parametrize("model", sorted(VERSION_POLICIES))
def test_served_versions_are_ready_and_answer_with_their_own_model(versions_client, model):
    _, served, _ = VERSION_POLICIES[model]
    for version in served:
        assert versions_client.is_model_ready(model, model_version=version)
        answered, y = infer_version(versions_client, model, version)
        assert answered == version
        assert np.array_equal(y, X + 100 * int(version))
        assert versions_client.get_model_metadata(model, model_version=version)["name"] == model


@pytest.mark.parametrize("model", sorted(VERSION_POLICIES))
def test_versions_outside_the_policy_answer_404(versions_client, versions_server, model):
    _, served, _ = VERSION_POLICIES[model]
    for version in sorted({"1", "2", "3", "4"} - set(served)):
        assert not versions_client.is_model_ready(model, model_version=version)
        for suffix in ("", "/ready", "/config"):
            url = f"{versions_server.url}/v2/models/{model}/versions/{version}{suffix}"
            assert_json_error(requests.get(url), (404,))
        body = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": X.reshape(-1).tolist()}]}
        assert_json_error(infer_json(versions_server, model, body, version=version), (404,))
        with pytest.raises(InferenceServerException) as error:
            infer_version(versions_client, model, version)
        assert error.value.status() == "404"


@pytest.mark.parametrize("model", sorted(VERSION_POLICIES))
def test_infer_without_a_version_uses_the_highest_served(versions_client, model):
    _, _, default = VERSION_POLICIES[model]
    answered, y = infer_version(versions_client, model)
    assert answered == default
    assert np.array_equal(y, X + 100 * int(default))


def test_config_shows_the_version_policy(versions_client):
    assert versions_client.get_model_config("policy_default")["version_policy"] == {"latest": {"num_versions": 1}}
    assert versions_client.get_model_config("policy_latest_2")["version_policy"] == {"latest": {"num_versions": 2}}
    assert versions_client.get_model_config("policy_all")["version_policy"] == {"all": {}}
    specific = versions_client.get_model_config("policy_specific")["version_policy"]
    assert [int(v) for v in specific["specific"]["versions"]] == [1, 3]


def test_partial_config_is_completed_from_the_model(versions_client):
    config = versions_client.get_model_config("policy_all")
    assert [(i["name"], i["data_type"]) for i in config["input"]] == [("x", "TYPE_FP32")]
    assert [(o["name"], o["data_type"]) for o in config["output"]] == [("y", "TYPE_FP32")]


@pytest.mark.parametrize("version", ["0", "01x", "-1", "abc", "99999999999999999999"])
def test_malformed_versions_are_client_errors(versions_server, version):
    response = requests.get(f"{versions_server.url}/v2/models/policy_all/versions/{version}")
    assert_json_error(response, (400,))
    assert "is not a positive integer" in response.json()["error"]
