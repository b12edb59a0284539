"""The KServe v2 gRPC frontend with the real tritonclient.grpc (sync, asyncio and streaming APIs):
every RPC of inference.GRPCInferenceService, grpc.health.v1, every datatype in raw and typed
contents compared with Python onnxruntime, Triton's status codes, and the message size limit.

The heavier checks (10,000-request stream, cancellation, HTTP and gRPC together, perf_analyzer)
are in test_grpc_load.py, which shares the `grpc_server` fixture defined here."""
from __future__ import annotations

import asyncio
import base64
import json
import shutil

import grpc
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.grpc.aio as grpcaio
from tritonclient.grpc import model_config_pb2, service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

import model_factory
from support import SwerveServer, assert_same, free_port, sample

DATATYPES = list(model_factory.DATATYPES)
RAW_ONLY = {"FP16"}  # no typed contents field (BF16 has none either; there is no BF16 model)
TYPED_FIELD = {
    "BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents",
    "INT64": "int64_contents", "UINT8": "uint_contents", "UINT16": "uint_contents", "UINT32": "uint_contents",
    "UINT64": "uint64_contents", "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}


class GRPCServer(SwerveServer):
    """A `swerve serve` with its gRPC endpoint on a free port of 127.0.0.1 (metrics off)."""

    def __init__(self, repository, log_path, extra_args=(), **kwargs):
        self.grpc_port = free_port()
        super().__init__(repository, log_path, ("--grpc-port", str(self.grpc_port), "--grpc-address", "127.0.0.1",
                                                "--metrics-port", "0", *extra_args), **kwargs)

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"


@pytest.fixture(scope="session")
def grpc_repo(repos, tmp_path_factory):
    """The main repository (examples, identity per datatype, multi-input models) plus `slow`."""
    repo = tmp_path_factory.mktemp("grpc") / "models"
    shutil.copytree(repos["main"], repo)
    model_factory.save(repo, "slow", model_factory.slow())
    return repo


@pytest.fixture(scope="session")
def grpc_server(grpc_repo, logs):
    server = GRPCServer(grpc_repo, logs / "grpc.log").start()
    yield server
    server.stop_and_check()


@pytest.fixture
def grpc_client(grpc_server):
    client = grpcclient.InferenceServerClient(grpc_server.grpc_address)
    yield client
    client.close()


@pytest.fixture(scope="session")
def explicit_server(grpc_repo, logs):
    """Explicit model control (only `identity_fp32` at start) and a 1 MiB message limit."""
    server = GRPCServer(grpc_repo, logs / "grpc-explicit.log",
                        ("--model-control-mode", "explicit", "--load-model", "identity_fp32",
                         "--grpc-max-message-size", str(1 << 20))).start()
    yield server
    server.stop_and_check()


def raw_input(name: str, array: np.ndarray, datatype: str) -> grpcclient.InferInput:
    tensor = grpcclient.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array)
    return tensor


def typed_request(model: str, name: str, array: np.ndarray, datatype: str) -> service_pb2.ModelInferRequest:
    """A ModelInferRequest with the input in its typed contents field (built from tritonclient's protos)."""
    request = service_pb2.ModelInferRequest(model_name=model, id="typed")
    tensor = request.inputs.add(name=name, datatype=datatype, shape=list(array.shape))
    field = getattr(tensor.contents, TYPED_FIELD[datatype])
    flat = array.reshape(-1)
    field.extend([v.encode() for v in flat] if datatype == "BYTES" else flat.tolist())
    return request


def grpc_stub(server: GRPCServer):
    channel = grpc.insecure_channel(server.grpc_address)
    return channel, service_pb2_grpc.GRPCInferenceServiceStub(channel)


def status_of(error: InferenceServerException) -> str:
    return str(error.status())


# ---------------------------------------------------------------------------------------------
# Every RPC


