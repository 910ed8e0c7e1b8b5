"""Segment-compatible ingest: map Segment messages onto leadgate's events and identities.

Contract (API.md, "Segment-compatible ingest"): `anonymousId` is the visitor; `identify`
with traits.email (top level or context.traits) identifies the visitor as a lead;
`page` is a page_view; track "Section Viewed" / "File Downloaded" are section_view /
download; other track names are stored (type "track") and can be scored by name;
`messageId` is the event id; `context.campaign` gives the UTM fields; `timestamp` is
corrected for clock skew with `sentAt`.

Like Segment, invalid messages are dropped (counted) rather than failing the request:
the clients retry a 4xx never and a 5xx forever, so one bad message must not block or
replay the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from profiling.caches import SourceInfo, since_received, source_cache
from profiling.models import ConsentMethod, EventType, Lead, Source, Visitor
from profiling.refusals import FILE as REFUSED_FILE
from profiling.refusals import INACTIVE, SOURCE
from profiling.refusals import SECTION as REFUSED_SECTION
from profiling.services.identity import TouchSource, lead_identify
from profiling.services.ingest import (
    MAX_DURATION_MS,
    MAX_URL,
    GateKeys,
    NewEvent,
    _parse_time,
    clean_str,
    events_store,
    gate_keys_fresh,
    gate_keys_load,
    occurred_at_correct,
)

# Non-UUID ids (Segment allows any string) map to stable UUIDs in this namespace.
ID_NAMESPACE = uuid.UUID("6f1d1c4e-5b9e-4f4a-9c51-2f0f3c9b7a11")
MAX_ID_LEN = 200

SECTION_VIEWED = "Section Viewed"
FILE_DOWNLOADED = "File Downloaded"


# (gate id or None for a gate not found, reason, key or slug): what the gate builder's
# diagnostics count for a dropped message (profiling/refusals.py, batch_refusals_record).
Refused = tuple[int | None, str, str]


@dataclass(frozen=True)
class Drop:
    """Why a message is dropped, and what to count for a gate's builder if anything."""

    why: str
    refused: Refused | None = None


@dataclass
class SegmentResult:
    stored: int = 0
    duplicates: int = 0
    identified: int = 0
    dropped: list[str] = field(default_factory=list)
    # Made only when a message is refused for a gate: the accepted path pays nothing.
    refused: list[Refused] | None = None

    def drop(self, index: int, drop: Drop) -> None:
        self.dropped.append(f"{index}: {drop.why}")
        if drop.refused is not None:
            if self.refused is None:
                self.refused = []
            self.refused.append(drop.refused)


def segment_id(value: Any, scope: str) -> uuid.UUID | None:
    """A Segment id as a UUID: itself when it is one, else a stable uuid5 of it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    text = clean_str(value, MAX_ID_LEN)
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return uuid.uuid5(ID_NAMESPACE, f"{scope}:{text}")


def _visitors(msg: dict[str, Any], source: SourceInfo) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(browser visitor from anonymousId, person visitor from userId). userId: null is
    absent (the Python client always sends the key)."""
    anon = segment_id(msg.get("anonymousId"), "anon")
    # A userId names a person within one site: scoped to the source.
    user = segment_id(msg.get("userId"), f"user:{source.id}")
    return anon, user


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _touch(msg: dict[str, Any]) -> dict[str, str]:
    context = _dict(msg.get("context"))
    campaign = _dict(context.get("campaign"))
    page = _dict(context.get("page"))
    touch: dict[str, str] = {}
    for key, raw, limit in (
        ("utm_source", campaign.get("source"), 200),
        ("utm_medium", campaign.get("medium"), 200),
        ("utm_campaign", campaign.get("name"), 200),
        ("referrer", page.get("referrer") or _dict(msg.get("properties")).get("referrer"), MAX_URL),
    ):
        value = clean_str(raw, limit)
        if value:
            touch[key] = value
    return touch


def _allowed(source: SourceInfo, gate: GateKeys) -> bool:
    return source.all_gates or gate.id in source.gate_ids


