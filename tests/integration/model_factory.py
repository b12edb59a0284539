"""Test-only models and repositories for the integration suite, made with onnx.helper.

The example repository comes from the project's scripts/make_example_repo.py; everything here is
extra: one Identity model per KServe datatype, models with several inputs and outputs, a model
with three versions for the version policies, a deliberately slow model for the shutdown test, and
configurations that contradict their models.
"""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def load_example_script():
    """Imports scripts/make_example_repo.py (the project's own script) as a module."""
    path = PROJECT_ROOT / "scripts" / "make_example_repo.py"
    spec = importlib.util.spec_from_file_location("make_example_repo", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# KServe datatype -> (ONNX element type, numpy dtype, Triton config type).
DATATYPES: dict[str, tuple[int, object, str]] = {
    "BOOL": (TensorProto.BOOL, np.bool_, "TYPE_BOOL"),
    "INT8": (TensorProto.INT8, np.int8, "TYPE_INT8"),
    "INT16": (TensorProto.INT16, np.int16, "TYPE_INT16"),
    "INT32": (TensorProto.INT32, np.int32, "TYPE_INT32"),
    "INT64": (TensorProto.INT64, np.int64, "TYPE_INT64"),
    "UINT8": (TensorProto.UINT8, np.uint8, "TYPE_UINT8"),
    "UINT16": (TensorProto.UINT16, np.uint16, "TYPE_UINT16"),
    "UINT32": (TensorProto.UINT32, np.uint32, "TYPE_UINT32"),
    "UINT64": (TensorProto.UINT64, np.uint64, "TYPE_UINT64"),
    "FP16": (TensorProto.FLOAT16, np.float16, "TYPE_FP16"),
    "FP32": (TensorProto.FLOAT, np.float32, "TYPE_FP32"),
    "FP64": (TensorProto.DOUBLE, np.float64, "TYPE_FP64"),
    "BYTES": (TensorProto.STRING, np.object_, "TYPE_STRING"),
}


def identity_model_name(datatype: str) -> str:
    return f"identity_{datatype.lower()}"


def finish(graph: onnx.GraphProto, opset: int = 13) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="swerve-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def save(repo: Path, name: str, model: onnx.ModelProto, version: int = 1, config: str | None = None) -> Path:
    version_dir = repo / name / str(version)
    version_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(version_dir / "model.onnx"))
    if config is not None:
        (repo / name / "config.pbtxt").write_text(config)
    return version_dir / "model.onnx"


def identity(datatype: str) -> onnx.ModelProto:
    """x [N,K] -> y = x, both dimensions dynamic, of the given KServe datatype."""
    elem = DATATYPES[datatype][0]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], identity_model_name(datatype),
        [helper.make_tensor_value_info("x", elem, ["N", "K"])],
        [helper.make_tensor_value_info("y", elem, ["N", "K"])])
    return finish(graph)


def add_mul() -> onnx.ModelProto:
    """A, B FP32 [N,K] -> SUM = A + B, PRODUCT = A * B."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["A", "B"], ["SUM"]), helper.make_node("Mul", ["A", "B"], ["PRODUCT"])],
        "add_mul",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", "K"]) for n in ("A", "B")],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", "K"]) for n in ("SUM", "PRODUCT")])
    return finish(graph)


def mixed_io() -> onnx.ModelProto:
    """Three inputs and three outputs of different datatypes:
    A FP64, B INT32, C BOOL [N,K] -> TOTAL FP64 = A + B, PICKED INT32 = C ? B : -B, FLIPPED BOOL = !C."""
    graph = helper.make_graph(
        [helper.make_node("Cast", ["B"], ["B64"], to=TensorProto.DOUBLE),
         helper.make_node("Add", ["A", "B64"], ["TOTAL"]),
         helper.make_node("Neg", ["B"], ["NEG_B"]),
         helper.make_node("Where", ["C", "B", "NEG_B"], ["PICKED"]),
         helper.make_node("Not", ["C"], ["FLIPPED"])],
        "mixed_io",
        [helper.make_tensor_value_info("A", TensorProto.DOUBLE, ["N", "K"]),
         helper.make_tensor_value_info("B", TensorProto.INT32, ["N", "K"]),
         helper.make_tensor_value_info("C", TensorProto.BOOL, ["N", "K"])],
        [helper.make_tensor_value_info("TOTAL", TensorProto.DOUBLE, ["N", "K"]),
         helper.make_tensor_value_info("PICKED", TensorProto.INT32, ["N", "K"]),
         helper.make_tensor_value_info("FLIPPED", TensorProto.BOOL, ["N", "K"])])
    return finish(graph)


def plus_constant(value: float) -> onnx.ModelProto:
    """x FP32 [N,4] -> y = x + value: tells which version of a model answered."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "c"], ["y"])], "plus_constant",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        initializer=[numpy_helper.from_array(np.array([value], np.float32), "c")])
    return finish(graph)


