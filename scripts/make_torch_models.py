#!/usr/bin/python3
"""Writes TorchScript test models for Swerve's pytorch_libtorch backend, each in Triton's layout
with the input it is tested on and the output torch gives for it in this process:

    OUT/<name>/config.pbtxt
    OUT/<name>/1/model.pt
    OUT/<name>/input__<i>.npy      one per input, in config order
    OUT/<name>/expected__<i>.npy   one per output, in config order

Run it with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14); the served
runtime is the newer libtorch of the torch wheel, which loads these files.

    /usr/bin/python3 scripts/make_torch_models.py OUT [NAME ...]

Models (all of them when no NAME is given):
    dense         Linear(16, 8) then ReLU, traced: INPUT__0 FP32 [-1, 16] -> OUTPUT__0 [-1, 8],
                  max_batch_size 8.
    two_io        forward(a, b) -> (a - b, a * b + 1), scripted; the config names the inputs by
                  forward's argument names, listed b before a, and the outputs OUTPUT__1 before
                  OUTPUT__0, so both naming rules and positions are exercised.
    int64         forward(x) -> x * 3 + 1, scripted, INT64 [-1, 4]; config names "tokens" and
                  "scores" follow neither convention, so they map in config order.
    identity      forward(x) -> x, scripted, for any element type; its config (FP32 [-1, 4])
                  is an example: tests write their own for each type.
    inplace       forward(x) -> x * 2 after adding 1 to x[0] in place, scripted: writes to its
                  input through a view.
    list_out      forward(x) -> [x + 1, x * 2], scripted: returns List[Tensor].
    dict_out      forward(x) -> {"y": x}, scripted: returns Dict[str, Tensor], which cannot be served.
    resnet50      torchvision.models.resnet50() with random weights (seed 0), traced on CPU:
                  INPUT__0 FP32 [-1, 3, 224, 224] -> OUTPUT__0 [-1, 1000], max_batch_size 8
                  (about 100 MB).
    resnet50_onnx the same network with the same weights and input as resnet50 (built the same
                  way, seed 0), exported to ONNX by torch.onnx.export (opset 17, the batch
                  dimension dynamic) into OUT/resnet50_onnx/1/model.onnx with a config.pbtxt
                  (platform onnxruntime_onnx, the same names, dims and max_batch_size as
                  resnet50's) and the same input__0.npy / expected__0.npy (torch's output): the
                  benchmark serves it beside the TorchScript file (about 100 MB, 20 s).

Each model is written once: a folder whose `stamp` file matches this script is left as it is.
"""
import hashlib
import os
import sys

from typing import Dict, List

import numpy as np
import torch

SCRIPT_HASH = hashlib.sha256(open(__file__, "rb").read()).hexdigest()


def tensor_config(name, data_type, dims):
    return f'  {{ name: "{name}" data_type: {data_type} dims: [ {", ".join(str(d) for d in dims)} ] }}'


def write(out, name, module, arguments, config_inputs, config_outputs, max_batch_size):
    """Saves `module` called on `arguments` (forward's order), its config, and one .npy per
    config input and output.

    `config_inputs` are (name, TYPE_*, dims, argument index) and `config_outputs` (name, TYPE_*,
    dims, index in forward's result), both in config order.
    """
    folder = os.path.join(out, name)
    stamp_path = os.path.join(folder, "stamp")
    if os.path.exists(stamp_path) and open(stamp_path).read() == SCRIPT_HASH:
        return
    os.makedirs(os.path.join(folder, "1"), exist_ok=True)
    module.save(os.path.join(folder, "1", "model.pt"))
    # Saved before the run, which may write to its inputs (the inplace model does).
    for index, (_, _, _, argument) in enumerate(config_inputs):
        np.save(os.path.join(folder, f"input__{index}.npy"), arguments[argument].numpy())
    with torch.no_grad():
        result = module(*arguments)
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    for index, (_, _, _, position) in enumerate(config_outputs):
        np.save(os.path.join(folder, f"expected__{index}.npy"), outputs[position].numpy())
    lines = ['platform: "pytorch_libtorch"', f"max_batch_size: {max_batch_size}", "input ["]
    lines.append(",\n".join(tensor_config(*entry[:3]) for entry in config_inputs))
    lines += ["]", "output ["]
    lines.append(",\n".join(tensor_config(*entry[:3]) for entry in config_outputs))
    lines.append("]")
    with open(os.path.join(folder, "config.pbtxt"), "w") as config:
        config.write("\n".join(lines) + "\n")
    with open(stamp_path, "w") as stamp:
        stamp.write(SCRIPT_HASH)


class TwoIO(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor):
        return a - b, a * b + 1


