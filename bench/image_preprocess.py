"""Image decode + preprocess microbenchmark: SwerveImage against Pillow + numpy, same images,
same steps, one thread each, in the same run.

The steps are MODELS.md's reference pipeline (steps 1-5) from encoded bytes in memory, as a
server gets them: decode, EXIF orientation, RGB, resize the shorter side to 256 (Pillow's
antialiased bilinear), center crop 224, (v - 127) / 128 as float32, HWC -> CHW. Swerve's side is
`swerve-image-bench` (a release executable of the package: Sources/swerve-image-bench), which
produces the same tensors bit for bit (Tests/SwerveImageTests checks that against Pillow).
The two sides take turns over three rounds and each figure is the median of its rounds.

usage: python -m bench.image_preprocess [--quick] [--binary PATH] [IMAGE...]
       (default images: tests/fixtures/images/{cat.jpg,espresso.png,missile.jpg})
prints JSON on stdout ({"swerve": ..., "pillow": ..., "ratio": ...}) and a table on stderr.
`run(...)` returns the same dict for a caller such as bench/runner.py.
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IMAGES = [PROJECT_ROOT / "tests" / "fixtures" / "images" / name for name in ("cat.jpg", "espresso.png", "missile.jpg")]
PRODUCT = "swerve-image-bench"


def pillow_preprocess(data: bytes) -> np.ndarray:
    """MODELS.md steps 1-5 in Pillow + numpy (16-bit grayscale handling left out: no such sample)."""
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    w, h = im.size
    scale = 256 / min(w, h)
    im = im.resize((round(w * scale), round(h * scale)), Image.BILINEAR)
    w, h = im.size
    left, top = (w - 224) // 2, (h - 224) // 2
    a = (np.asarray(im.crop((left, top, left + 224, top + 224)), dtype=np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def pillow_decode(data: bytes) -> Image.Image:
    return ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")


def measure(inputs: list[bytes], seconds: float, body) -> float:
    """Images per second of `body` over `inputs` in turn, for at least `seconds` (after one warm-up pass)."""
    for data in inputs:
        body(data)
    count, start = 0, time.perf_counter()
    while True:
        for data in inputs:
            body(data)
        count += len(inputs)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed


def measure_pillow(paths: list[Path], seconds: float) -> dict:
    inputs = [p.read_bytes() for p in paths]
    images = []
    for path, data in zip(paths, inputs):
        width, height = pillow_decode(data).size
        rate = measure([data], seconds, pillow_preprocess)
        decode_rate = measure([data], seconds / 2, pillow_decode)
        images.append({"name": path.name, "bytes": len(data), "width": width, "height": height,
                       "images_per_second": rate, "ms_per_image": 1000 / rate, "decode_ms_per_image": 1000 / decode_rate})
    mix = measure(inputs, seconds, pillow_preprocess)
    return {"implementation": "pillow+numpy", "threads": 1, "images": images,
            "all_images_per_second": mix, "all_ms_per_image": 1000 / mix}


def build_binary() -> Path:
    subprocess.run(["swift", "build", "-c", "release", "--product", PRODUCT], cwd=PROJECT_ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    bin_dir = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=PROJECT_ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    return Path(bin_dir) / PRODUCT


def measure_swerve(binary: Path, paths: list[Path], seconds: float) -> dict:
    out = subprocess.run([str(binary), "--seconds", str(seconds), *map(str, paths)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def median_result(rounds: list[dict]) -> dict:
    """One side's figures as the median over rounds (each round a full result of that side)."""
    def med(values):
        return statistics.median(values)
    merged = dict(rounds[0])
    merged["images"] = []
    for i, first in enumerate(rounds[0]["images"]):
        image = dict(first)
        for key, value in first.items():
            if isinstance(value, float):
                image[key] = med([r["images"][i][key] for r in rounds])
        merged["images"].append(image)
    merged["all_images_per_second"] = med([r["all_images_per_second"] for r in rounds])
    merged["all_ms_per_image"] = 1000 / merged["all_images_per_second"]
    merged["rounds_all_images_per_second"] = [r["all_images_per_second"] for r in rounds]
    return merged


def run(paths: list[Path] | None = None, seconds: float = 2.0, binary: Path | None = None, rounds: int = 3) -> dict:
    """Both sides in `rounds` rounds, Swerve then Pillow in each, `seconds / rounds` per figure and
    round; each figure is the median of its rounds, so that a moment of noise on a shared machine
    moves one round of one side, not the result. The ratio is Swerve's images/s over Pillow's."""
    paths = paths or DEFAULT_IMAGES
    binary = binary or build_binary()
    per_round = seconds / rounds
    swerve_rounds, pillow_rounds = [], []
    for _ in range(rounds):
        swerve_rounds.append(measure_swerve(binary, paths, per_round))
        pillow_rounds.append(measure_pillow(paths, per_round))
    swerve, pillow = median_result(swerve_rounds), median_result(pillow_rounds)
    ratio = {s["name"]: s["images_per_second"] / p["images_per_second"] for s, p in zip(swerve["images"], pillow["images"])}
    ratio["all"] = swerve["all_images_per_second"] / pillow["all_images_per_second"]
    return {"swerve": swerve, "pillow": pillow, "ratio": ratio, "seconds_per_point": seconds, "rounds": rounds}


def table(result: dict) -> str:
    lines = [f"{'image':<16} {'size':>9} {'swerve img/s':>13} {'pillow img/s':>13} {'ratio':>6}   decode ms swerve / pillow"]
    for s, p in zip(result["swerve"]["images"], result["pillow"]["images"]):
        lines.append(f"{s['name']:<16} {s['width']:>4}x{s['height']:<4} {s['images_per_second']:>13.0f} "
                     f"{p['images_per_second']:>13.0f} {result['ratio'][s['name']]:>5.2f}x   "
                     f"{s['decode_ms_per_image']:.2f} / {p['decode_ms_per_image']:.2f}")
    lines.append(f"{'all, in turn':<26} {result['swerve']['all_images_per_second']:>13.0f} "
                 f"{result['pillow']['all_images_per_second']:>13.0f} {result['ratio']['all']:>5.2f}x")
    rounds = zip(result["swerve"].get("rounds_all_images_per_second", []), result["pillow"].get("rounds_all_images_per_second", []))
    lines.append("all, in turn, by round (swerve / pillow): " + ", ".join(f"{s:.0f} / {p:.0f}" for s, p in rounds))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="0.5 s per figure (over all rounds) instead of 2 s")
    parser.add_argument("--binary", type=Path, help=f"a built {PRODUCT} (default: swift build -c release)")
    parser.add_argument("images", nargs="*", type=Path)
    args = parser.parse_args()
    result = run(args.images or None, 0.5 if args.quick else 2.0, args.binary)
    print(table(result), file=sys.stderr)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
