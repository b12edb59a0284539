"""A deterministic generator of malformed and hostile KServe v2 HTTP requests.

Each case carries the status the server must answer: 400 for a malformed or mismatched request,
404 for an unknown model or version or path, 405 for a wrong method, 413 for a body over the
server's --max-request-size. Every answer must also carry a JSON body {"error": "..."}."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from support import dense_body, simple_body

MAX_REQUEST_SIZE = 1 << 20  # what the hostile server is started with


@dataclass
class Case:
    category: str
    description: str
    method: str
    path: str
    body: bytes | None
    expected: tuple[int, ...]
    headers: dict = field(default_factory=dict)


def dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def infer_path(model: str, version: str | None = None) -> str:
    return f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"


def identity_body(datatype: str, data: list, shape: list | None = None) -> dict:
    return {"inputs": [{"name": "x", "shape": shape or [1, len(data)], "datatype": datatype, "data": data}]}


def mixed_body() -> dict:
    return {"inputs": [{"name": "A", "shape": [1, 2], "datatype": "FP64", "data": [1.5, 2.5]},
                       {"name": "B", "shape": [1, 2], "datatype": "INT32", "data": [3, 4]},
                       {"name": "C", "shape": [1, 2], "datatype": "BOOL", "data": [True, False]}]}


# Valid requests: (model, body). Used for the warm-up and as material for the hostile cases.
GOOD_REQUESTS = [
    ("simple", simple_body()), ("simple", simple_body(3)), ("dense_tiny", dense_body()), ("dense_tiny", dense_body(8)),
    ("identity_int64", identity_body("INT64", [1, -2, 3])), ("identity_bool", identity_body("BOOL", [True, False])),
    ("identity_bytes", identity_body("BYTES", ["a", "", "ü"])), ("mixed_io", mixed_body()),
    ("mul_1", {"inputs": [{"name": "X", "shape": [3, 2], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6]}]}),
]
# Bodies whose every one-character mutation still leaves a bad request (no free-text strings in them).
MUTABLE = [("simple", simple_body()), ("dense_tiny", dense_body()), ("mixed_io", mixed_body()),
           ("identity_int64", identity_body("INT64", [1, -2, 3]))]


DROP = object()  # marks a field to remove in with_input


def with_input(body: dict, index: int = 0, **changes) -> dict:
    """A copy of `body` with fields of inputs[index] replaced (a value of DROP removes the field)."""
    body = json.loads(json.dumps(body))
    tensor = body["inputs"][index]
    for key, value in changes.items():
        if value is DROP:
            tensor.pop(key, None)
        else:
            tensor[key] = value
    return body


def generate(count: int = 1000, seed: int = 2024) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []

    def add(category: str, description: str, body, model: str = "simple", expected=(400,), method="POST",
            path: str | None = None, headers: dict | None = None):
        data = body if (body is None or isinstance(body, bytes)) else (
            body.encode() if isinstance(body, str) else dumps(body))
        cases.append(Case(category, description, method, path or infer_path(model), data, tuple(expected),
                          headers or {}))

    # -- truncated JSON ---------------------------------------------------------------------
    for _ in range(100):
        model, body = rng.choice(GOOD_REQUESTS)
        raw = dumps(body)
        cut = rng.randrange(0, len(raw) - 1)
        add("truncated", f"{model} body cut at {cut} of {len(raw)}", raw[:cut], model)

    # -- invalid JSON -----------------------------------------------------------------------
    fixed_invalid = [b"{", b"}", b"{]", b"{'inputs': []}", b'{"inputs": [,]}', b'{"inputs": []],}',
                     b'{"inputs":[{"name":"INPUT0",}]}', b'{inputs: []}', b'{"inputs": NaN}',
                     b'{"inputs": [Infinity]}', b'{"inputs": [1e]}', b'{"a":1}{"b":2}', b'{"inputs":[]}}',
                     b'{"inputs": "\\x41"}', b'{"inputs": "\\uZZZZ"}', b'{"inputs": tru}', b'{"inputs": [0x10]}',
                     b'{"inputs": [01]}', b'{"inputs": [+1]}', b'{"inputs": [.5]}', b'\x00\x00\x00\x00',
                     b'{"inputs": [-]}', b'{"inputs" "x"}', b'{"inputs": [1 2]}', b'// comment\n{}',
                     b'{"inputs": "unterminated}', b'\xef\xbb\xbf{"inputs": 1}']
    for raw in fixed_invalid:
        add("invalid_json", f"invalid JSON {raw[:40]!r}", raw)
    specials = b'{}[]:,"\\'
    for _ in range(48):
        model, body = rng.choice(MUTABLE)
        raw = bytearray(dumps(body))
        position = rng.randrange(len(raw))
        replacement = rng.choice([c for c in specials if c != raw[position]])
        raw[position] = replacement
        add("invalid_json", f"{model} byte {position} replaced by {chr(replacement)!r}", bytes(raw), model)
    for _ in range(25):
        add("invalid_json", "random bytes", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))

    # -- wrong types ------------------------------------------------------------------------
    wrong_types = [
        ({"inputs": {"name": "INPUT0"}}, "inputs is an object"), ({"inputs": "INPUT0"}, "inputs is a string"),
        ({"inputs": 5}, "inputs is a number"), ({"inputs": None}, "inputs is null"),
        ({"inputs": [5, 6]}, "inputs holds numbers"), ({"inputs": [[]]}, "inputs holds a list"),
        (with_input(simple_body(), shape="1,16"), "shape is a string"),
        (with_input(simple_body(), shape={"0": 1}), "shape is an object"),
        (with_input(simple_body(), shape=["1", "16"]), "shape holds strings"),
        (with_input(simple_body(), shape=[1.0, 16.5]), "shape holds fractions"),
        (with_input(simple_body(), shape=[True, 16]), "shape holds a bool"),
        (with_input(simple_body(), shape=[[1], [16]]), "shape is nested"),
        (with_input(simple_body(), shape=None), "shape is null"),
        (with_input(simple_body(), datatype=8), "datatype is a number"),
        (with_input(simple_body(), datatype=None), "datatype is null"),
        (with_input(simple_body(), datatype=["INT32"]), "datatype is a list"),
        (with_input(simple_body(), name=0), "name is a number"),
        (with_input(simple_body(), name=None), "name is null"),
        (with_input(simple_body(), name=["INPUT0"]), "name is a list"),
        (with_input(simple_body(), data="0,1,2"), "data is a string"),
        (with_input(simple_body(), data=7), "data is a number"),
        (with_input(simple_body(), data={"0": 1}), "data is an object"),
        (with_input(simple_body(), data=None), "data is null"),
        (with_input(simple_body(), data=[str(i) for i in range(16)]), "INT32 data holds strings"),
        (with_input(simple_body(), data=[True] * 16), "INT32 data holds bools"),
        (with_input(simple_body(), data=[1.5] * 16), "INT32 data holds fractions"),
        (with_input(simple_body(), data=[None] * 16), "INT32 data holds nulls"),
        (with_input(simple_body(), data=[{}] * 16), "INT32 data holds objects"),
        (with_input(simple_body(), data=[2**31] + [0] * 15), "INT32 data out of range (2^31)"),
        (with_input(simple_body(), data=[-2**31 - 1] + [0] * 15), "INT32 data out of range (-2^31-1)"),
        (with_input(simple_body(), data=[1e300] + [0] * 15), "INT32 data 1e300"),
        (with_input(dense_body(), data=["0.5"] * 16), "FP32 data holds strings"),
        (with_input(dense_body(), data=[True] * 16), "FP32 data holds bools"),
        (with_input(dense_body(), data=[None] * 16), "FP32 data holds nulls"),
        ({"id": 5, **simple_body()}, "id is a number"), ({"id": {"a": 1}, **simple_body()}, "id is an object"),
        ({"parameters": [1, 2], **simple_body()}, "parameters is a list"),
        ({"parameters": "x", **simple_body()}, "parameters is a string"),
        ({"outputs": {"name": "OUTPUT0"}, **simple_body()}, "outputs is an object"),
        ({"outputs": "OUTPUT0", **simple_body()}, "outputs is a string"),
        ({"outputs": [{"name": 0}], **simple_body()}, "output name is a number"),
        ({"outputs": [5], **simple_body()}, "outputs holds a number"),
    ]
    typed = [("UINT8", [256]), ("UINT8", [-1]), ("INT8", [128]), ("INT8", [-129]), ("INT16", [40000]),
             ("UINT16", [65536]), ("UINT32", [-1]), ("UINT32", [2**32]), ("INT64", [2**63]),
             ("INT64", [-2**63 - 1]), ("UINT64", [2**64]), ("UINT64", [-1]), ("BOOL", [0, 1]), ("BOOL", ["true"]),
             ("BOOL", [None]), ("BYTES", [1, 2]), ("BYTES", [None]), ("BYTES", [True]),
             ("INT32", [1.0000001]), ("UINT8", [3.5]), ("FP64", ["1.0"]), ("FP16", [True]), ("INT16", ["7"])]
    for datatype, data in typed:
        model = f"identity_{datatype.lower()}"
        wrong_types.append(((model, identity_body(datatype, data)), f"{datatype} data {data!r}"))
    for i in range(120):
        item, description = wrong_types[i % len(wrong_types)]
        model, body = item if isinstance(item, tuple) else ("simple", item)
        add("wrong_types", description, body, model)

    # -- shape and data length mismatches ------------------------------------------------------
    mismatches = [
        (with_input(simple_body(), data=list(range(15))), "15 values for [1,16]"),
        (with_input(simple_body(), data=list(range(17))), "17 values for [1,16]"),
        (with_input(simple_body(), data=[]), "no values for [1,16]"),
        (with_input(simple_body(), data=list(range(32))), "32 values for [1,16]"),
        (with_input(simple_body(), shape=[2, 16]), "16 values for [2,16]"),
        (with_input(simple_body(), shape=[16]), "rank 1 for a rank 2 input"),
        (with_input(simple_body(), shape=[1, 16, 1]), "rank 3 for a rank 2 input"),
        (with_input(simple_body(), shape=[1, 4, 4]), "[1,4,4] for [-1,16]"),
        (with_input(simple_body(), shape=[1, 8], data=list(range(8))), "[1,8] for [-1,16]"),
        (with_input(simple_body(), shape=[0, 16], data=[]), "batch 0"),
        (with_input(with_input(simple_body(9), shape=[9, 16]), 1, shape=[9, 16]), "batch 9 over max 8"),
        (with_input(simple_body(2), 1, shape=[1, 16], data=[1] * 16), "inputs disagree on the batch"),
        (with_input(simple_body(), data=[[1] * 8, [1] * 7]), "ragged nested data with 15 values"),
        (with_input(simple_body(), data=[[[0] * 16]] * 2), "nested data with 32 values"),
        (("dense_tiny", with_input(dense_body(), shape=[1, 15], data=[0.0] * 15)), "[1,15] for [-1,16]"),
        (("dense_tiny", with_input(dense_body(), shape=[], data=[0.0])), "scalar shape"),
        (("mul_1", {"inputs": [{"name": "X", "shape": [3, 3], "datatype": "FP32", "data": [0] * 9}]}), "[3,3] for [3,2]"),
        (("mul_1", {"inputs": [{"name": "X", "shape": [1, 3, 2], "datatype": "FP32", "data": [0] * 6}]}), "[1,3,2] for [3,2]"),
        (("sigmoid", {"inputs": [{"name": "x", "shape": [3, 4, 6], "datatype": "FP32", "data": [0] * 72}]}), "[3,4,6] for [3,4,5]"),
        (("logreg_iris", {"inputs": [{"name": "float_input", "shape": [5, 2], "datatype": "FP32", "data": [0] * 10}]}),
         "[5,2] for [3,2]"),
        (("identity_bytes", identity_body("BYTES", ["a", "b"], [1, 3])), "BYTES 2 values for [1,3]"),
        (("identity_bool", identity_body("BOOL", [True], [2, 1])), "BOOL 1 value for [2,1]"),
        (("mixed_io", with_input(mixed_body(), 2, shape=[1, 3], data=[True] * 3)), "mixed inputs disagree on K"),
    ]
    for _ in range(6):
        for item, description in mismatches:
            model, body = item if isinstance(item, tuple) else ("simple", item)
            add("mismatch", description, body, model)
    # -- negative and enormous shapes ----------------------------------------------------------
    enormous = [
        ("simple", [2147483648, 16], 16), ("simple", [-1, 16], 16), ("simple", [1, -16], 16), ("simple", [-1, -16], 16),
        ("simple", [-2147483648, 16], 16), ("simple", [4294967296, 16], 16), ("simple", [2**63 - 1, 16], 16),
        ("simple", [2**63, 16], 16), ("simple", [2**64, 16], 16), ("simple", [2**100, 16], 16),
        ("simple", [1e30, 16], 16), ("simple", [2**32, 2**32], 0), ("simple", [2**62, 4], 0),
        ("identity_fp32", [2147483648, 1], 1), ("identity_fp32", [65536, 65536], 1), ("identity_fp32", [2**32, 2**32], 0),
        ("identity_fp32", [-1, -1], 1), ("identity_fp32", [2**33, 2**31], 0), ("identity_fp32", [-4, -4], 16),
        ("identity_bytes", [2**40, 1], 1), ("identity_bytes", [1, -3], 3), ("identity_int8", [2**31 - 1, 2**31 - 1], 4),
        ("identity_uint64", [2**63, 2], 0), ("dense_tiny", [2147483648, 16], 16), ("dense_tiny", [10**12, 16], 16),
    ]
    for _ in range(4):
        for model, shape, values in enormous:
            datatype = {"simple": "INT32", "dense_tiny": "FP32"}.get(model) or model.split("_")[1].upper()
            name = "INPUT0" if model == "simple" else "x"
            element = "a" if datatype == "BYTES" else 1
            inputs = [{"name": name, "shape": shape, "datatype": datatype, "data": [element] * values}]
            if model == "simple":
                inputs.append({"name": "INPUT1", "shape": [1, 16], "datatype": "INT32", "data": [1] * 16})
            add("enormous_shape", f"{model} shape {shape} with {values} values", {"inputs": inputs}, model)

    # -- unknown models, versions, inputs, outputs ---------------------------------------------
    for _ in range(30):
        name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_0123456789") for _ in range(rng.randrange(1, 40)))
        add("unknown", f"unknown model {name}", simple_body(), path=infer_path("zz_" + name), expected=(404,))
    for name in ("%00", "..%2F..%2Fetc", "simple%2F..", "%F0%9F%99%82", "a" * 5000, "SIMPLE", "simple%20"):
        add("unknown", f"unknown model {name[:20]!r}", simple_body(), path=infer_path(name), expected=(404, 414, 431))
    for version in ("2", "7", "123456789", "1" * 30):
        add("unknown", f"unknown version {version[:12]}", simple_body(), path=infer_path("simple", version),
            expected=(404,) if len(version) < 18 else (400, 404))
    for _ in range(6):
        add("unknown", "unknown input", with_input(simple_body(), name="INPUT9"))
        add("unknown", "missing input INPUT1", {"inputs": simple_body()["inputs"][:1]})
        add("unknown", "duplicate input", {"inputs": simple_body()["inputs"] + simple_body()["inputs"][:1]})
        add("unknown", "extra input", {"inputs": simple_body()["inputs"] + [dict(simple_body()["inputs"][0], name="EXTRA")]})
        add("unknown", "empty inputs", {"inputs": []})
        add("unknown", "unknown output", {**simple_body(), "outputs": [{"name": "OUTPUT9"}]})
        add("unknown", "empty output name", {**simple_body(), "outputs": [{"name": ""}]})
        add("unknown", "logreg map output", {"inputs": [{"name": "float_input", "shape": [3, 2], "datatype": "FP32",
                                                          "data": [1] * 6}], "outputs": [{"name": "probabilities"}]},
            "logreg_iris")
        add("unknown", "input named like an output", with_input(simple_body(), name="OUTPUT0"))

    # -- huge bodies --------------------------------------------------------------------------
    for i in range(20):
        size = MAX_REQUEST_SIZE + 1 + rng.randrange(3 * MAX_REQUEST_SIZE)
        elements = size // 2 + 1
        body = b'{"inputs":[{"name":"x","shape":[1,%d],"datatype":"INT8","data":[' % elements
        body += b"1," * (elements - 1) + b"1]}]}"
        add("huge", f"{len(body)} byte body", body, "identity_int8", expected=(413,))

    # -- invalid UTF-8 --------------------------------------------------------------------------
    bad_sequences = [b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
                     b"\x80", b"\xf4\x90\x80\x80", b"a\xc3", b"\xc3\x28"]
    for _ in range(6):
        for bad in bad_sequences:
            where = rng.choice(["bytes_data", "name", "datatype", "key", "outside", "id", "model_path"])
            if where == "bytes_data":
                raw = b'{"inputs":[{"name":"x","shape":[1,2],"datatype":"BYTES","data":["ok","' + bad + b'"]}]}'
                add("invalid_utf8", f"{bad!r} in BYTES data", raw, "identity_bytes")
            elif where == "name":
                raw = dumps(simple_body()).replace(b'"INPUT0"', b'"INPUT0' + bad + b'"')
                add("invalid_utf8", f"{bad!r} in input name", raw)
            elif where == "datatype":
                raw = dumps(simple_body()).replace(b'"INT32"', b'"INT' + bad + b'32"', 1)
                add("invalid_utf8", f"{bad!r} in datatype", raw)
            elif where == "key":
                raw = dumps(simple_body()).replace(b'"shape"', b'"sha' + bad + b'pe"', 1)
                add("invalid_utf8", f"{bad!r} in a key", raw)
            elif where == "id":
                raw = b'{"id":"' + bad + b'",' + dumps(simple_body())[1:]
                add("invalid_utf8", f"{bad!r} in the id", raw)
            elif where == "model_path":
                add("invalid_utf8", f"{bad!r} in the model name (URL)", simple_body(),
                    path="/v2/models/" + "".join(f"%{b:02X}" for b in bad) + "/infer", expected=(400, 404))
            else:
                raw = b'{"inputs":' + bad + b"[]}"
                add("invalid_utf8", f"{bad!r} between tokens", raw)

    # -- deeply nested arrays and objects -----------------------------------------------------------
    for depth in (1000, 10000, 100000):
        for _ in range(4):
            add("deep", f"{depth} '[' in data, unclosed",
                b'{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"INT32","data":' + b"[" * depth + b"}]}")
            add("deep", f"{depth} nested arrays in data, closed",
                b'{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"INT32","data":'
                + b"[" * depth + b"1" + b"]" * depth + b"}]}")
            add("deep", f"{depth} '[' as the body", b"[" * depth)
            add("deep", f"{depth} nested objects", b'{"a":' * depth + b"1" + b"}" * depth)
            add("deep", f"{depth} nested in shape", b'{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":'
                + b"[" * depth + b"1" + b"]" * depth + b',"data":[1]}]}')
    # -- wrong datatype names -------------------------------------------------------------------
    for _ in range(4):
        for name in ("FLOAT32", "int32", "", "TYPE_INT32", "BF16", "FP32", "INT64", "UINT32", "BYTES", "STRING",
                     "UINT128", "ＩＮＴ32", "INT32 ", " INT32", "BOOL"):
            add("datatype", f"datatype {name!r} for INT32 input", with_input(simple_body(), datatype=name))

    # -- missing fields --------------------------------------------------------------------------
    missing = [({}, "empty object"), ({"outputs": [{"name": "OUTPUT0"}]}, "no inputs"),
               (with_input(simple_body(), name=DROP), "input without name"),
               (with_input(simple_body(), shape=DROP), "input without shape"),
               (with_input(simple_body(), datatype=DROP), "input without datatype"),
               (with_input(simple_body(), data=DROP), "input without data"),
               ({"inputs": [{}, {}]}, "empty input objects"),
               ({**simple_body(), "outputs": [{}]}, "output without name"),
               ({"id": "x", "parameters": {}}, "only id and parameters")]
    for _ in range(6):
        for body, description in missing:
            add("missing", description, body)

    # -- non-object bodies ----------------------------------------------------------------------
    non_objects = [b"[]", b'"inputs"', b"1", b"null", b"true", b"", b"   ", b"\n", b"[{}]", b"-0", b"1e5",
                   b'[{"inputs":[]}]', dumps([simple_body()]), b'"' + b"x" * 1000 + b'"']
    for _ in range(4):
        for raw in non_objects:
            add("non_object", f"body {raw[:20]!r}", raw)

    # -- wrong methods and unknown paths ---------------------------------------------------------
    for method, path in (("GET", "/v2/models/simple/infer"), ("PUT", "/v2/models/simple/infer"),
                         ("DELETE", "/v2/models/simple/infer"), ("PATCH", "/v2/models/dense_tiny/infer"),
                         ("POST", "/v2/health/live"), ("PUT", "/v2/health/ready"), ("POST", "/v2/models/simple/ready")):
        add("method", f"{method} {path}", simple_body() if method != "GET" else None, method=method, path=path,
            expected=(405,))
    for path in ("/v2/models/simple/nonsense", "/v2/whatever", "/v3/models/simple/infer", "/v2/models/simple/versions",
                 "/v2/models//infer", "/v2/models/simple/infer/extra"):
        add("unknown_path", path, simple_body(), path=path, expected=(400, 404, 405))

    # Top up (or trim) to exactly `count`, cycling through what was generated.
    base = list(cases)
    i = 0
    while len(cases) < count:
        cases.append(base[i % len(base)])
        i += 1
    rng.shuffle(cases)
    return cases[:count]
