"""The one statement that makes events durable, and the score-pending mark it shares.

Every ingest path runs EVENTS_SQL: the beacon (one batch, or several batches grouped into
one commit: profiling/ingest_writer/group.py), Segment batches (many visitors), the
server-side download of a gated file, and callers already inside a transaction (then as
part of it). Adding a column to events means editing event_row and this statement.

One statement, data-modifying CTEs: the visitors are upserted (DO UPDATE, not DO
NOTHING: it takes the row lock identify takes, so an identify committing meanwhile
cannot leave these events without their lead), the events inserted with the lead read
under that lock, and each known lead with new events is marked pending for scoring
(score_triggers explains the mark). A known event id changes nothing: the events table is
partitioned by time and so can have no unique index on `id` alone (EventReceipt says
why), so each event's id first goes into profiling_eventreceipt, ON CONFLICT (id) DO
NOTHING, and only the events whose receipt this statement made are inserted. Visitors,
receipts and marks are written in id order, so two statements running at once take their
row locks in the same order and cannot deadlock. In autocommit the
statement is its own transaction: durable when it returns.

The events travel as one JSON document (json_to_recordset): the SQL text is the same for
every batch, so it is prepared once per connection, and the document is made by the C
json encoder. `json`, not `jsonb`: it is read once, and building jsonb first only costs
PostgreSQL more. Rows carry only the fields an event has (short keys; the statement
fills in the rest), which halves a 100-event document.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the parser's type; importing it here would be circular
    from profiling.services.ingest.parse import NewEvent


def score_pending_sql(rows: str) -> str:
    """Upsert ScorePending rows (lead_id, since) selected by `rows`, answering
    (lead_id, created). DO UPDATE (a no-op write) rather than DO NOTHING takes the row
    lock, so the score task's DELETE of a mark waits until the events that made it are
    committed; xmax = 0 only on a freshly inserted row version: "this statement made the
    mark", so only that batch enqueues the score task."""
    return (
        f"INSERT INTO profiling_scorepending (lead_id, since) {rows}"
        " ON CONFLICT (lead_id) DO UPDATE SET since = profiling_scorepending.since"
        " RETURNING lead_id, (xmax = 0) AS created"
    )


# $1 the rows (event_row), $2 the visitor of rows without "v", $3 the receive time of rows
# without "r" (and the marks' time), $4 the source of rows without "src".
EVENTS_SQL = (
    "WITH x AS ("  # noqa: S608 (constants only)
    " SELECT x.i, coalesce(x.v, $2::uuid) AS v, coalesce(x.r, $3::timestamptz) AS r,"
    " coalesce(x.src, $4::text) AS src, x.t, x.n, x.g, x.s, x.f, x.d, x.o, x.u, x.c"
    " FROM json_to_recordset($1::json) AS x(i uuid, v uuid, r timestamptz, src text,"
    " t text, n text, g bigint, s text, f text, d integer, o timestamptz, u text, c jsonb)"
    "), v AS ("
    " INSERT INTO profiling_visitor (id, lead_id, first_seen, last_seen)"
    " SELECT x.v, NULL, max(x.r), max(x.r) FROM x GROUP BY x.v ORDER BY x.v"
    " ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen RETURNING id, lead_id"
    "), k AS ("
    " INSERT INTO profiling_eventreceipt (id, received_at) SELECT x.i, x.r FROM x ORDER BY x.i"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
    "), e AS ("
    " INSERT INTO profiling_event (id, visitor_id, lead_id, received_at, source, type, name,"
    " gate_id, section_key, file_key, duration_ms, occurred_at, url, touch)"
    " SELECT x.i, x.v, v.lead_id, x.r, x.src, x.t, coalesce(x.n, ''), x.g, coalesce(x.s, ''),"
    " coalesce(x.f, ''), x.d, coalesce(x.o, x.r), coalesce(x.u, ''), coalesce(x.c, '{}')"
    " FROM x JOIN v ON v.id = x.v JOIN k ON k.id = x.i"
    " RETURNING id, visitor_id"
    "), p AS ("
    + score_pending_sql(
        "SELECT DISTINCT v.lead_id, $3::timestamptz FROM v JOIN e ON e.visitor_id = v.id"
        " WHERE v.lead_id IS NOT NULL ORDER BY 1"
    )
    # Text answers only, ids joined by commas: no type loader runs on the hot path.
    + ") SELECT (SELECT string_agg(id::text, ',') FROM e),"
    " (SELECT string_agg(id::text || '=' || lead_id::text, ',') FROM v"
    " WHERE lead_id IS NOT NULL),"
    " (SELECT string_agg(lead_id::text, ',') FROM p WHERE created)"
)


