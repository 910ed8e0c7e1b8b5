"""Why a gate's events or submissions were refused: counters the gate builder shows.

A site owner whose events are refused (their origin not in the gate's allow-list, a
section or file key the gate does not have, a gate that is not live) sees it only in the
browser's network tab; the marketer sees it here instead.

Written only on the refusal paths (the events beacon's 403 and per-event errors, the
public gate endpoints' 403 and 404, the messages the Segment-compatible ingest drops),
never for an accepted event: the ingest path pays nothing. Each refusal says its channel
(leadgate's own endpoints, or a Segment source), so the marketer knows where to look. One Redis hash per gate and hour, a count and a last-seen time per (reason,
origin, key), kept 25 hours: one round trip (a Lua script) per refused request, no row
to lock however hard a misconfigured site hammers, and a bound on what a hostile
client can make us keep (MAX_FIELDS per hash, values cut to a short length).
"""

from __future__ import annotations

import difflib
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q

from config.shared_redis import default_cache_redis

logger = logging.getLogger(__name__)

ORIGIN = "origin"  # the request's Origin is not in the gate's allowed origins
SECTION = "section"  # an event named a section key the gate does not have
FILE = "file"  # an event named a file key the gate does not have
INACTIVE = "inactive"  # the gate exists but is not live
SOURCE = "source"  # a Segment source whose write key may not send events for the gate
REASONS = (ORIGIN, SECTION, FILE, INACTIVE, SOURCE)

# Where the refused requests came in: leadgate's own endpoints (the beacon, the public
# gate endpoints: stored as "", what every count before channels were kept means) or
# the Segment-compatible ingest.
BEACON = "beacon"
SEGMENT = "segment"
CHANNELS = (BEACON, SEGMENT)

WINDOW_HOURS = 24
TTL_S = (WINDOW_HOURS + 1) * 3600
# Per gate and hour: a hostile client sending random origins or keys fills one hash of
# this size and no more (the counts already there keep counting).
MAX_FIELDS = 200
MAX_VALUE = 200
SEP = "\x1f"

