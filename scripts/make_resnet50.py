#!/usr/bin/env python3
"""Writes a ResNet-50 v1.5 (stride on the 3x3 convolution) with random weights as ONNX, built layer
by layer with onnx.helper: no PyTorch, no download. For speed measurements only.

The weights are deterministic random numbers (He initialisation, seed 50, batch norm folded into
the convolution biases), so the file has the same bytes on every run and the same cost as the real
network: 25.5 M parameters, 4.1 G multiply-adds per 224x224 image. Opset 13, IR 8.
Input `input` FP32 [N,3,224,224], output `output` FP32 [N,1000]; no config.pbtxt, so the server
completes the configuration from the model.

usage: make_resnet50.py OUT_REPOSITORY      (writes OUT_REPOSITORY/resnet50/1/model.onnx, 102 MB)
needs: onnx, numpy (the project's .venv); about 4 s on 2 cores
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 50
STAGES = [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]  # (bottleneck width, blocks, stride)


class GraphBuilder:
    """Collects nodes and initializers; names each node's output after the node's position."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int = 1, relu: bool = True) -> str:
        """A convolution with bias (batch norm folded in), 'same' padding, then ReLU if asked."""
        name = f"conv{len(self.nodes)}"
        w = (self.rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))).astype(np.float32)
        b = (self.rng.standard_normal(cout) * 0.01).astype(np.float32)
        self.initializers += [numpy_helper.from_array(w, name + "_w"), numpy_helper.from_array(b, name + "_b")]
        self.nodes.append(helper.make_node("Conv", [x, name + "_w", name + "_b"], [name], kernel_shape=[k, k],
                                           strides=[stride, stride], pads=[k // 2] * 4))
        if not relu:
            return name
        self.nodes.append(helper.make_node("Relu", [name], [name + "_relu"]))
        return name + "_relu"

    def bottleneck(self, x: str, cin: int, width: int, stride: int) -> tuple[str, int]:
        """1x1 reduce, 3x3 (carrying the stride), 1x1 expand, plus the shortcut, then ReLU."""
        cout = width * 4
        y = self.conv(x, cin, width, 1)
        y = self.conv(y, width, width, 3, stride)
        y = self.conv(y, width, cout, 1, relu=False)
        shortcut = self.conv(x, cin, cout, 1, stride, relu=False) if (stride != 1 or cin != cout) else x
        out = f"add{len(self.nodes)}"
        self.nodes.append(helper.make_node("Add", [y, shortcut], [out]))
        self.nodes.append(helper.make_node("Relu", [out], [out + "_relu"]))
        return out + "_relu", cout

    def classifier(self, x: str, features: int, classes: int) -> str:
        """Global average pooling, flatten and the fully connected layer, into `output`."""
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
        self.nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], axis=1))
        w = (self.rng.standard_normal((classes, features)) * np.sqrt(1.0 / features)).astype(np.float32)
        self.initializers += [numpy_helper.from_array(w, "fc_w"),
                              numpy_helper.from_array(np.zeros(classes, np.float32), "fc_b")]
        self.nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["output"], transB=1))
        return "output"


def build() -> onnx.ModelProto:
    g = GraphBuilder(SEED)
    x = g.conv("input", 3, 64, 7, 2)
    g.nodes.append(helper.make_node("MaxPool", [x], ["pool1"], kernel_shape=[3, 3], strides=[2, 2],
                                    pads=[1, 1, 1, 1]))
    x, channels = "pool1", 64
    for width, blocks, stride in STAGES:
        for i in range(blocks):
            x, channels = g.bottleneck(x, channels, width, stride if i == 0 else 1)
    g.classifier(x, channels, 1000)
    graph = helper.make_graph(
        g.nodes, "resnet50",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 1000])], g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="swerve-models")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1]) / "resnet50" / "1"
    out.mkdir(parents=True, exist_ok=True)
    model = build()
    onnx.save(model, str(out / "model.onnx"))
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"wrote {out / 'model.onnx'} ({params / 1e6:.1f} M parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
