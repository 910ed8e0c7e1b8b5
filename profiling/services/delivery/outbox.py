"""Delivery rows: created with the grade change, swept when due, redelivered, test events."""

from __future__ import annotations

import json
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


def deliveries_create_for_change(
    *, change: GradeChange, lead: Lead, enqueue: bool = True
) -> list[Delivery]:
    """One delivery per subscribed endpoint; enqueued after the caller's commit.

    Runs inside the scoring transaction, so the grade change and its deliveries commit
    together (an outbox): a crash between them cannot lose the push.
    enqueue=False: the caller settles the rows itself in the same transaction (the
    demo's history records past deliveries), so no worker is asked to send them.
    """
    if lead.do_not_contact:
        return []  # never pushed: the person asked not to be contacted
    created = _create(change=change, lead=lead)
    if enqueue:
        for d in created:
            enqueue_after_commit(DELIVER_TASK, str(d.id), priority=DELIVERY_PRIORITY)
    return created


# Pick the subscribed endpoints and insert their deliveries in one statement
# (one round trip on the path of every grade change, instead of a SELECT then an INSERT).
# The unique (grade_change, endpoint) constraint makes a replay insert nothing, and only
# rows really inserted come back, so only they are enqueued.
_CREATE_SQL = (
    f"INSERT INTO {Delivery._meta.db_table} (id, endpoint_id, grade_change_id, lead_id,"  # noqa: S608
    " event_type, payload, status, attempts, next_attempt_at, last_response_body,"
    " last_error, triggered_at, created_at)"
    " SELECT gen_random_uuid(), ep.id, %(change)s, %(lead)s, %(type)s, %(payload)s::jsonb,"
    " %(pending)s, 0, %(now)s, '', '', %(triggered)s, %(now)s"
    f" FROM {WebhookEndpoint._meta.db_table} AS ep"
    # grades is a JSON list of grade names: "the endpoint subscribes to this grade".
    " WHERE ep.is_active AND ep.grades @> %(grade)s::jsonb ORDER BY ep.id"
    " ON CONFLICT DO NOTHING RETURNING *"
)


def _create(*, change: GradeChange, lead: Lead) -> list[Delivery]:
    params = {
        "change": change.pk,
        "lead": lead.pk,
        "type": Delivery._meta.get_field("event_type").default,
        "payload": json.dumps(payload_for(change=change, lead=lead)),
        "pending": DeliveryStatus.PENDING.value,
        "now": timezone.now(),
        "triggered": change.triggered_at,
        "grade": json.dumps([change.grade]),
    }
    return list(Delivery.objects.raw(_CREATE_SQL, params))


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
