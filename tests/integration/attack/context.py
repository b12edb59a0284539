"""The fixed material the generators draw from: the server's limits, the models, the fixture
images and the bombs (computed once, the same bytes every run)."""
from __future__ import annotations

import functools
import gzip
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"

MAX_REQUEST_SIZE = 1 << 20  # --max-request-size of the attacked server
GRPC_MAX_MESSAGE_SIZE = 1 << 20  # --grpc-max-message-size of the attacked server
IMAGE_MODEL = "efficientnet_lite0"  # the classifier of scripts/make_classifier.py
# Models that hostile management calls may unload, reload or fail to reload: the good requests
# never use them (they use `simple` and the classifier).
VICTIMS = ("mul_1", "sigmoid", "logreg_iris", "identity_int8", "identity_uint16")


def png(width: int, height: int, rows: int | None = None, color_type: int = 0) -> bytes:
    """A PNG declaring width × height 8-bit pixels (grey, or RGB for color_type 2) whose image data
    holds `rows` zero rows (all of them when None)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    count = height if rows is None else rows
    row = b"\x00" * (1 + width * (3 if color_type == 2 else 1)) if count else b""
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(count)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


@dataclass(frozen=True)
class Context:
    """Everything a generator needs besides its random numbers."""

    samples: dict  # fixture image name -> bytes (cat.jpg, espresso.png, missile.jpg)
    accept_top1: dict  # fixture image name -> labels accepted as its top-1
    hostile_images: dict  # tests/fixtures/images/hostile name -> bytes
    bombs: dict  # name -> (bytes, Content-Encoding): bodies that inflate far past MAX_REQUEST_SIZE
    image_bombs: dict  # name -> bytes: images declaring more pixels than the decoder's limit
    big_image: bytes  # a valid 6000×6000 PNG (36 MP, under the 40 MP limit): costly, legal


@functools.lru_cache(maxsize=1)
def context() -> Context:
    expected = json.loads((IMAGES / "expected.json").read_text())
    zeros = b"\x00" * (32 * MAX_REQUEST_SIZE)
    inner = gzip.compress(zeros, 9, mtime=0)
    bombs = {"gzip": (gzip.compress(zeros, 9, mtime=0), "gzip"),
             "deflate": (zlib.compress(zeros, 9), "deflate"),
             "gzip, gzip": (gzip.compress(inner, 9, mtime=0), "gzip, gzip"),
             "json gzip": (gzip.compress(b'{"inputs":[' + b" " * (4 * MAX_REQUEST_SIZE) + b"]}", 9, mtime=0), "gzip")}
    image_bombs = {"png 100000x100000": png(100000, 100000, rows=4),
                   "png 65535x65535 rgb": png(65535, 65535, rows=2, color_type=2),
                   "png 2^31-1 x 1": png(2**31 - 1, 1, rows=0),
                   "png 8000x8000 (64 MP)": png(8000, 8000, rows=16)}
    return Context(
        samples={name: (IMAGES / name).read_bytes() for name in sorted(expected)},
        accept_top1={name: tuple(entry["accept_top1"]) for name, entry in expected.items()},
        hostile_images={p.name: p.read_bytes() for p in sorted((IMAGES / "hostile").iterdir())},
        bombs=bombs, image_bombs=image_bombs, big_image=png(6000, 6000))
