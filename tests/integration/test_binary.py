"""Triton's binary tensor data extension over HTTP: tritonclient.http with binary_data=True inputs
and outputs for every datatype equals Python onnxruntime; JSON and binary tensors mixed in one
request and one response; binary_data_output; BYTES elements; raw binary requests
(Inference-Header-Content-Length: 0); and malformed binary bodies, which all get a 400 with a
JSON error while the server stays up."""
from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient

import model_factory
from binary_support import (binary_body, bytes_elements, parse_response, post_binary, tensor_bytes)
from support import assert_json_error, assert_same, infer_json, sample

DATATYPES = list(model_factory.DATATYPES)
SHAPES = [(1, 4), (8, 4), (3, 37)]


def binary_input(name: str, array: np.ndarray, datatype: str, binary: bool = True) -> httpclient.InferInput:
    tensor = httpclient.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array, binary_data=binary)
    return tensor


# -- tritonclient, every datatype ---------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("datatype", DATATYPES)
def test_binary_inputs_and_outputs_equal_onnxruntime(client, reference, model_files, datatype, shape):
    model = model_factory.identity_model_name(datatype)
    x = sample(datatype, shape, seed=zlib.crc32(f"binary{datatype}{shape}".encode()))
    expected = reference.run(model_files[model], {"x": x})["y"]
    result = client.infer(model, [binary_input("x", x, datatype)],
                          outputs=[httpclient.InferRequestedOutput("y", binary_data=True)])
    output = result.get_output("y")
    assert output["datatype"] == datatype and output["shape"] == list(shape)
    assert "data" not in output
    assert output["parameters"]["binary_data_size"] == len(tensor_bytes(expected, datatype))
    assert_same(result.as_numpy("y"), expected, f"{model} {shape}")


@pytest.mark.parametrize("datatype", DATATYPES)
@pytest.mark.parametrize("direction", ["binary_in_json_out", "json_in_binary_out"])
def test_binary_one_way_only(client, reference, model_files, datatype, direction):
    model = model_factory.identity_model_name(datatype)
    x = sample(datatype, (2, 5), seed=zlib.crc32(f"{direction}{datatype}".encode()))
    expected = reference.run(model_files[model], {"x": x})["y"]
    binary_in = direction == "binary_in_json_out"
    result = client.infer(model, [binary_input("x", x, datatype, binary=binary_in)],
                          outputs=[httpclient.InferRequestedOutput("y", binary_data=not binary_in)])
    assert ("data" in result.get_output("y")) == binary_in
    assert_same(result.as_numpy("y"), expected, f"{model} {direction}")


def test_bytes_that_are_not_utf8_round_trip_in_binary(client):
    values = np.array([[b"\xff\xfe", b"", "naïve".encode(), b"x" * 1000, b"\x80"]], dtype=object)
    result = client.infer("identity_bytes", [binary_input("x", values, "BYTES")],
                          outputs=[httpclient.InferRequestedOutput("y", binary_data=True)])
    assert result.as_numpy("y").tolist() == values.tolist()


def test_mixed_json_and_binary_inputs_and_outputs(client, reference, model_files):
    rng = np.random.default_rng(4)
    shape = (3, 7)
    feeds = {"A": rng.standard_normal(shape), "B": rng.integers(-1000, 1000, shape, dtype=np.int32),
             "C": rng.integers(0, 2, shape).astype(bool)}
    expected = reference.run(model_files["mixed_io"], feeds)
    # A binary, B JSON, C binary: the blobs are A's then C's, skipping the JSON input between them.
    inputs = [binary_input("A", feeds["A"], "FP64", True), binary_input("B", feeds["B"], "INT32", False),
              binary_input("C", feeds["C"], "BOOL", True)]
    outputs = [httpclient.InferRequestedOutput("TOTAL", binary_data=True),
               httpclient.InferRequestedOutput("PICKED", binary_data=False),
               httpclient.InferRequestedOutput("FLIPPED", binary_data=True)]
    result = client.infer("mixed_io", inputs, outputs=outputs)
    assert "data" not in result.get_output("TOTAL") and "data" not in result.get_output("FLIPPED")
    assert "data" in result.get_output("PICKED")
    for name in ("TOTAL", "PICKED", "FLIPPED"):
        assert_same(result.as_numpy(name), expected[name], name)


# -- raw HTTP: headers, binary_data_output, overrides ---------------------------------------------

