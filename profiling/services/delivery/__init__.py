"""CRM delivery: outbox rows, Standard Webhooks signing, attempts with backoff, ordering.

Never imports scoring. A delivery row is written in the same transaction as the grade
change that caused it; the HTTP POST happens in a Celery task after commit, outside any
transaction, and its result is recorded with a conditional UPDATE.

- urls: the SSRF guard; signing: Standard Webhooks signatures (several during rotation);
- payloads: webhook bodies and their published JSON Schemas;
- attempt: one attempt (lease, POST, record, reschedule, per-lead ordering, endpoint health);
- outbox: creating, sweeping, redelivering deliveries and test events.
"""

from __future__ import annotations

from profiling.services.delivery.attempt import (
    MAX_ATTEMPTS,
    RESPONSE_EXCERPT,
    RETRY_SCHEDULE,
    delivery_attempt,
    next_delay,
    retry_after_seconds,
)
from profiling.services.delivery.outbox import (
    deliveries_create_for_change,
    deliveries_due,
    deliveries_sweep,
    delivery_redeliver,
    delivery_send_test,
)
from profiling.services.delivery.payloads import (
    GRADE_CHANGED,
    TEST_EVENT,
    payload_for,
    schema_text,
    test_payload_for,
)
from profiling.services.delivery.signing import sign, signature_header
from profiling.services.delivery.urls import UnsafeWebhookUrl, webhook_url_check

__all__ = [
    "GRADE_CHANGED",
    "MAX_ATTEMPTS",
    "RESPONSE_EXCERPT",
    "RETRY_SCHEDULE",
    "TEST_EVENT",
    "UnsafeWebhookUrl",
    "deliveries_create_for_change",
    "deliveries_due",
    "deliveries_sweep",
    "delivery_attempt",
    "delivery_redeliver",
    "delivery_send_test",
    "next_delay",
    "payload_for",
    "retry_after_seconds",
    "schema_text",
    "sign",
    "signature_header",
    "test_payload_for",
    "webhook_url_check",
]
