"""The content catalog: gates, their sections, files and custom questions.

This module is the bottom layer of leadgate: `profiling` builds on it and nothing here
imports from `profiling` (Submission refers to Lead by its string label only).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,79}$",
    "Use 1-80 lower-case letters, digits and hyphens, starting with a letter or digit.",
)
KEY_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{0,79}$",
    "Use 1-80 lower-case letters, digits, '-' and '_', starting with a letter or digit.",
)


class Stage(models.TextChoices):
    # Contract: the stage decides how much may be asked.
    EPIPHANY = "epiphany", "Epiphany (open content, no form)"
    INTEREST = "interest", "Interest (name, email, opt-in)"
    DECISION = "decision", "Decision (+ up to two questions, asked progressively)"


class Language(models.TextChoices):
    # The language of everything a visitor reads: the form, its errors, the notice, the
    # content page, the emails, the confirmation and unsubscribe pages (locale/).
    EN = "en", "English"
    DE = "de", "Deutsch"
    FR = "fr", "Français"
    ES = "es", "Español"


# The defaults are stored in English and shown in the gate's language while unchanged
# (a marketer's own wording is shown as written).
DEFAULT_SUBSCRIBE_LABEL = gettext_noop("Send me new content about this business issue")
DEFAULT_SUBMIT_LABEL = gettext_noop("Get the content")
DEFAULT_CONSENT_TEXT = gettext_noop(
    "We'll email you this content. We also note which sections you read and what you "
    "download here, to send you what is relevant; no third-party cookies, no "
    "fingerprinting. You can ask us to stop or to erase your data at any time."
)


DEFAULT_CONSENT_TEXT_NO_EMAIL = gettext_noop(
    "We note which sections you read and what you download here, to send you what is "
    "relevant; no third-party cookies, no fingerprinting. You can ask us to stop or to "
    "erase your data at any time."
)
DEFAULT_VISITOR_TEXTS = frozenset(
    (
        DEFAULT_SUBSCRIBE_LABEL,
        DEFAULT_SUBMIT_LABEL,
        DEFAULT_CONSENT_TEXT,
        DEFAULT_CONSENT_TEXT_NO_EMAIL,
    )
)


def visitor_text(text: str, language: str) -> str:
    """`text` as a visitor of a gate in `language` reads it: a default translated."""
    if text not in DEFAULT_VISITOR_TEXTS:
        return text
    with translation.override(language):
        return gettext(text)


def default_consent_text(*, email_content: bool) -> str:
    """The default notice: it promises the email only when the gate sends one."""
    return DEFAULT_CONSENT_TEXT if email_content else DEFAULT_CONSENT_TEXT_NO_EMAIL


class Gate(models.Model):
    slug = models.SlugField(max_length=80, unique=True, validators=[SLUG_VALIDATOR])
    title = models.CharField(max_length=200)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.INTEREST)
    headline = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    subscribe_label = models.CharField(max_length=200, default=DEFAULT_SUBSCRIBE_LABEL)
    submit_label = models.CharField(max_length=60, default=DEFAULT_SUBMIT_LABEL)
    # The notice shown next to the submit button; stored with every submission so we can
    # prove what a visitor agreed to even after the marketer edits it.
    consent_text = models.TextField(default=DEFAULT_CONSENT_TEXT)
    # Email the visitor the content link after a submission (what the default notice
    # promises; with it off the default notice is DEFAULT_CONSENT_TEXT_NO_EMAIL).
    email_content = models.BooleanField(default=True)
    # Double opt-in: a visitor who ticks the box is subscribed only once they confirm from
    # the email leadgate sends them (a plain form opt-in proves nothing about the address).
    double_opt_in = models.BooleanField(default=False)
    # Exact origins ("https://www.example.com") allowed to call the public endpoints.
    allowed_origins = models.JSONField(default=list, blank=True)
    # A section counts as read after this much active reading time at least (more for a
    # long one: see forms_app/reading.py).
    min_dwell_ms = models.PositiveIntegerField(default=5000)
    # No time accrues after this long without a scroll, key, pointer or touch: a reader
    # who walked away is not reading.
    idle_timeout_ms = models.PositiveIntegerField(default=30000)
    is_active = models.BooleanField(default=True)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.EN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.title} ({self.slug})"

    @property
    def is_gated(self) -> bool:
        return self.stage != Stage.EPIPHANY

    # What visitors read: the stored text, or the default in the gate's language.
    @property
    def visitor_subscribe_label(self) -> str:
        return visitor_text(self.subscribe_label, self.language)

    @property
    def visitor_submit_label(self) -> str:
        return visitor_text(self.submit_label, self.language)

    @property
    def visitor_consent_text(self) -> str:
        return visitor_text(self.consent_text, self.language)


class Section(models.Model):
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="sections")
    key = models.CharField(max_length=80, validators=[KEY_VALIDATOR])
    title = models.CharField(max_length=200)
    # Markdown (forms_app/section_body.py); body_html is its sanitised rendering, made
    # when the section is saved so the visitor page only prints it.
    body = models.TextField(blank=True)
    body_html = models.TextField(blank=True, default="", editable=False)
    topics = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    # The body's length in words, kept with it: the time a section needs to count as read
    # depends on it, and the SQL rescore reads it as a column (forms_app/reading.py).
    words = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["gate_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["gate", "key"], name="section_key_unique_per_gate")
        ]

    def __str__(self) -> str:
        return f"{self.gate.slug}/{self.key}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.words = word_count(self.body)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {*update_fields, "words"}
        super().save(*args, **kwargs)


def word_count(text: str) -> int:
    """Words a reader reads in a Markdown body (markup, link targets and image addresses
    are not read, so they do not lengthen the reading time)."""
    from forms_app.section_body import body_words  # a parser module; imports no models

    return body_words(text)


class PdfStatus(models.TextChoices):
    PENDING = "pending", "Rendering"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class GateFile(models.Model):
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="files")
    key = models.CharField(max_length=80, validators=[KEY_VALIDATOR])
    title = models.CharField(max_length=200)
    # Either an external URL (we record the download, then redirect) or an upload we serve.
    url = models.URLField(max_length=1000, blank=True)
    upload = models.FileField(upload_to="gate-files/", blank=True)
    position = models.PositiveIntegerField(default=0)
    # A PDF upload may also be read on the gate, page by page (forms_app/pdf.py renders
    # it in the background; each page is a tracked section "p<N>" of this file).
    read_inline = models.BooleanField(default=False)
    pdf_status = models.CharField(max_length=8, choices=PdfStatus.choices, blank=True)
    pdf_page_count = models.PositiveIntegerField(default=0)
    pdf_pages_ready = models.PositiveIntegerField(default=0)
    pdf_error = models.CharField(max_length=300, blank=True)
    # Bumped by every PDF upload: a render task of an older upload finds it changed and
    # stops, and page image URLs change with it (they are cached for good).
    pdf_version = models.PositiveIntegerField(default=0)
    # When rendering last moved on: a pending PDF that stays still lost its task.
    pdf_progress_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["gate_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["gate", "key"], name="file_key_unique_per_gate")
        ]

    def __str__(self) -> str:
        return f"{self.gate.slug}/{self.key}"

    @property
    def readable_inline(self) -> bool:
        """Shown in the page viewer: marked so, and a PDF whose pages exist."""
        return self.read_inline and self.pdf_status in (PdfStatus.PENDING, PdfStatus.READY)


def page_section_key(number: int) -> str:
    """The section key of a PDF page in events: "p3" for the third page (1-based)."""
    return f"p{number}"


class SectionImage(models.Model):
    """An image uploaded in the gate builder for its section bodies (`![alt](/images/…)`).

    Stored as forms_app/images.py wrote it again (never the uploaded bytes), served by
    leadgate at an unguessable address that never changes (a new upload is a new image).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="images")
    image = models.CharField(max_length=300)  # a name in the default storage
    content_type = models.CharField(max_length=20)  # of the decoded format, served as is
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()  # bytes stored
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["gate_id", "created_at"]

    def __str__(self) -> str:
        return f"{self.gate_id}/{self.pk}"