def test_health_and_metadata_rpcs(grpc_client):
    assert grpc_client.is_server_live()
    assert grpc_client.is_server_ready()
    assert grpc_client.is_model_ready("simple")
    assert grpc_client.is_model_ready("simple", "1")
    assert not grpc_client.is_model_ready("no_such_model")
    server = grpc_client.get_server_metadata(as_json=True)
    assert server["name"] == "swerve" and server["version"]
    model = grpc_client.get_model_metadata("simple", as_json=True)
    assert model["name"] == "simple" and model["versions"] == ["1"] and model["platform"] == "onnxruntime_onnx"
    assert [(t["name"], t["datatype"], t["shape"]) for t in model["inputs"]] == [
        ("INPUT0", "INT32", ["-1", "16"]), ("INPUT1", "INT32", ["-1", "16"])]
    assert [t["name"] for t in model["outputs"]] == ["OUTPUT0", "OUTPUT1"]


def test_model_config_rpc_returns_the_model_config_message(grpc_client):
    config = grpc_client.get_model_config("simple").config
    assert config.name == "simple"
    assert config.max_batch_size == 8
    assert [i.name for i in config.input] == ["INPUT0", "INPUT1"]
    assert config.input[0].data_type == model_config_pb2.TYPE_INT32
    as_json = grpc_client.get_model_config("dense_tiny", as_json=True)
    assert as_json["config"]["name"] == "dense_tiny"


def test_statistics_rpc_counts_inferences(grpc_client):
    a = np.ones((2, 16), np.int32)
    before = grpc_client.get_inference_statistics("simple").model_stats[0]
    grpc_client.infer("simple", [raw_input("INPUT0", a, "INT32"), raw_input("INPUT1", a, "INT32")])
    after = grpc_client.get_inference_statistics("simple", "1").model_stats[0]
    assert after.name == "simple" and after.version == "1"
    assert after.inference_stats.success.count == before.inference_stats.success.count + 1
    assert after.inference_count == before.inference_count + 2  # batch elements
    assert after.last_inference > 0
    every = grpc_client.get_inference_statistics().model_stats
    assert {"simple", "dense_tiny", "identity_fp32"} <= {s.name for s in every}
    with pytest.raises(InferenceServerException) as error:
        grpc_client.get_inference_statistics("no_such_model")
    assert status_of(error.value) == "StatusCode.NOT_FOUND"


def test_repository_index_rpc(grpc_client):
    index = grpc_client.get_model_repository_index(as_json=True)["models"]
    rows = {row["name"]: row for row in index}
    assert rows["simple"]["state"] == "READY" and rows["simple"]["version"] == "1"
    ready = grpc_client.get_model_repository_index().models
    assert all(m.state == "READY" for m in ready)


def test_load_and_unload_need_explicit_mode(grpc_client):
    with pytest.raises(InferenceServerException) as error:
        grpc_client.load_model("simple")
    assert status_of(error.value) == "StatusCode.INVALID_ARGUMENT"
    with pytest.raises(InferenceServerException):
        grpc_client.unload_model("simple")


def test_load_and_unload_in_explicit_mode(explicit_server, reference, model_files):
    client = grpcclient.InferenceServerClient(explicit_server.grpc_address)
    try:
        assert client.is_model_ready("identity_fp32")
        assert not client.is_model_ready("identity_int32")
        client.load_model("identity_int32")
        assert client.is_model_ready("identity_int32")
        x = np.arange(8, dtype=np.int32).reshape(2, 4)
        assert_same(client.infer("identity_int32", [raw_input("x", x, "INT32")]).as_numpy("y"), x, "after load")
        client.unload_model("identity_int32")
        assert not client.is_model_ready("identity_int32")
        states = {(m.name, m.state) for m in client.get_model_repository_index().models}
        assert ("identity_int32", "UNAVAILABLE") in states

        # A model given whole in the request: config as string_param, the file as bytes_param.
        onnx_bytes = model_files["identity_fp64"].read_bytes()
        client.load_model("uploaded", config=json.dumps({"backend": "onnxruntime"}),
                          files={"file:1/model.onnx": onnx_bytes})
        x = np.linspace(-1, 1, 6).reshape(2, 3)
        assert_same(client.infer("uploaded", [raw_input("x", x, "FP64")]).as_numpy("y"), x, "uploaded model")
        with pytest.raises(InferenceServerException) as error:
            client.load_model("broken_upload", files={"file:1/model.onnx": b"not onnx"})
        assert status_of(error.value) == "StatusCode.INVALID_ARGUMENT"
    finally:
        client.close()


