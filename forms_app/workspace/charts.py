"""Server-rendered SVG charts: pictures that need no JavaScript and no chart library.

Each function returns safe markup (labels escaped) with role="img" and a text
alternative; the numbers are also on the page as a table and as CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

GRADE_COLOURS = {"cold": "#94a3b8", "warm": "#f59e0b", "hot": "#dc2626"}
PRIMARY = "#2563eb"
SOCIAL = "#7c3aed"
MUTED = "#64748b"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


def _num(n: float) -> str:
    return f"{n:,.0f}"


def _pct(r: float | None) -> str:
    return "\u2013" if r is None else f"{r * 100:.1f}%" if r < 0.1 else f"{r * 100:.0f}%"


def _svg(width: int, height: int, label: str, body: str) -> SafeString:
    return mark_safe(  # noqa: S308 - every interpolated text is escaped above
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(label)}" class="ws-chart" {FONT}>'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def funnel(steps: Sequence[tuple[str, int, float | None]], *, width: int = 560) -> SafeString:
    """Horizontal bars, widest first: (label, count, conversion from previous step)."""
    row, gap, left, right = 30, 10, 108, 170
    height = len(steps) * (row + gap) + 4
    top = max((c for _, c, _ in steps), default=0) or 1
    span = width - left - right
    parts = []
    colours = [PRIMARY, PRIMARY, PRIMARY, GRADE_COLOURS["warm"], GRADE_COLOURS["hot"]]
    for i, (label, count, conv) in enumerate(steps):
        y = i * (row + gap)
        w = max(2.0, span * count / top)
        x = left + (span - w) / 2
        colour = colours[i] if i < len(colours) else PRIMARY
        parts.append(
            f'<text x="{left - 10}" y="{y + row / 2 + 5}" text-anchor="end" font-size="14" fill="#0f172a">{escape(label)}</text>'
            f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row}" rx="5" fill="{colour}" />'
            f'<text x="{width - right + 10}" y="{y + row / 2 + 5}" font-size="15" font-weight="600" fill="#0f172a">{_num(count)}</text>'
        )
        if i > 0:
            parts.append(
                f'<text x="{width - 8}" y="{y + row / 2 + 5}" text-anchor="end" font-size="12" fill="{MUTED}">{_pct(conv)} of previous</text>'
            )
    text = ", ".join(f"{label} {count}" for label, count, _ in steps)
    return _svg(width, height, f"Funnel: {text}", "".join(parts))


def hbars(
    rows: Sequence[tuple[str, int, bool]], *, width: int = 400, unit: str = "leads"
) -> SafeString:
    """Horizontal bars (label, value, highlighted); highlighted bars are social media."""
    row, gap, left, right = 22, 7, 104, 44
    height = max(1, len(rows)) * (row + gap) + 4
    top = max((v for _, v, _ in rows), default=0) or 1
    parts = []
    for i, (label, value, social) in enumerate(rows):
        y = i * (row + gap)
        w = max(2.0, (width - left - right) * value / top)
        short = label if len(label) <= 16 else label[:15] + "…"
        parts.append(
            f'<text x="{left - 8}" y="{y + row / 2 + 5}" text-anchor="end" font-size="13" fill="#0f172a">{escape(short)}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row}" rx="4" fill="{SOCIAL if social else PRIMARY}" />'
            f'<text x="{left + w + 6:.1f}" y="{y + row / 2 + 5}" font-size="13" fill="#0f172a">{_num(value)}</text>'
        )
    if not rows:
        parts.append(
            f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13" fill="{MUTED}">No leads in this range yet</text>'
        )
    text = ", ".join(f"{label} {value} {unit}" for label, value, _ in rows)
    return _svg(width, height, f"Leads by source: {text}" if rows else "No leads", "".join(parts))


def share_ring(share: float | None, *, label: str, size: int = 132) -> SafeString:
    """A ring showing one share (0..1) with the percentage in the middle."""
    r = size / 2 - 10
    circ = 2 * 3.14159265 * r
    filled = circ * (share or 0)
    c = size / 2
    body = (
        f'<circle cx="{c}" cy="{c}" r="{r}" fill="none" stroke="#e2e8f0" stroke-width="14" />'
        f'<circle cx="{c}" cy="{c}" r="{r}" fill="none" stroke="{SOCIAL}" stroke-width="14" '
        f'stroke-dasharray="{filled:.1f} {circ:.1f}" transform="rotate(-90 {c} {c})" stroke-linecap="butt" />'
        f'<text x="{c}" y="{c + 8}" text-anchor="middle" font-size="24" font-weight="700" fill="#0f172a">{_pct(share)}</text>'
    )
    return _svg(size, size, f"{label}: {_pct(share)}", body)


def stacked_columns(
    buckets: Sequence[tuple[datetime, int, int, int]],
    *,
    unit: str,
    width: int = 1100,
    height: int = 240,
) -> SafeString:
    """New leads per day/week, stacked cold/warm/hot (best grade reached)."""
    left, bottom, top_pad = 36, 26, 10
    plot_h = height - bottom - top_pad
    plot_w = width - left - 8
    n = max(1, len(buckets))
    slot = plot_w / n
    bar = max(2.0, min(28.0, slot * 0.7))
    peak = max((c + w + h for _, c, w, h in buckets), default=0) or 1
    parts = [
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 8}" y2="{top_pad + plot_h}" stroke="#cbd5e1" />',
        f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end" font-size="11" fill="{MUTED}">{_num(peak)}</text>',
        f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end" font-size="11" fill="{MUTED}">0</text>',
    ]
    every = max(1, n // 12)
    for i, (start, cold, warm, hot) in enumerate(buckets):
        x = left + i * slot + (slot - bar) / 2
        y: float = top_pad + plot_h
        for value, grade in ((cold, "cold"), (warm, "warm"), (hot, "hot")):
            h = plot_h * value / peak
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{GRADE_COLOURS[grade]}">'
                    f"<title>{escape(start.strftime('%d %b'))}: {value} {grade}</title></rect>"
                )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 8}" text-anchor="middle" font-size="12" fill="{MUTED}">{escape(start.strftime("%d %b"))}</text>'
            )
    if not buckets:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="13" fill="{MUTED}">No leads in this range yet</text>'
        )
    total = sum(c + w + h for _, c, w, h in buckets)
    return _svg(
        width,
        height,
        f"New leads per {unit} by best grade reached ({total} in all)",
        "".join(parts),
    )


def dropoff(
    rows: Sequence[tuple[str, int, float | None, float | None]],
    *,
    label: str,
    width: int = 1000,
) -> SafeString:
    """One bar per section or page, in reading order: (label, readers, reached share,
    read share), both shares of the gate's visitors. The light bar is who reached it,
    the dark one inside it who read it; the widths fall as readers drop off."""
    row, gap, left, right = 22, 7, 300, 130
    height = max(1, len(rows)) * (row + gap) + 4
    span = width - left - right
    parts = []
    for i, (name, readers, reach, read) in enumerate(rows):
        y = i * (row + gap)
        short = name if len(name) <= 40 else name[:39] + "…"
        reach_w = span * (reach or 0)
        read_w = span * (read or 0)
        parts.append(
            f'<text x="{left - 8}" y="{y + row / 2 + 5}" text-anchor="end" font-size="13" fill="#0f172a">{escape(short)}</text>'
            f'<rect x="{left}" y="{y}" width="{span}" height="{row}" rx="4" fill="#f1f5f9" />'
            f'<rect x="{left}" y="{y}" width="{max(reach_w, 2.0 if readers else 0):.1f}" height="{row}" rx="4" fill="#93c5fd" />'
            f'<rect x="{left}" y="{y + 5}" width="{read_w:.1f}" height="{row - 10}" rx="2" fill="{PRIMARY}" />'
            f'<text x="{left + span + 8}" y="{y + row / 2 + 5}" font-size="13" fill="#0f172a">{_pct(reach)} · {_num(readers)}</text>'
        )
    if not rows:
        parts.append(
            f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13" fill="{MUTED}">Nothing to show yet</text>'
        )
    text = "; ".join(
        f"{name}: {_pct(reach)} reached ({readers} reader{'s' if readers != 1 else ''}), {_pct(read)} read"
        for name, readers, reach, read in rows
    )
    return _svg(
        width, height, f"{label}: {text}" if rows else f"{label}: no readers", "".join(parts)
    )
