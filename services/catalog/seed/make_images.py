#!/usr/bin/env python3
"""Regenerate the demo product images in seed/images from seed/catalog.json.

Writes one 256x256 RGB PNG per product, named <slug>.png: a flat background in
the product's category colour (shaded slightly per product) with a centred
shape (circle, rounded rectangle or diamond, chosen by the product's index
within its category) in a lighter or darker tone. Uses only the Python 3
standard library (zlib + struct). Output is deterministic: running it again
produces byte-identical files.

Usage: python3 make_images.py
"""

import json
import struct
import zlib
from pathlib import Path

SIZE = 256
SEED_DIR = Path(__file__).resolve().parent
CATALOG = SEED_DIR / "catalog.json"
IMAGES = SEED_DIR / "images"
MAX_BYTES = 20 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Base background colour per category slug.
CATEGORY_COLOURS = {
    "flower": (46, 125, 50),  # green
    "pre-rolls": (196, 164, 120),  # tan
    "vapes": (84, 110, 142),  # slate blue
    "concentrates": (214, 150, 30),  # amber
    "edibles": (226, 120, 160),  # pink
    "tinctures": (112, 72, 160),  # purple
    "topicals": (0, 137, 123),  # teal
    "accessories": (117, 117, 117),  # grey
}

SHAPES = ("circle", "rounded_rect", "diamond")


def clamp(v):
    return max(0, min(255, int(round(v))))


def shade(rgb, factor):
    """factor > 0 mixes toward white, < 0 toward black."""
    if factor >= 0:
        return tuple(clamp(c + (255 - c) * factor) for c in rgb)
    return tuple(clamp(c * (1 + factor)) for c in rgb)


def inside(shape, x, y, half):
    """Is pixel centre (x, y), relative to the image centre, inside the shape?"""
    if shape == "circle":
        return x * x + y * y <= half * half
    if shape == "diamond":
        return abs(x) + abs(y) <= half
    # rounded rectangle: square of half-width `half`, corner radius r
    r = half * 0.3
    ax, ay = abs(x), abs(y)
    if ax > half or ay > half:
        return False
    cx, cy = ax - (half - r), ay - (half - r)
    if cx > 0 and cy > 0:
        return cx * cx + cy * cy <= r * r
    return True


def render(bg, fg, shape, half):
    rows = []
    c = (SIZE - 1) / 2.0
    bg_px = bytes(bg)
    fg_px = bytes(fg)
    for j in range(SIZE):
        row = bytearray(b"\x00")  # filter type 0 (None)
        y = j - c
        for i in range(SIZE):
            row += fg_px if inside(shape, i - c, y, half) else bg_px
        rows.append(bytes(row))
    return b"".join(rows)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_bytes(raw):
    ihdr = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main():
    catalog = json.loads(CATALOG.read_text(encoding="utf-8"))
    IMAGES.mkdir(parents=True, exist_ok=True)
    per_category = {}
    for product in catalog["products"]:
        cat = product["category"]
        idx = per_category.get(cat, 0)
        per_category[cat] = idx + 1

        # Vary the background a little within the category, then pick a
        # shape, its size and whether it is lighter or darker than the bg.
        bg = shade(CATEGORY_COLOURS[cat], (idx - 2) * 0.08)
        shape = SHAPES[idx % len(SHAPES)]
        fg = shade(bg, 0.45) if idx % 2 == 0 else shade(bg, -0.35)
        half = 64 + (idx * 11) % 33

        data = png_bytes(render(bg, fg, shape, half))
        assert data.startswith(PNG_SIGNATURE)
        assert len(data) < MAX_BYTES, (product["slug"], len(data))
        (IMAGES / product["image"]).write_bytes(data)
        print(f"{product['image']}: {shape}, {len(data)} bytes")


if __name__ == "__main__":
    main()
