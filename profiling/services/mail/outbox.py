"""Email outbox rows: queued in the caller's transaction, enqueued after commit, swept."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from profiling.models import EmailKind, EmailStatus, OutboundEmail
from profiling.queue import enqueue_after_commit, enqueue_now

SEND_TASK = "profiling.tasks.send_email"
# A row due less than this long ago was just queued and its task is on its way: the
# sweep leaves it alone instead of queueing a duplicate (the claim would drop it anyway).
SWEEP_GRACE = timedelta(seconds=2)
MAX_SUBJECT = 300


def email_queue(
    *,
    kind: EmailKind,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    headers: dict[str, str] | None = None,
    lead_id: uuid.UUID | None = None,
    language: str = "",
) -> OutboundEmail:
    """Write one email row and send it after the caller's transaction commits.

    Call it inside the transaction that causes the email: a rolled back cause leaves no
    row and sends nothing; a committed one cannot lose its email (the sweep finds it
    even if the broker lost the task). Nothing here talks to a mail server.
    """
    email = OutboundEmail.objects.create(
        kind=kind,
        lead_id=lead_id,
        to=to,
        # A header line: no line breaks (header injection), bounded.
        subject=" ".join(subject.split())[:MAX_SUBJECT],
        text=text,
        html=html,
        headers=headers or {},
        language=language,
        next_attempt_at=timezone.now(),
    )
    enqueue_after_commit(SEND_TASK, str(email.pk))
    return email


def emails_due(*, now: datetime | None = None, limit: int = 500) -> list[str]:
    now = now or timezone.now()
    return [
        str(pk)
        for pk in OutboundEmail.objects.filter(status=EmailStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]


def emails_sweep() -> int:
    """Hand every due email to a worker (beat calls this every few seconds)."""
    due = emails_due(now=timezone.now() - SWEEP_GRACE)
    for pk in due:
        enqueue_now(SEND_TASK, pk)
    return len(due)