def slow(size: int = 512, steps: int = 300) -> onnx.ModelProto:
    """x FP32 [1] -> y FP32 [1]: `steps` chained size×size MatMuls with a fixed orthogonal matrix on
    a matrix filled with x, then the maximum. Only costs time (a few hundred milliseconds on this
    machine), which keeps a request in flight for the shutdown test."""
    rng = np.random.default_rng(512)
    q, _ = np.linalg.qr(rng.standard_normal((size, size)))
    nodes = [helper.make_node("Mul", ["x", "ones"], ["m0"])]
    for i in range(steps):
        nodes.append(helper.make_node("MatMul", [f"m{i}", "q"], [f"m{i + 1}"]))
    nodes.append(helper.make_node("ReduceMax", [f"m{steps}"], ["peak"], keepdims=0))
    nodes.append(helper.make_node("Reshape", ["peak", "one"], ["y"]))
    graph = helper.make_graph(
        nodes, "slow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        initializer=[numpy_helper.from_array(q.astype(np.float32), "q"),
                     numpy_helper.from_array(np.ones((size, size), np.float32), "ones"),
                     numpy_helper.from_array(np.array([1], np.int64), "one")])
    return finish(graph)


# ---------------------------------------------------------------------------------------------
# Repositories

def make_main_repo(repo: Path) -> dict[str, Path]:
    """The example repository plus the identity models and the multi-input models."""
    load_example_script().make_example_repo(repo, quiet=True)
    for datatype in DATATYPES:
        save(repo, identity_model_name(datatype), identity(datatype))
    save(repo, "add_mul", add_mul())
    save(repo, "mixed_io", mixed_io())
    return {p.parent.parent.name: p for p in sorted(repo.glob("*/1/model.onnx"))}


VERSION_POLICIES = {
    # model name -> (version_policy text or None, versions served, default version)
    "policy_default": (None, ["3"], "3"),
    "policy_latest_1": ("{ latest: { num_versions: 1 } }", ["3"], "3"),
    "policy_latest_2": ("{ latest: { num_versions: 2 } }", ["2", "3"], "3"),
    "policy_all": ("{ all: {} }", ["1", "2", "3"], "3"),
    "policy_specific": ("{ specific: { versions: [1, 3] } }", ["1", "3"], "3"),
}


def make_versions_repo(repo: Path) -> None:
    """Models with versions 1, 2, 3 (version v adds v * 100) under each version policy.

    The configs are partial (name and version_policy only): the rest is completed from the model."""
    for name, (policy, _, _) in VERSION_POLICIES.items():
        config = None
        if policy is not None:
            config = f'name: "{name}"\nversion_policy: {policy}\n'
        for version in (1, 2, 3):
            save(repo, name, plus_constant(100.0 * version), version=version, config=config)
    # A folder that is not a version must be ignored.
    (repo / "policy_all" / "notes").mkdir()
    (repo / "policy_all" / "notes" / "README.txt").write_text("not a version\n")


# Broken models: name -> (config.pbtxt text, what the error message must contain: each entry a
# substring, or a tuple of substrings of which one must occur).
_SIMPLE_IO = """input [
  { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] },
  { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] }
]
output [
  { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] },
  { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] }
]
"""
BROKEN_CONFIGS: dict[str, tuple[str, list[str]]] = {
    "bad_field_name": ('max_batch_sise: 8\n' + _SIMPLE_IO, ["max_batch_sise"]),
    "wrong_data_type": ('max_batch_size: 8\n' + _SIMPLE_IO.replace("TYPE_INT32", "TYPE_FP32", 1),
                        ["input[0].data_type"]),
    "wrong_input_name": ('max_batch_size: 8\n' + _SIMPLE_IO.replace('"INPUT0"', '"INPUT9"', 1),
                         ["input[0].name"]),
    "wrong_rank": ('max_batch_size: 8\n' + _SIMPLE_IO.replace("dims: [ 16 ]", "dims: [ 4, 4 ]", 1),
                   ["input[0].dims"]),
    "wrong_output_data_type": ('max_batch_size: 8\n' + _SIMPLE_IO.replace(
        '"OUTPUT1" data_type: TYPE_INT32', '"OUTPUT1" data_type: TYPE_INT64'), ["output[1].data_type"]),
    "unparsable": ('max_batch_size: 8\ninput [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 \n',
                   ["config.pbtxt"]),
    # The message must name the value that is wrong, not only where it is.
    "unknown_data_type": ('max_batch_size: 8\n' + _SIMPLE_IO.replace("TYPE_INT32", "TYPE_FLOAT32", 1),
                          ["TYPE_FLOAT32"]),
}


