"""Email: the outbox of messages (to leads, and team invitations) and the sandbox mail inbox."""

from __future__ import annotations

import uuid

from django.db import models

from profiling.models.people import Lead


class EmailKind(models.TextChoices):
    CONTENT_LINK = "content_link", "Content link after a submission"
    # The only email to a lead without List-Unsubscribe: it asks the address's owner to
    # confirm a claim (an opt-in, a name), so it is not marketing to unsubscribe from.
    CONFIRMATION = "confirmation", "Confirmation of an opt-in or a claim to the address"
    # To a colleague, not a lead: `lead` stays empty, so no unsubscribe or
    # do-not-contact check applies (a one-off transactional message they asked for).
    TEAM_INVITATION = "team_invitation", "Invitation to join the team"


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up)"
    SKIPPED = "skipped", "Skipped"


class OutboundEmail(models.Model):
    """The email outbox: one message, written in the transaction that causes it.

    Sent by a Celery task after commit; retried from `next_attempt_at` by beat's sweep,
    so a mail server that is down delays an email instead of losing it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=30, choices=EmailKind.choices)
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # The language the message was written in (a gate's `language`; empty for one in
    # English by default, such as a team invitation): a page the person reaches from
    # it later speaks the same language even when the gate that caused it is gone.
    language = models.CharField(max_length=8, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The beat sweep scans only pending rows by due time.
            models.Index(
                fields=["next_attempt_at"],
                name="email_pending_due",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"email {self.id} to {self.to} ({self.status})"


class SandboxEmail(models.Model):
    """An email "sent" with no mail server configured: the demo's mail inbox
    (`/sandbox/mail/`), kept capped like the sandbox CRM inbox."""

    received_at = models.DateTimeField(auto_now_add=True)
    from_email = models.CharField(max_length=300)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=300, blank=True)
    headers = models.JSONField(default=dict)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"sandbox email {self.pk} ({self.subject})"
