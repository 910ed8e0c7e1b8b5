"""What one lead did: their timeline, in words and in data, and their reading per section
and page."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from forms_app.models import Gate, GateFile, Section
from forms_app.reading import DEFAULT_MIN_DWELL_MS, read_threshold_sql
from profiling.models import Event
from profiling.scoring_engine import dwell_text

TIMELINE_LIMIT = 500
VISIT_GAP = timedelta(minutes=30)  # the usual web-analytics session timeout


def _took(ms: int | None) -> str:
    return f" ({dwell_text(ms)})" if ms and ms >= 1000 else ""


def _describe(
    event: Event, titles: dict[tuple[str, int, str], str], duration_ms: int | None
) -> str:
    """One line a salesperson can read: what the person did, with titles, not keys."""
    gate = event.gate
    where = f"“{gate.title}”" if gate else "a deleted gate"
    if event.type == "section_view":
        if event.file_key:
            # A PDF's page: section key "p<N>" of the file.
            title = titles.get(("f", event.gate_id or 0, event.file_key), event.file_key)
            page = event.section_key.removeprefix("p")
            return f"Read page {page} of “{title}” in {where}{_took(duration_ms)}"
        title = titles.get(("s", event.gate_id or 0, event.section_key), event.section_key)
        return f"Read “{title}” in {where}{_took(duration_ms)}"
    if event.type == "download":
        title = titles.get(("f", event.gate_id or 0, event.file_key), event.file_key)
        return f"Downloaded “{title}” from {where}"
    if event.type == "page_view":
        if gate:
            return f"Viewed {where}"
        return f"Viewed {event.name or event.url or 'a page'}"
    if event.type == "form_view":
        return f"Saw the form of {where}"
    return f"Did “{event.name or 'a custom event'}”" + (f" on {where}" if gate else "")


def lead_timeline(*, lead_id: uuid.UUID, limit: int = TIMELINE_LIMIT) -> list[dict[str, Any]]:
    """Newest first: what the person read and downloaded, in words and in data.

    The tracker reports reading time in parts (heartbeats); the reports of one section
    on one device within a visit are one entry, with their summed time (`duration_ms`)
    and their number (`reports`), dated by the newest."""
    events = list(
        Event.objects.filter(lead_id=lead_id)
        .select_related("gate")
        .order_by("-occurred_at", "id")[:limit]
    )
    gate_ids = {e.gate_id for e in events if e.gate_id is not None}
    titles: dict[tuple[str, int, str], str] = {}
    for kind, model in (("s", Section), ("f", GateFile)):
        rows = model.objects.filter(gate_id__in=gate_ids).values_list("gate_id", "key", "title")
        titles.update({(kind, gate_id, key): title for gate_id, key, title in rows})
    entries: list[tuple[Event, dict[str, Any]]] = []
    # (visitor, gate, file, section) -> the entry its older reports join, and its oldest time
    reading: dict[tuple[object, ...], tuple[dict[str, Any], datetime]] = {}
    for e in events:
        if e.type == "section_view":
            key = (e.visitor_id, e.gate_id, e.file_key, e.section_key)
            found = reading.get(key)
            if found is not None and found[1] - e.occurred_at <= VISIT_GAP:
                entry = found[0]
                entry["duration_ms"] = (entry["duration_ms"] or 0) + (e.duration_ms or 0)
                entry["reports"] += 1
                reading[key] = (entry, e.occurred_at)
                continue
        entry = {
            "id": str(e.id),
            "at": e.occurred_at,
            "type": e.type,
            "text": "",
            "gate": e.gate.slug if e.gate else None,
            "section": e.section_key or None,
            "file": e.file_key or None,
            "name": e.name or None,
            "duration_ms": e.duration_ms,
            "reports": 1,
            "url": e.url or None,
            "visitor_id": str(e.visitor_id),
            "source": e.source,
        }
        if e.type == "section_view":
            reading[(e.visitor_id, e.gate_id, e.file_key, e.section_key)] = (entry, e.occurred_at)
        entries.append((e, entry))
    for e, entry in entries:
        entry["text"] = _describe(e, titles, entry["duration_ms"])
    return [entry for _, entry in entries]


def lead_reading(*, lead_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each section (and PDF page) the person spent time on: the summed active time of
    its reports and whether it counts as read (as scoring decides: the threshold of
    forms_app/reading.py, or a report without a duration). Sections in their gate's order, then pages by file and number."""
    threshold = read_threshold_sql(
        f"coalesce(g.min_dwell_ms, {DEFAULT_MIN_DWELL_MS})", "coalesce(s.words, 0)"
    )
    sql = f"""
        SELECT g.slug, d.file_key, d.section_key, d.active_ms,
               d.unmeasured OR d.active_ms >= {threshold}
        FROM (
            SELECT gate_id, file_key, section_key,
                   sum(coalesce(duration_ms, 0))::bigint AS active_ms,
                   bool_or(duration_ms IS NULL) AS unmeasured
            FROM {Event._meta.db_table}
            WHERE lead_id = %s AND type = 'section_view'
            GROUP BY 1, 2, 3
        ) d
        LEFT JOIN {Gate._meta.db_table} g ON g.id = d.gate_id
        LEFT JOIN {Section._meta.db_table} s
            ON s.gate_id = d.gate_id AND s.key = d.section_key AND d.file_key = ''
        ORDER BY g.slug NULLS LAST, d.file_key, s.position NULLS LAST,
                 length(d.section_key), d.section_key
    """  # noqa: S608 (table names and constants only)
    with connection.cursor() as cursor:
        cursor.execute(sql, [lead_id])
        rows = cursor.fetchall()
    return [
        {
            "gate": slug,
            "section": section_key,
            "active_ms": active_ms,
            "read": read,
            "file": file_key or None,
            "page": _page_number(section_key) if file_key else None,
        }
        for slug, file_key, section_key, active_ms, read in rows
    ]


def _page_number(section_key: str) -> int | None:
    digits = section_key.removeprefix("p")
    return int(digits) if digits.isdigit() and len(digits) < 7 else None
