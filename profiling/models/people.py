"""People: leads (known persons) and the browsers they use (visitors)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Lower

from forms_app.models import Gate


class Grade(models.TextChoices):
    COLD = "cold", "Cold"
    WARM = "warm", "Warm"
    HOT = "hot", "Hot"


GRADE_RANK = {Grade.COLD: 0, Grade.WARM: 1, Grade.HOT: 2}


class Lead(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Stored normalised (trimmed, lower-cased); the functional unique index below makes
    # "the same email in any case is the same lead" hold even against raw SQL writers.
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200)
    subscribed = models.BooleanField(default=False)
    consent_text = models.TextField(blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    # Set when the person proved they own the address (clicked the emailed confirmation);
    # until then the email is only what someone typed into a form.
    email_verified_at = models.DateTimeField(null=True, blank=True)
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


class IdentityProof(models.Model):
    """A browser (visitor) proved it controls a lead's address: the person who reads that
    mailbox confirmed, from the emailed link, a claim this browser made.

    Only proven browsers change a lead's name, consent or subscription, and two leads are
    merged automatically only when one browser has proven both (profiling/services/
    identity.py). One row per (visitor, lead): confirming again changes nothing.
    """

    # The unique pair below indexes lookups by visitor; the lead has its own index (merges
    # move proofs by lead).
    visitor = models.ForeignKey(
        Visitor, on_delete=models.CASCADE, related_name="proofs", db_index=False
    )
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="proofs")
    proved_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visitor", "lead"], name="proof_visitor_lead_unique")
        ]

    def __str__(self) -> str:
        return f"visitor {self.visitor_id} proved lead {self.lead_id}"


class ConsentMethod(models.TextChoices):
    FORM = "form", "Form opt-in"
    DOUBLE_OPT_IN = "double_opt_in", "Double opt-in (confirmed by email)"
    SEGMENT_IDENTIFY = "segment_identify", "Segment identify"


class Consent(models.Model):
    """One opt-in, as given: the notice shown, when, how and on which gate.

    The lead's `subscribed`/`consent_text` say what holds now; these rows are the proof a
    data-protection officer asks for, one per opt-in, never rewritten. Unsubscribing or
    do-not-contact sets `withdrawn_at` on the rows that were in force.
    """

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="consents")
    text = models.TextField()
    given_at = models.DateTimeField()
    method = models.CharField(max_length=20, choices=ConsentMethod.choices)
    gate = models.ForeignKey(
        Gate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["given_at", "id"]
        indexes = [models.Index(fields=["lead", "given_at"], name="consent_lead_given")]

    def __str__(self) -> str:
        return f"consent by {self.lead_id} at {self.given_at:%Y-%m-%d %H:%M} ({self.method})"
