"""Making events durable: one statement per batch, duplicates ignored, scoring nudged.

The contract says the answer is sent only after the events are durable, and that an
event id seen before changes nothing. Both live in the database: one INSERT ... ON
CONFLICT (id) DO NOTHING RETURNING id tells us exactly which ids were new.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from profiling.caches import hot_rules, hot_rules_if_changed
from profiling.models import Event
from profiling.queue import enqueue_after_commit
from profiling.scoring_engine import RuleSpec
from profiling.services.ingest.group import GROUP_MAX_BATCH, group_commit
from profiling.services.ingest.parse import IngestResult, NewEvent
from profiling.services.ingest.prepared import prepared_row, uuid_list
from profiling.services.ingest.rows import EVENT_RECORD_SQL, event_columns_sql, event_row
from profiling.services.score_triggers import (
    HOT_SCORE_PRIORITY,
    SCORE_TASK,
    event_is_hot,
    score_pending_mark,
)


def _is_hot(e: NewEvent, *, received: datetime, rules: Sequence[RuleSpec]) -> bool:
    """Does this parsed event match a makes-hot rule (both ingest paths ask)?"""
    return event_is_hot(
        type=e.type,
        gate_id=e.gate_id,
        section_key=e.section_key,
        file_key=e.file_key,
        name=e.name,
        duration_ms=e.duration_ms,
        received=received,
        rules=rules,
    )


def _hot_leads(
    known: Sequence[tuple[uuid.UUID, uuid.UUID]],
    by_id: dict[uuid.UUID, NewEvent],
    received: datetime,
    rules: Sequence[RuleSpec],
) -> set[uuid.UUID]:
    """The leads of the (event id, lead) pairs whose event matches a makes-hot rule."""
    if not rules:
        return set()
    return {lead for eid, lead in known if _is_hot(by_id[eid], received=received, rules=rules)}


def _any_hot(events: Sequence[NewEvent], received: datetime, rules: Sequence[RuleSpec]) -> bool:
    return bool(rules) and any(_is_hot(e, received=received, rules=rules) for e in events)


# One INSERT ... SELECT FROM json_to_recordset(one JSON document). The SQL
# text is the same for every batch (psycopg caches its parsing; a VALUES list with 1,400
# placeholders cost ~17 ms per 100-event batch in psycopg's query conversion alone, and
# per-column arrays still ~4 ms in psycopg's Python array dumper), the batch travels as
# one string made by the C json encoder, and PostgreSQL plans four parameters. `json`,
# not `jsonb`: the document is read once, and building jsonb's binary form first only
# costs PostgreSQL more.
_INSERT_JSON = (
    f"INSERT INTO {Event._meta.db_table} (received_at, source, id, visitor_id, lead_id, "  # noqa: S608
    "type, name, gate_id, section_key, file_key, duration_ms, occurred_at, url, touch) "
    "SELECT %(received)s::timestamptz, %(source)s, x.i, x.v, x.l, "
    + event_columns_sql("%(received)s::timestamptz")
    + " FROM json_to_recordset(%(rows)s::json) AS x(i uuid, v uuid, l uuid, "
    + EVENT_RECORD_SQL
    + ") ON CONFLICT (id) DO NOTHING RETURNING id, lead_id"
)


def _insert_json(
    cursor: Any,
    items: Sequence[tuple[uuid.UUID, NewEvent]],
    leads: dict[uuid.UUID, uuid.UUID | None],
    received: datetime,
    source: str,
) -> None:
    lead_str = {v: (str(lead) if lead else None) for v, lead in leads.items()}
    rows = [{**event_row(e, received), "v": str(v), "l": lead_str.get(v)} for v, e in items]
    cursor.execute(
        _INSERT_JSON,
        {"received": received, "source": source, "rows": json.dumps(rows, separators=(",", ":"))},
    )


@dataclass(frozen=True)
class StoreResult:
    accepted: int
    duplicates: int
    # visitor -> its lead (None while anonymous), as read under the visitor row lock.
    leads: dict[uuid.UUID, uuid.UUID | None]


def events_store(
    *,
    items: Sequence[tuple[uuid.UUID, NewEvent]],
    received: datetime,
    source: str,
) -> StoreResult:
    """Store (visitor, event) pairs durably in one transaction: one statement upserts the
    visitors, one inserts every event (ignoring known ids), and known leads are marked
    for scoring in the same transaction (see score_triggers)."""
    if not items:
        return StoreResult(accepted=0, duplicates=0, leads={})
    # Sorted, so two batches that touch the same visitors lock them in the same order.
    visitor_ids = sorted({v for v, _ in items}, key=str)
    with transaction.atomic(), connection.cursor() as cursor:
        # Upsert the visitors and read their leads in one statement. DO UPDATE (not DO
        # NOTHING) takes the row lock that identify also takes, so an identify that
        # commits while we run cannot leave these events without their lead.
        params: list[Any] = []
        for vid in visitor_ids:
            params += [vid, received, received]
        cursor.execute(
            "INSERT INTO profiling_visitor (id, lead_id, first_seen, last_seen) VALUES "  # noqa: S608
            + ", ".join(["(%s, NULL, %s, %s)"] * len(visitor_ids))
            + " ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen "
            "RETURNING id, lead_id",
            params,
        )
        leads: dict[uuid.UUID, uuid.UUID | None] = dict(cursor.fetchall())
        _insert_json(cursor, items, leads, received, source)
        new_rows = cursor.fetchall()
        known = [(eid, lead) for eid, lead in new_rows if lead is not None]
        if known:
            by_id = {e.id: e for _, e in items}
            lead_ids = {lead for _, lead in known}
            rules = hot_rules()
            hot = _hot_leads(known, by_id, received, rules)
            # Some lead not hot: a makes-hot rule made a moment ago may say otherwise.
            if hot != lead_ids and (changed := hot_rules_if_changed(rules, received=received)):
                hot = _hot_leads(known, by_id, received, changed)
            score_pending_mark(
                lead_ids=lead_ids,
                hot_lead_ids=hot,
                now=received,
            )
    accepted = len(new_rows)
    return StoreResult(accepted=accepted, duplicates=len(items) - accepted, leads=leads)


def events_ingest(
    *,
    visitor_id: uuid.UUID,
    events: list[NewEvent],
    received: datetime | None = None,
    source: str = "tracker",
) -> IngestResult:
    """Store one visitor's events durably (one INSERT for the batch), nudge scoring."""
    if not events:
        return IngestResult(accepted=0, duplicates=0, lead_id=None)
    received = received or timezone.now()
    if not connection.in_atomic_block and len(events) <= GROUP_MAX_BATCH:
        # Outside a transaction a small batch may share its statement and commit
        # with other request threads' batches (see group.py); inside one it must be
        # part of the caller's transaction, so it runs on the caller's connection.
        stamp = received.isoformat()
        rows = [
            {**event_row(e, received), "v": str(visitor_id), "r": stamp, "src": source}
            for e in events
        ]
        outcome = group_commit.store(
            visitor_id=visitor_id, events=events, rows=rows, received=received
        )
        if outcome is not None:
            return _ingested(
                events=events,
                new_ids=outcome.new_ids,
                lead_id=outcome.lead_id,
                mark_created=outcome.mark_created,
                received=received,
            )
    return _ingest_one_statement(
        visitor_id=visitor_id, events=events, received=received, source=source
    )