def event_row(e: NewEvent, received: datetime) -> dict[str, Any]:
    """An event as a row of EVENTS_SQL's document: short keys, only the fields it has.
    The caller adds "v" (visitor), "r" (receive time) and "src" (source) where they are
    not the statement's own."""
    row: dict[str, Any] = {"i": e.id_text, "t": e.type}
    if e.gate_id is not None:
        row["g"] = e.gate_id
    if e.section_key:
        row["s"] = e.section_key
    if e.file_key:
        row["f"] = e.file_key
    if e.duration_ms is not None:
        row["d"] = e.duration_ms
    if e.occurred_at is not None and e.occurred_at != received:
        row["o"] = e.occurred_at.isoformat()
    if e.url:
        row["u"] = e.url
    if e.name:
        row["n"] = e.name
    if e.touch:
        row["c"] = e.touch
    return row


@dataclass(eq=False)
class Batch:
    """One caller's events for EVENTS_SQL: event_row rows, with "v" unless `visitor`
    (text) is theirs; all received at `received` from `source`."""

    rows: list[dict[str, Any]]
    visitor: str | None
    received: datetime
    source: str


@dataclass
class Written:
    """What EVENTS_SQL did for one batch."""

    new_ids: set[str]  # the stored events' ids, as text (NewEvent.id_text)
    leads: dict[str, uuid.UUID]  # visitor (text) -> its lead, for the known visitors
    # The leads whose score-pending mark the statement created for this batch: a lead is
    # told to one batch only, so one score task is enqueued, as with one statement each.
    marked: set[uuid.UUID]


def _ids(text: str | None) -> list[str]:
    return text.split(",") if text else []


def events_write(
    batches: list[Batch], run: Callable[[list[str | None]], tuple[str | None, ...]]
) -> list[Written]:
    """Store the batches with one EVENTS_SQL, executed by `run` (its parameters as text
    to its one-row answer as text); what it did for each batch, in order."""
    first = batches[0]
    received = max(b.received for b in batches)
    rows: list[dict[str, Any]] = first.rows
    owner: dict[str, tuple[int, str]] = {}  # event id -> (batch, visitor) storing it
    if len(batches) > 1:
        rows = []
        for index, b in enumerate(batches):
            extra: dict[str, str] = {} if b.visitor is None else {"v": b.visitor}
            if b.received != received:
                extra["r"] = b.received.isoformat()
            if b.source != first.source:
                extra["src"] = b.source
            for row in b.rows:
                # The same id in two batches (a retry racing its original): the first
                # stores it, the later one counts it as a duplicate, as if the two
                # statements had run one after the other.
                if row["i"] not in owner:
                    owner[row["i"]] = (index, b.visitor or row["v"])
                    rows.append({**row, **extra} if extra else row)
    visitor = first.visitor if len(batches) == 1 else None
    document = json.dumps(rows, separators=(",", ":"))
    new_ids, lead_pairs, marked = run([document, visitor, received.isoformat(), first.source])
    leads = {v: uuid.UUID(lead) for v, lead in (p.split("=") for p in _ids(lead_pairs))}
    unmarked = {uuid.UUID(lead) for lead in _ids(marked)}
    if len(batches) == 1:
        return [Written(new_ids=set(_ids(new_ids)), leads=leads, marked=unmarked)]
    written = [Written(new_ids=set(), leads=leads, marked=set()) for _ in batches]
    for event_id in _ids(new_ids):
        index, event_visitor = owner[event_id]
        written[index].new_ids.add(event_id)
        lead = leads.get(event_visitor)
        if lead in unmarked:
            unmarked.discard(lead)
            written[index].marked.add(lead)
    return written
