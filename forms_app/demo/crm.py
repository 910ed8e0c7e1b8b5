"""The demo history's CRM: how it answered each delivery, made up but consistent.

A consistent story of the attempts at one delivery, as the delivery attempt code would
have recorded it (profiling/services/delivery/attempt.py): the retry schedule, the
timeout's error text, speed to lead from the triggering event to the 2xx. No request is
sent.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from profiling.models import Delivery, DeliveryStatus
from profiling.services.delivery import RETRY_SCHEDULE

# The CRM's answers. A half-day outage three weeks ago (retried until it came back), a
# few deliveries it never accepted, the odd timeout retried five seconds later.
OUTAGE_DAYS_AGO = (23.0, 22.55)
GAVE_UP_SHARE = 0.05
TRANSIENT_SHARE = 0.06
OK_BODY = '{"ok": true}'
ERRORS: list[tuple[int | None, str, str]] = [
    (500, '{"error": "internal_error", "message": "Unexpected error, please retry"}', ""),
    (None, "", "ReadTimeout: no complete answer within {timeout} s"),
    (502, "<html><body><h1>502 Bad Gateway</h1></body></html>", ""),
]
OUTAGE_ERROR = (503, "<html><body><h1>503 Service Unavailable</h1>Maintenance</body></html>")


def crm_answers(
    rng: random.Random, delivery: Delivery, now: datetime, timeout_s: int
) -> dict[str, Any]:
    """A consistent made-up story of the attempts at one delivery, as the delivery
    attempt code would have recorded it."""
    created = delivery.created_at
    outage_from = now - timedelta(days=OUTAGE_DAYS_AGO[0])
    outage_to = now - timedelta(days=OUTAGE_DAYS_AGO[1])
    old_enough = created < now - timedelta(days=2)
    gives_up = old_enough and rng.random() < GAVE_UP_SHARE
    transient = rng.random() < TRANSIENT_SHARE
    error = rng.choice(ERRORS)
    at = created + timedelta(milliseconds=rng.randint(30, 400))  # picked up by a worker
    attempts = 0
    code: int | None
    while True:
        attempts += 1
        if outage_from <= at < outage_to:
            code, body, err, latency = OUTAGE_ERROR[0], OUTAGE_ERROR[1], "", rng.randint(20, 90)
        elif gives_up or (transient and attempts == 1):
            code, body, err = error
            err = err.format(timeout=timeout_s)
            latency = timeout_s * 1000 if code is None else rng.randint(80, 900)
        else:
            latency = rng.randint(70, 520)
            done = at + timedelta(milliseconds=latency)
            triggered = delivery.triggered_at or created
            return {
                "status": DeliveryStatus.SUCCEEDED,
                "attempts": attempts,
                "last_attempt_at": at,
                "last_status_code": 200,
                "last_response_body": OK_BODY,
                "last_error": "",
                "last_latency_ms": latency,
                "delivered_at": done,
                "speed_to_lead_ms": max(0, int((done - triggered).total_seconds() * 1000)),
            }
        ended = at + timedelta(milliseconds=latency)
        if attempts > len(RETRY_SCHEDULE):
            return {
                "status": DeliveryStatus.FAILED,
                "attempts": attempts,
                "last_attempt_at": at,
                "last_status_code": code,
                "last_response_body": body,
                "last_error": err,
                "last_latency_ms": latency,
            }
        at = ended + RETRY_SCHEDULE[attempts - 1] * rng.uniform(0.9, 1.1)
