"""Scoring a lead: load facts, run the pure engine, record grade changes.

Two workers may score the same lead at once (two batches in quick succession); the row
lock on the lead serialises them, so the second sees the first's grade and a change is
recorded, and pushed, once.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from config.metrics import GRADE_CHANGES, labelled
from forms_app.models import Gate, GateFile, PdfPage, Section, page_section_key
from profiling.models import Event, GradeChange, Lead, ScoringRule, ScoringSettings
from profiling.reading import GateReading
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


def chapter_pages(
    *, event_type: str, gate_id: int | None, file_key: str, section_key: str
) -> tuple[str, ...]:
    """For a section_view rule naming a file and one of its PDF's chapters: the
    chapter's pages as the section keys their events carry ("p5", "p6"); else ()."""
    if event_type != "section_view" or gate_id is None or not file_key or not section_key:
        return ()
    numbers = PdfPage.objects.filter(
        gate_file__gate_id=gate_id, gate_file__key=file_key, chapter_key=section_key
    ).values_list("number", flat=True)
    return tuple(page_section_key(n) for n in sorted(numbers))


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
        pages=chapter_pages(
            event_type=r.event_type,
            gate_id=r.gate_id,
            file_key=r.file_key,
            section_key=r.section_key,
        ),
    )


def rules_load() -> list[RuleSpec]:
    return [rule_spec(r) for r in ScoringRule.objects.filter(is_active=True).order_by("id")]


def thresholds_load() -> Thresholds:
    s = scoring_settings_get()
    return Thresholds(warm=s.warm_threshold, hot=s.hot_threshold, half_life_days=s.half_life_days)


# The scoring of one lead is a handful of small reads; under ingest load each round trip
# to PostgreSQL costs milliseconds of waiting for a CPU (both ends must be scheduled), far
# more than the query itself. So the reads are folded: the lead's row lock also reads
# the active rules and the thresholds (_CONFIG_SQL), and one statement reads the lead's
# events with their gates' slugs and section counts (_FACTS_SQL), as JSON.
_CONFIG_SQL = (
    "SELECT json_build_array("  # noqa: S608 (table names only)
    " (SELECT coalesce(json_agg(json_build_array(r.id, r.name, r.event_type, r.points,"
    " r.gate_id, r.section_key, r.file_key, r.event_name, r.max_points, r.min_duration_ms,"
    " r.makes_hot, r.profile_condition,"
    # A chapter rule's pages (chapter_pages() in SQL): empty for every other rule.
    " (SELECT coalesce(json_agg('p' || pp.number ORDER BY pp.number), '[]')"
    f" FROM {PdfPage._meta.db_table} pp JOIN {GateFile._meta.db_table} gf"
    " ON gf.id = pp.gate_file_id WHERE r.event_type = 'section_view' AND r.file_key <> ''"
    " AND r.section_key <> '' AND gf.gate_id = r.gate_id AND gf.key = r.file_key"
    " AND pp.chapter_key = r.section_key)) ORDER BY r.id), '[]')"
    f" FROM {ScoringRule._meta.db_table} r WHERE r.is_active),"
    " (SELECT json_build_array(warm_threshold, hot_threshold, half_life_days)"
    f" FROM {ScoringSettings._meta.db_table} WHERE id = 1))::text"
)
_FACTS_SQL = (
    "WITH f AS MATERIALIZED (SELECT type, gate_id, occurred_at, received_at, section_key,"  # noqa: S608
    f" file_key, name, duration_ms, id FROM {Event._meta.db_table} WHERE lead_id = %s)"
    " SELECT (SELECT coalesce(json_agg(json_build_array(type, gate_id, occurred_at,"
    " received_at, section_key, file_key, name, duration_ms, id)), '[]') FROM f)::text,"
    # Per gate: slug, number of sections, minimum dwell, and each section's words (what
    # its read threshold depends on).
    " (SELECT coalesce(json_agg(json_build_array(g.id, g.slug, (SELECT count(*)"
    f" FROM {Section._meta.db_table} s WHERE s.gate_id = g.id), g.min_dwell_ms,"
    " (SELECT coalesce(json_object_agg(s.key, s.words), '{}')"
    f" FROM {Section._meta.db_table} s WHERE s.gate_id = g.id))), '[]')"
    f" FROM {Gate._meta.db_table} g WHERE g.id IN (SELECT gate_id FROM f))::text"
)


