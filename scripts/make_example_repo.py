#!/usr/bin/env python3
"""Writes Swerve's example model repository (Triton layout) from onnx.helper and the models that
ship inside the onnxruntime wheel. Deterministic (same bytes on every run), takes about a second.

usage: make_example_repo.py [OUT]      (default OUT: examples/models under the project root)
needs: onnx, onnxruntime, numpy        (all in the project's .venv)

  simple/           Triton's classic example: INPUT0, INPUT1 INT32 [-1,16] -> OUTPUT0 = sum,
                    OUTPUT1 = difference; config.pbtxt with max_batch_size 8, dims [16]
  simple_string/    the same with BYTES tensors holding decimal integers (ONNX Cast string<->int32);
                    config.pbtxt with max_batch_size 8, TYPE_STRING. A non-numeric element makes
                    ONNX Runtime fail the run: the server must answer an error, not crash
  identity_string/  TEXT BYTES [N,1] -> ECHO BYTES [N,1], unchanged (no config)
  dense_tiny/       x FP32 [N,16] -> y = relu(x W + b) FP32 [N,16], weights from seed 16 (no config)
  logreg_iris/      scikit-learn logistic regression from the onnxruntime wheel: float_input FP32 [3,2]
                    -> label INT64 [3], and probabilities, a sequence of maps (not a tensor)
  sigmoid/          onnxruntime's test model: x FP32 [3,4,5] -> y, static shape, no batch dimension
  mul_1/            onnxruntime's test model: X FP32 [3,2] -> Y = X * [[1,2],[3,4],[5,6]]

Every model is written to OUT/<name>/1/model.onnx and run once in onnxruntime as a smoke test.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = PROJECT_ROOT / "examples" / "models"
OPSET = 13
IR_VERSION = 8  # readable by every onnxruntime since 1.10

# The models that ship inside the onnxruntime wheel (onnxruntime/datasets/), by repository name.
WHEEL_MODELS = {"logreg_iris": "logreg_iris.onnx", "sigmoid": "sigmoid.onnx", "mul_1": "mul_1.onnx"}


def finish(graph: onnx.GraphProto) -> onnx.ModelProto:
    """Wraps a graph into a checked model with a fixed opset and IR version."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="swerve")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def tensor(name: str, elem_type: int, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, shape)


def sum_and_difference(name: str, elem_type: int) -> onnx.ModelProto:
    """INPUT0, INPUT1 [N,16] -> OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1.

    For STRING tensors the elements are decimal integers: cast to INT32, compute, cast back."""
    if elem_type == TensorProto.INT32:
        nodes = [helper.make_node("Add", ["INPUT0", "INPUT1"], ["OUTPUT0"]),
                 helper.make_node("Sub", ["INPUT0", "INPUT1"], ["OUTPUT1"])]
    else:
        nodes = [helper.make_node("Cast", ["INPUT0"], ["a"], to=TensorProto.INT32),
                 helper.make_node("Cast", ["INPUT1"], ["b"], to=TensorProto.INT32),
                 helper.make_node("Add", ["a", "b"], ["sum"]),
                 helper.make_node("Sub", ["a", "b"], ["difference"]),
                 helper.make_node("Cast", ["sum"], ["OUTPUT0"], to=elem_type),
                 helper.make_node("Cast", ["difference"], ["OUTPUT1"], to=elem_type)]
    graph = helper.make_graph(
        nodes, name,
        [tensor("INPUT0", elem_type, ["N", 16]), tensor("INPUT1", elem_type, ["N", 16])],
        [tensor("OUTPUT0", elem_type, ["N", 16]), tensor("OUTPUT1", elem_type, ["N", 16])])
    return finish(graph)


def sum_and_difference_config(name: str, triton_type: str) -> str:
    """Triton's config for the simple models: the batch dimension is implicit (max_batch_size 8)."""
    def entries(names: tuple[str, str]) -> str:
        return ",\n".join(f'  {{ name: "{n}" data_type: {triton_type} dims: [ 16 ] }}' for n in names)
    return (f'name: "{name}"\n'
            'platform: "onnxruntime_onnx"\n'
            'max_batch_size: 8\n'
            f'input [\n{entries(("INPUT0", "INPUT1"))}\n]\n'
            f'output [\n{entries(("OUTPUT0", "OUTPUT1"))}\n]\n')


def identity_string() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["TEXT"], ["ECHO"])], "identity_string",
        [tensor("TEXT", TensorProto.STRING, ["N", 1])],
        [tensor("ECHO", TensorProto.STRING, ["N", 1])])
    return finish(graph)


