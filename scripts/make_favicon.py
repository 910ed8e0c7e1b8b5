"""Draw the favicon's bitmaps (static/favicon.png, static/favicon.ico) from the same
shapes as static/favicon.svg, with the standard library only (no imaging dependency for
two small files). Run it again after changing the shapes: `python scripts/make_favicon.py`.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
START, END = (0x25, 0x63, 0xEB), (0x7C, 0x3A, 0xED)  # --primary to --social
# The gate in a 32-unit box, as in favicon.svg: a lintel over two posts.
WHITE_RECTS = ((7, 8, 25, 12), (9, 8, 13, 25), (19, 8, 23, 25))
RADIUS = 7
SUPERSAMPLE = 4


def _inside_rounded(x: float, y: float) -> bool:
    cx = min(max(x, RADIUS), 32 - RADIUS)
    cy = min(max(y, RADIUS), 32 - RADIUS)
    return (x - cx) ** 2 + (y - cy) ** 2 <= RADIUS**2


def _pixel(px: int, py: int, scale: float) -> tuple[int, int, int, int]:
    r = g = b = a = 0.0
    n = SUPERSAMPLE * SUPERSAMPLE
    for sy in range(SUPERSAMPLE):
        for sx in range(SUPERSAMPLE):
            x = (px + (sx + 0.5) / SUPERSAMPLE) * scale
            y = (py + (sy + 0.5) / SUPERSAMPLE) * scale
            if not _inside_rounded(x, y):
                continue
            if any(x0 <= x < x1 and y0 <= y < y1 for x0, y0, x1, y1 in WHITE_RECTS):
                colour: tuple[int, ...] = (255, 255, 255)
            else:
                t = (x + y) / 64
                colour = tuple(round(s + (e - s) * t) for s, e in zip(START, END, strict=True))
            r, g, b, a = r + colour[0], g + colour[1], b + colour[2], a + 1
    if not a:
        return (0, 0, 0, 0)
    return (round(r / a), round(g / a), round(b / a), round(255 * a / n))


def png(size: int) -> bytes:
    scale = 32 / size
    rows = b"".join(
        b"\x00" + b"".join(bytes(_pixel(x, y, scale)) for x in range(size)) for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def ico(images: dict[int, bytes]) -> bytes:
    """An ICO holding PNG images (read by every current browser)."""
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for size, data in images.items():
        out += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return out + b"".join(images.values())


def main() -> None:
    (STATIC / "favicon.png").write_bytes(png(32))
    (STATIC / "favicon.ico").write_bytes(ico({16: png(16), 32: png(32)}))


if __name__ == "__main__":
    main()