# The public endpoint's path: the visitor upsert, the events INSERT and
# the lead's score-pending mark as ONE statement (data-modifying CTEs). One statement is
# atomic by itself, so outside a transaction it needs no BEGIN/COMMIT round-trips: the
# batch is durable when the statement returns. The semantics are those of
# events_store: the visitor upsert takes the row lock identify takes (DO UPDATE), the
# events get the lead read under it, and the mark is written with them or not at all.
_INGEST_ONE = (
    "WITH v AS ("  # noqa: S608 (constants only)
    " INSERT INTO profiling_visitor (id, lead_id, first_seen, last_seen)"
    " VALUES ($1::uuid, NULL, $2::timestamptz, $2::timestamptz)"
    " ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen RETURNING lead_id"
    "), e AS ("
    " INSERT INTO profiling_event (received_at, source, visitor_id, lead_id, id,"
    " type, name, gate_id, section_key, file_key, duration_ms, occurred_at, url, touch)"
    " SELECT $2::timestamptz, $3::text, $1::uuid, (SELECT lead_id FROM v), x.i, "
    + event_columns_sql("$2::timestamptz")
    + " FROM json_to_recordset($4::json) AS x(i uuid, "
    + EVENT_RECORD_SQL
    + ") ON CONFLICT (id) DO NOTHING RETURNING id"
    "), p AS ("
    " INSERT INTO profiling_scorepending (lead_id, since)"
    " SELECT lead_id, $2::timestamptz FROM v"
    " WHERE lead_id IS NOT NULL AND EXISTS (SELECT 1 FROM e)"
    " ON CONFLICT (lead_id) DO UPDATE SET since = profiling_scorepending.since"
    " RETURNING (xmax = 0) AS created"
    # Text answers only (see prepared.prepared_row).
    ") SELECT (SELECT lead_id::text FROM v),"
    " (SELECT array_to_string(array_agg(id), ',') FROM e), (SELECT created::text FROM p)"
)


def _ingest_one_statement(
    *, visitor_id: uuid.UUID, events: list[NewEvent], received: datetime, source: str
) -> IngestResult:
    rows = [event_row(e, received) for e in events]
    # A server-side prepared statement on the (persistent) connection: PostgreSQL parses
    # and plans this CTE once per connection instead of once per request, and the four
    # parameters travel bound, as text (see prepared.py).
    row = prepared_row(
        "one",
        _INGEST_ONE,
        [str(visitor_id), received.isoformat(), source, json.dumps(rows, separators=(",", ":"))],
    )
    lead_id, new_ids, mark_created = row if row else (None, None, None)
    return _ingested(
        events=events,
        new_ids=set(uuid_list(new_ids)),
        lead_id=uuid.UUID(lead_id) if lead_id else None,
        mark_created=mark_created == "true",
        received=received,
    )


def _ingested(
    *,
    events: list[NewEvent],
    new_ids: set[str],  # the stored events' ids as text (NewEvent.id_text)
    lead_id: uuid.UUID | None,
    mark_created: bool,
    received: datetime,
) -> IngestResult:
    """After the batch is durable: a known lead's new events nudge scoring."""
    accepted = len(new_ids)
    if lead_id is not None and accepted:
        stored = [e for e in events if e.id_text in new_ids]
        rules = hot_rules()
        hot = _any_hot(stored, received, rules)
        # Not hot: a makes-hot rule made a moment ago in another process may say otherwise.
        if not hot and (changed := hot_rules_if_changed(rules, received=received)):
            hot = _any_hot(stored, received, changed)
        # Only the batch that created the mark enqueues (see score_triggers); a hot
        # trigger always does. Outside a transaction on_commit runs at once.
        if hot:
            enqueue_after_commit(SCORE_TASK, str(lead_id), priority=HOT_SCORE_PRIORITY)
        elif mark_created or settings.EMBEDDED_TASKS:
            enqueue_after_commit(SCORE_TASK, str(lead_id))
    return IngestResult(accepted=accepted, duplicates=len(events) - accepted, lead_id=lead_id)
