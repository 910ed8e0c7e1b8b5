"""Visitors, leads, events, scoring configuration and CRM delivery.

Builds on the content catalog (`forms_app.models`); never imports forms_app's capture code.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from forms_app.models import Gate, GateFile, Section


class Grade(models.TextChoices):
    COLD = "cold", "Cold"
    WARM = "warm", "Warm"
    HOT = "hot", "Hot"


GRADE_RANK = {Grade.COLD: 0, Grade.WARM: 1, Grade.HOT: 2}


class EventType(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    SECTION_VIEW = "section_view", "Section view"
    DOWNLOAD = "download", "Download"
    FORM_VIEW = "form_view", "Form view"
    # Extension: Segment `track` calls with other names, scored by name.
    TRACK = "track", "Custom track event"


class Lead(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Stored normalised (trimmed, lower-cased); the functional unique index below makes
    # "the same email in any case is the same lead" hold even against raw SQL writers.
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200)
    subscribed = models.BooleanField(default=False)
    consent_text = models.TextField(blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    do_not_contact = models.BooleanField(default=False)
    # First touch: written once, when the lead is created.
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    landing_url = models.CharField(max_length=2000, blank=True)
    first_gate = models.ForeignKey(
        Gate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Passive profile (inferred, never asked).
    company_domain = models.CharField(max_length=253, blank=True)
    is_disposable_email = models.BooleanField(default=False)
    # Scoring state, written only by the scoring service under a row lock.
    score = models.IntegerField(default=0)
    grade = models.CharField(max_length=8, choices=Grade.choices, default=Grade.COLD)
    reasons = models.JSONField(default=list, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # Last touch: rewritten by every later submission or identify that brings
    # a source; the first touch above is never rewritten.
    last_utm_source = models.CharField(max_length=200, blank=True)
    last_utm_medium = models.CharField(max_length=200, blank=True)
    last_utm_campaign = models.CharField(max_length=200, blank=True)
    last_referrer = models.CharField(max_length=2000, blank=True)
    last_touch_at = models.DateTimeField(null=True, blank=True)
    # Identity merge: a lead that turned out to be the same person as an older one points
    # at it; its visitors and events now belong to the winner.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_leads"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="lead_email_ci_unique"),
        ]
        indexes = [models.Index(fields=["grade", "-created_at"], name="lead_grade_created")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Visitor(models.Model):
    # The tracker's UUID v4: the browser makes it, so it is the primary key.
    id = models.UUIDField(primary_key=True)
    # Indexed only where set (Meta): most visitors stay anonymous, and a NULL entry per
    # new visitor was index work on the beacon's hot path that no query reads.
    lead = models.ForeignKey(
        Lead,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visitors",
        db_index=False,
    )
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # Lookups are by lead (identity, merges, erasure; `lead_id = X` and the
            # SET_NULL cascade's `IN (...)` both imply NOT NULL, so they use it).
            models.Index(
                fields=["lead"], name="visitor_lead", condition=models.Q(lead__isnull=False)
            )
        ]

    def __str__(self) -> str:
        return str(self.id)


class Event(models.Model):
    # Client-made UUID: a retried batch inserts nothing new (ON CONFLICT DO NOTHING).
    id = models.UUIDField(primary_key=True)
    # The three foreign keys have no index of their own: each is the first column of one
    # of the composite indexes below, which serve the same lookups (and the cascades). An
    # event row is written on the hottest path; three fewer index entries per row matter.
    # Nor do they have a constraint in the database (db_constraint=False): PostgreSQL
    # checks a foreign key with a trigger per inserted row at commit, which was about a
    # third of its time for a 100-event batch (docs/benchmarks.md, "Event ingest").
    # Integrity holds without it: the one ingest statement (profiling/ingest_sql.py)
    # upserts the visitor before its events and reads the lead under that visitor's row
    # lock, gate ids come from the active gates just read, leads are never deleted (erased
    # and merged ones stay as tombstones), and deleting a visitor or a gate goes through
    # the ORM, whose collector still cascades and nulls as on_delete says.
    visitor = models.ForeignKey(
        Visitor,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    # Denormalised from visitor.lead so scoring reads one index range per lead; set when
    # the visitor identifies (earlier anonymous events then count).
    lead = models.ForeignKey(
        Lead,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    type = models.CharField(max_length=16, choices=EventType.choices)
    name = models.CharField(max_length=200, blank=True)  # track events: the event name
    gate = models.ForeignKey(
        Gate,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        db_constraint=False,
    )
    section_key = models.CharField(max_length=80, blank=True)
    file_key = models.CharField(max_length=80, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    url = models.CharField(max_length=2000, blank=True)
    source = models.CharField(max_length=16, default="tracker")  # tracker|server|segment
    # Where the visit came from, when the client said: {utm_source, utm_medium,
    # utm_campaign, referrer} (only the keys that were given). Read for the profile's
    # touches; one JSON column instead of four keeps the batch INSERT narrow.
    touch = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at"]
        indexes = [
            # Partial: an anonymous visitor's events (most of the beacon's traffic) have
            # no lead, and nothing reads events by "no lead" through this index; every
            # read is one lead's events. Identify fills lead_id in later (an UPDATE).
            models.Index(
                fields=["lead", "occurred_at"],
                name="event_lead_time",
                condition=models.Q(lead__isnull=False),
            ),
            models.Index(fields=["visitor", "occurred_at"], name="event_visitor_time"),
            models.Index(fields=["gate", "type", "occurred_at"], name="event_gate_type_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class ScorePending(models.Model):
    """A lead with stored events that scoring has not seen yet.

    Written in the same transaction as the events, so it is exactly as durable as they
    are: if Redis or the workers are down, the periodic sweep finds the row later and
    scores the lead. The sweep deletes the row before it enqueues the score task.
    """

    lead = models.OneToOneField(Lead, primary_key=True, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField()

    class Meta:
        verbose_name = "score pending mark"
        verbose_name_plural = "score pending marks"

    def __str__(self) -> str:
        return f"score pending for {self.lead_id}"


def make_write_key() -> str:
    return "wk_" + secrets.token_urlsafe(24)


class Source(models.Model):
    """A Segment-compatible source: its write key authenticates /v1/batch and friends."""

    name = models.CharField(max_length=200)
    write_key = models.CharField(max_length=100, unique=True, default=make_write_key)
    # Contract: allowed_gates is a list of slugs, or null for all gates.
    all_gates = models.BooleanField(default=True)
    gates = models.ManyToManyField(Gate, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ProfileCondition(models.TextChoices):
    """What a `profile` scoring rule looks at in the lead's passive profile."""

    DISPOSABLE_EMAIL = "disposable_email", "Uses a disposable email address"
    COMPANY_DOMAIN = "company_domain", "Has a company email domain"