def dense_header(batch: int = 1, **extra) -> dict:
    return {"inputs": [{"name": "x", "shape": [batch, 16], "datatype": "FP32",
                        "parameters": {"binary_data_size": 64 * batch}}], **extra}


def test_binary_response_has_octet_stream_and_header_length(server, reference, model_files):
    x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(2, 16)
    header = dense_header(2, outputs=[{"name": "y", "parameters": {"binary_data": True}}])
    body, length = binary_body(header, [x.tobytes()])
    response = post_binary(server, "dense_tiny", body, length)
    assert response.headers["Content-Type"] == "application/octet-stream"
    json_length = int(response.headers["Inference-Header-Content-Length"])
    assert int(response.headers["Content-Length"]) == json_length + 2 * 16 * 4
    head, arrays = parse_response(response)
    assert head["outputs"][0]["parameters"]["binary_data_size"] == 128
    assert_same(arrays["y"], reference.run(model_files["dense_tiny"], {"x": x})["y"], "y")


def test_binary_input_with_json_output_answers_plain_json(server):
    body, length = binary_body(dense_header(outputs=[{"name": "y"}]), [np.zeros((1, 16), np.float32).tobytes()])
    response = post_binary(server, "dense_tiny", body, length)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert "Inference-Header-Content-Length" not in response.headers
    assert len(response.json()["outputs"][0]["data"]) == 16


def test_binary_data_output_makes_every_output_binary(server, reference, model_files):
    a = np.arange(16, dtype=np.int32).reshape(1, 16)
    b = np.full((1, 16), 5, np.int32)
    header = {"parameters": {"binary_data_output": True},
              "inputs": [{"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "parameters": {"binary_data_size": 64}},
                         {"name": "INPUT1", "shape": [1, 16], "datatype": "INT32", "data": b.reshape(-1).tolist()}]}
    body, length = binary_body(header, [a.tobytes()])
    head, arrays = parse_response(post_binary(server, "simple", body, length))
    assert [o["name"] for o in head["outputs"]] == ["OUTPUT0", "OUTPUT1"]
    assert all("binary_data_size" in o["parameters"] for o in head["outputs"])
    assert_same(arrays["OUTPUT0"], a + b, "OUTPUT0")
    assert_same(arrays["OUTPUT1"], a - b, "OUTPUT1")


def test_per_output_binary_data_overrides_binary_data_output(server):
    a = np.arange(16, dtype=np.int32).reshape(1, 16)
    header = {"parameters": {"binary_data_output": True},
              "inputs": [{"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": a.reshape(-1).tolist()},
                         {"name": "INPUT1", "shape": [1, 16], "datatype": "INT32", "data": a.reshape(-1).tolist()}],
              "outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": False}}, {"name": "OUTPUT1"}]}
    body = json.dumps(header).encode()
    head, arrays = parse_response(post_binary(server, "simple", body, None))
    by_name = {o["name"]: o for o in head["outputs"]}
    assert "data" in by_name["OUTPUT0"] and "binary_data_size" in by_name["OUTPUT1"]["parameters"]
    assert_same(arrays["OUTPUT0"], a + a, "OUTPUT0")
    assert_same(arrays["OUTPUT1"], a - a, "OUTPUT1")


def test_json_body_with_zero_binary_bytes_and_a_header_length_is_served(server):
    # Inference-Header-Content-Length equal to the whole body: a JSON request with no binary part.
    body = json.dumps({"inputs": [{"name": "x", "shape": [1, 16], "datatype": "FP32", "data": [0.5] * 16}]}).encode()
    response = post_binary(server, "dense_tiny", body, len(body))
    assert response.status_code == 200, response.text


def test_binary_bytes_tensor_without_tritonclient(server):
    words = ["", "cat", "naïve café", "🙂", "x" * 300, "tab\t"]
    blob = bytes_elements(words)
    header = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "BYTES", "parameters": {"binary_data_size": len(blob)}}],
              "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}
    body, length = binary_body(header, [blob])
    head, arrays = parse_response(post_binary(server, "identity_bytes", body, length))
    assert head["outputs"][0]["parameters"]["binary_data_size"] == len(blob)
    assert [v.decode() for v in arrays["y"].reshape(-1)] == words


