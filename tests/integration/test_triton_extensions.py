"""The Triton HTTP extensions clients probe, through tritonclient.http: shared memory answered as
Triton answers without the feature (status [], unregister OK, register refused), logging and trace
settings readable and writable, and server metadata advertising exactly what is implemented."""
from __future__ import annotations

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from support import assert_json_error, infer_json

IMPLEMENTED = {"classification", "model_repository", "model_configuration", "binary_tensor_data", "statistics",
               "logging"}


def test_server_metadata_advertises_the_extensions_without_shared_memory(client):
    extensions = set(client.get_server_metadata()["extensions"])
    assert IMPLEMENTED <= extensions, IMPLEMENTED - extensions
    assert not extensions & {"system_shared_memory", "cuda_shared_memory"}


def test_shared_memory_status_and_unregister_succeed(client):
    assert client.get_system_shared_memory_status() == []
    assert client.get_system_shared_memory_status("region0") == []
    client.unregister_system_shared_memory()
    client.unregister_system_shared_memory("region0")
    assert client.get_cuda_shared_memory_status() == []
    client.unregister_cuda_shared_memory()
    client.unregister_cuda_shared_memory("region0")


def test_shared_memory_register_is_refused_as_not_implemented(client, server):
    """Register is unsupported (501 here, UNIMPLEMENTED over gRPC: the same answer, from the core)."""
    with pytest.raises(InferenceServerException) as error:
        client.register_system_shared_memory("region0", "/swerve-test-key", 64)
    assert error.value.status() == "501"
    response = requests.post(f"{server.url}/v2/cudasharedmemory/region/r/register", timeout=10,
                             json={"raw_handle": {"b64": "AAAA"}, "device_id": 0, "byte_size": 64})
    assert_json_error(response, (501,))
    assert "not supported" in response.json()["error"]


def test_an_input_in_shared_memory_is_refused(server):
    body = {"inputs": [{"name": "x", "shape": [1, 16], "datatype": "FP32",
                        "parameters": {"shared_memory_region": "r", "shared_memory_byte_size": 64}}]}
    assert_json_error(infer_json(server, "dense_tiny", body), (400,))


def test_log_settings_read_and_update(client):
    settings = client.get_log_settings()
    for key in ("log_file", "log_info", "log_warning", "log_error", "log_verbose_level", "log_format"):
        assert key in settings, settings
    updated = client.update_log_settings({"log_verbose_level": 1})
    assert updated["log_verbose_level"] == 1
    assert client.get_log_settings()["log_verbose_level"] == 1
    client.update_log_settings({"log_verbose_level": settings["log_verbose_level"]})


def test_log_settings_refuse_unknown_keys_and_wrong_types(server):
    for body in ({"no_such_setting": 1}, {"log_info": "yes"}, [1]):
        assert_json_error(requests.post(f"{server.url}/v2/logging", json=body, timeout=10), (400,))


def test_trace_settings_read_and_update(client):
    settings = client.get_trace_settings()
    for key in ("trace_level", "trace_rate", "trace_count", "log_frequency"):
        assert key in settings, settings
    assert client.get_trace_settings(model_name="simple")["trace_level"] == settings["trace_level"]
    updated = client.update_trace_settings(settings={"trace_rate": "1000"})
    assert updated["trace_rate"] == "1000"
    client.update_trace_settings(model_name="simple", settings={"trace_rate": None})


def test_inference_still_works_after_the_probes(client):
    tensor = httpclient.InferInput("x", [1, 16], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 16), np.float32))
    assert client.infer("dense_tiny", [tensor]).as_numpy("y").shape == (1, 16)
