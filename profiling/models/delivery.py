"""CRM delivery: webhook endpoints, the delivery outbox, the sandbox CRM inbox."""

from __future__ import annotations

import base64
import secrets
import uuid
from urllib.parse import urlsplit

from django.db import models

from profiling.models.people import Lead
from profiling.models.scoring import GradeChange


def make_webhook_secret() -> str:
    # Standard Webhooks: "whsec_" + base64 of 24-64 random bytes.
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    # What the marketer calls it ("HubSpot: hot leads"); blank: shown by its URL's host.
    name = models.CharField(max_length=200, blank=True, default="")
    url = models.URLField(max_length=1000)
    secret = models.CharField(max_length=200, default=make_webhook_secret)
    grades = models.JSONField(default=list)  # e.g. ["hot"] or ["warm", "hot"]
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Secret rotation: while set, every request carries a second `v1,` signature made
    # with the old secret, so the CRM keeps verifying until the marketer retires it.
    previous_secret = models.CharField(max_length=200, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # First failure since the last 2xx; an endpoint failing for days is disabled.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name, or the URL's host for an unnamed endpoint (the path may hold a token)."""
        if self.name:
            return self.name
        try:
            host = urlsplit(self.url).hostname
        except ValueError:
            host = None
        return host or self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed (gave up)"
    SKIPPED = "skipped", "Skipped"


class Delivery(models.Model):
    # The delivery's id is the `webhook-id` header: the same on every retry.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Both null for a "send a test event" delivery (`event_type` webhook.test).
    grade_change = models.ForeignKey(
        GradeChange, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40, default="lead.grade_changed")
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_response_body = models.CharField(max_length=500, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The last attempt's HTTP round trip, and speed to lead: the triggering event's
    # arrival to the CRM's 2xx (set once, on success).
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    speed_to_lead_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at"]
        constraints = [
            # Exactly one delivery per (grade change, endpoint), even if two workers race.
            models.UniqueConstraint(
                fields=["grade_change", "endpoint"], name="delivery_once_per_change"
            ),
        ]
        indexes = [
            # The beat sweep scans only pending rows by due time.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_pending_due",
                condition=models.Q(status="pending"),
            ),
            # Per-lead ordering: "is an earlier delivery of this lead to this endpoint
            # still pending?" is one probe of this small partial index.
            models.Index(
                fields=["lead", "endpoint", "grade_change"],
                name="delivery_lead_order",
                condition=models.Q(status="pending"),
            ),
            # Speed-to-lead percentiles read an endpoint's latest successes.
            models.Index(
                fields=["endpoint", "-delivered_at"],
                name="delivery_endpoint_speed",
                condition=models.Q(speed_to_lead_ms__isnull=False),
            ),
            # The dashboard counts an endpoint's failures in a range: few rows, so the
            # count costs what the failures cost, not what all deliveries cost.
            models.Index(
                fields=["endpoint", "created_at"],
                name="delivery_endpoint_failed",
                condition=models.Q(status="failed"),
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.id} ({self.status})"


class SandboxMessage(models.Model):
    """A request received by the built-in sandbox CRM inbox (`/sandbox/crm/`).

    Lets a marketer watch signed deliveries arrive, and test any webhook set-up before
    pointing it at the real CRM.
    """

    received_at = models.DateTimeField(auto_now_add=True)
    webhook_id = models.CharField(max_length=200, blank=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    signature_valid = models.BooleanField(default=False)
    verification_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"sandbox message {self.webhook_id or self.pk}"
