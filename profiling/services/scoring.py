"""Scoring a lead: load facts, run the pure engine, record grade changes.

Two workers may score the same lead at once (two batches in quick succession); the row
lock on the lead serialises them, so the second sees the first's grade and a change is
recorded, and pushed, once.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from forms_app.models import Gate, Section
from profiling.models import GRADE_RANK, Event, GradeChange, Lead, ScoringRule, ScoringSettings
from profiling.scoring_engine import EventFact, RuleSpec, ScoreResult, Thresholds, compute_score
from profiling.services.delivery import deliveries_create_for_change


def scoring_settings_get() -> ScoringSettings:
    settings_row, _ = ScoringSettings.objects.get_or_create(pk=1)
    return settings_row


def rules_load() -> list[RuleSpec]:
    return [
        RuleSpec(
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
        )
        for r in ScoringRule.objects.filter(is_active=True).order_by("id")
    ]


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


def lead_score_compute(lead_id: uuid.UUID | str) -> ScoreResult:
    """What the lead's score would be now (no writes)."""
    facts = lead_facts(lead_id)
    gate_ids = {f.gate_id for f in facts if f.gate_id is not None}
    slugs = dict(Gate.objects.filter(id__in=gate_ids).values_list("id", "slug"))
    counts: dict[int, int] = {}
    for gate_id in Section.objects.filter(gate_id__in=gate_ids).values_list("gate_id", flat=True):
        counts[gate_id] = counts.get(gate_id, 0) + 1
    s = scoring_settings_get()
    return compute_score(
        facts,
        rules_load(),
        Thresholds(warm=s.warm_threshold, hot=s.hot_threshold, half_life_days=s.half_life_days),
        timezone.now(),
        gate_slugs=slugs,
        gate_section_counts=counts,
    )


def lead_score(*, lead_id: uuid.UUID | str, push: bool = True) -> GradeChange | None:
    """Rescore one lead; returns the grade change it caused, if any.

    push=False records a change without CRM deliveries (re-grades after a rule edit).
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id, erased_at__isnull=True).first()
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
        # Sales wants to hear when a lead gets warmer; a cooling lead is recorded in its
        # history but not pushed (decay-driven drops come with the scoring engine work).
        if push and GRADE_RANK[result.grade] > GRADE_RANK[previous]:  # type: ignore[index]
            deliveries_create_for_change(change=change, lead=lead)
        return change


def leads_rescore(*, batch_size: int = 500) -> int:
    """Re-grade every lead after a rule or threshold change (no pushes). Returns the count.

    One lead per transaction, so a long rescore never holds many row locks and live
    scoring of new events interleaves with it.
    """
    count = 0
    last: uuid.UUID | None = None
    while True:
        page = Lead.objects.filter(erased_at__isnull=True).order_by("id")
        if last is not None:
            page = page.filter(id__gt=last)
        ids = list(page.values_list("id", flat=True)[:batch_size])
        if not ids:
            return count
        for lead_id in ids:
            lead_score(lead_id=lead_id, push=False)
        count += len(ids)
        last = ids[-1]
