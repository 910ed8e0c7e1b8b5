"""Thin Celery tasks: take ids, call one service. Idempotent, so acks_late is safe."""

from __future__ import annotations

from celery import shared_task

from profiling.services.delivery import deliveries_sweep as sweep_deliveries
from profiling.services.delivery import delivery_attempt
from profiling.services.scoring import lead_score
from profiling.services.scoring import leads_rescore as rescore_all


@shared_task(
    name="profiling.tasks.score_lead",
    autoretry_for=(Exception,),
    retry_backoff=2,
    retry_backoff_max=120,
    max_retries=8,
)
def score_lead(lead_id: str) -> None:
    lead_score(lead_id=lead_id)


@shared_task(
    name="profiling.tasks.deliver",
    autoretry_for=(Exception,),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def deliver(delivery_id: str) -> str:
    # HTTP failures are not exceptions here: they are recorded on the row with its
    # next due time, and beat's sweep retries them. Exceptions are our own faults.
    return delivery_attempt(delivery_id=delivery_id)


@shared_task(name="profiling.tasks.deliveries_sweep")
def deliveries_sweep() -> int:
    return sweep_deliveries()


@shared_task(name="profiling.tasks.leads_rescore")
def leads_rescore() -> int:
    return rescore_all()
