"""Thin Celery tasks: take ids, call one service. Idempotent, so acks_late is safe."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from profiling import partitions
from profiling.services.delivery import deliveries_sweep as sweep_deliveries
from profiling.services.delivery import delivery_attempt
from profiling.services.mail import email_attempt
from profiling.services.mail import emails_sweep as sweep_emails
from profiling.services.rescore import leads_regrade_decayed, rescore_run
from profiling.services.retention import anonymous_events_purge
from profiling.services.rollups import rollups_fold as fold_rollups
from profiling.services.score_triggers import score_pending_process
from profiling.services.score_triggers import score_pending_sweep as sweep_score_pending


@shared_task(
    name="profiling.tasks.score_lead",
    autoretry_for=(Exception,),
    retry_backoff=2,
    retry_backoff_max=120,
    max_retries=8,
)
def score_lead(lead_id: str) -> None:
    # Claims the lead's "score pending" mark, scores, and removes the mark only if no
    # event arrived meanwhile: a worker killed mid-scoring leaves it for the sweep.
    score_pending_process(lead_id=lead_id)


@shared_task(name="profiling.tasks.score_pending_sweep")
def score_pending_sweep() -> int:
    # Stored events whose score task never ran (broker or workers were down).
    return sweep_score_pending()


# The two outbox senders (webhook deliveries, emails) retry only our own exceptions, a
# few times and soon; an answer from the far side is recorded on the row, and beat's
# sweep retries it on the row's schedule (profiling/retries.py).
OUTBOX_SEND_RETRY: dict[str, Any] = {
    "autoretry_for": (Exception,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(name="profiling.tasks.deliver", **OUTBOX_SEND_RETRY)
def deliver(delivery_id: str) -> str:
    # HTTP failures are not exceptions here: they are recorded on the row with its
    # next due time, and beat's sweep retries them. Exceptions are our own faults.
    return delivery_attempt(delivery_id=delivery_id)


@shared_task(name="profiling.tasks.deliveries_sweep")
def deliveries_sweep() -> int:
    return sweep_deliveries()


# A full rescore is set-based SQL (seconds for 100k leads), but it must outlive the
# default 60 s soft limit on very large tables; it is idempotent if redelivered.
@shared_task(name="profiling.tasks.leads_rescore", soft_time_limit=1800, time_limit=1900)
def leads_rescore(push: bool = False) -> int:
    return rescore_run(push=push, reason="rules").leads


@shared_task(name="profiling.tasks.leads_regrade_decayed", soft_time_limit=1800, time_limit=1900)
def leads_decay_regrade() -> int:
    result = leads_regrade_decayed()
    return result.grade_changes if result else 0


@shared_task(name="profiling.tasks.send_email", **OUTBOX_SEND_RETRY)
def send_email(email_id: str) -> str:
    # A mail server's refusal is not an exception here: it is recorded on the row with
    # its next due time, and beat's sweep retries it. Exceptions are our own faults.
    return email_attempt(email_id=email_id)


@shared_task(name="profiling.tasks.emails_sweep")
def emails_sweep() -> int:
    return sweep_emails()


# Bounded inside (statements of a few thousand rows, a time budget below the limits);
# idempotent: a rerun deletes what is still too old, nothing else.
@shared_task(name="profiling.tasks.anonymous_events_purge", soft_time_limit=900, time_limit=960)
def anonymous_events_retention() -> int:
    result = anonymous_events_purge()
    return result.events


# Plumbing, not a service: DDL on the events table's partitions, each step idempotent.
@shared_task(name="profiling.tasks.event_partitions_maintain", soft_time_limit=900, time_limit=960)
def event_partitions_maintain() -> list[str]:
    created = partitions.event_partitions_ensure()
    partitions.event_partitions_drop_old()
    partitions.event_receipts_purge()
    return created


@shared_task(name="profiling.tasks.rollups_fold", soft_time_limit=900, time_limit=960)
def rollups_fold() -> int:
    return fold_rollups()
