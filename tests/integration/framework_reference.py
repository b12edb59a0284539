"""Runs a TorchScript model or a SavedModel in-process with its own framework, for the
integration tests' references (test_frameworks.py).

usage: framework_reference.py torch MODEL.pt INPUT.npy OUTPUT.npy
           (Debian's /usr/bin/python3: python3-torch) forward(input), first result
       framework_reference.py tensorflow SAVEDMODEL_DIR SIGNATURE INPUT_NAME INPUT.npy OUTPUT_NAME OUTPUT.npy
           (.venv-frameworks/bin/python: tensorflow-cpu) the signature called on the input
"""
import os
import sys

import numpy as np


def run_torch(model_path: str, input_path: str, output_path: str) -> None:
    import torch

    module = torch.jit.load(model_path, map_location="cpu").eval()
    with torch.no_grad():
        result = module(torch.from_numpy(np.load(input_path)))
    if isinstance(result, (tuple, list)):
        result = result[0]
    np.save(output_path, result.numpy())


def run_tensorflow(model_dir: str, signature: str, input_name: str, input_path: str,
                   output_name: str, output_path: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    function = tf.saved_model.load(model_dir).signatures[signature]
    result = function(**{input_name: tf.constant(np.load(input_path))})
    np.save(output_path, result[output_name].numpy())


if __name__ == "__main__":
    if sys.argv[1:2] == ["torch"] and len(sys.argv) == 5:
        run_torch(*sys.argv[2:])
    elif sys.argv[1:2] == ["tensorflow"] and len(sys.argv) == 8:
        run_tensorflow(*sys.argv[2:])
    else:
        sys.exit(__doc__)
