"""How stored events reach scoring: a durable "score pending" mark, hot triggers, a sweep.

The request path must not pay a Celery round-trip (about 1 ms of CPU, half the
throughput of the events endpoint) for every batch, yet a hot lead must reach sales at
once and nothing may be lost when Redis or the workers are down. So:

- In the transaction that stores a known lead's events we upsert one `ScorePending` row
  for the lead. It is exactly as durable as the events.
- Only the batch that *creates* that row enqueues the score task (after commit). Later
  batches of the same burst find the row and enqueue nothing: the task will see their
  events. It claims the row before it scores (an UPDATE, which waits for the row lock a
  concurrent batch's upsert holds until it commits, so that batch's events are visible),
  and deletes it after scoring committed only if no batch has touched it since (the
  row's version, xmin, is still the claim's); if one has, it scores again. The row is
  never gone while its events are unscored: a worker killed mid-scoring (SIGKILL, OOM,
  a node lost: the broker message may be gone too) leaves it for the sweep.
- An accepted event that matches an active `makes_hot` rule enqueues the score task
  at once, whatever the row says (a queued task might have been lost with the broker).
  The rules are cached per process (profiling/caches.py); a batch that no cached rule
  matches checks the shared stamp first, so a rule made a moment ago anywhere triggers.
- Beat's sweep enqueues the score task for rows older than a grace period: rows whose
  enqueue failed (broker down) or whose message was lost. Scoring is idempotent, so a
  duplicate enqueue costs a rescore, never a double count.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from profiling.ingest_sql import score_pending_sql
from profiling.models import ScorePending
from profiling.queue import enqueue_after_commit, enqueue_now
from profiling.scoring_engine import EventFact, RuleSpec
from profiling.services.scoring import lead_score

log = logging.getLogger(__name__)

SCORE_TASK = "profiling.tasks.score_lead"
# A hot trigger's score task is published at the deliveries' priority, 0 (a worker pops
# that Redis list before the others; background scoring has the default, 6): under
# ingest load background scoring queues hundreds of milliseconds deep, and a hot lead's
# score must not wait behind it (measured: p99 0.5 s of queueing in bench/delivery.py).
HOT_SCORE_PRIORITY = 0
SWEEP_GRACE = timedelta(seconds=30)


def event_is_hot(
    *,
    type: str,
    gate_id: int | None,
    section_key: str,
    file_key: str,
    name: str,
    duration_ms: int | None,
    received: datetime,
    rules: Iterable[RuleSpec],
) -> bool:
    """Does this event match a makes_hot rule? The engine's own matching (RuleSpec.matches),
    so ingest and scoring can never disagree on what a hot trigger is."""
    fact = EventFact(
        type=type,
        gate_id=gate_id,
        occurred_at=received,
        received_at=received,
        section_key=section_key,
        file_key=file_key,
        name=name,
        duration_ms=duration_ms,
    )
    return any(r.matches(fact) for r in rules)


def score_pending_mark(
    *, lead_ids: Iterable[uuid.UUID], hot_lead_ids: Iterable[uuid.UUID] = (), now: datetime
) -> None:
    """Mark leads pending in the caller's transaction; enqueue where needed after commit.

    Must run inside the transaction that stored the events (the mark is durable with
    them). Leads are locked in id order so two batches never deadlock.
    """
    leads = sorted(set(lead_ids), key=str)
    if not leads:
        return
    hot = set(hot_lead_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            score_pending_sql("SELECT unnest(%s::uuid[]), %s::timestamptz ORDER BY 1"),
            [leads, now],
        )
        rows = cursor.fetchall()
    for lead_id, inserted in rows:
        if lead_id in hot:
            enqueue_after_commit(SCORE_TASK, str(lead_id), priority=HOT_SCORE_PRIORITY)
        elif inserted or settings.EMBEDDED_TASKS:
            enqueue_after_commit(SCORE_TASK, str(lead_id))


_CLAIM_SQL = (
    f"UPDATE {ScorePending._meta.db_table} SET since = %s"  # noqa: S608 (table name only)
    " WHERE lead_id = %s RETURNING xmin::text"
)
_RELEASE_SQL = (
    f"DELETE FROM {ScorePending._meta.db_table}"  # noqa: S608 (table name only)
    " WHERE lead_id = %s AND xmin::text = %s"
)


def score_pending_claim(*, lead_id: uuid.UUID | str) -> str | None:
    """Claim the lead's mark before scoring: the mark's version after the claim (None: no
    mark). Re-stamped, not deleted, so the sweep finds it again if this scoring never
    finishes; the UPDATE waits for a concurrent batch's upsert to commit, so the scoring
    that follows sees that batch's events."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [timezone.now(), str(lead_id)])
        row = cursor.fetchone()
    return str(row[0]) if row else None


def score_pending_release(*, lead_id: uuid.UUID | str, claim: str) -> bool:
    """Delete the mark after scoring committed, unless a batch upserted it since `claim`
    (its DO UPDATE wrote a new row version): False then, its events may be unscored and
    the batch enqueued nothing (it found the mark)."""
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE_SQL, [str(lead_id), claim])
        return cursor.rowcount == 1


def score_pending_process(*, lead_id: uuid.UUID | str) -> None:
    """The score task: claim the mark, score, release; score again (queued) if events
    arrived meanwhile. Outside any transaction: the claim and the release commit on their
    own, around the scoring's transaction."""
    claim = score_pending_claim(lead_id=lead_id)
    lead_score(lead_id=lead_id)
    if claim is not None and not score_pending_release(lead_id=lead_id, claim=claim):
        # If this enqueue fails (broker down), the mark stays and the sweep enqueues it.
        enqueue_now(SCORE_TASK, str(lead_id))


class _EnqueueFailed(Exception):
    pass


def score_pending_sweep(*, grace: timedelta = SWEEP_GRACE, limit: int = 1000) -> int:
    """Enqueue scoring for leads marked pending longer than `grace`. Returns the count.

    Rows are re-stamped, not deleted: the task deletes them, so a message lost after
    this sweep is found again by a later one. If the broker is still down, nothing
    changes and the next sweep tries again.
    """
    cutoff = timezone.now() - grace
    try:
        with transaction.atomic():
            lead_ids: Sequence[uuid.UUID] = list(
                ScorePending.objects.select_for_update(skip_locked=True)
                .filter(since__lte=cutoff)
                .order_by("since")
                .values_list("lead_id", flat=True)[:limit]
            )
            if not lead_ids:
                return 0
            ScorePending.objects.filter(lead_id__in=lead_ids).update(since=timezone.now())
            for lead_id in lead_ids:
                if not enqueue_now(SCORE_TASK, str(lead_id)):
                    raise _EnqueueFailed
    except _EnqueueFailed:
        log.warning("score sweep: broker unavailable; %d leads stay pending", len(lead_ids))
        return 0
    return len(lead_ids)
