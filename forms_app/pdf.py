"""Reading PDFs with PDFium (pypdfium2): checking an upload, its outline, rendering pages.

Plumbing for forms_app/services/pdf.py, which owns the rows and the transactions. PDFium
is not thread-safe, so every use of it in a process goes through one lock (a threaded
test server or worker may call in from two threads; gevent's greenlets cannot switch
inside a C call anyway).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from django.utils.text import slugify

# Page images are this wide (pixels): sharp on a laptop at the viewer's column width,
# light enough to load lazily one by one.
PAGE_IMAGE_WIDTH = 1200
# And a lighter copy for the column as phones and laptops show it (srcset): a 412 px phone
# at 1.75 device pixels per CSS pixel shows the 380 px column with 665 pixels, a laptop
# the 44rem column with 704. The full width is left to screens denser than that.
PAGE_IMAGE_SMALL_WIDTH = 720
# A tiny page (a ticket, a label) is not blown up beyond this many pixels per point.
MAX_SCALE = 4.0
WEBP_QUALITY = 80
# libwebp's effort (0-6). Measured on an A4 page at 1200 px: method 4 (Pillow's default)
# 290 ms and 37.8 KB, method 2 102 ms and 39.2 KB: a third of the time for 4 % more
# bytes. (JPEG: 13 ms but 94 KB; PNG: 129 ms and 85 KB.)
WEBP_METHOD = 2
MAX_PAGE_TEXT = 100_000

PASSWORD_PROTECTED = "This PDF is password-protected: upload a copy without a password."
NOT_A_PDF = "This file is not a readable PDF."

_lock = threading.RLock()


class PdfRefused(ValueError):
    """The upload cannot be read inline; the message says why, for the marketer."""


@dataclass(frozen=True)
class PageSize:
    number: int  # 1-based
    width: int  # of the image we make, pixels
    height: int


@dataclass(frozen=True)
class Chapter:
    key: str
    title: str
    first_page: int
    last_page: int


@dataclass(frozen=True)
class PdfInfo:
    pages: list[PageSize]
    chapters: list[Chapter]


@dataclass(frozen=True)
class RenderedPage:
    number: int
    webp: bytes
    width: int
    height: int
    text: str
    # The PAGE_IMAGE_SMALL_WIDTH copy; empty when the page image is no wider than that.
    small_webp: bytes = b""


def _scale(width_pt: float) -> float:
    return min(PAGE_IMAGE_WIDTH / max(width_pt, 1.0), MAX_SCALE)


@contextmanager
def _opened(data: bytes) -> Iterator[pdfium.PdfDocument]:
    with _lock:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
                raise PdfRefused(PASSWORD_PROTECTED) from None
            raise PdfRefused(NOT_A_PDF) from None
        try:
            yield pdf
        finally:
            pdf.close()


def pdf_inspect(data: bytes, *, max_pages: int) -> PdfInfo:
    """What an upload holds: page sizes and chapters. Cheap (no page is rendered or even
    parsed beyond its size), so the upload request may call it. PdfRefused when it is not
    a PDF, is password-protected, has no page or more than `max_pages`."""
    if b"%PDF-" not in data[:1024]:  # where PDF readers look for the header
        raise PdfRefused(NOT_A_PDF)
    with _opened(data) as pdf:
        count = len(pdf)
        if count == 0:
            raise PdfRefused(NOT_A_PDF)
        if count > max_pages:
            raise PdfRefused(f"This PDF has {count} pages; at most {max_pages} can be read inline.")
        pages = []
        for index in range(count):
            try:
                width_pt, height_pt = pdf.get_page_size(index)
            except pdfium.PdfiumError:
                raise PdfRefused(NOT_A_PDF) from None
            scale = _scale(width_pt)
            pages.append(
                PageSize(
                    number=index + 1,
                    width=max(1, round(width_pt * scale)),
                    height=max(1, round(height_pt * scale)),
                )
            )
        return PdfInfo(pages=pages, chapters=_chapters(pdf, count))


def _chapters(pdf: pdfium.PdfDocument, count: int) -> list[Chapter]:
    """The outline's top-level bookmarks in page order, each running to the page before
    the next one. Bookmarks without a page, or pointing where an earlier one does, are
    left out; pages before the first chapter belong to none."""
    starts: list[tuple[int, str]] = []
    for mark in pdf.get_toc(max_depth=1):
        dest = mark.get_dest()
        index = dest.get_index() if dest is not None else None
        title = " ".join(mark.get_title().split())[:200]
        if index is None or not 0 <= index < count or not title:
            continue
        starts.append((index + 1, title))
    starts.sort(key=lambda s: s[0])
    chapters: list[Chapter] = []
    seen_pages: set[int] = set()
    keys: set[str] = set()
    for position, (first, title) in enumerate(starts):
        if first in seen_pages:
            continue
        seen_pages.add(first)
        base = slugify(title)[:70] or "chapter"
        key, n = base, 2
        while key in keys:
            key, n = f"{base}-{n}", n + 1
        keys.add(key)
        later = [s for s, _ in starts[position + 1 :] if s > first]
        last = (later[0] - 1) if later else count
        chapters.append(Chapter(key=key, title=title, first_page=first, last_page=last))
    return chapters


def pdf_render_pages(data: bytes, numbers: list[int]) -> list[RenderedPage]:
    """Render the given pages (1-based) to WebP at PAGE_IMAGE_WIDTH (and a copy at
    PAGE_IMAGE_SMALL_WIDTH), with their text."""
    from PIL import Image  # Pillow: to_pil() needs it; fail here, clearly

    out: list[RenderedPage] = []
    with _opened(data) as pdf:
        for number in numbers:
            page = pdf[number - 1]
            try:
                width_pt, _ = page.get_size()
                image = page.render(scale=_scale(width_pt)).to_pil()
                buffer = io.BytesIO()
                image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
                small = b""
                if image.width > PAGE_IMAGE_SMALL_WIDTH:
                    height = max(1, round(image.height * PAGE_IMAGE_SMALL_WIDTH / image.width))
                    smaller = image.resize(
                        (PAGE_IMAGE_SMALL_WIDTH, height), Image.Resampling.LANCZOS
                    )
                    small_buffer = io.BytesIO()
                    smaller.save(
                        small_buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD
                    )
                    small = small_buffer.getvalue()
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_bounded()
                finally:
                    textpage.close()
            finally:
                page.close()
            out.append(
                RenderedPage(
                    number=number,
                    webp=buffer.getvalue(),
                    width=image.width,
                    height=image.height,
                    text=page_text_clean(text),
                    small_webp=small,
                )
            )
    return out


def page_text_clean(text: str) -> str:
    """Storable, readable text: no NUL or other control characters but line breaks, no
    lone surrogates, lines joined as a screen reader would read them, capped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch == "\n" or ch == "\t" or ch >= " ")
    text = text.encode("utf-8", errors="ignore").decode("utf-8")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line)[:MAX_PAGE_TEXT]