class PdfPage(models.Model):
    """One page of a gate file's PDF: its rendered image (empty until rendered) and text."""

    gate_file = models.ForeignKey(GateFile, on_delete=models.CASCADE, related_name="pdf_pages")
    number = models.PositiveIntegerField()  # 1-based
    width = models.PositiveIntegerField()  # of the image, in pixels
    height = models.PositiveIntegerField()
    image = models.CharField(max_length=300, blank=True)  # a name in the default storage
    # The lighter copy for phones and the reader's column (forms_app/pdf.py); empty for
    # pages rendered before it existed, or no wider than it.
    image_small = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    words = models.PositiveIntegerField(default=0)
    chapter_key = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["gate_file_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["gate_file", "number"], name="pdf_page_unique")
        ]

    def __str__(self) -> str:
        return f"{self.gate_file_id} page {self.number}"

    @property
    def section_key(self) -> str:
        return page_section_key(self.number)


class PdfChapter(models.Model):
    """A top-level bookmark of the PDF's outline: the pages from it to the next one."""

    gate_file = models.ForeignKey(GateFile, on_delete=models.CASCADE, related_name="pdf_chapters")
    key = models.CharField(max_length=80)  # the slugified title, unique per file
    title = models.CharField(max_length=200)
    first_page = models.PositiveIntegerField()
    last_page = models.PositiveIntegerField()
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["gate_file_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["gate_file", "key"], name="pdf_chapter_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.gate_file_id} {self.key} (pages {self.first_page}-{self.last_page})"


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    CHOICE = "choice", "Choice"


