#!/usr/bin/env python3
"""Writes the committed seed corpora under Fuzz/corpus/<target>/ (run from the repository root with
.venv/bin/python: the image seeds need Pillow, the gRPC ones tritonclient). Small, meaningful inputs: valid requests, configs and
images of each kind a parser handles, plus a few near-misses. Rerunning rewrites the same files."""
import base64
import gzip
import io
import json
import shutil
import struct
import zlib
from pathlib import Path

from PIL import Image
from tritonclient.grpc import service_pb2

ROOT = Path(__file__).resolve().parent / "corpus"


def target(name: str) -> Path:
    path = ROOT / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def write(folder: Path, name: str, data: bytes | str) -> None:
    (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)


def j(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# --- KServe v2 JSON requests -------------------------------------------------------------------
simple = {"inputs": [
    {"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": list(range(16))},
    {"name": "INPUT1", "shape": [1, 2], "datatype": "FP32", "data": [1.5, -2.25]}]}
kserve_json = {
    "simple": simple,
    "nested": {"id": "r1", "inputs": [
        {"name": "INPUT0", "shape": [2, 16], "datatype": "INT32", "data": [list(range(16)), list(range(16, 32))]},
        {"name": "INPUT1", "shape": [2, 1], "datatype": "FP32", "data": [[0.5], [1e-3]]}]},
    "bytes": {"inputs": [{"name": "TEXT", "shape": [2, 1], "datatype": "BYTES", "data": ["hello", "\u00e9\u0000"]},
                         {"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": [0] * 16}]},
    "parameters": {"id": "p", "parameters": {"binary_data_output": True, "priority": 3, "timeout": 1.5, "s": "x"},
                   "inputs": simple["inputs"],
                   "outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": False, "classification": 2}}]},
    "every_type": {"inputs": [{"name": t, "shape": [2], "datatype": t, "data": v} for t, v in [
        ("BOOL", [True, False]), ("UINT8", [0, 255]), ("INT8", [-128, 127]), ("UINT16", [0, 65535]),
        ("INT16", [-32768, 32767]), ("UINT32", [0, 4294967295]), ("INT64", [-9223372036854775808, 9223372036854775807]),
        ("UINT64", [0, 18446744073709551615]), ("FP16", [1.0, 65504]), ("BF16", [3.0, -0.5]), ("FP64", [1e308, -5e-324])]]},
    "scalar_shape": {"inputs": [{"name": "INPUT1", "shape": [], "datatype": "FP32", "data": 3.5}]},
    "wrong_count": {"inputs": [{"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": [1, 2, 3]}]},
    "huge_shape": {"inputs": [{"name": "INPUT0", "shape": [9223372036854775807, 2], "datatype": "INT32", "data": [1]}]},
    "negative_shape": {"inputs": [{"name": "INPUT0", "shape": [-1, 16], "datatype": "INT32", "data": []}]},
    "shared_memory": {"inputs": [{"name": "INPUT0", "shape": [1, 16], "datatype": "INT32",
                                  "parameters": {"shared_memory_region": "r", "shared_memory_byte_size": 64}}]},
}
folder = target("FuzzKServeJSON")
for name, value in kserve_json.items():
    write(folder, name + ".json", j(value))
write(folder, "deep.json", b'{"inputs":[{"name":"INPUT1","shape":[1,1,1,1,1,1],"datatype":"FP32","data":[[[[[[1]]]]]]}]}')

# --- KServe binary tensor extension: "<Inference-Header-Content-Length>\n<body>" ----------------
def binary(inputs: list[tuple[str, str, list[int], bytes]], extra: dict | None = None) -> bytes:
    header = {"inputs": [{"name": n, "datatype": t, "shape": s, "parameters": {"binary_data_size": len(b)}}
                         for n, t, s, b in inputs]}
    header.update(extra or {})
    text = j(header)
    return str(len(text)).encode() + b"\n" + text + b"".join(b for *_, b in inputs)


folder = target("FuzzKServeBinary")
write(folder, "int32_fp32.bin", binary([("INPUT0", "INT32", [1, 16], struct.pack("<16i", *range(16))),
                                        ("INPUT1", "FP32", [1, 2], struct.pack("<2f", 1.0, 2.0))]))
write(folder, "bytes.bin", binary([("TEXT", "BYTES", [2, 1], struct.pack("<I", 2) + b"hi" + struct.pack("<I", 0)),
                                   ("INPUT0", "INT32", [1, 16], bytes(64))], {"outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": True}}]}))
mixed = j({"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": list(range(16))},
                      {"name": "INPUT1", "datatype": "FP32", "shape": [1, 1], "parameters": {"binary_data_size": 4}}]})