def make_broken_repo(repo: Path) -> None:
    """One good model (`simple`, from the example script) and one broken copy per BROKEN_CONFIGS entry."""
    example = load_example_script()
    model = example.sum_and_difference("simple", TensorProto.INT32)
    save(repo, "good", model, config=example.sum_and_difference_config("good", "TYPE_INT32"))
    for name, (config, _) in BROKEN_CONFIGS.items():
        save(repo, name, model, config=config)


def make_shutdown_repo(repo: Path) -> None:
    save(repo, "slow", slow())


def make_many_models_repo(repo: Path, count: int = 60) -> None:
    """Many small models, so that loading them all takes a noticeable while."""
    model = load_example_script().dense_tiny()
    for i in range(count):
        save(repo, f"dense_{i:03d}", model)


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target)


# ---------------------------------------------------------------------------------------------
# Classification, model control and statistics repositories (issue 4)

# Ten class labels: spaces, a colon and non-ASCII survive as they are in "value:index:label".
CLASS_LABELS = ["tabby cat", "golden retriever", "COFFEE MUG", "naïve café", "zebra", "jeep", "tulip",
                "x:y", "lemon", "violin"]


def classifier(batched: bool = True, classes: int = 10) -> onnx.ModelProto:
    """x FP32 [N,10] (or [10] when not `batched`) -> scores FP32 = 3x - 1, counts INT32 = Cast(1000x).

    Two outputs of different types so classification is checked on floats and integers."""
    dims = ["N", classes] if batched else [classes]
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "three"], ["x3"]),
         helper.make_node("Sub", ["x3", "one"], ["scores"]),
         helper.make_node("Mul", ["x", "thousand"], ["x1000"]),
         helper.make_node("Cast", ["x1000"], ["counts"], to=TensorProto.INT32)],
        "classifier",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, dims),
         helper.make_tensor_value_info("counts", TensorProto.INT32, dims)],
        initializer=[numpy_helper.from_array(np.array([3], np.float32), "three"),
                     numpy_helper.from_array(np.array([1], np.float32), "one"),
                     numpy_helper.from_array(np.array([1000], np.float32), "thousand")])
    return finish(graph)


CLASSIFIER_LABELS_CONFIG = """name: "classifier_config_labels"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 10 ] } ]
output [
  { name: "scores" data_type: TYPE_FP32 dims: [ 10 ] label_filename: "classes.txt" },
  { name: "counts" data_type: TYPE_INT32 dims: [ 10 ] }
]
"""


def make_classification_repo(repo: Path) -> None:
    """classifier (batched, labels.txt), classifier_static (no batch dimension, labels.txt with
    only 8 of the 10 labels), classifier_config_labels (label_filename in config.pbtxt for
    `scores` only), classifier_unlabelled (no labels at all)."""
    save(repo, "classifier", classifier(batched=True))
    (repo / "classifier" / "labels.txt").write_text("\n".join(CLASS_LABELS) + "\n", encoding="utf-8")
    save(repo, "classifier_static", classifier(batched=False))
    (repo / "classifier_static" / "labels.txt").write_text("\n".join(CLASS_LABELS[:8]) + "\n", encoding="utf-8")
    save(repo, "classifier_config_labels", classifier(batched=True), config=CLASSIFIER_LABELS_CONFIG)
    (repo / "classifier_config_labels" / "classes.txt").write_text(
        "\n".join(label.upper() for label in CLASS_LABELS) + "\n", encoding="utf-8")
    save(repo, "classifier_unlabelled", classifier(batched=True))


def make_control_repo(repo: Path) -> None:
    """For the repository API in explicit mode: dense_tiny, simple (with config.pbtxt), plus
    (versions 1, 2, 3 answering x + 100·v, default policy), slow, and broken (unparsable config)."""
    example = load_example_script()
    save(repo, "dense_tiny", example.dense_tiny())
    save(repo, "simple", example.sum_and_difference("simple", TensorProto.INT32),
         config=example.sum_and_difference_config("simple", "TYPE_INT32"))
    for version in (1, 2, 3):
        save(repo, "plus", plus_constant(100.0 * version), version=version)
    save(repo, "slow", slow(steps=100))
    save(repo, "broken", example.dense_tiny(), config="max_batch_size: [ oops\n")


def make_stats_repo(repo: Path) -> None:
    """For exact statistics: dense_tiny, simple_string (fails in ONNX Runtime on non-numeric
    strings), identity_bytes (BYTES cannot be classified)."""
    example = load_example_script()
    save(repo, "dense_tiny", example.dense_tiny())
    save(repo, "simple_string", example.sum_and_difference("simple_string", TensorProto.STRING),
         config=example.sum_and_difference_config("simple_string", "TYPE_STRING"))
    save(repo, "identity_bytes", identity("BYTES"))
