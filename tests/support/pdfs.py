"""PDFs for tests and the PDF benchmark, written with fpdf2 at run time (no binary
fixtures): pages with text, an outline, and optionally a user password."""

from __future__ import annotations

from collections.abc import Sequence


def pdf_bytes(
    pages: int,
    *,
    chapters: Sequence[tuple[str, int]] = (),
    password: str | None = None,
    words: str = "Fibre ring page",
) -> bytes:
    """A PDF of `pages` A4 pages, each saying "<words> <n>" in large type over a few
    shapes; `chapters` are (title, first page) top-level bookmarks."""
    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    starts = dict((page, title) for title, page in chapters)
    for number in range(1, pages + 1):
        pdf.add_page()
        if number in starts:
            pdf.start_section(starts[number], level=0)
        pdf.set_font("helvetica", "B", 28)
        pdf.set_xy(20, 30)
        pdf.cell(0, 12, f"{words} {number}")
        pdf.set_font("helvetica", "", 12)
        pdf.set_xy(20, 50)
        pdf.multi_cell(170, 7, "Points of presence, diverse paths and on-net buildings. " * 6)
        pdf.set_draw_color(0, 114, 126)
        pdf.set_line_width(2)
        pdf.circle(x=60, y=150, radius=40)
        pdf.line(20, 240, 190, 240)
    if password is not None:
        pdf.set_encryption(
            owner_password=password + "-owner",
            user_password=password,
            encryption_method=EncryptionMethod.RC4,
        )
    return bytes(pdf.output())