write(folder, "mixed.bin", str(len(mixed)).encode() + b"\n" + mixed + struct.pack("<f", 0.5))
write(folder, "no_field.bin", b"-\n" + j(simple))
write(folder, "raw.bin", b"0\n" + bytes(64))
write(folder, "short.bin", b"5\n" + j(simple))
write(folder, "unclaimed.bin", str(len(j(simple))).encode() + b"\n" + j(simple) + b"\x00\x01")

# --- gRPC ModelInferRequest (serialized protobuf) ------------------------------------------------
def infer_request(**fields) -> service_pb2.ModelInferRequest:
    return service_pb2.ModelInferRequest(model_name="simple", **fields)


def tensor(name: str, datatype: str, shape: list[int], **contents) -> service_pb2.ModelInferRequest.InferInputTensor:
    return service_pb2.ModelInferRequest.InferInputTensor(
        name=name, datatype=datatype, shape=shape, contents=service_pb2.InferTensorContents(**contents) if contents else None)


folder = target("FuzzGRPCInfer")
typed = infer_request(model_version="1", id="r", inputs=[
    tensor("INPUT0", "INT32", [1, 16], int_contents=list(range(16))),
    tensor("INPUT1", "FP32", [1, 2], fp32_contents=[0.5, -1])])
typed.outputs.add(name="OUTPUT0").parameters["classification"].int64_param = 2
typed.parameters["priority"].uint64_param = 1
write(folder, "typed.pb", typed.SerializeToString())
raw = infer_request(inputs=[tensor("INPUT0", "INT32", [1, 16]), tensor("INPUT1", "FP32", [1, 1])],
                    raw_input_contents=[struct.pack("<16i", *range(16)), struct.pack("<f", 2.0)])
write(folder, "raw.pb", raw.SerializeToString())
write(folder, "bytes.pb", infer_request(inputs=[
    tensor("TEXT", "BYTES", [2, 1], bytes_contents=[b"a", b"\xff\x00"]),
    tensor("INPUT0", "INT32", [1, 16], int_contents=[0] * 16)]).SerializeToString())
write(folder, "every_type.pb", infer_request(inputs=[
    tensor("b", "BOOL", [2], bool_contents=[True, False]), tensor("u8", "UINT8", [1], uint_contents=[255]),
    tensor("i8", "INT8", [1], int_contents=[-128]), tensor("u64", "UINT64", [1], uint64_contents=[2**64 - 1]),
    tensor("i64", "INT64", [1], int64_contents=[-2**63]), tensor("f64", "FP64", [1], fp64_contents=[1e308]),
    tensor("f16", "FP16", [1]), tensor("bf16", "BF16", [1])],
    raw_input_contents=[]).SerializeToString())
write(folder, "huge_shape.pb", infer_request(inputs=[
    tensor("INPUT0", "INT32", [2**63 - 1, 2], int_contents=[1])]).SerializeToString())
shared = infer_request()
shared.inputs.add(name="INPUT0", datatype="INT32", shape=[1, 16]).parameters["shared_memory_region"].string_param = "r"
write(folder, "shared_memory.pb", shared.SerializeToString())

# --- TF Serving :predict ----------------------------------------------------------------------
folder = target("FuzzTFServingJSON")
write(folder, "row.json", b'{"instances": [[1.0, 2.0, 3.0, 4.0], [5, 6, 7, 8]]}')
write(folder, "columnar.json", b'{"signature_name": "serving_default", "inputs": [[1, 2, 3, 4]]}')
write(folder, "tokens.json", b'{"instances": [[NaN, Infinity, -Infinity, 1e3]], "s": "NaN in a string"}')
write(folder, "several_row.json", j({"instances": [
    {"f": [1.5, 2], "b": True, "i": [[-1, 2]], "u": 18446744073709551615, "h": 0.25, "s": "text", "image": {"b64": "/9j/"}},
    {"f": [0, -0.0], "b": False, "i": [[3, 4]], "u": 0, "h": -1, "s": {"b64": "aGk"}, "image": {"b64": "iVBORw0K"}}]}))
write(folder, "several_columnar.json", j({"inputs": {
    "f": [[1, 2]], "b": [True], "i": [[[1]]], "u": [1], "h": [2.5], "s": [{"b64": "aGVsbG8-_w=="}], "image": [{"b64": "AAAA"}]}}))
write(folder, "ragged.json", b'{"instances": [[1, 2], [3]]}')
write(folder, "b64_single.json", b'{"instances": [{"b64": "aGVsbG8="}]}')
write(folder, "bad_signature.json", b'{"signature_name": "other", "instances": [1]}')

