"""Small formatting filters for the workspace templates."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()
DASH = "\u2013"  # shown for "no value"


@register.filter
def pct(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value * 100:.1f}%" if value < 0.1 else f"{value * 100:.0f}%"


@register.filter
def duration(seconds: float | None) -> str:
    """3725 -> "1 h 2 min"; None -> DASH."""
    if seconds is None:
        return DASH
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 and s < 600 else f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


@register.filter
def ms(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


@register.filter
def money(value: object) -> str:
    return DASH if value is None else f"{value:,}"


@register.filter
def arrow(move: str) -> str:
    """ "cold->warm" -> "cold → warm"."""
    return move.replace("->", " → ")


@register.filter
def reason_text(reason: str) -> str:
    """A reason without its rule detail: "read 4 of 6 sections [Read: +40]" -> "read 4 of 6 sections"."""
    text, sep, _ = str(reason).rpartition(" [")
    return text if sep else str(reason)


@register.filter
def reason_detail(reason: str) -> str:
    """The rule and points of a reason ("Read: +40"), or ""."""
    _, sep, detail = str(reason).rpartition(" [")
    return detail.rstrip("]") if sep else ""


@register.filter
def ago(value: datetime | None) -> str:
    """How long ago, in words: "just now" under a minute, else "3 hours ago"."""
    if value is None:
        return DASH
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"


@register.filter
def duration_ms(value: float | None) -> str:
    """Milliseconds in words: 65000 -> "1 min 5 s"; None -> DASH."""
    return DASH if value is None else duration(value / 1000)
