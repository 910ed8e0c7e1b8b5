"""CRM delivery: outbox rows, Standard Webhooks signing, attempts with backoff.

Never imports scoring. A delivery row is written in the same transaction as the grade
change that caused it; the HTTP POST happens in a Celery task after commit, outside any
transaction, and its result is recorded with a conditional UPDATE.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from profiling.models import (
    Delivery,
    DeliveryStatus,
    GradeChange,
    Lead,
    WebhookEndpoint,
)
from profiling.queue import enqueue_after_commit, enqueue_now

log = logging.getLogger(__name__)

# Delay before attempt n+1 after n failed attempts (Svix-like, spans > 24 h), +-10% jitter.
RETRY_SCHEDULE = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
RESPONSE_EXCERPT = 500


class UnsafeWebhookUrl(ValueError):
    pass


def _address_is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def webhook_url_check(url: str) -> None:
    """Refuse URLs that would make us a proxy into a private network (SSRF).

    Contract: loopback, private and link-local targets are allowed only with
    LEADGATE_WEBHOOK_ALLOW_PRIVATE=1 (tests, the sandbox inbox).
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeWebhookUrl("Use an http:// or https:// URL with a host name.")
    if settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeWebhookUrl(f"The host {parts.hostname!r} does not resolve.") from None
    for info in infos:
        if _address_is_private(str(info[4][0])):
            raise UnsafeWebhookUrl(
                f"{parts.hostname} resolves to a private, loopback or link-local address; "
                "leadgate only posts to public addresses (set "
                "LEADGATE_WEBHOOK_ALLOW_PRIVATE=1 to allow this on a test set-up)."
            )


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks v1 signature: base64(HMAC-SHA256(key, "{id}.{ts}.{body}"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def payload_for(*, change: GradeChange, lead: Lead) -> dict[str, Any]:
    return {
        "type": "lead.grade_changed",
        "timestamp": change.created_at.isoformat(),
        "data": {
            "lead": {
                "id": str(lead.id),
                "name": lead.name,
                "email": lead.email,
                "subscribed": lead.subscribed,
                "company_domain": lead.company_domain,
            },
            "grade": change.grade,
            "previous_grade": change.previous_grade,
            "score": change.score,
            "reasons": change.reasons,
            "source": {
                "utm_source": lead.utm_source,
                "utm_medium": lead.utm_medium,
                "utm_campaign": lead.utm_campaign,
                "referrer": lead.referrer,
            },
        },
    }


def deliveries_create_for_change(*, change: GradeChange, lead: Lead) -> list[Delivery]:
    """One delivery per subscribed endpoint; enqueued after the caller's commit."""
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
        enqueue_after_commit("profiling.tasks.deliver", str(d.id))
    return created


def _next_delay(attempts: int, retry_after: float | None) -> timedelta | None:
    if attempts >= MAX_ATTEMPTS:
        return None
    base = RETRY_SCHEDULE[attempts - 1]
    delay = base * random.uniform(0.9, 1.1)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=min(retry_after, 24 * 3600)))
    return delay


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def delivery_attempt(*, delivery_id: uuid.UUID | str, now: datetime | None = None) -> str:
    """Make one attempt if the delivery is due. Returns what happened (for logs/tests).

    Claim first with a conditional UPDATE that pushes next_attempt_at past the HTTP
    timeout: a second worker (or the beat sweep) then finds nothing due and returns, so
    one attempt is in flight at a time without holding a row lock during the POST.
    """
    now = now or timezone.now()
    timeout = settings.LEADGATE_WEBHOOK_TIMEOUT_S
    lease_until = now + timedelta(seconds=timeout + 30)
    claimed = Delivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=delivery_id,
        status=DeliveryStatus.PENDING,
    ).update(next_attempt_at=lease_until, attempts=F("attempts") + 1, last_attempt_at=now)
    if not claimed:
        return "not-due"
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SKIPPED, last_error="endpoint disabled", next_attempt_at=None
        )
        return "skipped"

    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    msg_id = f"msg_{delivery.id.hex}"
    timestamp = int(time.time())  # fresh per attempt; the id stays the same
    headers = {
        "content-type": "application/json",
        "user-agent": "leadgate-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            secret=endpoint.secret, msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }
    status_code: int | None = None
    excerpt = ""
    error = ""
    retry_after: float | None = None
    try:
        webhook_url_check(endpoint.url)
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(endpoint.url, content=body, headers=headers)
        status_code = response.status_code
        excerpt = response.text[:RESPONSE_EXCERPT]
        retry_after = _retry_after(response)
    except UnsafeWebhookUrl as exc:
        error = str(exc)[:RESPONSE_EXCERPT]
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:RESPONSE_EXCERPT]

    finished = timezone.now()
    fields: dict[str, Any] = {
        "last_status_code": status_code,
        "last_response_body": excerpt,
        "last_error": error,
    }
    if status_code is not None and 200 <= status_code < 300:
        fields.update(status=DeliveryStatus.SUCCEEDED, delivered_at=finished, next_attempt_at=None)
        outcome = "succeeded"
    elif status_code == 410:
        # Standard Webhooks: 410 Gone means "stop sending"; disable the endpoint.
        with transaction.atomic():
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                is_active=False, disabled_reason="The receiver answered 410 Gone."
            )
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        outcome = "gone"
    else:
        delay = _next_delay(delivery.attempts, retry_after)
        if delay is None:
            fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
            outcome = "gave-up"
        else:
            fields.update(next_attempt_at=finished + delay)
            outcome = "retry"
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(**fields)
    log.info(
        "delivery %s attempt %s -> %s (%s)", delivery.id, delivery.attempts, outcome, status_code
    )
    return outcome


def deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[str]:
    now = now or timezone.now()
    return [
        str(pk)
        for pk in Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]


def deliveries_sweep() -> int:
    """Hand every due delivery to a worker (beat calls this every few seconds)."""
    due = deliveries_due()
    for pk in due:
        enqueue_now("profiling.tasks.deliver", pk)
    return len(due)


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send again now, whatever its state (same webhook-id: receivers dedupe on it)."""
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
        )
        enqueue_after_commit("profiling.tasks.deliver", str(delivery.pk))
    delivery.refresh_from_db()
    return delivery