def _config_parse(raw: str) -> tuple[list[RuleSpec], Thresholds]:
    rules, limits = json.loads(raw)
    if limits is None:  # no settings row yet: the model's defaults, as get_or_create makes
        row = ScoringSettings()
        limits = [row.warm_threshold, row.hot_threshold, row.half_life_days]
    warm, hot, half_life_days = limits
    # The last column is a chapter rule's pages: a tuple, as RuleSpec is hashable.
    specs = [RuleSpec(*[*r[:-1], tuple(r[-1])]) for r in rules]
    return specs, Thresholds(warm, hot, half_life_days)


@dataclass(frozen=True)
class LeadFacts:
    events: list[EventFact]
    gate_slugs: dict[int, str]
    gate_section_counts: dict[int, int]
    gate_reading: dict[int, GateReading]


def _facts_and_gates(lead_id: uuid.UUID | str) -> LeadFacts:
    """The lead's events, and what scoring needs of each gate they name."""
    with connection.cursor() as cursor:
        cursor.execute(_FACTS_SQL, [lead_id])
        raw_facts, raw_gates = cursor.fetchone()
    when = datetime.fromisoformat
    facts = [
        EventFact(t, g, when(occurred), when(received), s, f, n, d, i)
        for t, g, occurred, received, s, f, n, d, i in json.loads(raw_facts)
    ]
    gates: list[list[Any]] = json.loads(raw_gates)
    return LeadFacts(
        events=facts,
        gate_slugs={g[0]: g[1] for g in gates},
        gate_section_counts={g[0]: g[2] for g in gates if g[2]},
        gate_reading={g[0]: GateReading(min_dwell_ms=g[3], section_words=g[4]) for g in gates},
    )


def lead_score_compute(
    lead_id: uuid.UUID | str,
    *,
    rules: list[RuleSpec] | None = None,
    thresholds: Thresholds | None = None,
    now: datetime | None = None,
    profile: ProfileFact | None = None,
) -> ScoreResult:
    """What the lead's score would be now (no writes); draft rules/thresholds allowed.
    `profile` saves a read when the caller holds the lead's row already."""
    facts = _facts_and_gates(lead_id)
    if profile is None:
        profile_row = (
            Lead.objects.filter(pk=lead_id).values("is_disposable_email", "company_domain").first()
        )
        profile = ProfileFact(**profile_row) if profile_row else ProfileFact()
    return compute_score(
        facts.events,
        rules_load() if rules is None else rules,
        thresholds or thresholds_load(),
        now or timezone.now(),
        gate_slugs=facts.gate_slugs,
        gate_section_counts=facts.gate_section_counts,
        profile=profile,
        gate_reading=facts.gate_reading,
    )


def lead_score(*, lead_id: uuid.UUID | str, push: bool = True) -> GradeChange | None:
    """Rescore one lead; returns the grade change it caused, if any.

    push=False records a change without CRM deliveries (re-grades after a rule edit).
    """
    with transaction.atomic():
        # NO KEY UPDATE: serialises scorers of one lead, yet does not block event inserts
        # for it (their foreign key takes KEY SHARE, which FOR UPDATE would conflict with).
        leads = Lead.objects.select_for_update(no_key=True).filter(
            pk=lead_id, erased_at__isnull=True
        )
        leads = leads.annotate(scoring_config=RawSQL(_CONFIG_SQL, ()))  # noqa: S611 (constant)
        lead = leads.first()
        if lead is None:
            return None
        rules, thresholds = _config_parse(lead.scoring_config)
        result = lead_score_compute(
            lead.id,
            rules=rules,
            thresholds=thresholds,
            profile=ProfileFact(
                is_disposable_email=lead.is_disposable_email, company_domain=lead.company_domain
            ),
        )
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
        labelled(GRADE_CHANGES, result.grade).inc()
        # An endpoint hears about every change *to* a grade it subscribes to, rises and
        # drops alike (the payload carries previous_grade); deliveries_create_for_change
        # picks those endpoints. Under the row lock, so a change is pushed once.
        if push:
            deliveries_create_for_change(change=change, lead=lead)
        return change