def test_shared_memory_rpcs_answer_as_triton_without_the_feature(grpc_client):
    assert len(grpc_client.get_system_shared_memory_status().regions) == 0
    assert len(grpc_client.get_cuda_shared_memory_status().regions) == 0
    grpc_client.unregister_system_shared_memory()
    grpc_client.unregister_cuda_shared_memory()
    with pytest.raises(InferenceServerException) as error:
        grpc_client.register_system_shared_memory("region", "/key", 64)
    assert status_of(error.value) == "StatusCode.UNIMPLEMENTED"
    with pytest.raises(InferenceServerException) as error:
        grpc_client.register_cuda_shared_memory("region", base64.b64encode(b"handle"), 0, 64)
    assert status_of(error.value) == "StatusCode.UNIMPLEMENTED"


def test_trace_and_log_settings_are_readable(grpc_client):
    trace = grpc_client.get_trace_settings(as_json=True)["settings"]
    assert trace["trace_level"]["value"] == ["OFF"]
    assert trace["trace_rate"]["value"] == ["1000"]
    assert grpc_client.get_trace_settings(model_name="simple").settings["trace_level"].value == ["OFF"]
    log = grpc_client.get_log_settings().settings
    assert log["log_info"].bool_param and log["log_error"].bool_param
    assert log["log_verbose_level"].uint32_param == 0
    assert log["log_format"].string_param == "default"


def test_grpc_health_check_is_serving(grpc_server):
    channel = grpc.insecure_channel(grpc_server.grpc_address)
    check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=lambda b: b, response_deserializer=lambda b: b)
    assert check(b"", timeout=10) == b"\x08\x01"  # HealthCheckResponse{status: SERVING}
    service = "inference.GRPCInferenceService".encode()
    assert check(b"\x0a" + bytes([len(service)]) + service, timeout=10) == b"\x08\x01"
    with pytest.raises(grpc.RpcError) as error:
        check(b"\x0a\x03foo", timeout=10)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    channel.close()


# ---------------------------------------------------------------------------------------------
# Inference: every datatype, raw and typed contents, equal to onnxruntime


@pytest.mark.parametrize("datatype", DATATYPES)
def test_raw_contents_equal_onnxruntime(grpc_client, reference, model_files, datatype):
    model = model_factory.identity_model_name(datatype)
    for seed, shape in enumerate([(1, 4), (8, 3)]):
        x = sample(datatype, shape, seed)
        result = grpc_client.infer(model, [raw_input("x", x, datatype)], request_id=f"{datatype}-{seed}")
        expected = reference.run(model_files[model], {"x": x})["y"]
        assert_same(result.as_numpy("y"), expected, f"{datatype} {shape}")
        response = result.get_response()
        assert response.id == f"{datatype}-{seed}"
        assert response.model_version == "1"
        assert len(response.raw_output_contents) == 1 and not response.outputs[0].HasField("contents")


@pytest.mark.parametrize("datatype", DATATYPES)
def test_typed_contents_equal_onnxruntime(grpc_server, reference, model_files, datatype):
    model = model_factory.identity_model_name(datatype)
    x = sample(datatype, (3, 5), 7)
    channel, stub = grpc_stub(grpc_server)
    try:
        if datatype in RAW_ONLY:
            request = service_pb2.ModelInferRequest(model_name=model)
            request.inputs.add(name="x", datatype=datatype, shape=[3, 5]).contents.fp32_contents.extend([0.0] * 15)
            with pytest.raises(grpc.RpcError) as error:
                stub.ModelInfer(request, timeout=30)
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "raw_input_contents" in error.value.details()
            return
        response = stub.ModelInfer(typed_request(model, "x", x, datatype), timeout=30)
    finally:
        channel.close()
    result = grpcclient.InferResult(response)
    assert_same(result.as_numpy("y"), reference.run(model_files[model], {"x": x})["y"], f"{datatype} typed")
    assert response.id == "typed" and len(response.raw_output_contents) == 1


