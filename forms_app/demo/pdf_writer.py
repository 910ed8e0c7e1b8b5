"""A tiny pure-Python PDF writer (no dependency): just enough of a content stream for the
demo's network map (colours, lines, rectangles, circles, Helvetica text) and a document with
an outline. Deterministic output, so a second demo run can tell a stored file is current.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

_KAPPA = 4 * (math.sqrt(2) - 1) / 3  # control-point distance for a circle from 4 Béziers


def _pdf_string(text: str) -> str:
    """A PDF literal string in WinAnsi/Latin-1 with (, ) and \\ escaped."""
    safe = text.encode("latin-1", errors="replace").decode("latin-1")
    escaped = safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"({escaped})"


class Canvas:
    """Just enough of a PDF content stream: colours, lines, rects, circles, text."""

    def __init__(self) -> None:
        self.ops: list[str] = []

    def _n(self, value: float) -> str:
        return f"{value:.2f}".rstrip("0").rstrip(".")

    def fill(self, r: float, g: float, b: float) -> None:
        self.ops.append(f"{self._n(r)} {self._n(g)} {self._n(b)} rg")

    def stroke(self, r: float, g: float, b: float) -> None:
        self.ops.append(f"{self._n(r)} {self._n(g)} {self._n(b)} RG")

    def line_width(self, width: float) -> None:
        self.ops.append(f"{self._n(width)} w")

    def dash(self, on: float = 0, off: float = 0) -> None:
        self.ops.append(f"[{self._n(on)} {self._n(off)}] 0 d" if on else "[] 0 d")

    def rect(self, x: float, y: float, w: float, h: float, *, paint: str = "f") -> None:
        self.ops.append(f"{self._n(x)} {self._n(y)} {self._n(w)} {self._n(h)} re {paint}")

    def polyline(self, points: list[tuple[float, float]], *, close: bool = False) -> None:
        (x0, y0), rest = points[0], points[1:]
        path = [f"{self._n(x0)} {self._n(y0)} m"]
        path += [f"{self._n(x)} {self._n(y)} l" for x, y in rest]
        path.append("s" if close else "S")
        self.ops.append(" ".join(path))

    def circle(self, cx: float, cy: float, r: float, *, paint: str = "B") -> None:
        k = r * _KAPPA
        n = self._n
        self.ops.append(
            f"{n(cx + r)} {n(cy)} m "
            f"{n(cx + r)} {n(cy + k)} {n(cx + k)} {n(cy + r)} {n(cx)} {n(cy + r)} c "
            f"{n(cx - k)} {n(cy + r)} {n(cx - r)} {n(cy + k)} {n(cx - r)} {n(cy)} c "
            f"{n(cx - r)} {n(cy - k)} {n(cx - k)} {n(cy - r)} {n(cx)} {n(cy - r)} c "
            f"{n(cx + k)} {n(cy - r)} {n(cx + r)} {n(cy - k)} {n(cx + r)} {n(cy)} c {paint}"
        )

    def text(self, x: float, y: float, text: str, *, size: float = 10, bold: bool = False):
        font = "F2" if bold else "F1"
        self.ops.append(
            f"BT /{font} {self._n(size)} Tf {self._n(x)} {self._n(y)} Td {_pdf_string(text)} Tj ET"
        )

    def bytes(self) -> bytes:
        return "\n".join(self.ops).encode("latin-1")


def pdf_document(
    *,
    pages: list[bytes],
    width: float,
    height: float,
    title: str,
    outline: Sequence[tuple[str, int]] = (),
) -> bytes:
    """A valid PDF 1.4: one page per content stream (standard Helvetica fonts,
    compressed), with top-level bookmarks (title, 1-based page) and an xref table."""
    n_out = len(outline)
    first_page = 6 + n_out + (1 if n_out else 0)  # object number of the first page

    def page_ref(number: int) -> int:
        return first_page + 2 * (number - 1)

    kids = " ".join(f"{page_ref(n)} 0 R" for n in range(1, len(pages) + 1))
    catalog = "<< /Type /Catalog /Pages 2 0 R"
    if n_out:
        catalog += " /Outlines 6 0 R /PageMode /UseOutlines"
    objects: list[bytes] = [
        (catalog + " >>").encode(),
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        f"<< /Title {_pdf_string(title)} /Producer (leadgate demo) >>".encode("latin-1"),
    ]
    if n_out:
        objects.append(
            f"<< /Type /Outlines /First 7 0 R /Last {6 + n_out} 0 R /Count {n_out} >>".encode()
        )
        for index, (label, page) in enumerate(outline):
            number = 7 + index
            links = "".join(
                [
                    f" /Prev {number - 1} 0 R" if index > 0 else "",
                    f" /Next {number + 1} 0 R" if index < n_out - 1 else "",
                ]
            )
            objects.append(
                f"<< /Title {_pdf_string(label)} /Parent 6 0 R{links} "
                f"/Dest [{page_ref(page)} 0 R /Fit] >>".encode("latin-1")
            )
    for content in pages:
        stream = zlib.compress(content, 9)
        page_number = len(objects) + 1
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:g} {height:g}] "
                "/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> "
                f"/Contents {page_number + 1} 0 R >>"
            ).encode()
        )
        objects.append(
            f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
            + stream
            + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 5 0 R >>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    ).encode()
    return bytes(out)
