"""Delivery rows: created with the grade change, swept when due, redelivered, test events."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists
from django.utils import timezone

from profiling.models import Delivery, DeliveryStatus, GradeChange, Lead, WebhookEndpoint
from profiling.queue import enqueue_after_commit, enqueue_now
from profiling.services.delivery.attempt import (
    DELIVER_TASK,
    DELIVERY_PRIORITY,
    delivery_attempt,
    earlier_pending,
)
from profiling.services.delivery.payloads import TEST_EVENT, payload_for, test_payload_for

# A row due less than this long ago was just created or just kicked, and its message is
# on its way: the sweep leaves it alone instead of queueing a duplicate.
SWEEP_GRACE = timedelta(seconds=2)


def deliveries_create_for_change(*, change: GradeChange, lead: Lead) -> list[Delivery]:
    """One delivery per subscribed endpoint; enqueued after the caller's commit.

    Runs inside the scoring transaction, so the grade change and its deliveries commit
    together (an outbox): a crash between them cannot lose the push.
    """
    if lead.do_not_contact:
        return []  # never pushed: the person asked not to be contacted
    endpoints = [
        ep for ep in WebhookEndpoint.objects.filter(is_active=True) if change.grade in ep.grades
    ]
    if not endpoints:
        return []
    payload = payload_for(change=change, lead=lead)
    now = timezone.now()
    created = Delivery.objects.bulk_create(
        [
            Delivery(
                endpoint=ep,
                grade_change=change,
                lead=lead,
                payload=payload,
                next_attempt_at=now,
                triggered_at=change.triggered_at,
            )
            for ep in endpoints
        ],
        # The unique (grade_change, endpoint) constraint makes a replay a no-op.
        ignore_conflicts=True,
    )
    for d in created:
        enqueue_after_commit(DELIVER_TASK, str(d.id), priority=DELIVERY_PRIORITY)
    return created


def deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[str]:
    """Pending rows whose time has come, oldest first, skipping those that wait for an
    earlier delivery of the same lead (they are kicked when it settles)."""
    now = now or timezone.now()
    return [
        str(pk)
        for pk in Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(~Exists(earlier_pending()))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]


def deliveries_sweep() -> int:
    """Hand every due delivery to a worker (beat calls this every few seconds)."""
    due = deliveries_due(now=timezone.now() - SWEEP_GRACE)
    for pk in due:
        enqueue_now(DELIVER_TASK, pk, priority=DELIVERY_PRIORITY)
    return len(due)


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send again now, whatever its state (same webhook-id: receivers dedupe on it)."""
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
        )
        enqueue_after_commit(DELIVER_TASK, str(delivery.pk), priority=DELIVERY_PRIORITY)
    delivery.refresh_from_db()
    return delivery


def delivery_send_test(*, endpoint: WebhookEndpoint) -> Delivery:
    """Send a signed `webhook.test` now, in this request, and log it as a delivery.

    Synchronous on purpose: the marketer is waiting for the CRM's answer. Sent even to a
    disabled endpoint (that is how one checks a fix before re-enabling), and never
    retried or counted against the endpoint's health.
    """
    with transaction.atomic():
        delivery = Delivery.objects.create(
            endpoint=endpoint,
            event_type=TEST_EVENT,
            payload=test_payload_for(endpoint=endpoint),
            next_attempt_at=timezone.now(),
        )
    delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery
