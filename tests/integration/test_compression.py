"""HTTP compression of inference requests and responses, as Triton does it: request bodies with
`Content-Encoding: gzip|deflate` (deflate = zlib stream), responses compressed with the encoding
`Accept-Encoding` prefers (q-values honoured), through tritonclient.http's own compression options
and raw HTTP. An unknown encoding is refused, corrupt data is a 400, and a small body that inflates
past --max-request-size is a 413 (a gzip bomb), never an allocation of its inflated size."""
from __future__ import annotations

import gzip
import http.client
import json
import zlib

import numpy as np
import pytest
import tritonclient.http as httpclient

from binary_support import binary_body

LIMIT = 1 << 20


@pytest.fixture(scope="module")
def small_limit_server(repos, start_server):
    srv = start_server(repos["main"], "compression", ("--max-request-size", str(LIMIT)))
    yield srv
    srv.stop_and_check()


def dense_json(batch: int = 2) -> tuple[bytes, np.ndarray]:
    x = np.linspace(-1, 1, 16 * batch, dtype=np.float32).reshape(batch, 16)
    body = {"inputs": [{"name": "x", "shape": [batch, 16], "datatype": "FP32", "data": x.reshape(-1).tolist()}]}
    return json.dumps(body).encode(), x


def post(server, body: bytes, headers: dict, model: str = "dense_tiny") -> tuple[int, dict, bytes]:
    """POSTs with http.client, which neither adds Accept-Encoding nor decompresses the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("POST", f"/v2/models/{model}/infer", body=body,
                           headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def decode(headers: dict, body: bytes) -> bytes:
    encoding = headers.get("content-encoding")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)  # HTTP deflate is the zlib format
    assert encoding is None, encoding
    return body


def check_dense_answer(body: bytes, x: np.ndarray, reference, model_files) -> None:
    answer = json.loads(body)
    y = np.array(answer["outputs"][0]["data"], np.float32).reshape(answer["outputs"][0]["shape"])
    np.testing.assert_allclose(y, reference.run(model_files["dense_tiny"], {"x": x})["y"], rtol=1e-6)


@pytest.mark.parametrize("encoding,compress", [("gzip", gzip.compress), ("deflate", zlib.compress),
                                               ("GZIP", gzip.compress), ("identity", lambda b: b)])
def test_compressed_request_bodies(small_limit_server, reference, model_files, encoding, compress):
    body, x = dense_json()
    status, headers, answer = post(small_limit_server, compress(body), {"Content-Encoding": encoding})
    assert status == 200, answer[:300]
    assert "content-encoding" not in headers  # no Accept-Encoding: the answer is not compressed
    check_dense_answer(answer, x, reference, model_files)


@pytest.mark.parametrize("accept,chosen", [
    ("gzip", "gzip"), ("deflate", "deflate"), ("gzip, deflate", None), ("deflate;q=0.8, gzip;q=0.2", "deflate"),
    ("gzip;q=0.5, deflate;q=0.9", "deflate"), ("gzip;q=1.0, deflate;q=0.9", "gzip"), ("deflate;q=0, gzip", "gzip"),
    ("gzip;q=0", ""), ("identity", ""), ("br", ""), ("br;q=1, gzip;q=0.1", "gzip"), ("GZip", "gzip")])
def test_response_compression_follows_accept_encoding(small_limit_server, reference, model_files, accept, chosen):
    body, x = dense_json()
    status, headers, answer = post(small_limit_server, body, {"Accept-Encoding": accept})
    assert status == 200, answer[:300]
    encoding = headers.get("content-encoding", "")
    if chosen is None:
        assert encoding in ("gzip", "deflate"), headers
    else:
        assert encoding == chosen, f"Accept-Encoding {accept!r} gave Content-Encoding {encoding!r}"
    assert int(headers["content-length"]) == len(answer)
    check_dense_answer(decode(headers, answer), x, reference, model_files)


def test_compressed_binary_response_keeps_the_uncompressed_header_length(small_limit_server):
    x = np.arange(32, dtype=np.float32).reshape(2, 16)
    header = {"inputs": [{"name": "x", "shape": [2, 16], "datatype": "FP32", "parameters": {"binary_data_size": 128}}],
              "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}
    body, length = binary_body(header, [x.tobytes()])
    status, headers, answer = post(small_limit_server, gzip.compress(body),
                                   {"Content-Encoding": "gzip", "Accept-Encoding": "gzip",
                                    "Inference-Header-Content-Length": str(length)}, model="identity_fp32")
    assert status == 200, answer[:300]
    plain = decode(headers, answer)
    json_length = int(headers["inference-header-content-length"])
    assert json.loads(plain[:json_length])["outputs"][0]["parameters"]["binary_data_size"] == 128
    assert np.array_equal(np.frombuffer(plain[json_length:], np.float32).reshape(2, 16), x)


@pytest.mark.parametrize("request_algorithm", [None, "gzip", "deflate"])
@pytest.mark.parametrize("response_algorithm", [None, "gzip", "deflate"])
def test_tritonclient_compression_options(small_limit_server, reference, model_files, request_algorithm,
                                          response_algorithm):
    client = httpclient.InferenceServerClient(small_limit_server.address, network_timeout=30)
    try:
        x = np.random.default_rng(3).standard_normal((4, 16)).astype(np.float32)
        tensor = httpclient.InferInput("x", [4, 16], "FP32")
        tensor.set_data_from_numpy(x, binary_data=True)
        result = client.infer("dense_tiny", [tensor], outputs=[httpclient.InferRequestedOutput("y", binary_data=True)],
                              request_compression_algorithm=request_algorithm,
                              response_compression_algorithm=response_algorithm)
        np.testing.assert_allclose(result.as_numpy("y"), reference.run(model_files["dense_tiny"], {"x": x})["y"],
                                   rtol=1e-6)
    finally:
        client.close()


@pytest.mark.parametrize("encoding", ["br", "compress", "zstd", "gzip, br"])
def test_unsupported_content_encoding_is_refused(small_limit_server, encoding):
    body, _ = dense_json()
    status, headers, answer = post(small_limit_server, body, {"Content-Encoding": encoding})
    # RFC 9110 §15.5.16: 415 Unsupported Media Type, with Accept-Encoding naming what is accepted
    # (Triton answers 501; the client sent something the server cannot read, a 4xx).
    assert status == 415, (status, answer[:300])
    assert json.loads(answer)["error"]
    assert "gzip" in headers.get("accept-encoding", ""), f"no Accept-Encoding in the refusal: {headers}"


@pytest.mark.parametrize("encoding", ["gzip, gzip", "x-gzip", "deflate, gzip", "identity, gzip"])
def test_stacked_and_alias_content_codings_are_decoded(small_limit_server, reference, model_files, encoding):
    body, x = dense_json()
    data = body
    for name in [part.strip() for part in encoding.split(",")]:
        data = {"gzip": gzip.compress, "x-gzip": gzip.compress, "deflate": zlib.compress, "identity": bytes}[name](data)
    status, _, answer = post(small_limit_server, data, {"Content-Encoding": encoding})
    assert status == 200, (status, answer[:300])
    check_dense_answer(answer, x, reference, model_files)


def test_stacked_codings_inflating_past_the_limit_are_413(small_limit_server):
    inner = gzip.compress(b"[" * (LIMIT + 1))
    status, _, answer = post(small_limit_server, gzip.compress(inner), {"Content-Encoding": "gzip, gzip"})
    assert status == 413, (status, answer[:300])
    assert json.loads(answer)["error"]


@pytest.mark.parametrize("encoding,data", [("gzip", b"not gzip at all"), ("deflate", b"\x78\x9c garbage"),
                                           ("gzip", lambda: gzip.compress(b'{"inputs": []}')[:-6]),
                                           ("deflate", lambda: gzip.compress(b"{}"))])
def test_corrupt_compressed_bodies_are_400(small_limit_server, encoding, data):
    data = data() if callable(data) else data
    status, _, answer = post(small_limit_server, data, {"Content-Encoding": encoding})
    assert status == 400, (status, answer[:300])
    assert json.loads(answer)["error"]


@pytest.mark.parametrize("encoding,compress", [("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_a_body_inflating_past_the_limit_is_a_413(small_limit_server, encoding, compress):
    # 64 MiB of spaces compress to about 64 KiB: well under the limit on the wire, 64x over it inflated.
    bomb = compress(b" " * (64 << 20))
    assert len(bomb) < LIMIT // 4
    rss_before = small_limit_server.rss_kib()
    status, _, answer = post(small_limit_server, bomb, {"Content-Encoding": encoding})
    assert status == 413, (status, answer[:300])
    assert json.loads(answer)["error"]
    assert small_limit_server.rss_kib() < rss_before + 48 * 1024, "the server inflated the bomb in memory"
    assert small_limit_server.alive()


def test_a_body_inflating_to_just_under_the_limit_is_served(small_limit_server, reference, model_files):
    body, x = dense_json()
    padded = body + b" " * (LIMIT - len(body))
    status, _, answer = post(small_limit_server, gzip.compress(padded), {"Content-Encoding": "gzip"})
    assert status == 200, answer[:300]
    check_dense_answer(answer, x, reference, model_files)


def test_compression_with_an_error_answer(small_limit_server):
    status, headers, answer = post(small_limit_server, gzip.compress(b'{"inputs": 5}'),
                                   {"Content-Encoding": "gzip", "Accept-Encoding": "gzip"})
    assert status == 400
    assert json.loads(decode(headers, answer))["error"]
