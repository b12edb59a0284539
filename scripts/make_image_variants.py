#!/usr/bin/env python3
"""Writes the image test fixtures: every format variant the image pipeline claims, made from the
sample images, and hostile files it must refuse with a clear error. Deterministic (the same bytes
on every run with the same Pillow), well under a second.

usage: make_image_variants.py [IMAGES]     (default IMAGES: tests/fixtures/images under the project root)
needs: pillow, numpy                       (both in the project's .venv)

Reads IMAGES/cat.jpg, IMAGES/espresso.png, IMAGES/missile.jpg (copies of ../shared/models/images) and writes

  IMAGES/variants/   the sample images in other formats; each classifies like its original
                     (cat_* like cat.jpg, espresso_* like espresso.png, missile_* like missile.jpg):
                     cat_progressive.jpg   progressive JPEG
                     cat_cmyk.jpg          CMYK JPEG with an Adobe APP14 marker (inverted values)
                     cat_gray.jpg          grayscale JPEG
                     cat_exif6.jpg         pixels turned 90° counter-clockwise, Orientation 6: displays as cat.jpg
                     missile_exif3.jpg     pixels turned 180°, Orientation 3: displays as missile.jpg
                     espresso_gray.png     8-bit grayscale PNG
                     espresso_gray_alpha.png  grayscale + alpha PNG
                     espresso_palette.png  256-colour palette PNG
                     espresso_palette_trns.png  palette PNG with a tRNS chunk (transparent entries)
                     espresso_palette4.png 16-colour, 4-bit palette PNG
                     espresso_rgba.png     RGBA PNG with varying alpha (RGB = espresso.png)
                     espresso_gray16.png   16-bit grayscale PNG (high byte = espresso_gray.png, low byte 255 - high:
                                           rounding v16 / 257 instead of keeping the high byte gives other values)
                     espresso_rgb16.png    16-bit RGB PNG (high byte = espresso.png, low byte 255 - high)
  IMAGES/decode/     small images for decoder tests only (too small or too degraded to classify):
                     orient_1.jpg … orient_8.jpg   a 64x48 crop of cat.jpg stored for each EXIF Orientation,
                                           all displaying alike; orient_6.png the same with a PNG eXIf chunk
                     interlaced.png        Adam7-interlaced RGB PNG of a 160x120 crop of espresso.png
                     bilevel.png           cat.jpg as a 1-bit grayscale PNG
  IMAGES/hostile/    empty.jpg (0 bytes), truncated.jpg, truncated.png (first half of the file),
                     wrong_magic.jpg (cat.jpg without its FF D8 start), cat.gif (a real GIF),
                     huge_dimensions.png (IHDR declares 100000x100000, valid CRCs, tiny IDAT),
                     huge_dimensions.jpg (SOF declares 60000x60000), corrupt_huffman.jpg (64 bytes of
                     the Huffman-coded scan data scrambled), text.jpg (plain text)
"""
from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IMAGES = PROJECT_ROOT / "tests" / "fixtures" / "images"
QUALITY = 95

