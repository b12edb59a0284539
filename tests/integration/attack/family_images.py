"""Corrupt and bomb images to the classifier over TorchServe (POST, PUT), TF Serving (b64) and
KServe v2 (a binary BYTES tensor).

The hostile fixtures (tests/fixtures/images/hostile), images with a broken signature and images
declaring more pixels than the decoder's limit are a 400 with the listener's error body. A sample
image cut short or with bytes flipped may still decode (libjpeg and libpng recover from much), so
it gets any answer but a 5xx; so does a legal 36-megapixel PNG, costly to decode."""
from __future__ import annotations

import base64
import random
import struct

from .cases import LENIENT, Input, error
from .context import IMAGE_MODEL, context
from .http_bytes import json_bytes, post_json, request

FAMILY = "images"


def image_case(rng: random.Random) -> tuple[bytes, str, object]:
    ctx = context()
    kind = rng.choices(["hostile", "bomb", "signature", "truncated", "flipped", "big"], [3, 2, 2, 2, 2, 0.05])[0]
    if kind == "hostile":
        name = rng.choice(sorted(ctx.hostile_images))
        return ctx.hostile_images[name], f"hostile fixture {name}", error(400)
    if kind == "bomb":
        name = rng.choice(sorted(ctx.image_bombs))
        return ctx.image_bombs[name], name, error(400)
    name = rng.choice(sorted(ctx.samples))
    data = ctx.samples[name]
    if kind == "signature":
        return rng.randbytes(4) + data[4:], f"{name} with a random signature", error(400)
    if kind == "truncated":
        cut = rng.randrange(0, len(data))
        return data[:cut], f"{name} cut at {cut}", LENIENT
    if kind == "flipped":
        flipped = bytearray(data)
        for _ in range(rng.randrange(1, 20)):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        return bytes(flipped), f"{name} with bytes overwritten", LENIENT
    return ctx.big_image, "6000×6000 PNG", LENIENT


def generate(rng: random.Random, index: int) -> Input:
    image, description, expect = image_case(rng)
    route = rng.choices(["torchserve POST", "torchserve PUT", "tfserving", "kserve"], [4, 1, 1, 1])[0]
    if route.startswith("torchserve"):
        listener, data = "torchserve", request(route.split()[1], f"/predictions/{IMAGE_MODEL}", body=image)
    elif route == "tfserving":
        listener = "tfserving"
        data = post_json(f"/v1/models/{IMAGE_MODEL}:predict", {"instances": [{"b64": base64.b64encode(image).decode()}]})
    else:
        listener = "http"
        element = struct.pack("<I", len(image)) + image
        header = json_bytes({"inputs": [{"name": "input", "shape": [1], "datatype": "BYTES",
                                         "parameters": {"binary_data_size": len(element)}}]})
        data = request("POST", f"/v2/models/{IMAGE_MODEL}/infer", [("Inference-Header-Content-Length", len(header))],
                       header + element)
    return Input(index, FAMILY, listener, "http", data, expect, f"{route}: {description}")
