"""Validating a public events batch: gates (cached), keys, text, clock skew."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

from profiling.caches import GateKeys, cache_clock, gate_keys_cache
from profiling.models import EventType

PUBLIC_EVENT_TYPES = frozenset(
    {EventType.PAGE_VIEW, EventType.SECTION_VIEW, EventType.DOWNLOAD, EventType.FORM_VIEW}
)
MAX_EVENT_AGE = timedelta(days=7)
MAX_DURATION_MS = 24 * 3600 * 1000
MAX_URL = 2000


# Not frozen: a frozen dataclass's __init__ goes through object.__setattr__ per field,
# which made building the events of a 100-event batch cost about 0.2 ms; nothing
# mutates or hashes them.
@dataclass(slots=True)
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
    # {utm_source, utm_medium, utm_campaign, referrer}: only the keys the client gave.
    touch: dict[str, str] | None = None
    # The id as PostgreSQL prints a uuid (str(id)), when the parser already had it as
    # text; empty means "use str(id)". See id_text.
    key: str = ""

    @property
    def id_text(self) -> str:
        """The id in canonical text: how the ingest statements send ids and get them back
        (their answers are compared as text, so no UUID is parsed per stored event)."""
        return self.key or str(self.id)


@dataclass
class ParsedBatch:
    events: list[NewEvent] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    gates: dict[str, GateKeys] = field(default_factory=dict)
    # What the gate builder's diagnostics count (profiling/refusals.py), made only when an
    # event is refused for it: (gate id or None for a gate not found, reason, key or slug).
    refused: list[tuple[int | None, str, str]] | None = None

    def refuse(self, gate_id: int | None, reason: str, key: str) -> None:
        if self.refused is None:
            self.refused = []
        self.refused.append((gate_id, reason, key))


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    lead_id: uuid.UUID | None


def gate_keys_load(slugs: set[str]) -> dict[str, GateKeys]:
    """Active gates by slug with their section and file keys (cached: profiling/caches.py)."""
    return gate_keys_cache.get_many({s for s in slugs if text_ok(s)})


def gate_keys_fresh(slug: str, *, since: float) -> GateKeys | None:
    """The active gate `slug` as read since `since` (of caches.cache_clock()): from the
    database unless it was read since then. For a caller about to refuse an event because
    of the cached gate: a gate, section, file or origin added a moment ago in another
    process is accepted, never lost to a 400 that the tracker does not retry."""
    if len(slug) > 80 or not text_ok(slug):
        return None
    return gate_keys_cache.get(slug, fresh_since=since)


def _gate_fresh(batch: ParsedBatch, slug: str, since: float) -> GateKeys | None:
    gate = gate_keys_fresh(slug, since=since)
    if gate is not None:
        batch.gates[slug] = gate
    return gate


def text_ok(value: str) -> bool:
    """Can PostgreSQL store this text? No NUL, no lone UTF-16 surrogate (from JSON \\ud800).

    Either would make the whole batch's INSERT fail (a 500 and no valid event stored),
    so they are per-event errors instead.
    """
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_str(value: Any, max_len: int) -> str | None:
    """A storable string of at most max_len characters ("" for None), else None."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_len or not text_ok(value):
        return None
    return value


TOUCH_KEYS = ("utm_source", "utm_medium", "utm_campaign", "referrer")
TOUCH_KEYS_SET = frozenset(TOUCH_KEYS)


def touch_parse(raw: dict[str, Any]) -> tuple[dict[str, str] | None, str | None]:
    """Optional touch fields of an event: (touch, error)."""
    touch: dict[str, str] = {}
    for key in TOUCH_KEYS:
        value = clean_str(raw.get(key), MAX_URL if key == "referrer" else 200)
        if value is None:
            return None, key
        if value:
            touch[key] = value
    return (touch or None), None