# Pillow's exif_transpose method per Orientation, and the transpose that undoes it.
DISPLAY = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}
UNDO = {**DISPLAY, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def stored_for(image: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera would store so that `orientation` displays `image`."""
    return image if orientation == 1 else image.transpose(UNDO[orientation])


def exif_with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_file(width: int, height: int, bit_depth: int, color_type: int, idat: bytes, interlace: int = 0) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def scanlines(rows: np.ndarray) -> bytes:
    """Filter type 0 before every row of an (h, row bytes) uint8 array."""
    return b"".join(b"\x00" + row.tobytes() for row in rows)


def sixteen_bit(samples: np.ndarray) -> np.ndarray:
    """8-bit samples widened to big-endian 16 bits: the high byte the sample, the low byte 255 minus it."""
    return ((samples.astype(np.uint16) << 8) | (255 - samples).astype(np.uint16)).astype(">u2")


def png_16bit(samples: np.ndarray, color_type: int) -> bytes:
    h, w = samples.shape[:2]
    rows = sixteen_bit(samples).reshape(h, -1).view(np.uint8)
    return png_file(w, h, 16, color_type, zlib.compress(scanlines(rows), 9))


def png_adam7(rgb: np.ndarray) -> bytes:
    """An interlaced 8-bit RGB PNG (Pillow cannot write one)."""
    h, w, _ = rgb.shape
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = rgb[y0::dy, x0::dx]
        if sub.size:
            raw += scanlines(sub.reshape(sub.shape[0], -1))
    return png_file(w, h, 8, 2, zlib.compress(raw, 9), interlace=1)


def save(image: Image.Image, path: Path, **options) -> None:
    image.save(path, **options)


def make_variants(images: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cat = Image.open(images / "cat.jpg").convert("RGB")
    missile = Image.open(images / "missile.jpg").convert("RGB")
    espresso = Image.open(images / "espresso.png").convert("RGB")
    espresso_rgb = np.asarray(espresso)

    save(cat, out / "cat_progressive.jpg", quality=QUALITY, progressive=True)
    save(cat.convert("CMYK"), out / "cat_cmyk.jpg", quality=QUALITY)
    save(cat.convert("L"), out / "cat_gray.jpg", quality=QUALITY)
    save(stored_for(cat, 6), out / "cat_exif6.jpg", quality=QUALITY, exif=exif_with_orientation(6))
    save(stored_for(missile, 3), out / "missile_exif3.jpg", quality=QUALITY, exif=exif_with_orientation(3))

    gray = espresso.convert("L")
    save(gray, out / "espresso_gray.png")
    gray_alpha = Image.merge("LA", (gray, Image.linear_gradient("L").resize(gray.size)))
    save(gray_alpha, out / "espresso_gray_alpha.png")
    palette = espresso.quantize(256)
    save(palette, out / "espresso_palette.png")
    save(palette, out / "espresso_palette_trns.png", transparency=bytes([0, 64, 128, 255] * 4))
    save(espresso.quantize(16), out / "espresso_palette4.png", bits=4)
    rgba = espresso.copy()
    rgba.putalpha(Image.linear_gradient("L").rotate(90).resize(espresso.size))
    save(rgba, out / "espresso_rgba.png")
    (out / "espresso_gray16.png").write_bytes(png_16bit(np.asarray(gray), color_type=0))
    (out / "espresso_rgb16.png").write_bytes(png_16bit(espresso_rgb, color_type=2))


def make_decode_only(images: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cat = Image.open(images / "cat.jpg").convert("RGB")
    espresso_rgb = np.asarray(Image.open(images / "espresso.png").convert("RGB"))
    small = cat.crop((200, 60, 264, 108))  # 64x48, asymmetric
    for orientation in range(1, 9):
        save(stored_for(small, orientation), out / f"orient_{orientation}.jpg", quality=QUALITY,
             exif=exif_with_orientation(orientation))
    save(stored_for(small, 6), out / "orient_6.png", exif=exif_with_orientation(6))
    (out / "interlaced.png").write_bytes(png_adam7(espresso_rgb[100:220, 160:320]))
    save(cat.convert("1"), out / "bilevel.png")


def make_hostile(images: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cat = (images / "cat.jpg").read_bytes()
    espresso = (images / "espresso.png").read_bytes()
    (out / "empty.jpg").write_bytes(b"")
    (out / "truncated.jpg").write_bytes(cat[: len(cat) // 2])
    (out / "truncated.png").write_bytes(espresso[: len(espresso) // 2])
    (out / "wrong_magic.jpg").write_bytes(b"\x00\x00" + cat[2:])
    buffer = io.BytesIO()
    Image.open(images / "cat.jpg").resize((32, 21)).save(buffer, "GIF")
    (out / "cat.gif").write_bytes(buffer.getvalue())
    one_row = zlib.compress(b"\x00" + bytes(100_000 * 3), 9)
    (out / "huge_dimensions.png").write_bytes(png_file(100_000, 100_000, 8, 2, one_row))
    (out / "huge_dimensions.jpg").write_bytes(jpeg_with_size(cat, 60_000, 60_000))
    (out / "corrupt_huffman.jpg").write_bytes(corrupt_scan(cat))
    (out / "text.jpg").write_bytes(b"This is not an image: it is text posted as one.\n")


def jpeg_with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its SOF0/SOF2 frame header declaring another size."""
    data = bytearray(jpeg)
    i = 2
    while i + 4 <= len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5:i + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        i += 2 + length
    raise ValueError("no SOF marker")


def corrupt_scan(jpeg: bytes) -> bytes:
    """The JPEG with 64 bytes of its entropy-coded (Huffman) data, 1000 bytes into the scan,
    XORed with 0x55 (skipping bytes that are or would become 0xFF, so no marker appears): the
    decoder loses its place in the bit stream, decodes garbage and finds 67 bytes left over
    before the end marker, which libjpeg reports as corrupt data."""
    data = bytearray(jpeg)
    sos = data.index(b"\xff\xda")
    start = sos + 2 + struct.unpack(">H", data[sos + 2:sos + 4])[0] + 1000
    for i in range(start, start + 64):
        if data[i] != 0xFF and data[i] ^ 0x55 != 0xFF and data[i - 1] != 0xFF:
            data[i] ^= 0x55
    return bytes(data)


def main(images: Path) -> None:
    make_variants(images, images / "variants")
    make_decode_only(images, images / "decode")
    make_hostile(images, images / "hostile")
    print(f"wrote {images / 'variants'}, {images / 'decode'} and {images / 'hostile'}")


if __name__ == "__main__":
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1].startswith("-")):
        sys.exit(__doc__)
    main(Path(sys.argv[1]) if len(sys.argv) == 2 else DEFAULT_IMAGES)