# A scoring rule matches an event type, or ("profile") the lead's passive profile.
RULE_TYPE_PROFILE = "profile"
RULE_TYPE_CHOICES = [*EventType.choices, (RULE_TYPE_PROFILE, "Passive profile")]


class ScoringRule(models.Model):
    name = models.CharField(max_length=200)
    event_type = models.CharField(max_length=16, choices=RULE_TYPE_CHOICES)
    # Profile rules only: which profile fact they reward or penalise.
    profile_condition = models.CharField(
        max_length=32, choices=ProfileCondition.choices, blank=True
    )
    gate = models.ForeignKey(Gate, null=True, blank=True, on_delete=models.CASCADE)
    section_key = models.CharField(max_length=80, blank=True)  # blank = any section
    file_key = models.CharField(max_length=80, blank=True)  # blank = any file
    event_name = models.CharField(max_length=200, blank=True)  # track events only
    points = models.IntegerField()
    max_points = models.IntegerField(null=True, blank=True)  # cap per rule per lead
    min_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    makes_hot = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """What a rule may combine. Here, not in one API, so every writer (the API, the
        workspace, the admin, a what-if draft) is held to the same rules, and an update is
        checked as the whole rule it produces."""
        errors: dict[str, str] = {}
        kind = self.event_type
        if self.section_key and kind != EventType.SECTION_VIEW:
            errors["section_key"] = "Only section_view rules can name a section."
        elif (
            self.section_key
            and self.gate_id is not None
            and not Section.objects.filter(gate_id=self.gate_id, key=self.section_key).exists()
        ):
            errors["section_key"] = (
                f"Gate {self.gate.slug if self.gate else self.gate_id!r} has no section {self.section_key!r}."
            )
        if self.file_key and kind != EventType.DOWNLOAD:
            errors["file_key"] = "Only download rules can name a file."
        elif (
            self.file_key
            and self.gate_id is not None
            and not GateFile.objects.filter(gate_id=self.gate_id, key=self.file_key).exists()
        ):
            errors["file_key"] = (
                f"Gate {self.gate.slug if self.gate else self.gate_id!r} has no file {self.file_key!r}."
            )
        if self.event_name and kind != EventType.TRACK:
            errors["event_name"] = "Only track rules match on an event name."
        if kind == RULE_TYPE_PROFILE:
            if not self.profile_condition:
                errors["profile_condition"] = (
                    "A profile rule needs a profile_condition: "
                    + ", ".join(ProfileCondition.values)
                    + "."
                )
            for name, value in (("gate", self.gate_id), ("min_duration_ms", self.min_duration_ms)):
                if value is not None:
                    errors[name] = f"Profile rules score the person, not an event: no {name}."
        elif self.profile_condition:
            errors["profile_condition"] = "Only profile rules have a profile_condition."
        if errors:
            raise ValidationError(errors)


class ScoringSettings(models.Model):
    """A single row (pk=1): the grade thresholds and decay half-life."""

    warm_threshold = models.PositiveIntegerField(default=30)
    hot_threshold = models.PositiveIntegerField(default=80)
    half_life_days = models.PositiveIntegerField(default=0)  # 0 = no decay
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "scoring settings"
        verbose_name_plural = "scoring settings"

    def __str__(self) -> str:
        return f"warm {self.warm_threshold} / hot {self.hot_threshold}"


class GradeChange(models.Model):
    """A lead's grade moved. Deliveries hang off this row: one per (change, endpoint)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="grade_changes")
    previous_grade = models.CharField(max_length=8, choices=Grade.choices)
    grade = models.CharField(max_length=8, choices=Grade.choices)
    score = models.IntegerField()
    reasons = models.JSONField(default=list)
    # When the event that caused the change reached us: the start of "speed to lead".
    triggered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.previous_grade} -> {self.grade}"


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


class EmailKind(models.TextChoices):
    CONTENT_LINK = "content_link", "Content link after a submission"


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