def parse_uuid(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def canonical_text(raw: str, parsed: uuid.UUID) -> str:
    """str(parsed) without formatting it again when `raw` (which parsed to it) is already
    canonical: 36 characters, hyphens at 8-13-18-23, lower case (as every tracker and SDK
    sends them)."""
    if (
        len(raw) == 36
        and raw[8] == "-"
        and raw[13] == "-"
        and raw[18] == "-"
        and raw[23] == "-"
        and raw == raw.lower()
    ):
        return raw
    return str(parsed)


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
    # Before the first lookup: a reload after a miss then sees every write committed
    # before this request.
    since = cache_clock()
    batch.gates = gate_keys_load(slugs)
    seen: set[str] = set()  # the stored ids as canonical text (hashed in C, unlike UUID)
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            batch.errors[f"events.{index}"] = ["Expected an object."]
            continue
        errors: dict[str, str] = {}
        raw_id = raw.get("id")
        event_id = parse_uuid(raw_id)
        key = ""
        if event_id is None:
            errors["id"] = "A UUID made by the client is required (it makes retries safe)."
        else:
            key = canonical_text(str(raw_id), event_id)
        etype = raw.get("type")
        if not isinstance(etype, str) or etype not in PUBLIC_EVENT_TYPES:
            errors["type"] = "Must be one of: " + ", ".join(sorted(PUBLIC_EVENT_TYPES)) + "."
        slug = raw.get("gate")
        gate = batch.gates.get(slug) if isinstance(slug, str) else None
        if gate is None and isinstance(slug, str):
            gate = _gate_fresh(batch, slug, since)
        if gate is None:
            errors["gate"] = "Unknown or inactive gate."
            if isinstance(slug, str) and slug:
                batch.refuse(None, "inactive", slug)
        section = raw.get("section") or ""
        file_key = raw.get("file") or ""
        # A key the gate has came from the database: storable, no text_ok needed. A page
        # of a PDF read inline ("p3" with the file's key) is a section too.
        page_of = file_key if isinstance(file_key, str) else ""
        if gate is not None and isinstance(section, str) and gate.has_section(section, page_of):
            pass
        elif not isinstance(section, str) or not text_ok(section):
            errors["section"] = "Must be a section key."
        elif gate is not None and section:
            gate = _gate_fresh(batch, gate.slug, since) or gate
            if not gate.has_section(section, page_of):
                errors["section"] = f"Gate {gate.slug!r} has no section {section!r}."
                batch.refuse(gate.id, "section", section)
        elif etype == EventType.SECTION_VIEW and not section:
            errors["section"] = "A section_view needs a section key."
        if gate is not None and isinstance(file_key, str) and file_key in gate.files:
            pass
        elif not isinstance(file_key, str) or not text_ok(file_key):
            errors["file"] = "Must be a file key."
        elif gate is not None and file_key:
            gate = _gate_fresh(batch, gate.slug, since) or gate
            if file_key not in gate.files:
                errors["file"] = f"Gate {gate.slug!r} has no file {file_key!r}."
                batch.refuse(gate.id, "file", file_key)
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
        occurred = None if occurred_raw is None else _parse_time(occurred_raw)
        if occurred_raw is not None and occurred is None:
            errors["occurred_at"] = "Must be an ISO 8601 time with a zone."
        url = raw.get("url") or ""
        if url:
            url = clean_str(url, MAX_URL)
            if url is None:
                errors["url"] = f"Must be text of at most {MAX_URL} characters."
        touch: dict[str, str] | None = None
        if not TOUCH_KEYS_SET.isdisjoint(raw):  # most events carry no touch fields
            touch, touch_error = touch_parse(raw)
            if touch_error:
                errors[touch_error] = "Must be text of at most 200 characters (referrer: 2000)."
        if key and key in seen:
            errors["id"] = "The same id appears twice in this batch."
        if errors:
            for name, message in errors.items():
                batch.errors[f"events.{index}.{name}"] = [message]
            continue
        assert event_id is not None
        assert gate is not None
        assert url is not None
        seen.add(key)
        batch.events.append(
            NewEvent(
                id=event_id,
                type=str(etype),
                gate_id=gate.id,
                section_key=section,
                file_key=file_key,
                duration_ms=duration,
                occurred_at=received
                if occurred is None
                else occurred_at_correct(occurred=occurred, sent_at=sent_at, received=received),
                url=url,
                touch=touch,
                key=key,
            )
        )
    return visitor_id, batch
