"""One delivery attempt: claim (a lease), POST outside any transaction, record, reschedule.

At least once: only a 2xx within the timeout ends a delivery. Retries are rows with a
due time (`next_attempt_at`) that beat's sweep hands to workers, never long Celery
countdowns a Redis restart could lose.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.metrics import DELIVERIES, SPEED_TO_LEAD, labelled
from profiling.models import Delivery, DeliveryStatus, Lead, WebhookEndpoint
from profiling.queue import enqueue_now
from profiling.retries import backoff_delay
from profiling.services.delivery.payloads import TEST_EVENT
from profiling.services.delivery.signing import signature_header
from profiling.services.delivery.urls import UnsafeWebhookUrl, webhook_target

log = logging.getLogger(__name__)

# Delay before attempt n+1 after n failed attempts (Svix's schedule, about 27.6 h in all),
# each +-10% jitter so a CRM coming back is not hit by every retry at once.
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
MAX_RETRY_AFTER = timedelta(hours=24)
DELIVER_TASK = "profiling.tasks.deliver"
# Served before background work (config/celery.py: task_default_priority=6): a push to
# sales never waits behind a burst of scoring.
DELIVERY_PRIORITY = 0


def earlier_pending() -> QuerySet[Delivery]:
    """For use in Exists(): an earlier delivery of the same lead to the same endpoint is
    still pending. Order is the grade change's id: scoring creates a lead's changes one
    at a time under the lead's row lock, so ids follow the lead's history. Test events
    (no lead) never wait and never block."""
    return Delivery.objects.filter(
        lead_id=OuterRef("lead_id"),
        endpoint_id=OuterRef("endpoint_id"),
        status=DeliveryStatus.PENDING,
        grade_change_id__lt=OuterRef("grade_change_id"),
    )


def next_delay(attempts: int, retry_after: float | None) -> timedelta | None:
    """The wait before the next attempt after `attempts` failures; None: give up."""
    delay = backoff_delay(RETRY_SCHEDULE, attempts)
    if delay is None:
        return None
    if retry_after is not None:
        # Honoured, but never shortens our backoff and never parks a row past a day.
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return delay


def retry_after_seconds(raw: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` as delay-seconds or an HTTP date; None when absent or garbage."""
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class Answer:
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    retry_after: float | None = None
    latency_ms: int = 0


_client: httpx.Client | None = None
_client_pid = 0
_client_lock = threading.Lock()


