"""Event ingest: validate a batch, make it durable in one statement, nudge scoring.

The contract says the answer is sent only after the events are durable, and that an
event id seen before changes nothing. Both live in the database: one multi-row INSERT
... ON CONFLICT (id) DO NOTHING RETURNING id tells us exactly which ids were new.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from forms_app.models import Gate
from profiling.models import Event, EventType
from profiling.queue import enqueue_after_commit

PUBLIC_EVENT_TYPES = frozenset(
    {EventType.PAGE_VIEW, EventType.SECTION_VIEW, EventType.DOWNLOAD, EventType.FORM_VIEW}
)
MAX_EVENT_AGE = timedelta(days=7)
MAX_DURATION_MS = 24 * 3600 * 1000
MAX_URL = 2000


@dataclass(frozen=True)
class GateKeys:
    id: int
    slug: str
    allowed_origins: tuple[str, ...]
    sections: frozenset[str]
    files: frozenset[str]


@dataclass(frozen=True)
class NewEvent:
    id: uuid.UUID
    type: str
    gate_id: int | None
    section_key: str = ""
    file_key: str = ""
    duration_ms: int | None = None
    occurred_at: datetime | None = None
    url: str = ""
    name: str = ""


@dataclass
class ParsedBatch:
    events: list[NewEvent] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    gates: dict[str, GateKeys] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    lead_id: uuid.UUID | None


def gate_keys_load(slugs: set[str]) -> dict[str, GateKeys]:
    """Active gates by slug with their section and file keys (two queries)."""
    gates = {
        g.slug: g
        for g in Gate.objects.filter(slug__in=slugs, is_active=True).prefetch_related(
            "sections", "files"
        )
    }
    return {
        slug: GateKeys(
            id=g.id,
            slug=slug,
            allowed_origins=tuple(g.allowed_origins or ()),
            sections=frozenset(s.key for s in g.sections.all()),
            files=frozenset(f.key for f in g.files.all()),
        )
        for slug, g in gates.items()
    }


def parse_uuid(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


def occurred_at_correct(
    *, occurred: datetime | None, sent_at: datetime | None, received: datetime
) -> datetime:
    """Correct for the client's clock skew, then clamp into [received - 7 days, received].

    Segment's rule: timestamp = received - (sent_at - occurred). Without sent_at we
    trust the client's clock but never let an event land in the future.
    """
    if occurred is None:
        return received
    if sent_at is not None:
        try:
            occurred = occurred + (received - sent_at)
        except OverflowError:
            # Absurd client clocks (year 1 vs 9999): the clamp below decides.
            occurred = received - MAX_EVENT_AGE if sent_at > received else received
    return min(max(occurred, received - MAX_EVENT_AGE), received)


def events_parse(payload: Any, *, received: datetime) -> tuple[uuid.UUID | None, ParsedBatch]:
    """Validate a public events body. Errors are keyed by event index ("events.3.type")."""
    batch = ParsedBatch()
    if not isinstance(payload, dict):
        batch.errors["__all__"] = ["Expected a JSON object."]
        return None, batch
    visitor_id = parse_uuid(payload.get("visitor_id"))
    if visitor_id is None:
        batch.errors["visitor_id"] = ["A UUID made by the tracker is required."]
    raw_events = payload.get("events")
    if not isinstance(raw_events, list) or not raw_events:
        batch.errors["events"] = ["A non-empty list of events is required."]
        return visitor_id, batch
    from django.conf import settings

    if len(raw_events) > settings.LEADGATE_EVENTS_MAX_BATCH:
        batch.errors["events"] = [
            f"At most {settings.LEADGATE_EVENTS_MAX_BATCH} events per request; "
            f"got {len(raw_events)}."
        ]
        return visitor_id, batch
    sent_at = _parse_time(payload.get("sent_at"))
    # Only strings: a hostile list or object here is a per-event error below, never a crash.
    slugs = {
        e["gate"]
        for e in raw_events
        if isinstance(e, dict) and isinstance(e.get("gate"), str) and len(e["gate"]) <= 80
    }
    batch.gates = gate_keys_load(slugs)
    seen: set[uuid.UUID] = set()
    for index, raw in enumerate(raw_events):
        errors: dict[str, str] = {}
        if not isinstance(raw, dict):
            batch.errors[f"events.{index}"] = ["Expected an object."]
            continue
        event_id = parse_uuid(raw.get("id"))
        if event_id is None:
            errors["id"] = "A UUID made by the client is required (it makes retries safe)."
        etype = raw.get("type")
        if not isinstance(etype, str) or etype not in PUBLIC_EVENT_TYPES:
            errors["type"] = "Must be one of: " + ", ".join(sorted(PUBLIC_EVENT_TYPES)) + "."
        slug = raw.get("gate")
        gate = batch.gates.get(slug) if isinstance(slug, str) else None
        if gate is None:
            errors["gate"] = "Unknown or inactive gate."
        section = raw.get("section") or ""
        file_key = raw.get("file") or ""
        if not isinstance(section, str):
            errors["section"] = "Must be a section key."
        elif gate is not None and section and section not in gate.sections:
            errors["section"] = f"Gate {gate.slug!r} has no section {section!r}."
        elif etype == EventType.SECTION_VIEW and not section:
            errors["section"] = "A section_view needs a section key."
        if not isinstance(file_key, str):
            errors["file"] = "Must be a file key."
        elif gate is not None and file_key and file_key not in gate.files:
            errors["file"] = f"Gate {gate.slug!r} has no file {file_key!r}."
        elif etype == EventType.DOWNLOAD and not file_key:
            errors["file"] = "A download needs a file key."
        duration = raw.get("duration_ms")
        if duration is not None and (
            isinstance(duration, bool)
            or not isinstance(duration, int)
            or not 0 <= duration <= MAX_DURATION_MS
        ):
            errors["duration_ms"] = f"Must be a whole number from 0 to {MAX_DURATION_MS}."
        occurred_raw = raw.get("occurred_at")
        occurred = _parse_time(occurred_raw)
        if occurred_raw is not None and occurred is None:
            errors["occurred_at"] = "Must be an ISO 8601 time with a zone."
        url = raw.get("url") or ""
        if not isinstance(url, str) or len(url) > MAX_URL:
            errors["url"] = f"Must be a string of at most {MAX_URL} characters."
        if event_id is not None and event_id in seen:
            errors["id"] = "The same id appears twice in this batch."
        if errors:
            for key, message in errors.items():
                batch.errors[f"events.{index}.{key}"] = [message]
            continue
        assert event_id is not None
        assert gate is not None
        seen.add(event_id)
        batch.events.append(
            NewEvent(
                id=event_id,
                type=str(etype),
                gate_id=gate.id,
                section_key=section,
                file_key=file_key,
                duration_ms=duration,
                occurred_at=occurred_at_correct(
                    occurred=occurred, sent_at=sent_at, received=received
                ),
                url=url,
            )
        )
    return visitor_id, batch


def _db(value: uuid.UUID | None) -> Any:
    if value is None or connection.vendor == "postgresql":
        return value
    return value.hex


def events_ingest(
    *,
    visitor_id: uuid.UUID,
    events: list[NewEvent],
    received: datetime | None = None,
    source: str = "tracker",
) -> IngestResult:
    """Store events durably (one INSERT for the batch) and nudge scoring for known leads."""
    if not events:
        return IngestResult(accepted=0, duplicates=0, lead_id=None)
    received = received or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        # Upsert the visitor and read its lead in one statement. DO UPDATE (not DO
        # NOTHING) takes the row lock that identify also takes, so an identify that
        # commits while we run cannot leave these events without their lead.
        cursor.execute(
            "INSERT INTO profiling_visitor (id, lead_id, first_seen, last_seen) "
            "VALUES (%s, NULL, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen "
            "RETURNING lead_id",
            [_db(visitor_id), received, received],
        )
        row = cursor.fetchone()
        lead_raw = row[0] if row else None
        lead_id = (
            None
            if lead_raw is None
            else (lead_raw if isinstance(lead_raw, uuid.UUID) else uuid.UUID(str(lead_raw)))
        )
        columns = (
            "id, visitor_id, lead_id, type, name, gate_id, section_key, file_key, "
            "duration_ms, occurred_at, received_at, url, source"
        )
        row_sql = "(" + ", ".join(["%s"] * 13) + ")"
        params: list[Any] = []
        for e in events:
            params += [
                _db(e.id),
                _db(visitor_id),
                _db(lead_id),
                e.type,
                e.name,
                e.gate_id,
                e.section_key,
                e.file_key,
                e.duration_ms,
                e.occurred_at or received,
                received,
                e.url,
                source,
            ]
        cursor.execute(
            f"INSERT INTO {Event._meta.db_table} ({columns}) VALUES "  # noqa: S608 (constants only)
            + ", ".join([row_sql] * len(events))
            + " ON CONFLICT (id) DO NOTHING RETURNING id",
            params,
        )
        accepted = len(cursor.fetchall())
        if lead_id is not None and accepted:
            enqueue_after_commit("profiling.tasks.score_lead", str(lead_id))
    return IngestResult(accepted=accepted, duplicates=len(events) - accepted, lead_id=lead_id)