def _gate(
    props: dict[str, Any],
    source: SourceInfo,
    *,
    required: bool,
    received: datetime,
    section: str | None = None,
    file_key: str | None = None,
) -> tuple[GateKeys | None, Drop | None]:
    """The message's gate, or why the message is dropped. `section` and `file_key`: what
    the message names, so that a gate lacking them in the cache is read again."""
    slug = props.get("gate")
    if slug is None or slug == "":
        return None, (Drop("needs properties.gate") if required else None)
    if not isinstance(slug, str):
        return None, Drop("unknown gate")
    gate = gate_keys_load({slug}).get(slug)
    if (
        gate is None
        or not _allowed(source, gate)
        or (section is not None and not gate.has_section(section, file_key or ""))
        or (file_key is not None and file_key not in gate.files)
    ):
        # About to drop the message because of cached rows: read them again (once per
        # batch: what was read since the batch arrived is not read again).
        since = since_received(received)
        gate = gate_keys_fresh(slug, since=since)
        if gate is not None and not _allowed(source, gate):
            source = source_cache.get(source.write_key, fresh_since=since) or source
    if gate is None:
        # Counted for the gate's builder only if a gate has the slug but is not live.
        return None, Drop("unknown gate", (None, INACTIVE, slug))
    if not _allowed(source, gate):
        return None, Drop("gate not allowed for this source", (gate.id, SOURCE, ""))
    return gate, None


def message_to_event(
    msg: dict[str, Any], *, source: SourceInfo, sent_at: datetime | None, received: datetime
) -> tuple[NewEvent | None, Drop | None]:
    """One page/track message as an event, or why it is dropped."""
    kind = msg.get("type")
    props = _dict(msg.get("properties"))
    context = _dict(msg.get("context"))
    event_id = segment_id(msg.get("messageId"), "msg") or uuid.uuid4()
    url = clean_str(props.get("url") or _dict(context.get("page")).get("url"), MAX_URL)
    if url is None:
        return None, Drop("url")
    occurred_raw = msg.get("timestamp") or msg.get("originalTimestamp")
    occurred = _parse_time(occurred_raw)
    msg_sent = _parse_time(msg.get("sentAt")) or sent_at
    occurred_at = occurred_at_correct(occurred=occurred, sent_at=msg_sent, received=received)
    common: dict[str, Any] = {"id": event_id, "occurred_at": occurred_at, "url": url}
    touch = _touch(msg) or None
    if kind in ("page", "screen"):
        gate, why = _gate(props, source, required=False, received=received)
        if why:
            return None, why
        return NewEvent(
            type=EventType.PAGE_VIEW,
            gate_id=gate.id if gate else None,
            name=clean_str(msg.get("name"), 200) or "",
            touch=touch,
            **common,
        ), None
    if kind != "track":
        return None, Drop(f"unsupported type {kind!r}")
    name = clean_str(msg.get("event"), 200)
    if not name:
        return None, Drop("track needs an event name")
    if name == SECTION_VIEWED:
        section = props.get("section")
        # A page of a PDF read inline names its file too ("p3" of "network-map").
        page_of = props.get("file") if isinstance(props.get("file"), str) else None
        gate, why = _gate(
            props,
            source,
            required=True,
            received=received,
            section=section if isinstance(section, str) else None,
            file_key=page_of,
        )
        if gate is None:
            return None, why
        if not isinstance(section, str):
            return None, Drop("unknown section")
        if not gate.has_section(section, page_of or ""):
            return None, Drop("unknown section", (gate.id, REFUSED_SECTION, section))
        duration = props.get("duration_ms")
        if isinstance(duration, bool) or not isinstance(duration, int | None):
            duration = None
        if duration is not None and not 0 <= duration <= MAX_DURATION_MS:
            duration = None
        return NewEvent(
            type=EventType.SECTION_VIEW,
            gate_id=gate.id,
            section_key=section,
            file_key=page_of if page_of and section not in gate.sections else "",
            duration_ms=duration,
            touch=touch,
            **common,
        ), None
    if name == FILE_DOWNLOADED:
        file_key = props.get("file")
        gate, why = _gate(
            props,
            source,
            required=True,
            received=received,
            file_key=file_key if isinstance(file_key, str) else None,
        )
        if gate is None:
            return None, why
        if not isinstance(file_key, str):
            return None, Drop("unknown file")
        if file_key not in gate.files:
            return None, Drop("unknown file", (gate.id, REFUSED_FILE, file_key))
        return NewEvent(
            type=EventType.DOWNLOAD, gate_id=gate.id, file_key=file_key, touch=touch, **common
        ), None
    gate, why = _gate(props, source, required=False, received=received)
    if why:
        return None, why
    return NewEvent(
        type=EventType.TRACK, gate_id=gate.id if gate else None, name=name, touch=touch, **common
    ), None


