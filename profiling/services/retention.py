"""Retention: anonymous visitors' events are not kept forever.

An event with no lead belongs to a browser whose person never identified (or was
erased: their events were made anonymous). Past `LEADGATE_ANONYMOUS_RETENTION_DAYS`
such events are deleted, then the anonymous visitors left with no event at all. Events
of leads stay while the lead does: they are the score, and erasure anonymises them.

Each DELETE removes at most `batch` rows and commits on its own, so the job never holds
a long transaction or a large lock set against the ingest path, and a run stops after
`budget_s` seconds (the next day's run, or a rerun, carries on where it stopped: every
statement is "delete what is still too old", so reruns are harmless).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from profiling.models import Event, Visitor
from profiling.partitions import event_leaves_before

BATCH = 5000
BUDGET_S = 600.0

_E = Event._meta.db_table
_V = Visitor._meta.db_table


def _events_sql(partition: str) -> str:
    """One batch of one partition of the events table (profiling/partitions.py).

    No index serves "lead_id IS NULL AND occurred_at < x" (one would be written on every
    beacon event, the hottest path, for a daily job): each batch scans until it has found
    `batch` rows, and old rows sit early in a partition, so the scans are short until the
    last one. The rows are named by ctid, which is unique within one partition only (so
    one partition per statement): the partitioned table has no index on id to join on.
    The conditions are repeated on the outer row: PostgreSQL re-checks them against a row
    changed meanwhile (an identify that gave the event a lead), where the LIMITed
    subquery's answer is not re-checked.
    """
    table = connection.ops.quote_name(partition)
    return (
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table}"  # noqa: S608
        " WHERE lead_id IS NULL AND occurred_at < %(cutoff)s LIMIT %(batch)s))"
        " AND lead_id IS NULL AND occurred_at < %(cutoff)s"
    )


# Visitors with no lead, not seen since the cut-off and left with no events (the
# event_visitor_time index answers NOT EXISTS). Nothing else references a visitor row.
_VISITORS_SQL = (
    f"DELETE FROM {_V} AS v USING (SELECT x.id FROM {_V} AS x"  # noqa: S608
    " WHERE x.lead_id IS NULL AND x.last_seen < %(cutoff)s"
    f" AND NOT EXISTS (SELECT 1 FROM {_E} AS e WHERE e.visitor_id = x.id)"
    " LIMIT %(batch)s) AS old"
    " WHERE v.id = old.id AND v.lead_id IS NULL AND v.last_seen < %(cutoff)s"
)


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime | None
    events: int = 0
    visitors: int = 0
    statements: int = 0
    finished: bool = True


def _delete_in_batches(
    sql: str, *, cutoff: datetime, batch: int, deadline: float
) -> tuple[int, int, bool]:
    deleted = statements = 0
    while True:
        if time.monotonic() >= deadline:
            return deleted, statements, False
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"cutoff": cutoff, "batch": batch})
            count = cursor.rowcount
        deleted += count
        statements += 1
        if count < batch:
            return deleted, statements, True


def anonymous_events_purge(
    *,
    days: int | None = None,
    now: datetime | None = None,
    batch: int = BATCH,
    budget_s: float = BUDGET_S,
) -> RetentionResult:
    """Delete anonymous events older than `days` (the setting by default; 0: keep all),
    then the anonymous visitors left without events, in statements of at most `batch`
    rows, for at most `budget_s` seconds."""
    days = settings.LEADGATE_ANONYMOUS_RETENTION_DAYS if days is None else days
    if days <= 0:
        return RetentionResult(cutoff=None)
    if batch < 1:
        raise ValueError("batch must be at least 1")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deadline = time.monotonic() + budget_s
    events = event_statements = 0
    done = True
    for partition in event_leaves_before(cutoff):
        deleted, statements, done = _delete_in_batches(
            _events_sql(partition), cutoff=cutoff, batch=batch, deadline=deadline
        )
        events += deleted
        event_statements += statements
        if not done:
            break
    visitors = visitor_statements = 0
    if done:
        visitors, visitor_statements, done = _delete_in_batches(
            _VISITORS_SQL, cutoff=cutoff, batch=batch, deadline=deadline
        )
    return RetentionResult(
        cutoff=cutoff,
        events=events,
        visitors=visitors,
        statements=event_statements + visitor_statements,
        finished=done,
    )
