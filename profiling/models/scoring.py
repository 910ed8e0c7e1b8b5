"""Scoring configuration (rules, thresholds) and the grade changes it produces."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from forms_app.models import Gate, GateFile, PdfChapter, Section
from profiling.models.events import EventType
from profiling.models.people import Grade, Lead


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
        elif self.section_key and self.file_key:
            # A chapter of the file's PDF (its outline), read inline page by page.
            if self.gate_id is None:
                errors["gate"] = "A rule on a chapter of a file names the file's gate."
            elif not PdfChapter.objects.filter(
                gate_file__gate_id=self.gate_id,
                gate_file__key=self.file_key,
                key=self.section_key,
            ).exists():
                errors["section_key"] = (
                    f"File {self.file_key!r} has no chapter {self.section_key!r} "
                    "(chapters come from its PDF's outline)."
                )
        elif (
            self.section_key
            and self.gate_id is not None
            and not Section.objects.filter(gate_id=self.gate_id, key=self.section_key).exists()
        ):
            errors["section_key"] = (
                f"Gate {self.gate.slug if self.gate else self.gate_id!r} has no section {self.section_key!r}."
            )
        if self.file_key and kind not in (EventType.DOWNLOAD, EventType.SECTION_VIEW):
            errors["file_key"] = (
                "Only download rules, and section_view rules on the pages of a PDF read "
                "inline, can name a file."
            )
        elif (
            self.file_key
            and self.gate_id is not None
            and not GateFile.objects.filter(gate_id=self.gate_id, key=self.file_key).exists()
        ):
            errors["file_key"] = (
                f"Gate {self.gate.slug if self.gate else self.gate_id!r} has no file {self.file_key!r}."
            )
        elif (
            self.file_key
            and kind == EventType.SECTION_VIEW
            and self.gate_id is not None
            and not GateFile.objects.filter(
                gate_id=self.gate_id, key=self.file_key, read_inline=True
            ).exists()
        ):
            errors["file_key"] = (
                f"File {self.file_key!r} is not read inline: only its downloads can be scored."
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
        # The rollup fold finds the changes since its last run (insert-only table).
        indexes = [models.Index(fields=["created_at"], name="gradechange_created")]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.previous_grade} -> {self.grade}"