def _http_client() -> httpx.Client:
    """One client per process, made lazily (so after a prefork worker forks).

    Making an httpx.Client builds an SSL context (tens of ms); reusing one also keeps
    connections to the CRM alive, so a hot lead's push costs no new TCP/TLS handshake.
    """
    global _client, _client_pid
    pid = os.getpid()
    if _client is None or _client_pid != pid:
        with _client_lock:
            if _client is None or _client_pid != pid:
                _client = httpx.Client(
                    follow_redirects=False,  # a 3xx is a failure, never followed (SSRF)
                    limits=httpx.Limits(max_connections=50, keepalive_expiry=30),
                )
                _client_pid = pid
    return _client


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST once; read at most the excerpt of the answer, all within `timeout` in total."""
    answer = Answer()
    started = time.monotonic()
    deadline = started + timeout
    try:
        target = webhook_target(url)
        if target.host_header:
            headers = {**headers, "host": target.host_header}
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
        with _http_client().stream(
            "POST",
            target.url,
            content=body,
            headers=headers,
            timeout=timeout,
            extensions=extensions,
        ) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                # The excerpt is all we keep: a huge or endless body is not downloaded.
                if size >= RESPONSE_EXCERPT or time.monotonic() > deadline:
                    break
            # httpx's timeout is per read; the contract's is for the whole answer.
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout(f"no complete answer within {timeout:g} s")
            answer.status_code = response.status_code
            answer.excerpt = b"".join(chunks)[:RESPONSE_EXCERPT].decode("utf-8", "replace")
            answer.retry_after = retry_after_seconds(response.headers.get("retry-after"))
    except UnsafeWebhookUrl as exc:
        answer.error = str(exc)[:RESPONSE_EXCERPT]
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # InvalidURL is not an HTTPError: a URL stored with the private-address setting
        # on (or through an older version) that httpx cannot parse is a failed attempt.
        answer.error = f"{type(exc).__name__}: {exc}"[:RESPONSE_EXCERPT]
    answer.latency_ms = int((time.monotonic() - started) * 1000)
    return answer


_D = Delivery._meta.db_table
_E = WebhookEndpoint._meta.db_table
# What an attempt reads of its endpoint, in the model's field order (as from_db wants).
_ENDPOINT_FIELDS = [
    f.attname
    for f in WebhookEndpoint._meta.concrete_fields
    if f.attname in {"id", "url", "secret", "previous_secret", "is_active", "failing_since"}
]
# The claim and the load of what an attempt needs (the delivery, its endpoint, whether
# its lead still may be contacted) in one statement. The claim takes the delivery for one
# attempt if it is due and no earlier one of its lead is pending: the UPDATE pushes
# next_attempt_at past the HTTP timeout (a lease), so a second worker, a duplicate broker
# message or the sweep then find nothing due, and one attempt is in flight at a time
# without holding a row lock during the POST. A worker killed mid-POST leaves the row due
# again when the lease ends, and the sweep retries it. Of two racing workers one gets the
# row, the other nothing (the second UPDATE waits for the first's row lock, re-checks the
# WHERE clause against the committed row and finds it leased). One round trip instead of
# two: under ingest load each costs milliseconds of waiting for a CPU, more than the
# queries.
_ENDPOINT_COLUMNS = ", ".join(
    f"(SELECT x.{f} FROM {_E} AS x WHERE x.id = d.endpoint_id) AS endpoint_{f}"  # noqa: S608
    for f in _ENDPOINT_FIELDS
)
_LEAD_REFUSES = (
    f"(SELECT l.do_not_contact OR l.erased_at IS NOT NULL FROM {Lead._meta.db_table} AS l"  # noqa: S608
    " WHERE l.id = d.lead_id) AS lead_refuses"
)
_CLAIM_SQL = (
    f"UPDATE {_D} AS d SET next_attempt_at = %(lease_end)s,"  # noqa: S608 (table names only)
    " attempts = d.attempts + 1, last_attempt_at = %(now)s"
    " WHERE d.id = %(id)s AND d.status = %(pending)s"
    " AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %(now)s)"
    f" AND NOT EXISTS (SELECT 1 FROM {_D} AS e WHERE e.lead_id = d.lead_id"
    " AND e.endpoint_id = d.endpoint_id AND e.status = %(pending)s"
    " AND e.grade_change_id < d.grade_change_id)"
    f" RETURNING d.*, {_ENDPOINT_COLUMNS}, {_LEAD_REFUSES}"
)


def _claim_and_load(
    delivery_id: uuid.UUID | str, now: datetime
) -> tuple[Delivery, WebhookEndpoint, bool] | None:
    """Claim, then load: (the delivery, its endpoint, "its lead may not be contacted"),
    or None if the claim found nothing to do."""
    lease = settings.LEADGATE_WEBHOOK_TIMEOUT_S + settings.LEADGATE_WEBHOOK_LEASE_GRACE_S
    params = {
        "id": uuid.UUID(str(delivery_id)),
        "now": now,
        "lease_end": now + timedelta(seconds=lease),
        "pending": DeliveryStatus.PENDING.value,
    }
    # raw() applies the model's field converters (the JSON payload); the endpoint's
    # columns come back alongside, as attributes.
    rows = list(Delivery.objects.raw(_CLAIM_SQL, params))
    if not rows:
        return None
    delivery = rows[0]
    values: Any = delivery
    endpoint = WebhookEndpoint.from_db(
        Delivery.objects.db,
        _ENDPOINT_FIELDS,
        [getattr(values, f"endpoint_{f}") for f in _ENDPOINT_FIELDS],
    )
    # The endpoint is loaded already: keep Django from querying for it again.
    delivery.endpoint = endpoint
    return delivery, endpoint, bool(values.lead_refuses)


def _kick_next(delivery: Delivery) -> None:
    """This delivery is settled: send the lead's next one to this endpoint right away
    (it waited for us) instead of leaving it to the next sweep."""
    if delivery.lead_id is None:
        return
    following = (
        Delivery.objects.filter(
            lead_id=delivery.lead_id,
            endpoint_id=delivery.endpoint_id,
            status=DeliveryStatus.PENDING,
            grade_change_id__gt=delivery.grade_change_id,
            next_attempt_at__lte=timezone.now(),
        )
        .order_by("grade_change_id")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        enqueue_now(DELIVER_TASK, str(following), priority=DELIVERY_PRIORITY)


def _endpoint_failed(endpoint: WebhookEndpoint, at: datetime) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
        failing_since=at
    )
    days = settings.LEADGATE_WEBHOOK_DISABLE_AFTER_DAYS
    since = endpoint.failing_since or at
    if at - since >= timedelta(days=days):
        WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
            is_active=False,
            disabled_at=at,
            disabled_reason=(
                f"No successful delivery since {since:%Y-%m-%d %H:%M} UTC ({days}+ days of "
                "failures): disabled. Fix the receiver, send a test event, then re-enable."
            ),
        )


def _endpoint_succeeded(endpoint: WebhookEndpoint) -> None:
    if endpoint.failing_since is not None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)


def delivery_attempt(*, delivery_id: uuid.UUID | str, now: datetime | None = None) -> str:
    """Make one attempt if the delivery is due. Returns what happened (for logs/tests):
    succeeded, retry, gave-up, gone, skipped, failed (a test event), not-due, blocked."""
    now = now or timezone.now()
    claimed = _claim_and_load(delivery_id, now)
    if claimed is None:
        waiting = (
            Delivery.objects.filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                pk=delivery_id,
                status=DeliveryStatus.PENDING,
            )
            .filter(Exists(earlier_pending()))
            .exists()
        )
        return "blocked" if waiting else "not-due"
    delivery, endpoint, lead_refuses = claimed
    is_test = delivery.event_type == TEST_EVENT
    skip = ""
    if not endpoint.is_active and not is_test:
        skip = "endpoint disabled"
    elif lead_refuses:
        # Checked again at send time: the person may have opted out (or been erased)
        # after the push was queued, and must then never reach the CRM.
        skip = "the lead asked not to be contacted"
    if skip:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SKIPPED, last_error=skip, next_attempt_at=None
        )
        _kick_next(delivery)
        labelled(DELIVERIES, "skipped").inc()
        return "skipped"

    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    msg_id = f"msg_{delivery.id.hex}"  # the same on every retry: the receiver's dedupe key
    timestamp = int(time.time())  # fresh per attempt, and so is the signature
    headers = {
        "content-type": "application/json",
        "user-agent": "leadgate-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            secrets=(endpoint.secret, endpoint.previous_secret),
            msg_id=msg_id,
            timestamp=timestamp,
            body=body,
        ),
    }
    answer = _post(endpoint.url, body, headers, float(settings.LEADGATE_WEBHOOK_TIMEOUT_S))

    finished = timezone.now()
    code = answer.status_code
    fields: dict[str, Any] = {
        "last_status_code": code,
        "last_response_body": answer.excerpt,
        "last_error": answer.error,
        "last_latency_ms": answer.latency_ms,
    }
    speed_s: float | None = None
    if code is not None and 200 <= code < 300:
        fields.update(status=DeliveryStatus.SUCCEEDED, delivered_at=finished, next_attempt_at=None)
        if delivery.triggered_at is not None:
            speed_s = max(0.0, (finished - delivery.triggered_at).total_seconds())
            speed = int(speed_s * 1000)
            # The first success counts; a manual redelivery does not rewrite history.
            fields["speed_to_lead_ms"] = Coalesce(F("speed_to_lead_ms"), Value(speed))
        outcome = "succeeded"
    elif code == 410:
        # Standard Webhooks: 410 Gone means "stop sending"; disable the endpoint.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            is_active=False, disabled_at=finished, disabled_reason="The receiver answered 410 Gone."
        )
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        outcome = "gone"
    elif is_test:
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        outcome = "failed"  # a test event is sent once, now: the marketer is watching
    else:
        delay = next_delay(delivery.attempts, answer.retry_after)
        if delay is None:
            fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
            outcome = "gave-up"
        else:
            fields.update(next_attempt_at=finished + delay)
            outcome = "retry"
    # Recorded only if no later attempt has claimed the row meanwhile (our lease ran out,
    # e.g. a DNS lookup that hung): the newer attempt's result is the one to keep.
    recorded = Delivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, attempts=delivery.attempts
    ).update(**fields)
    labelled(DELIVERIES, outcome).inc()
    if recorded and speed_s is not None and delivery.speed_to_lead_ms is None:
        # The first success of a push (a redelivery does not count again).
        SPEED_TO_LEAD.observe(speed_s)
    if outcome == "succeeded":
        _endpoint_succeeded(endpoint)
    elif not is_test:
        _endpoint_failed(endpoint, finished)
    if outcome != "retry":
        _kick_next(delivery)
    log.info("delivery %s attempt %s -> %s (%s)", delivery.id, delivery.attempts, outcome, code)
    return outcome