def test_bytes_that_are_not_utf8_round_trip(grpc_client, grpc_server):
    values = np.array([[b"\xff\xfe", b"\x01\x02", b"", b"\x80abc"]], dtype=np.object_)
    result = grpc_client.infer("identity_bytes", [raw_input("x", values, "BYTES")])
    assert result.as_numpy("y").tolist() == values.tolist()
    channel, stub = grpc_stub(grpc_server)
    try:
        request = service_pb2.ModelInferRequest(model_name="identity_bytes")
        request.inputs.add(name="x", datatype="BYTES", shape=[1, 4]).contents.bytes_contents.extend(values.reshape(-1))
        response = stub.ModelInfer(request, timeout=30)
    finally:
        channel.close()
    assert grpcclient.InferResult(response).as_numpy("y").tolist() == values.tolist()


def test_several_inputs_and_outputs_in_raw_contents(grpc_client, reference, model_files):
    a = sample("FP64", (4, 3), 1)
    b = sample("INT32", (4, 3), 2) // 4
    c = sample("BOOL", (4, 3), 3)
    inputs = [raw_input("A", a, "FP64"), raw_input("B", b, "INT32"), raw_input("C", c, "BOOL")]
    result = grpc_client.infer("mixed_io", inputs, outputs=[grpcclient.InferRequestedOutput("FLIPPED"),
                                                            grpcclient.InferRequestedOutput("TOTAL")])
    expected = reference.run(model_files["mixed_io"], {"A": a, "B": b, "C": c})
    assert [o.name for o in result.get_response().outputs] == ["FLIPPED", "TOTAL"]
    assert_same(result.as_numpy("FLIPPED"), expected["FLIPPED"], "FLIPPED")
    assert_same(result.as_numpy("TOTAL"), expected["TOTAL"], "TOTAL")


def test_parameters_and_classification_pass_through(grpc_client, reference, model_files):
    x = np.array([[0.5, -3.0, 9.0, 1.0]], np.float32)
    output = grpcclient.InferRequestedOutput("y", class_count=2)
    result = grpc_client.infer("identity_fp32", [raw_input("x", x, "FP32")], outputs=[output],
                               request_id="cls", parameters={"custom": "kept", "flag": True}, priority=1)
    classes = [v.decode() for v in result.as_numpy("y").reshape(-1)]
    assert [c.split(":")[1] for c in classes] == ["2", "3"]  # indices of the two largest values
    assert float(classes[0].split(":")[0]) == pytest.approx(9.0)
    assert result.get_response().id == "cls"


def test_malformed_requests_get_invalid_argument(grpc_client, grpc_server):
    x = np.zeros((1, 4), np.float32)
    cases = [
        ("identity_fp32", [raw_input("x", x.astype(np.int32), "INT32")], "datatype"),
        ("identity_fp32", [raw_input("nope", x, "FP32")], "nope"),
        ("simple", [raw_input("INPUT0", np.zeros((1, 16), np.int32), "INT32")], "INPUT1"),
        ("simple", [raw_input("INPUT0", np.zeros((9, 16), np.int32), "INT32"),
                    raw_input("INPUT1", np.zeros((9, 16), np.int32), "INT32")], "max_batch_size"),
    ]
    for model, inputs, words in cases:
        with pytest.raises(InferenceServerException) as error:
            grpc_client.infer(model, inputs)
        assert status_of(error.value) == "StatusCode.INVALID_ARGUMENT", error.value
        assert words in error.value.message(), error.value
    channel, stub = grpc_stub(grpc_server)
    try:
        bad = [
            service_pb2.ModelInferRequest(model_name="identity_fp32", raw_input_contents=[b"\0" * 16]),
            service_pb2.ModelInferRequest(model_name="identity_fp32", model_version="one"),
        ]
        bad[0].inputs.add(name="x", datatype="FP32", shape=[1, 5])  # 16 bytes for 5 elements
        for request in bad:
            with pytest.raises(grpc.RpcError) as error:
                stub.ModelInfer(request, timeout=30)
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert error.value.details()
    finally:
        channel.close()