# KEYS[1] the hash; ARGV: field, now, ttl, max fields. A new field only while there is
# room; its count and last-seen time in the same hash ("n" and "t" prefixes).
_RECORD = """
local n = 'n' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], n) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) * 2 then
  return 0
end
redis.call('HINCRBY', KEYS[1], n, 1)
redis.call('HSET', KEYS[1], 't' .. ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

# A gate slug as the gate URLs accept it (forms_app/urls.py).
SLUG_SHAPE = re.compile(r"[a-z0-9-]{1,80}")


# The script object per Redis client (it keeps its SHA1 and loads itself when missing).
_scripts: dict[int, Any] = {}


@dataclass(frozen=True)
class Refusal:
    gate_id: int
    reason: str
    origin: str = ""
    key: str = ""
    channel: str = ""  # "" for BEACON, else SEGMENT
    source_id: int | None = None  # the Segment source, for SEGMENT


@dataclass(frozen=True)
class RefusalCount:
    reason: str
    origin: str
    key: str
    count: int
    last_seen: datetime
    channel: str = BEACON
    source_id: int | None = None


def _hash_key(prefix: str, gate_id: int, hour: int) -> str:
    return f"{prefix}refusals:{gate_id}:{hour}"


def refusals_record(refusals: Iterable[Refusal]) -> None:
    """Count refusals (the refusal paths only). Never raises: a diagnostic is worth less
    than the answer the client is waiting for."""
    unique = set(refusals)
    found = default_cache_redis() if unique else None
    if found is None:
        return
    client, prefix = found
    now = time.time()
    hour = int(now // 3600)
    try:
        script = _scripts.get(id(client))
        if script is None:
            script = _scripts.setdefault(id(client), client.register_script(_RECORD))
        pipe = client.pipeline(transaction=False)
        for r in unique:
            parts = [r.reason, (r.origin or "")[:MAX_VALUE], (r.key or "")[:MAX_VALUE]]
            if r.channel:
                # Only for another channel than the beacon: the beacon's fields keep
                # the shape they had before channels were told apart.
                parts += [r.channel, str(r.source_id or "")]
            field = SEP.join(parts)
            script(
                keys=[_hash_key(prefix, r.gate_id, hour)],
                args=[field, f"{now:.0f}", TTL_S, MAX_FIELDS],
                client=pipe,
            )
        pipe.execute()
    except Exception:  # Redis down or slow: the refusal is answered all the same
        logger.warning("could not record refused events", exc_info=True)


def gate_refusals(gate_id: int) -> list[RefusalCount]:
    """The gate's refusals over the last WINDOW_HOURS, most frequent first."""
    found = default_cache_redis()
    if found is None:
        return []
    client, prefix = found
    hour = int(time.time() // 3600)
    try:
        pipe = client.pipeline(transaction=False)
        for h in range(hour - WINDOW_HOURS + 1, hour + 1):
            pipe.hgetall(_hash_key(prefix, gate_id, h))
        buckets = pipe.execute()
    except Exception:
        logger.warning("could not read refused events", exc_info=True)
        return []
    counts: dict[str, int] = {}
    seen: dict[str, float] = {}
    for bucket in buckets:
        for raw_field, raw_value in (bucket or {}).items():
            field = raw_field.decode()
            kind, name = field[:1], field[1:]
            if kind == "n":
                counts[name] = counts.get(name, 0) + int(raw_value)
            elif kind == "t":
                seen[name] = max(seen.get(name, 0.0), float(raw_value))
    out = []
    for name, count in counts.items():
        reason, origin, key, channel, source = [*name.split(SEP), "", "", "", ""][:5]
        out.append(
            RefusalCount(
                reason=reason,
                origin=origin,
                key=key,
                count=count,
                last_seen=datetime.fromtimestamp(seen.get(name, 0.0), tz=UTC),
                channel=channel or BEACON,
                source_id=int(source) if source.isdigit() else None,
            )
        )
    out.sort(key=lambda r: (-r.count, r.reason, r.origin, r.key))
    return out


def closest_key(key: str, known: Iterable[str]) -> str | None:
    """The gate's key a mistyped one most likely meant ("pricng" -> "pricing")."""
    matches = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def refusals_record_origin(origin: str, gate_ids: Iterable[int]) -> None:
    """Requests from `origin` refused because the gates do not allow it."""
    refusals_record(Refusal(gate_id=g, reason=ORIGIN, origin=origin) for g in gate_ids)


def batch_refusals_record(
    origin: str,
    refused: Iterable[tuple[int | None, str, str]],
    *,
    channel: str = "",
    source_id: int | None = None,
) -> None:
    """An events batch's refused events (ParsedBatch.refused, SegmentResult.refused). A
    gate that was not found counts only when it exists but is not live: a slug no gate
    has belongs to no builder."""
    from forms_app.models import Gate

    items = list(refused)
    # Only what could be a slug is looked up: a key is whatever the client sent (a NUL
    # byte in it would make PostgreSQL refuse the whole query).
    slugs = {key for gate_id, _, key in items if gate_id is None and SLUG_SHAPE.fullmatch(key)}
    inactive = (
        dict(Gate.objects.filter(slug__in=slugs, is_active=False).values_list("slug", "id"))
        if slugs
        else {}
    )
    out = []
    for gate_id, reason, key in items:
        if gate_id is not None:
            out.append(
                Refusal(
                    gate_id=gate_id,
                    reason=reason,
                    origin=origin,
                    key=key,
                    channel=channel,
                    source_id=source_id,
                )
            )
        elif key in inactive:
            out.append(
                Refusal(
                    gate_id=inactive[key],
                    reason=INACTIVE,
                    origin=origin,
                    channel=channel,
                    source_id=source_id,
                )
            )
    if out:
        refusals_record(out)


@dataclass(frozen=True)
class Diagnostic:
    """One refusal the marketer can act on, said in words."""

    reason: str
    origin: str
    key: str
    count: int
    last_seen: datetime
    suggestion: str  # the origin to allow, or the key most likely meant ("" if none)
    message: str
    channel: str = BEACON
    source: str = ""  # the Segment source's name, for SEGMENT


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _source_names(ids: set[int]) -> dict[int, str]:
    from profiling.models import Source

    return dict(Source.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def gate_diagnostics(gate: Any) -> list[Diagnostic]:
    """The gate's refusals of the last 24 hours with what to do about each."""
    sections = list(gate.sections.values_list("key", flat=True))
    files = list(gate.files.values_list("key", flat=True))
    allowed = {o.rstrip("/").lower() for o in gate.allowed_origins or []}
    refusals = gate_refusals(gate.pk)
    names = _source_names({r.source_id for r in refusals if r.source_id is not None})
    out: list[Diagnostic] = []
    for r in refusals:
        source = ""
        if r.channel == SEGMENT:
            # A source deleted since is still named, by what it was.
            source = names.get(r.source_id or 0, f"#{r.source_id}" if r.source_id else "")
            via = f"the Segment source “{source}”" if source else "a Segment source"
            where = f" from {via}" + (f" ({r.origin})" if r.origin else "")
        else:
            where = f" from {r.origin}" if r.origin else ""
        suggestion = ""
        if r.reason == ORIGIN:
            if r.origin.rstrip("/").lower() in allowed:
                continue  # allowed since: nothing left to do
            suggestion = r.origin
            message = (
                f"Events from {r.origin or 'a site'} were refused {_times(r.count)} in the "
                f"last {WINDOW_HOURS} h: this site is not in the allowed origins."
            )
        elif r.reason == SOURCE:
            if r.source_id is not None and _source_allows(r.source_id, gate.pk):
                continue  # allowed since
            message = (
                f"Events{where} were refused {_times(r.count)} in the last {WINDOW_HOURS} h: "
                "the source may not send events for this gate (Sources, its allowed gates)."
            )
        elif r.reason in (SECTION, FILE):
            known = sections if r.reason == SECTION else files
            if r.key in known:
                continue  # added since
            suggestion = closest_key(r.key, known) or ""
            noun = "Section" if r.reason == SECTION else "File"
            message = (
                f"{noun} key “{r.key}” is not in this gate ({r.count} "
                f"event{'s' if r.count != 1 else ''}{where})"
                + (f": did you mean “{suggestion}”?" if suggestion else ".")
            )
        elif r.reason == INACTIVE:
            if gate.is_active:
                continue
            message = (
                f"Requests{where} were refused {_times(r.count)} in the last "
                f"{WINDOW_HOURS} h: this gate is not live."
            )
        else:
            continue
        out.append(
            Diagnostic(
                reason=r.reason,
                origin=r.origin,
                key=r.key,
                count=r.count,
                last_seen=r.last_seen,
                suggestion=suggestion,
                message=message,
                channel=r.channel,
                source=source,
            )
        )
    return out


def _source_allows(source_id: int, gate_id: int) -> bool:
    from profiling.models import Source

    return (
        Source.objects.filter(pk=source_id, is_active=True)
        .filter(Q(all_gates=True) | Q(gates=gate_id))
        .exists()
    )
