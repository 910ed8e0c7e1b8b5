"""Email to leads: an outbox like the webhook deliveries, and one-click unsubscribe.

- outbox: rows written in the caller's transaction, enqueued after commit, swept when due;
- attempt: one send (lease by conditional UPDATE, SMTP outside any transaction, record);
- unsubscribe: signed List-Unsubscribe links (RFC 8058) and the unsubscribe itself.
"""

from __future__ import annotations

from profiling.services.mail.attempt import MAX_ATTEMPTS, RETRY_SCHEDULE, email_attempt
from profiling.services.mail.outbox import SEND_TASK, email_queue, emails_due, emails_sweep
from profiling.services.mail.unsubscribe import (
    lead_unsubscribe,
    unsubscribe_headers,
    unsubscribe_token_make,
    unsubscribe_token_read,
)

__all__ = [
    "MAX_ATTEMPTS",
    "RETRY_SCHEDULE",
    "SEND_TASK",
    "email_attempt",
    "email_queue",
    "emails_due",
    "emails_sweep",
    "lead_unsubscribe",
    "unsubscribe_headers",
    "unsubscribe_token_make",
    "unsubscribe_token_read",
]