class FormField(models.Model):
    """A custom question. Only `decision` gates may have them, at most two (contract)."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="fields")
    name = models.CharField(max_length=60, validators=[KEY_VALIDATOR])
    type = models.CharField(max_length=10, choices=FieldType.choices, default=FieldType.TEXT)
    label = models.CharField(max_length=200)
    choices = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["gate_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["gate", "name"], name="field_name_unique_per_gate")
        ]

    def __str__(self) -> str:
        return f"{self.gate.slug}/{self.name}"


class Submission(models.Model):
    """One form submission, with the notice the visitor saw (proof of consent)."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="submissions")
    # String reference: the catalog never imports profiling (layering rule).
    lead = models.ForeignKey("profiling.Lead", on_delete=models.CASCADE, related_name="submissions")
    visitor_id = models.UUIDField(null=True, blank=True)
    # What the visitor claimed: the name typed and the opt-in asked for (`subscribed`,
    # under `consent_text`). Applied to the lead at once only when nothing is taken over
    # (a new lead, or a browser that proved the address); otherwise once the address's
    # owner confirms from the email (`confirmed_at`).
    claimed_name = models.CharField(max_length=200, blank=True)
    subscribed = models.BooleanField(default=False)
    consent_text = models.TextField(blank=True)
    # The submitter was proven to own the address: its browser had proven it before, or
    # the person confirmed this submission from the email.
    verified = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    referrer = models.URLField(max_length=2000, blank=True)
    page_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"submission {self.pk} to {self.gate_id}"


class QuarantineReason(models.TextChoices):
    # The spam guard's verdict (forms_app/spam.py) that held the submission back.
    TOO_FAST = "too_fast", "Sent too fast after the form was shown"
    FORGED = "forged", "Form token not one we made for this gate"
    MISSING = "missing", "No form token (strict mode)"


class QuarantineVia(models.TextChoices):
    API = "api", "JSON endpoint (embed script or API client)"
    FORM = "form", "Hosted form (no JavaScript)"


class QuarantinedSubmission(models.Model):
    """A submission the spam guards doubted: kept, not yet a lead.

    It carries everything a Submission needs (name and email too, as there is no lead
    yet), the notice the visitor saw and when they sent it. No lead, score or push
    exists for it until a marketer releases it (services/quarantine.py), which runs the
    normal submission path with these values; deleting it forgets it.
    """

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="quarantined")
    reason = models.CharField(max_length=16, choices=QuarantineReason.choices)
    via = models.CharField(max_length=8, choices=QuarantineVia.choices)
    name = models.CharField(max_length=200)
    email = models.CharField(max_length=254)
    subscribed = models.BooleanField(default=False)
    visitor_id = models.UUIDField(null=True, blank=True)
    consent_text = models.TextField(blank=True)
    answers = models.JSONField(default=dict, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    page_url = models.CharField(max_length=2000, blank=True)
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [
            # The list (newest first, per gate) and the per-gate daily cap's count.
            models.Index(fields=["gate", "submitted_at"], name="quarantine_gate_time"),
            models.Index(fields=["submitted_at"], name="quarantine_time"),
        ]

    def __str__(self) -> str:
        return f"quarantined {self.pk} to {self.gate_id} ({self.reason})"


class SpamTallyKind(models.TextChoices):
    HONEYPOT = "honeypot", "Honeypot filled"
    # Doubted but not kept: over the daily quarantine cap, or data no form would accept.
    DISCARDED = "discarded", "Discarded"


class SpamTally(models.Model):
    """How many spam submissions a gate got on a day and were not kept (counts only)."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="spam_tallies")
    day = models.DateField()
    kind = models.CharField(max_length=16, choices=SpamTallyKind.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "spam tallies"
        ordering = ["-day", "gate_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["gate", "day", "kind"], name="spam_tally_unique")
        ]

    def __str__(self) -> str:
        return f"{self.gate_id} {self.day} {self.kind}: {self.count}"


class CampaignCost(models.Model):
    """What a campaign or channel cost over a period, for the return on spend report.

    Entered by the marketer in the workspace; matched to leads by first-touch
    utm_source (and utm_campaign when given) whose creation falls in [start, end].
    """

    utm_source = models.CharField(max_length=200)
    # Blank: the whole source (channel), e.g. all of "linkedin".
    utm_campaign = models.CharField(max_length=200, blank=True)
    period_start = models.DateField()
    period_end = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "utm_source", "utm_campaign"]

    def __str__(self) -> str:
        what = f"{self.utm_source}/{self.utm_campaign}" if self.utm_campaign else self.utm_source
        return f"{what} {self.period_start}..{self.period_end}: {self.amount} {self.currency}"


class TeamRole(models.TextChoices):
    # The two groups of config/roles.py.
    MARKETER = "marketer", "Marketer (reads and changes everything)"
    SALES = "sales", "Sales (reads leads and reports)"


class Invitation(models.Model):
    """A marketer's invitation to a colleague: an emailed link that makes (or joins) an
    account in one role. Only the token's SHA-256 is stored: the raw token exists in the
    email alone, so a database read does not hand out working links."""

    email = models.EmailField(max_length=150)
    role = models.CharField(max_length=16, choices=TeamRole.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"invitation {self.pk} for {self.email} ({self.role})"