def dense_tiny_weights(seed: int = 16, width: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((width, width)) * 0.25).astype(np.float32)
    b = (rng.standard_normal(width) * 0.1).astype(np.float32)
    return w, b


def dense_tiny(seed: int = 16, width: int = 16) -> onnx.ModelProto:
    w, b = dense_tiny_weights(seed, width)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xW"]),
         helper.make_node("Add", ["xW", "b"], ["xWb"]),
         helper.make_node("Relu", ["xWb"], ["y"])],
        "dense_tiny",
        [tensor("x", TensorProto.FLOAT, ["N", width])],
        [tensor("y", TensorProto.FLOAT, ["N", width])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")])
    return finish(graph)


def write(repo: Path, name: str, model: onnx.ModelProto, config: str | None = None) -> None:
    version_dir = repo / name / "1"
    version_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(version_dir / "model.onnx"))
    if config is not None:
        (repo / name / "config.pbtxt").write_text(config)


def smoke_test(name: str, session: onnxruntime.InferenceSession) -> None:
    """Runs a model once on sample inputs and checks what can be checked by hand."""
    a = np.arange(16, dtype=np.int32).reshape(1, 16)
    b = np.full((1, 16), 3, dtype=np.int32)
    if name == "simple":
        total, difference = session.run(None, {"INPUT0": a, "INPUT1": b})
        assert (total == a + b).all() and (difference == a - b).all()
    elif name == "simple_string":
        total, difference = session.run(None, {"INPUT0": a.astype(str).astype(object),
                                               "INPUT1": b.astype(str).astype(object)})
        assert [int(v) for v in total[0]] == list(range(3, 19))
        assert [int(v) for v in difference[0]] == list(range(-3, 13))
    elif name == "identity_string":
        text = np.array([["cat"], ["naïve café"], [""]], dtype=object)
        assert (session.run(None, {"TEXT": text})[0] == text).all()
    elif name == "dense_tiny":
        x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(4, 16)
        w, bias = dense_tiny_weights()
        y = session.run(None, {"x": x})[0]
        assert y.shape == (4, 16) and np.allclose(y, np.maximum(x @ w + bias, 0), rtol=1e-5, atol=1e-6)
    elif name == "logreg_iris":
        label, probabilities = session.run(
            None, {"float_input": np.array([[5.1, 3.5], [6.2, 2.9], [7.7, 3.0]], np.float32)})
        assert label.shape == (3,) and isinstance(probabilities, list) and isinstance(probabilities[0], dict)
    elif name == "sigmoid":
        assert np.allclose(session.run(None, {"x": np.zeros((3, 4, 5), np.float32)})[0], 0.5)
    elif name == "mul_1":
        y = session.run(None, {"X": np.ones((3, 2), np.float32)})[0]
        assert (y == np.arange(1, 7, dtype=np.float32).reshape(3, 2)).all()
    else:
        raise AssertionError(f"no smoke test for {name}")


def signature(values) -> str:
    return ", ".join(f"{v.name} {v.type} {v.shape}" for v in values)


def make_example_repo(repo: Path, quiet: bool = False) -> list[str]:
    """Writes every example model into `repo` and smoke-tests it; returns the model names."""
    repo.mkdir(parents=True, exist_ok=True)
    write(repo, "simple", sum_and_difference("simple", TensorProto.INT32),
          sum_and_difference_config("simple", "TYPE_INT32"))
    write(repo, "simple_string", sum_and_difference("simple_string", TensorProto.STRING),
          sum_and_difference_config("simple_string", "TYPE_STRING"))
    write(repo, "identity_string", identity_string())
    write(repo, "dense_tiny", dense_tiny())
    datasets = Path(onnxruntime.__file__).parent / "datasets"
    for name, file in WHEEL_MODELS.items():
        (repo / name / "1").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(datasets / file, repo / name / "1" / "model.onnx")

    names = ["simple", "simple_string", "identity_string", "dense_tiny", *WHEEL_MODELS]
    for name in names:
        session = onnxruntime.InferenceSession(str(repo / name / "1" / "model.onnx"),
                                               providers=["CPUExecutionProvider"])
        smoke_test(name, session)
        if not quiet:
            print(f"{name}: {signature(session.get_inputs())} -> {signature(session.get_outputs())}")
    return names


def main(argv: list[str]) -> int:
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__)
        return 0 if len(argv) == 2 else 2
    out = Path(argv[1]) if len(argv) == 2 else DEFAULT_OUT
    make_example_repo(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