def test_unknown_models_and_versions_get_not_found(grpc_client):
    x = np.zeros((1, 4), np.float32)
    for model, version in [("no_such_model", ""), ("identity_fp32", "7")]:
        with pytest.raises(InferenceServerException) as error:
            grpc_client.infer(model, [raw_input("x", x, "FP32")], model_version=version)
        assert status_of(error.value) == "StatusCode.NOT_FOUND"
    for call in (lambda: grpc_client.get_model_metadata("no_such_model"),
                 lambda: grpc_client.get_model_config("no_such_model")):
        with pytest.raises(InferenceServerException) as error:
            call()
        assert status_of(error.value) == "StatusCode.NOT_FOUND"


def test_messages_over_the_size_limit_get_resource_exhausted(explicit_server):
    client = grpcclient.InferenceServerClient(explicit_server.grpc_address)
    try:
        small = np.ones((1, 1000), np.float32)
        assert_same(client.infer("identity_fp32", [raw_input("x", small, "FP32")]).as_numpy("y"), small)
        big = np.ones((1, 300_000), np.float32)  # 1.2 MB > 1 MiB
        with pytest.raises(InferenceServerException) as error:
            client.infer("identity_fp32", [raw_input("x", big, "FP32")])
        assert status_of(error.value) == "StatusCode.RESOURCE_EXHAUSTED"
        assert client.is_server_live()  # the connection and the server are fine afterwards
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------
# asyncio and streaming APIs


def test_asyncio_client_runs_every_kind_of_call(grpc_server, reference, model_files):
    async def main():
        async with grpcaio.InferenceServerClient(grpc_server.grpc_address) as client:
            assert await client.is_server_live() and await client.is_server_ready()
            assert await client.is_model_ready("dense_tiny")
            assert (await client.get_model_metadata("dense_tiny")).name == "dense_tiny"
            xs = [sample("FP32", (2, 16), seed) for seed in range(16)]

            async def one(x):
                inp = grpcclient.InferInput("x", list(x.shape), "FP32")
                inp.set_data_from_numpy(x)
                return (await client.infer("dense_tiny", [inp])).as_numpy("y")

            answers = await asyncio.gather(*(one(x) for x in xs))
            for x, y in zip(xs, answers):
                assert_same(y, reference.run(model_files["dense_tiny"], {"x": x})["y"], "aio infer")

            async def requests():
                for index, x in enumerate(xs):
                    inp = grpcclient.InferInput("x", list(x.shape), "FP32")
                    inp.set_data_from_numpy(x)
                    yield {"model_name": "dense_tiny", "inputs": [inp], "request_id": str(index)}

            received = []
            async for result, error in client.stream_infer(requests()):
                assert error is None, error
                received.append(result)
            assert [r.get_response().id for r in received] == [str(i) for i in range(len(xs))]
            for x, result in zip(xs, received):
                assert_same(result.as_numpy("y"), reference.run(model_files["dense_tiny"], {"x": x})["y"], "aio stream")

    asyncio.run(main())


def test_stream_answers_in_order_and_reports_errors_in_stream(grpc_client):
    import queue
    answers: queue.Queue = queue.Queue()
    grpc_client.start_stream(callback=lambda result, error: answers.put((result, error)))
    try:
        for index in range(30):
            x = np.full((1, 4), index, np.float32)
            model = "no_such_model" if index % 10 == 5 else "identity_fp32"
            grpc_client.async_stream_infer(model, [raw_input("x", x, "FP32")], request_id=str(index))
        for index in range(30):
            result, error = answers.get(timeout=30)
            if index % 10 == 5:
                assert result is None and "no_such_model" in error.message()
            else:
                assert error is None, error
                assert result.get_response().id == str(index)
                assert_same(result.as_numpy("y"), np.full((1, 4), index, np.float32))
    finally:
        grpc_client.stop_stream()