def test_zero_sized_binary_tensor_is_served(server):
    # One row of zero elements (a batch of 0 rows is refused: max_batch_size counts from 1).
    header = {"inputs": [{"name": "x", "shape": [1, 0], "datatype": "FP32", "parameters": {"binary_data_size": 0}}],
              "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}
    body, length = binary_body(header)
    head, arrays = parse_response(post_binary(server, "identity_fp32", body, length))
    assert head["outputs"][0]["shape"] == [1, 0]
    assert head["outputs"][0]["parameters"]["binary_data_size"] == 0
    assert arrays["y"].shape == (1, 0)


# -- raw binary requests (Inference-Header-Content-Length: 0) -------------------------------------

def test_raw_binary_request_fills_the_single_input_with_batch_1(server, reference, model_files):
    x = np.linspace(-2, 2, 16, dtype=np.float32).reshape(1, 16)
    response = post_binary(server, "dense_tiny", x.tobytes(), 0)
    head, arrays = parse_response(response)
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert head["outputs"][0]["shape"] == [1, 16]
    assert_same(arrays["y"], reference.run(model_files["dense_tiny"], {"x": x})["y"], "y")


def test_raw_binary_request_deduces_the_variable_dimension(server):
    x = np.arange(5, dtype=np.float32).reshape(1, 5)
    head, arrays = parse_response(post_binary(server, "identity_fp32", x.tobytes(), 0))
    assert head["outputs"][0]["shape"] == [1, 5]
    assert_same(arrays["y"], x, "y")


def test_raw_binary_request_on_a_static_model_without_batching(server, reference, model_files):
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    head, arrays = parse_response(post_binary(server, "mul_1", x.tobytes(), 0))
    assert_same(arrays["Y"], reference.run(model_files["mul_1"], {"X": x})["Y"], "Y")


def test_raw_binary_request_with_a_bytes_input_is_one_element(server):
    # Triton (core infer_request.cc) takes the whole body as the single element of a BYTES input
    # of shape [1] and prepends the 4-byte length itself: the client sends no length prefix.
    text = "naïve café 🙂".encode()
    response = post_binary(server, "identity_string", text, 0)
    head, arrays = parse_response(response)
    assert head["outputs"][0]["shape"] == [1, 1]
    assert arrays["ECHO"].reshape(-1).tolist() == [text]


# -- malformed binary requests ----------------------------------------------------------------------

FOUR_FLOATS = np.arange(4, dtype=np.float32).tobytes()


def fp32_header(size=16, shape=(1, 4), **extra) -> dict:
    return {"inputs": [{"name": "x", "shape": list(shape), "datatype": "FP32",
                        "parameters": {"binary_data_size": size}}], **extra}


def bytes_header(size, shape=(1, 2)) -> dict:
    return {"inputs": [{"name": "x", "shape": list(shape), "datatype": "BYTES", "parameters": {"binary_data_size": size}}]}


def malformed_cases():
    """(id, model, body, Inference-Header-Content-Length)."""
    body, length = binary_body(fp32_header(), [FOUR_FLOATS])
    yield "header_length_past_the_body", "identity_fp32", body, len(body) + 1
    yield "header_length_far_past_the_body", "identity_fp32", body, 1 << 40
    yield "header_length_negative", "identity_fp32", body, -1
    yield "header_length_minus_zero_point", "identity_fp32", body, "-0.5"
    yield "header_length_non_numeric", "identity_fp32", body, "abc"
    yield "header_length_number_with_junk", "identity_fp32", body, f"{length}abc"
    yield "header_length_hex", "identity_fp32", body, "0x10"
    yield "header_length_float", "identity_fp32", body, f"{length}.0"
    yield "header_length_empty", "identity_fp32", body, ""
    yield "header_length_overflows_int64", "identity_fp32", body, "99999999999999999999999999"
    yield "header_length_2_pow_64_plus", "identity_fp32", body, str(2**64 + length)
    yield "header_length_inside_the_json", "identity_fp32", body, length - 5
    yield "header_length_covers_part_of_the_blob", "identity_fp32", body, length + 3
    array_head = b'[{"name":"x"}]'
    yield "header_is_not_an_object", "identity_fp32", array_head + FOUR_FLOATS, len(array_head)
    for size in (-1, -16, 2**63 - 1, 2**63, 2**64 + 16, 1e30, 16.5, "16", None, True, [16], {"n": 16}):
        body, length = binary_body(fp32_header(size), [FOUR_FLOATS])
        yield f"binary_data_size_{size!r}", "identity_fp32", body, length
    for size, blob in ((12, FOUR_FLOATS[:12]), (20, FOUR_FLOATS + b"\0" * 4), (15, FOUR_FLOATS[:15]), (0, b"")):
        body, length = binary_body(fp32_header(size), [blob])
        yield f"binary_data_size_{size}_not_shape_times_4", "identity_fp32", body, length
    body, length = binary_body(fp32_header(16), [FOUR_FLOATS + b"xyz"])
    yield "leftover_bytes_after_the_last_input", "identity_fp32", body, length
    body, length = binary_body(fp32_header(32), [FOUR_FLOATS])
    yield "binary_data_size_past_the_body", "identity_fp32", body, length
    body = json.dumps(fp32_header(16)).encode()
    yield "binary_data_size_without_any_binary_part", "identity_fp32", body, None
    body, length = binary_body(fp32_header(16, shape=(-1, 4)), [FOUR_FLOATS])
    yield "negative_dimension", "identity_fp32", body, length
    body, length = binary_body(fp32_header(16, shape=(2**62, 4)), [FOUR_FLOATS])
    yield "shape_product_overflows", "identity_fp32", body, length
    body, length = binary_body(fp32_header(16, shape=(2**31, 2**31, 4)), [FOUR_FLOATS])
    yield "shape_product_overflows_with_three_dimensions", "identity_fp32", body, length
    two = {"inputs": [{"name": n, "shape": [1, 4], "datatype": "FP32", "parameters": {"binary_data_size": 16}}
                      for n in ("A", "B")]}
    body, length = binary_body(two, [FOUR_FLOATS, FOUR_FLOATS[:8]])
    yield "second_input_truncated", "add_mul", body, length
    body, length = binary_body(fp32_header(16) | {"inputs": [fp32_header()["inputs"][0] | {"datatype": "FP16"}]},
                               [FOUR_FLOATS])
    yield "fp16_size_not_shape_times_2", "identity_fp16", body, length
    body, length = binary_body({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP16",
                                            "parameters": {"binary_data_size": 5}}]}, [b"\0" * 5])
    yield "fp16_odd_size", "identity_fp16", body, length
    # BYTES: length prefixes that lie.
    good = bytes_elements(["abc", "de"])
    for name, blob in (("truncated_prefix", bytes_elements(["abc"]) + b"\x02\x00"),
                       ("prefix_past_the_end", struct.pack("<I", 100) + b"abc" + bytes_elements(["de"])),
                       ("prefix_0xffffffff", struct.pack("<I", 0xFFFFFFFF) + b"abc"),
                       ("one_element_for_two", bytes_elements(["abc"])),
                       ("three_elements_for_two", good + bytes_elements(["f"])),
                       ("trailing_byte", good + b"\x00"),
                       ("only_a_partial_prefix", b"\x01\x00"),
                       ("empty_for_two_elements", b"")):
        body, length = binary_body(bytes_header(len(blob)), [blob])
        yield f"bytes_{name}", "identity_bytes", body, length
    body, length = binary_body(bytes_header(len(good)), [good + b"zz"])
    yield "bytes_leftover_after_the_tensor", "identity_bytes", body, length
    # Raw binary bodies (header length 0) that cannot fill the input.
    yield "raw_body_for_a_two_input_model", "simple", np.zeros(16, np.int32).tobytes(), 0
    yield "raw_body_not_a_whole_row", "dense_tiny", b"\0" * 63, 0
    yield "raw_body_too_long_for_batch_1", "dense_tiny", b"\0" * 128, 0
    yield "raw_body_wrong_size_for_a_static_input", "mul_1", b"\0" * 20, 0
    yield "raw_body_empty", "dense_tiny", b"", 0
    yield "raw_body_not_a_whole_element", "identity_fp32", b"\0" * 7, 0


CASES = list(malformed_cases())


@pytest.mark.parametrize("model,body,header_length", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_binary_request_is_a_400(server, model, body, header_length):
    response = post_binary(server, model, body, header_length, timeout=10)
    assert_json_error(response, (400,))


def test_server_stays_up_after_malformed_binary_requests(server):
    with requests.Session() as session:
        for _, model, body, header_length in CASES * 3:
            assert post_binary(server, model, body, header_length, session=session, timeout=10).status_code == 400
    assert server.alive()
    body, length = binary_body(fp32_header(), [FOUR_FLOATS])
    head, arrays = parse_response(post_binary(server, "identity_fp32", body, length))
    assert_same(arrays["y"], np.arange(4, dtype=np.float32).reshape(1, 4), "y")


def test_empty_body_without_header_is_a_400(server):
    for data in (b"", None):
        response = requests.post(f"{server.url}/v2/models/dense_tiny/infer", data=data, timeout=10)
        assert_json_error(response, (400,))
    response = infer_json(server, "dense_tiny", b"")
    assert_json_error(response, (400,))