class Identity(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class InPlace(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x[0].add_(1)  # through a view of the first row
        return x * 2


class ListOut(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        return [x + 1, x * 2]


class DictOut(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"y": x}


class Int64Model(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 3 + 1


def make_dense(out):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU()).eval()
    x = torch.randn(2, 16)
    traced = torch.jit.trace(model, (x,))
    write(out, "dense", traced, [x], [("INPUT__0", "TYPE_FP32", [16], 0)], [("OUTPUT__0", "TYPE_FP32", [8], 0)], 8)


def make_two_io(out):
    torch.manual_seed(2)
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    scripted = torch.jit.script(TwoIO())
    write(out, "two_io", scripted, [a, b],
          [("b", "TYPE_FP32", [4], 1), ("a", "TYPE_FP32", [4], 0)],
          [("OUTPUT__1", "TYPE_FP32", [4], 1), ("OUTPUT__0", "TYPE_FP32", [4], 0)], 8)


def make_int64(out):
    x = torch.arange(-4, 8, dtype=torch.int64).reshape(3, 4) * 1_000_000_007
    scripted = torch.jit.script(Int64Model())
    write(out, "int64", scripted, [x], [("tokens", "TYPE_INT64", [4], 0)], [("scores", "TYPE_INT64", [4], 0)], 8)


def make_small(out, name, module, config_outputs):
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4
    scripted = torch.jit.script(module)
    write(out, name, scripted, [x], [("INPUT__0", "TYPE_FP32", [4], 0)], config_outputs, 8)


def make_identity(out):
    make_small(out, "identity", Identity(), [("OUTPUT__0", "TYPE_FP32", [4], 0)])


def make_inplace(out):
    make_small(out, "inplace", InPlace(), [("OUTPUT__0", "TYPE_FP32", [4], 0)])


def make_list_out(out):
    make_small(out, "list_out", ListOut(), [("OUTPUT__0", "TYPE_FP32", [4], 0), ("OUTPUT__1", "TYPE_FP32", [4], 1)])


def make_dict_out(out):
    folder = os.path.join(out, "dict_out", "1")
    os.makedirs(folder, exist_ok=True)
    torch.jit.script(DictOut()).save(os.path.join(folder, "model.pt"))


def resnet50_and_input():
    """torchvision's ResNet-50 with the random weights of seed 0, in eval mode, and the input the
    references are computed on (drawn after the weights, from the same seed)."""
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet50().eval()
    x = torch.randn(1, 3, 224, 224)
    return model, x


def make_resnet50(out):
    model, x = resnet50_and_input()
    with torch.no_grad():
        traced = torch.jit.trace(model, (x,))
    write(out, "resnet50", traced, [x], [("INPUT__0", "TYPE_FP32", [3, 224, 224], 0)],
          [("OUTPUT__0", "TYPE_FP32", [1000], 0)], 8)


def make_resnet50_onnx(out):
    folder = os.path.join(out, "resnet50_onnx")
    stamp_path = os.path.join(folder, "stamp")
    if os.path.exists(stamp_path) and open(stamp_path).read() == SCRIPT_HASH:
        return
    model, x = resnet50_and_input()
    os.makedirs(os.path.join(folder, "1"), exist_ok=True)
    with torch.no_grad():
        expected = model(x)
        torch.onnx.export(model, (x,), os.path.join(folder, "1", "model.onnx"), input_names=["INPUT__0"],
                          output_names=["OUTPUT__0"], dynamic_axes={"INPUT__0": {0: "batch"}, "OUTPUT__0": {0: "batch"}},
                          opset_version=17, do_constant_folding=True)
    np.save(os.path.join(folder, "input__0.npy"), x.numpy())
    np.save(os.path.join(folder, "expected__0.npy"), expected.numpy())
    lines = ['platform: "onnxruntime_onnx"', "max_batch_size: 8", "input [",
             tensor_config("INPUT__0", "TYPE_FP32", [3, 224, 224]), "]", "output [",
             tensor_config("OUTPUT__0", "TYPE_FP32", [1000]), "]"]
    with open(os.path.join(folder, "config.pbtxt"), "w") as config:
        config.write("\n".join(lines) + "\n")
    with open(stamp_path, "w") as stamp:
        stamp.write(SCRIPT_HASH)


MAKERS = {
    "dense": make_dense, "two_io": make_two_io, "int64": make_int64, "identity": make_identity,
    "inplace": make_inplace, "list_out": make_list_out, "dict_out": make_dict_out, "resnet50": make_resnet50,
    "resnet50_onnx": make_resnet50_onnx,
}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    names = sys.argv[2:] or list(MAKERS)
    unknown = [name for name in names if name not in MAKERS]
    if unknown:
        sys.exit(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MAKERS)}")
    # The reference outputs are computed the same way whatever the machine: one thread.
    torch.set_num_threads(1)
    for name in names:
        MAKERS[name](out)


if __name__ == "__main__":
    main()
