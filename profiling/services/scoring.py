"""Scoring a lead: load facts, run the pure engine, record grade changes.

Two workers may score the same lead at once (two batches in quick succession); the row
lock on the lead serialises them, so the second sees the first's grade and a change is
recorded, and pushed, once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from forms_app.models import Gate, Section
from profiling.models import Event, GradeChange, Lead, ScoringRule, ScoringSettings
from profiling.scoring_engine import (
    EventFact,
    ProfileFact,
    RuleSpec,
    ScoreResult,
    Thresholds,
    compute_score,
)
from profiling.services.delivery import deliveries_create_for_change


def scoring_settings_get() -> ScoringSettings:
    settings_row, _ = ScoringSettings.objects.get_or_create(pk=1)
    return settings_row


def rule_spec(r: ScoringRule) -> RuleSpec:
    return RuleSpec(
        id=r.id,
        name=r.name,
        event_type=r.event_type,
        points=r.points,
        gate_id=r.gate_id,
        section_key=r.section_key,
        file_key=r.file_key,
        event_name=r.event_name,
        max_points=r.max_points,
        min_duration_ms=r.min_duration_ms,
        makes_hot=r.makes_hot,
        profile_condition=r.profile_condition,
    )


def rules_load() -> list[RuleSpec]:
    return [rule_spec(r) for r in ScoringRule.objects.filter(is_active=True).order_by("id")]


def thresholds_load() -> Thresholds:
    s = scoring_settings_get()
    return Thresholds(warm=s.warm_threshold, hot=s.hot_threshold, half_life_days=s.half_life_days)


def lead_facts(lead_id: uuid.UUID | str) -> list[EventFact]:
    rows = Event.objects.filter(lead_id=lead_id).values_list(
        "type",
        "gate_id",
        "occurred_at",
        "received_at",
        "section_key",
        "file_key",
        "name",
        "duration_ms",
    )
    return [EventFact(*row) for row in rows]


def lead_score_compute(
    lead_id: uuid.UUID | str,
    *,
    rules: list[RuleSpec] | None = None,
    thresholds: Thresholds | None = None,
    now: datetime | None = None,
) -> ScoreResult:
    """What the lead's score would be now (no writes); draft rules/thresholds allowed."""
    facts = lead_facts(lead_id)
    profile_row = (
        Lead.objects.filter(pk=lead_id).values("is_disposable_email", "company_domain").first()
    )
    profile = ProfileFact(**profile_row) if profile_row else ProfileFact()
    gate_ids = {f.gate_id for f in facts if f.gate_id is not None}
    slugs = dict(Gate.objects.filter(id__in=gate_ids).values_list("id", "slug"))
    counts: dict[int, int] = {}
    for gate_id in Section.objects.filter(gate_id__in=gate_ids).values_list("gate_id", flat=True):
        counts[gate_id] = counts.get(gate_id, 0) + 1
    return compute_score(
        facts,
        rules_load() if rules is None else rules,
        thresholds or thresholds_load(),
        now or timezone.now(),
        gate_slugs=slugs,
        gate_section_counts=counts,
        profile=profile,
    )


def lead_score(*, lead_id: uuid.UUID | str, push: bool = True) -> GradeChange | None:
    """Rescore one lead; returns the grade change it caused, if any.

    push=False records a change without CRM deliveries (re-grades after a rule edit).
    """
    with transaction.atomic():
        # NO KEY UPDATE: serialises scorers of one lead, yet does not block event inserts
        # for it (their foreign key takes KEY SHARE, which FOR UPDATE would conflict with).
        lead = (
            Lead.objects.select_for_update(no_key=True)
            .filter(pk=lead_id, erased_at__isnull=True)
            .first()
        )
        if lead is None:
            return None
        result = lead_score_compute(lead.id)
        previous = lead.grade
        lead.score = result.score
        lead.grade = result.grade
        lead.reasons = result.reasons
        lead.scored_at = timezone.now()
        lead.save(update_fields=["score", "grade", "reasons", "scored_at", "updated_at"])
        if result.grade == previous:
            return None
        change = GradeChange.objects.create(
            lead=lead,
            previous_grade=previous,
            grade=result.grade,
            score=result.score,
            reasons=result.reasons,
            triggered_at=result.last_counted_at,
        )
        # An endpoint hears about every change *to* a grade it subscribes to, rises and
        # drops alike (the payload carries previous_grade); deliveries_create_for_change
        # picks those endpoints. Under the row lock, so a change is pushed once.
        if push:
            deliveries_create_for_change(change=change, lead=lead)
        return change