def _identify(
    msg: dict[str, Any], source: SourceInfo, anon: uuid.UUID | None, user: uuid.UUID | None
) -> str | None:
    """Identify the visitor(s) as a lead; returns why not, or None."""
    context = _dict(msg.get("context"))
    traits = {**_dict(context.get("traits")), **_dict(msg.get("traits"))}
    email = clean_str(traits.get("email"), 254)
    if not email:
        return "identify without traits.email"
    try:
        validate_email(email)
    except ValidationError:
        return "invalid email"
    name = clean_str(traits.get("name"), 200)
    if not name:
        parts = [clean_str(traits.get(k), 100) for k in ("firstName", "lastName")]
        name = " ".join(p for p in parts if p)
    subscribed = traits.get("subscribe") is True
    touch = _touch(msg)
    page = _dict(context.get("page"))
    lead_identify(
        email=email,
        name=name or "",
        visitor_id=anon or user,
        extra_visitor_ids=(user,) if anon and user else (),
        subscribed=subscribed,
        consent_text="Opted in through the website's own form (Segment identify)."
        if subscribed
        else "",
        consent_method=ConsentMethod.SEGMENT_IDENTIFY,
        source=TouchSource(
            utm_source=touch.get("utm_source", ""),
            utm_medium=touch.get("utm_medium", ""),
            utm_campaign=touch.get("utm_campaign", ""),
            referrer=touch.get("referrer", ""),
            landing_url=clean_str(page.get("url"), MAX_URL) or "",
        ),
    )
    return None


def _alias(msg: dict[str, Any], source: SourceInfo) -> str | None:
    """alias {previousId, userId}: the two ids are one person. An id that belongs to no
    lead joins the other's lead; two ids of two leads merge nothing (anyone holding a
    browser write key can send an alias: merges need proof, or a marketer)."""
    new = segment_id(msg.get("userId"), f"user:{source.id}")
    previous = segment_id(msg.get("previousId"), "anon")
    previous_user = segment_id(msg.get("previousId"), f"user:{source.id}")
    if new is None or previous is None:
        return "alias needs previousId and userId"
    visitor_ids = [v for v in (new, previous, previous_user) if v is not None]
    lead_ids = {
        lead
        for lead in Visitor.objects.filter(id__in=visitor_ids, lead__isnull=False).values_list(
            "lead_id", flat=True
        )
        if lead is not None
    }
    if len(lead_ids) != 1:
        return None  # two anonymous ids, or two leads: nothing to join
    lead = Lead.objects.filter(pk=lead_ids.pop()).only("email").first()
    if lead is not None:
        for vid in (new, previous):
            # No name, no opt-in: only attaches an id that belongs to no lead yet.
            lead_identify(email=lead.email, name="", visitor_id=vid)
    return None


def segment_ingest(
    *,
    source: SourceInfo,
    messages: Sequence[Any],
    sent_at: datetime | None,
    received: datetime,
    default_type: str | None = None,
) -> SegmentResult:
    """Store the batch's page/track events in one statement, then apply identify and
    alias messages in order (after the events, so that events in the same batch are
    handed to the lead by the identify)."""
    result = SegmentResult()
    items: list[tuple[uuid.UUID, NewEvent]] = []
    identities: list[tuple[dict[str, Any], uuid.UUID | None, uuid.UUID | None]] = []
    seen: set[uuid.UUID] = set()
    for index, msg in enumerate(messages):
        if not isinstance(msg, dict):
            result.drop(index, Drop("not an object"))
            continue
        if default_type and "type" not in msg:
            msg = {**msg, "type": default_type}
        anon, user = _visitors(msg, source)
        kind = msg.get("type")
        if kind == "alias":
            identities.append((msg, anon, user))
            continue
        if anon is None and user is None:
            result.drop(index, Drop("needs anonymousId or userId"))
            continue
        if kind == "identify":
            identities.append((msg, anon, user))
            continue
        event, drop = message_to_event(msg, source=source, sent_at=sent_at, received=received)
        if event is None:
            assert drop is not None
            result.drop(index, drop)
            continue
        if event.id in seen:
            result.duplicates += 1
            continue
        seen.add(event.id)
        visitor = anon or user
        assert visitor is not None
        items.append((visitor, event))
    if items:
        stored = events_store(items=items, received=received, source="segment")
        result.stored += stored.accepted
        result.duplicates += stored.duplicates
    for msg, anon, user in identities:
        why = (
            _alias(msg, source)
            if msg.get("type") == "alias"
            else _identify(msg, source, anon, user)
        )
        if why:
            result.dropped.append(why)
        else:
            result.identified += 1
    return result


def source_create(*, name: str, allowed_gates: list[str] | None) -> Source:
    """A new source with a fresh write key; allowed_gates None means every gate."""
    from django.db import transaction

    from forms_app.models import Gate

    with transaction.atomic():
        source = Source.objects.create(name=name, all_gates=allowed_gates is None)
        if allowed_gates:
            gates = list(Gate.objects.filter(slug__in=set(allowed_gates)))
            missing = set(allowed_gates) - {g.slug for g in gates}
            if missing:
                raise ValidationError({"allowed_gates": [f"Unknown gates: {sorted(missing)}."]})
            source.gates.set(gates)
    return source


def source_delete(*, source: Source) -> None:
    source.delete()
