#!/usr/bin/env python3
"""The reference image pipeline (../shared/models/reference_classify.py, MODELS.md steps 1-5) in
Pillow + numpy, as raw bytes on stdout, for SwerveImage's tests to compare against.

usage: image_reference.py decode IMAGE...
           per image: width, height (uint32 LE) and the RGB samples after EXIF orientation and
           conversion to RGB (16-bit samples keep their high byte)
       image_reference.py resize IMAGE WIDTH HEIGHT
           the same after Image.resize((WIDTH, HEIGHT), Image.BILINEAR)
       image_reference.py preprocess IMAGE [RESIZE CROP MEAN STD SCALE]
           the float32 [3, CROP, CROP] tensor (little-endian), defaults 256 224 127 128 255
           (EfficientNet-Lite); MEAN and STD are one number or three separated by commas
needs: pillow, numpy   (the project's .venv)
"""
import struct
import sys

import numpy as np
from PIL import Image, ImageOps


def to_rgb(im: Image.Image) -> Image.Image:
    """As reference_classify.py: 16-bit samples keep their high byte."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        a = np.asarray(im).astype(np.uint32)
        if im.mode == "I" and a.max() <= 255:
            return Image.fromarray(a.astype(np.uint8), "L").convert("RGB")
        return Image.fromarray((a >> 8).astype(np.uint8)).convert("RGB")
    return im.convert("RGB")


def decode(path: str) -> Image.Image:
    return to_rgb(ImageOps.exif_transpose(Image.open(path)))


def rgb_bytes(im: Image.Image) -> bytes:
    return struct.pack("<II", *im.size) + np.asarray(im, dtype=np.uint8).tobytes()


def numbers(text: str) -> np.ndarray:
    values = [float(v) for v in text.split(",")]
    return np.array(values * 3 if len(values) == 1 else values, dtype=np.float32)


def preprocess(path: str, side: int = 256, crop: int = 224, mean: str = "127", std: str = "128",
               scale: float = 255.0) -> np.ndarray:
    im = decode(path)
    w, h = im.size
    factor = side / min(w, h)
    im = im.resize((round(w * factor), round(h * factor)), Image.BILINEAR)
    w, h = im.size
    left, top = (w - crop) // 2, (h - crop) // 2
    im = im.crop((left, top, left + crop, top + crop))
    a = np.asarray(im, dtype=np.float32)
    if scale != 255.0:
        a = a * np.float32(scale) / np.float32(255.0)
    a = (a - numbers(mean)) / numbers(std)
    return a.astype(np.float32).transpose(2, 0, 1)


def main(argv: list[str]) -> None:
    out = sys.stdout.buffer
    if len(argv) >= 2 and argv[0] == "decode":
        for path in argv[1:]:
            out.write(rgb_bytes(decode(path)))
    elif len(argv) == 4 and argv[0] == "resize":
        out.write(rgb_bytes(decode(argv[1]).resize((int(argv[2]), int(argv[3])), Image.BILINEAR)))
    elif len(argv) in (2, 7) and argv[0] == "preprocess":
        options = argv[2:]
        tensor = preprocess(argv[1], *([int(options[0]), int(options[1]), options[2], options[3], float(options[4])]
                                      if options else []))
        out.write(np.ascontiguousarray(tensor, dtype="<f4").tobytes())
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