# --- multipart/form-data: "<Content-Type>\n<body>" --------------------------------------------
folder = target("FuzzMultipart")
part = (b'--B\r\nContent-Disposition: form-data; name="data"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        b'\xff\xd8\xff\xe0 jpeg bytes\r\n--B--\r\n')
write(folder, "one_part.txt", b"multipart/form-data; boundary=B\n" + part)
write(folder, "two_parts.txt", b'multipart/form-data; boundary="x-y_z"\n'
      b'preamble\r\n--x-y_z\r\nContent-Disposition: form-data; name="file"\r\n\r\nfirst\r\n'
      b'--x-y_z\r\nContent-Disposition: form-data; name=body\r\nX-Other: 1\r\n\r\nsec\r\nond\r\n--x-y_z--\r\nepilogue')
write(folder, "empty_part.txt", b"multipart/form-data; charset=utf-8; boundary=----abc\n------abc\r\n\r\n\r\n------abc--\r\n")
write(folder, "unterminated.txt", b"multipart/form-data; boundary=B\n--B\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nabc")
write(folder, "header_byte.txt", b"multipart/form-data; boundary=B\n--B\r\nX\xff: v\r\n\r\nx\r\n--B--\r\n")

# --- gzip / deflate: first byte even = gzip, odd = deflate --------------------------------------
folder = target("FuzzDecompress")
payload = j(simple)
write(folder, "gzip.bin", b"\x00" + gzip.compress(payload, mtime=0))
write(folder, "deflate.bin", b"\x01" + zlib.compress(payload))
write(folder, "gzip_two_members.bin", b"\x00" + gzip.compress(b"a" * 100, mtime=0) + gzip.compress(b"b", mtime=0))
write(folder, "gzip_zeros.bin", b"\x00" + gzip.compress(bytes(200_000), mtime=0))
write(folder, "deflate_truncated.bin", b"\x01" + zlib.compress(payload)[:-6])
write(folder, "gzip_empty.bin", b"\x00" + gzip.compress(b"", mtime=0))

# --- config.pbtxt -------------------------------------------------------------------------------
folder = target("FuzzModelConfig")
write(folder, "full.pbtxt", """name: "fuzz"   # the model
platform: "onnxruntime_onnx"
max_batch_size: 8
input [
  { name: "x" data_type: TYPE_FP32 dims: [ 4 ] },
  { name: "image", data_type: TYPE_FP32, format: FORMAT_NCHW, dims: [ 3, 224, 224 ] }
]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] label_filename: "labels.txt" } ]
instance_group [ { count: 2, kind: KIND_CPU } ]
version_policy: { specific: { versions: [1, 3] } }
dynamic_batching { preferred_batch_size: [ 2, 4 ] max_queue_delay_microseconds: 100 default_queue_policy { max_queue_size: 4 timeout_action: REJECT default_timeout_microseconds: 5000 allow_timeout_override: true } }
parameters { key: "k" value: { string_value: "v" } }
""")
write(folder, "simple.pbtxt", 'name: "fuzz"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\n'
      'input [\n  { name: "x" data_type: TYPE_FP32 dims: [ 4 ] }\n]\noutput [\n  { name: "y" data_type: TYPE_FP32 dims: [ 4 ] }\n]\n')
write(folder, "unbatched.pbtxt", 'max_batch_size: 0\ninput [ { name: "x" data_type: TYPE_FP32 dims: [ -1, 4 ] } ]\nversion_policy { all {} }\n')
write(folder, "latest.pbtxt", 'version_policy: { latest: { num_versions: 2 } }\nbackend: "onnxruntime"\ndefault_model_filename: "model.onnx"\n')
write(folder, "image.pbtxt", """max_batch_size: 4
parameters { key: "image_input" value: { string_value: "image" } }
parameters { key: "image_resize" value: { string_value: "320x240" } }
parameters { key: "image_crop" value: { string_value: "224" } }
parameters { key: "image_mean" value: { string_value: "0.485,0.456,0.406" } }
parameters { key: "image_std" value: { string_value: "128" } }
parameters { key: "image_scale" value: { string_value: "255" } }
parameters { key: "image_channel_order" value: { string_value: "BGR" } }
parameters { key: "image_layout" value: { string_value: "NHWC" } }
parameters { key: "image_max_pixels" value: { string_value: "1000000" } }
parameters { key: "postprocess_softmax" value: { string_value: "false" } }
parameters { key: "postprocess_top_k" value: { string_value: "3" } }
""")
write(folder, "reshape.pbtxt", 'input [ { name: "x" data_type: TYPE_FP32 dims: [ 2, 2 ] reshape: { shape: [ 4 ] } optional: true } ]\n')
write(folder, "typo.pbtxt", 'name: "m"\nmax_batch_sise: 8\ninput [ { name: "x" } ]')
write(folder, "bad_enum.pbtxt", 'input [ { name: "x" data_type: TYPE_FLOAT32 dims: [ 4 ] } ]')
write(folder, "huge.pbtxt", 'max_batch_size: 2147483647\ninput [ { name: "x" data_type: TYPE_FP32 dims: [ 9223372036854775807 ] } ]\n'
      'instance_group [ { count: 2147483647 } ]\ndynamic_batching { max_queue_delay_microseconds: 18446744073709551615 }\n')

# --- short request text: URIs, header values ----------------------------------------------------
folder = target("FuzzParameterText")
for index, text in enumerate([
    "/models?url=mul_1&max_batch_delay=9223372036854775807&initial_workers=2&batch_size=8",
    "/v2/models/simple/versions/3/infer",
    "/models/m?min_worker=3&synchronous=true",
    "?image_input=x&image_resize=320x240&image_crop=224x160&image_mean=0.5,0.4,0.3&image_std=1,2,3&image_scale=255"
    "&image_channel_order=BGR&image_layout=NHWC&image_max_pixels=100&postprocess_softmax=false&postprocess_top_k=3",
    "?image_input=%20x%20&image_resize=none&image_crop=none&image_std=0&postprocess_top_k=1000001",
    "gzip;q=0.5, deflate;q=1.0, identity;q=0",
    'multipart/form-data; boundary="abc def"',
    "123", "-0", "0x10", "",
]):
    write(folder, f"text{index}.txt", text)

# --- images ---------------------------------------------------------------------------------------
def gradient(mode: str, size=(12, 8)) -> Image.Image:
    image = Image.new("RGB", size)
    image.putdata([(x * 20 % 256, y * 30 % 256, (x + y) * 10 % 256) for y in range(size[1]) for x in range(size[0])])
    return image.convert(mode)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def exif(orientation: int) -> bytes:
    data = Image.Exif()
    data[0x0112] = orientation
    return data.tobytes()


def interlaced_png(image: Image.Image) -> bytes:
    """An Adam7-interlaced 8-bit RGB PNG (Pillow writes none)."""
    width, height = image.size
    pixels = image.load()
    raw = b""
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        for y in range(y0, height, dy):
            row = b"".join(bytes(pixels[x, y]) for x in range(x0, width, dx))
            if row:
                raw += b"\x00" + row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


images = {
    "baseline.jpg": encode(gradient("RGB"), "JPEG", quality=80),
    "progressive.jpg": encode(gradient("RGB", (16, 16)), "JPEG", progressive=True),
    "gray.jpg": encode(gradient("L"), "JPEG"),
    "cmyk.jpg": encode(gradient("CMYK"), "JPEG"),
    "subsampled.jpg": encode(gradient("RGB", (17, 9)), "JPEG", subsampling=2),
    "exif6.jpg": encode(gradient("RGB"), "JPEG", exif=exif(6)),
    "exif3.jpg": encode(gradient("RGB", (9, 5)), "JPEG", exif=exif(3)),
    "rgb.png": encode(gradient("RGB"), "PNG"),
    "rgba.png": encode(gradient("RGBA"), "PNG"),
    "gray.png": encode(gradient("L"), "PNG"),
    "gray_alpha.png": encode(gradient("LA"), "PNG"),
    "palette.png": encode(gradient("P"), "PNG"),
    "palette_trns.png": encode(gradient("P"), "PNG", transparency=0),
    "bilevel.png": encode(gradient("1"), "PNG"),
    "gray16.png": encode(gradient("I;16"), "PNG"),
    "interlaced.png": interlaced_png(gradient("RGB", (9, 7))),
    "exif8.png": encode(gradient("RGB"), "PNG", exif=exif(8)),
}
decoder_folder = target("FuzzImageDecoder")
pipeline_folder = target("FuzzImagePipeline")
for index, (name, data) in enumerate(sorted(images.items())):
    write(decoder_folder, name, data)
    write(pipeline_folder, name, bytes([index % 7]) + data)
fixtures = Path(__file__).resolve().parent.parent / "tests/fixtures/images"
for name in ["decode/orient_1.jpg", "decode/orient_6.png", "hostile/text.jpg", "hostile/huge_dimensions.png"]:
    data = (fixtures / name).read_bytes()
    write(decoder_folder, name.replace("/", "_"), data)
    write(pipeline_folder, name.replace("/", "_"), b"\x01" + data)
