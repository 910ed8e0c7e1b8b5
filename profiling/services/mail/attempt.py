"""One email send: claim the row (a lease), talk SMTP outside any transaction, record.

Same shape as a webhook delivery attempt (profiling/services/delivery/attempt.py): the
claim is a conditional UPDATE that pushes `next_attempt_at` past the send's timeout, so a
duplicate task or the sweep finds nothing due and one send is in flight at a time. The
row is marked sent right after the server accepts the message; only a worker killed
between those two steps can lead to a second copy (when its lease ends).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F
from django.utils import timezone

from profiling.models import EmailStatus, Lead, OutboundEmail
from profiling.retries import backoff_delay

log = logging.getLogger(__name__)

# Delay before attempt n+1 after n failures (+-10% jitter): a mail server down for a
# day still gets the email, and a flapping one is not hammered.
RETRY_SCHEDULE = [
    timedelta(seconds=30),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
]
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
LEASE_GRACE = timedelta(seconds=30)
ERROR_EXCERPT = 500


def next_delay(attempts: int) -> timedelta | None:
    """The wait before the next attempt after `attempts` failures; None: give up."""
    return backoff_delay(RETRY_SCHEDULE, attempts)


def _claim(email_id: uuid.UUID, now: datetime) -> OutboundEmail | None:
    lease_end = now + timedelta(seconds=settings.EMAIL_TIMEOUT or 60) + LEASE_GRACE
    claimed = OutboundEmail.objects.filter(
        pk=email_id, status=EmailStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease_end, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return OutboundEmail.objects.get(pk=email_id)


def _message_id(email: OutboundEmail) -> str:
    """The same on every retry, so a receiver that saw the first copy can drop another."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "leadgate"
    return f"<{email.pk.hex}@{domain}>"


def _send(email: OutboundEmail) -> None:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={**email.headers, "Message-ID": _message_id(email)},
        connection=get_connection(fail_silently=False),
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    message.send(fail_silently=False)


def email_attempt(*, email_id: uuid.UUID | str, now: datetime | None = None) -> str:
    """Send the email if it is due. Returns what happened (for logs and tests):
    sent, retry, gave-up, skipped, not-due."""
    now = now or timezone.now()
    email = _claim(uuid.UUID(str(email_id)), now)
    if email is None:
        return "not-due"
    if email.lead_id is not None:
        may_contact = Lead.objects.filter(
            pk=email.lead_id, do_not_contact=False, erased_at__isnull=True
        ).exists()
        if not may_contact:
            # Checked at send time: the person may have asked not to be contacted (or
            # been erased) after the email was queued.
            OutboundEmail.objects.filter(pk=email.pk).update(
                status=EmailStatus.SKIPPED,
                next_attempt_at=None,
                last_error="the lead asked not to be contacted",
            )
            return "skipped"
    try:
        _send(email)
    except Exception as exc:  # any refusal or network fault is a failed attempt
        error = f"{type(exc).__name__}: {exc}"[:ERROR_EXCERPT]
        delay = next_delay(email.attempts)
        fields: dict[str, object] = {"last_error": error}
        if delay is None:
            fields.update(status=EmailStatus.FAILED, next_attempt_at=None)
            outcome = "gave-up"
        else:
            fields["next_attempt_at"] = timezone.now() + delay
            outcome = "retry"
    else:
        fields = {
            "status": EmailStatus.SENT,
            "sent_at": timezone.now(),
            "next_attempt_at": None,
            "last_error": "",
        }
        outcome = "sent"
    # Recorded only if no later attempt has claimed the row meanwhile (our lease ran out).
    OutboundEmail.objects.filter(
        pk=email.pk, status=EmailStatus.PENDING, attempts=email.attempts
    ).update(**fields)
    log.info("email %s attempt %s -> %s", email.pk, email.attempts, outcome)
    return outcome
