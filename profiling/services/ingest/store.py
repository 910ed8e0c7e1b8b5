"""Making events durable: one statement per batch, duplicates ignored, scoring nudged.

The contract says the answer is sent only after the events are durable, and that an
event id seen before changes nothing. Both live in the database (profiling/ingest_sql.py):
its INSERT ... ON CONFLICT (id) DO NOTHING tells exactly which ids were new, and a known
lead's new events mark it for scoring in the same statement (see score_triggers).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from config.metrics import EVENTS_ACCEPTED, EVENTS_DUPLICATE, labelled
from profiling.caches import hot_rules, hot_rules_if_changed
from profiling.ingest_sql import Batch, event_row
from profiling.ingest_writer import batch_write
from profiling.queue import enqueue_after_commit
from profiling.scoring_engine import RuleSpec
from profiling.services.ingest.parse import IngestResult, NewEvent
from profiling.services.score_triggers import (
    HOT_SCORE_PRIORITY,
    SCORE_TASK,
    event_is_hot,
)


@dataclass(frozen=True)
class StoreResult:
    accepted: int
    duplicates: int
    # visitor -> its lead, for the known visitors, as read under the visitor row lock.
    leads: dict[uuid.UUID, uuid.UUID]


def events_store(
    *, items: Sequence[tuple[uuid.UUID, NewEvent]], received: datetime, source: str
) -> StoreResult:
    """Store (visitor, event) pairs durably in one statement (a caller's transaction, if
    any, includes it), then nudge scoring: a known lead's batch that made its
    score-pending mark enqueues its score task, and a new event matching a makes-hot
    rule enqueues it at once, at the hot priority."""
    if not items:
        return StoreResult(accepted=0, duplicates=0, leads={})
    visitors = {v for v, _ in items}
    one = str(next(iter(visitors))) if len(visitors) == 1 else None
    rows = [event_row(e, received) for _, e in items]
    if one is None:
        for row, (v, _) in zip(rows, items, strict=True):
            row["v"] = str(v)
    written = batch_write(Batch(rows=rows, visitor=one, received=received, source=source))
    leads = {v: lead for v in visitors if (lead := written.leads.get(str(v))) is not None}
    if leads:
        new = [(leads[v], e) for v, e in items if v in leads and e.id_text in written.new_ids]
        rules = hot_rules()
        hot = _hot_leads(new, received, rules)
        # Not all hot: a makes-hot rule made a moment ago in another process may say
        # otherwise (one read of the shared stamp, only for known leads' batches).
        some_not_hot = new and len(hot) < len({lead for lead, _ in new})
        if some_not_hot and (changed := hot_rules_if_changed(rules, received=received)):
            hot = _hot_leads(new, received, changed)
        # Outside a transaction on_commit runs at once.
        for lead in {lead for lead, _ in new}:
            if lead in hot:
                enqueue_after_commit(SCORE_TASK, str(lead), priority=HOT_SCORE_PRIORITY)
            elif lead in written.marked or settings.EMBEDDED_TASKS:
                enqueue_after_commit(SCORE_TASK, str(lead))
    accepted = len(written.new_ids)
    # One increment per batch, with its count: never per event on this path.
    if accepted:
        labelled(EVENTS_ACCEPTED, source).inc(accepted)
    if len(items) > accepted:
        labelled(EVENTS_DUPLICATE, source).inc(len(items) - accepted)
    return StoreResult(accepted=accepted, duplicates=len(items) - accepted, leads=leads)


def events_ingest(
    *,
    visitor_id: uuid.UUID,
    events: list[NewEvent],
    received: datetime | None = None,
    source: str = "tracker",
) -> IngestResult:
    """Store one visitor's events durably (events_store), nudge scoring."""
    stored = events_store(
        items=[(visitor_id, e) for e in events], received=received or timezone.now(), source=source
    )
    return IngestResult(
        accepted=stored.accepted, duplicates=stored.duplicates, lead_id=stored.leads.get(visitor_id)
    )


def _hot_leads(
    new: Sequence[tuple[uuid.UUID, NewEvent]], received: datetime, rules: Sequence[RuleSpec]
) -> set[uuid.UUID]:
    """The leads of the (lead, new event) pairs whose event matches a makes-hot rule."""
    if not rules:
        return set()
    return {lead for lead, e in new if _is_hot(e, received=received, rules=rules)}


def _is_hot(e: NewEvent, *, received: datetime, rules: Sequence[RuleSpec]) -> bool:
    """Does this parsed event match a makes-hot rule?"""
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
