#!/usr/bin/env python3
"""Writes TensorFlow SavedModels for Swerve's tests, each with an input and the output TensorFlow
computes for it in this process.

usage: make_tf_models.py OUT [--models dense,dtypes,two_signatures,unknown_rank,resnet50]
       (default: the three small models; resnet50 is for the integration tests and benchmarks)
needs: .venv-frameworks (tensorflow-cpu 2.21.0, keras 3, numpy 2): run it with
       .venv-frameworks/bin/python. About 10 s for the small models, 40 s more for resnet50 (2 cores).

OUT is a Triton-layout model repository, and beside each model's version folder the reference data:

  OUT/<model>/1/model.savedmodel/        saved_model.pb, variables/ (tf.saved_model.save, Keras export)
  OUT/<model>/reference/manifest.json    {"signature": KEY, "inputs": [...], "outputs": [...]}
  OUT/<model>/reference/<name>.npy       one per numeric tensor
  OUT/two_signatures/reference_plus_one/ the same for its second signature

Each tensor of a manifest is {"name", "datatype" (KServe's: FP32, BYTES, ...), "shape"} and either
"npy" (a file beside the manifest; BF16 is stored as its uint16 bit patterns, since numpy has no
bfloat16) or, for BYTES, "base64" (the elements, each base64-encoded, in row-major order). The
outputs are what the model's signature returned when called in this process on the inputs.

The models:
- dense: y = relu(x·W + b), x FP32 [-1, 4], y FP32 [-1, 3], W and b variables (a batch dimension).
- dtypes: one input and output per TensorFlow dtype KServe carries (BOOL, UINT8..64, INT8..64,
  FP16, BF16, FP32, FP64, BYTES), each [-1, 2], computing a little with each; a string input with
  a long element, an empty one and one holding a NUL byte; and a scalar output.
- two_signatures: serving_default (x FP32 [-1, 2] -> doubled) and plus_one (a INT64 [-1] -> a+1).
- unknown_rank: x FP32 of unknown rank -> doubled (unknown rank) and as_complex (COMPLEX64, which
  KServe lacks); the reference feeds x of shape [3] and lists only doubled.
- resnet50: keras.applications.ResNet50(weights=None), weights from seed 50, exported with
  model.export (serving_default), one 224x224x3 image.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

SMALL_MODELS = ["dense", "dtypes", "two_signatures", "unknown_rank"]
SEED = 50

# KServe datatype of each TensorFlow dtype the tests use.
KSERVE = {
    tf.bool: "BOOL", tf.uint8: "UINT8", tf.uint16: "UINT16", tf.uint32: "UINT32", tf.uint64: "UINT64",
    tf.int8: "INT8", tf.int16: "INT16", tf.int32: "INT32", tf.int64: "INT64", tf.float16: "FP16",
    tf.bfloat16: "BF16", tf.float32: "FP32", tf.float64: "FP64", tf.string: "BYTES",
}


def describe(name: str, value: tf.Tensor, folder: Path, prefix: str) -> dict:
    """A manifest entry for `value`, writing its .npy into `folder` when it is numeric."""
    entry = {"name": name, "datatype": KSERVE[value.dtype], "shape": list(value.shape)}
    if value.dtype == tf.string:
        entry["base64"] = [base64.b64encode(item).decode() for item in value.numpy().reshape(-1).tolist()]
        return entry
    array = value.numpy()
    if value.dtype == tf.bfloat16:
        array = tf.bitcast(value, tf.uint16).numpy()
    file = f"{prefix}_{name}.npy"
    np.save(folder / file, np.array(array, order="C"), allow_pickle=False)
    entry["npy"] = file
    return entry


def write_reference(model_dir: Path, signature_key: str, inputs: dict[str, tf.Tensor],
                    folder: str = "reference", outputs: list[str] | None = None) -> None:
    """Loads the SavedModel back, calls the signature on `inputs`, and writes the manifest of the
    inputs and the outputs (all, or those named) into `model_dir/folder`."""
    loaded = tf.saved_model.load(str(model_dir / "1" / "model.savedmodel"))
    result = loaded.signatures[signature_key](**inputs)
    target = model_dir / folder
    target.mkdir(parents=True, exist_ok=True)
    manifest = {
        "signature": signature_key,
        "inputs": [describe(key, value, target, "input") for key, value in sorted(inputs.items())],
        "outputs": [describe(key, result[key], target, "output") for key in (outputs or sorted(result))],
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def savedmodel_path(out: Path, name: str) -> Path:
    return out / name / "1" / "model.savedmodel"


class Dense(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(SEED)
        self.w = tf.Variable(rng.standard_normal((4, 3)).astype(np.float32), name="w")
        self.b = tf.Variable(rng.standard_normal(3).astype(np.float32), name="b")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serve(self, x):
        return {"y": tf.nn.relu(tf.matmul(x, self.w) + self.b)}


def make_dense(out: Path) -> None:
    module = Dense()
    tf.saved_model.save(module, str(savedmodel_path(out, "dense")), signatures={"serving_default": module.serve})
    x = tf.constant(np.random.default_rng(SEED + 1).standard_normal((3, 4)).astype(np.float32))
    write_reference(out / "dense", "serving_default", {"x": x})


# Input key -> dtype for the dtypes model; each output is named `<input>_out`.
DTYPE_INPUTS = {
    "boolean": tf.bool, "u8": tf.uint8, "u16": tf.uint16, "u32": tf.uint32, "u64": tf.uint64,
    "i8": tf.int8, "i16": tf.int16, "i32": tf.int32, "i64": tf.int64, "f16": tf.float16,
    "bf16": tf.bfloat16, "f32": tf.float32, "f64": tf.float64, "text": tf.string,
}


class DTypes(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 2], dtype, name=key) for key, dtype in DTYPE_INPUTS.items()])
    def serve(self, boolean, u8, u16, u32, u64, i8, i16, i32, i64, f16, bf16, f32, f64, text):
        return {
            "boolean_out": tf.logical_not(boolean),
            "u8_out": u8 + tf.constant(1, tf.uint8),
            "u16_out": tf.identity(u16),
            "u32_out": tf.identity(u32),
            "u64_out": tf.identity(u64),
            "i8_out": -i8,
            "i16_out": i16 * tf.constant(3, tf.int16),
            "i32_out": i32 + tf.constant(7, tf.int32),
            "i64_out": i64 * tf.constant(-2, tf.int64),
            "f16_out": f16 * tf.constant(2, tf.float16),
            "bf16_out": tf.cast(tf.cast(bf16, tf.float32) * 2.0, tf.bfloat16),
            "f32_out": f32 / 4.0,
            "f64_out": f64 * f64,
            "text_out": tf.strings.join([text, tf.constant("!")]),
            "text_length": tf.strings.length(text),
            "total": tf.reduce_sum(f32),
        }


def make_dtypes(out: Path) -> None:
    module = DTypes()
    tf.saved_model.save(module, str(savedmodel_path(out, "dtypes")), signatures={"serving_default": module.serve})
    rng = np.random.default_rng(SEED + 2)
    inputs = {}
    for key, dtype in DTYPE_INPUTS.items():
        if dtype == tf.bool:
            value = tf.constant([[True, False], [False, True]])
        elif dtype == tf.string:
            value = tf.constant([[b"hello", b""], [b"a string longer than twenty-two bytes, stored apart", b"nul\x00inside"]])
        elif dtype.is_integer:
            low, high = max(dtype.min, -100), min(dtype.max, 100)
            value = tf.constant(rng.integers(low, high, size=(2, 2)), dtype=dtype)
        else:
            value = tf.cast(tf.constant(rng.standard_normal((2, 2))), dtype)
        inputs[key] = value
    write_reference(out / "dtypes", "serving_default", inputs)


class TwoSignatures(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def double(self, x):
        return {"doubled": x * 2.0}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="a")])
    def plus_one(self, a):
        return {"a_plus_one": a + 1}


def make_two_signatures(out: Path) -> None:
    module = TwoSignatures()
    tf.saved_model.save(module, str(savedmodel_path(out, "two_signatures")),
                        signatures={"serving_default": module.double, "plus_one": module.plus_one})
    write_reference(out / "two_signatures", "serving_default", {"x": tf.constant([[1.5, -2.0], [0.25, 8.0]])})
    write_reference(out / "two_signatures", "plus_one", {"a": tf.constant([1, -5, 41], tf.int64)},
                    folder="reference_plus_one")


class UnknownRank(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="x")])
    def serve(self, x):
        return {"doubled": x * 2.0, "as_complex": tf.complex(x, x)}


def make_unknown_rank(out: Path) -> None:
    module = UnknownRank()
    tf.saved_model.save(module, str(savedmodel_path(out, "unknown_rank")), signatures={"serving_default": module.serve})
    write_reference(out / "unknown_rank", "serving_default", {"x": tf.constant([1.0, -2.5, 3.0])}, outputs=["doubled"])


def make_resnet50(out: Path) -> None:
    import keras

    keras.utils.set_random_seed(SEED)
    model = keras.applications.ResNet50(weights=None)
    model.export(str(savedmodel_path(out, "resnet50")), format="tf_saved_model", verbose=False)
    loaded = tf.saved_model.load(str(savedmodel_path(out, "resnet50")))
    (key,) = loaded.signatures["serving_default"].structured_input_signature[1].keys()
    image = np.random.default_rng(SEED + 3).uniform(0, 1, size=(1, 224, 224, 3)).astype(np.float32)
    write_reference(out / "resnet50", "serving_default", {key: tf.constant(image)})


MAKERS = {
    "dense": make_dense, "dtypes": make_dtypes, "two_signatures": make_two_signatures,
    "unknown_rank": make_unknown_rank, "resnet50": make_resnet50,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", default=",".join(SMALL_MODELS),
                        help=f"comma-separated, from {', '.join(MAKERS)} (default: {','.join(SMALL_MODELS)})")
    args = parser.parse_args()
    names = [name for name in args.models.split(",") if name]
    unknown = [name for name in names if name not in MAKERS]
    if unknown:
        sys.exit(f"unknown models: {', '.join(unknown)}; choose from {', '.join(MAKERS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        # Each model is written beside OUT and moved in whole, so a reader never sees half of one.
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=args.out))
        MAKERS[name](staging)
        target = args.out / name
        if target.exists():
            shutil.rmtree(target)
        (staging / name).rename(target)
        shutil.rmtree(staging)


if __name__ == "__main__":
    main()
