"""Scoring configuration writes. Changing rules or thresholds re-grades every lead in
the background; those re-grades are recorded but not pushed to the CRM (a marketer
tuning rules must not flood sales with alerts)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from profiling.models import ScoringRule, ScoringSettings
from profiling.queue import enqueue_after_commit

RULE_FIELDS = (
    "name",
    "event_type",
    "gate",
    "section_key",
    "file_key",
    "event_name",
    "points",
    "max_points",
    "min_duration_ms",
    "makes_hot",
    "is_active",
)


def _rescore_all() -> None:
    enqueue_after_commit("profiling.tasks.leads_rescore")


def scoring_rule_save(*, rule: ScoringRule | None = None, data: dict[str, Any]) -> ScoringRule:
    rule = rule or ScoringRule()
    for attr in RULE_FIELDS:
        if attr in data:
            setattr(rule, attr, data[attr])
    with transaction.atomic():
        rule.full_clean()
        rule.save()
        _rescore_all()
    return rule


def scoring_rule_delete(*, rule: ScoringRule) -> None:
    with transaction.atomic():
        rule.delete()
        _rescore_all()


def scoring_settings_update(*, data: dict[str, Any]) -> ScoringSettings:
    with transaction.atomic():
        row, _ = ScoringSettings.objects.select_for_update().get_or_create(pk=1)
        for attr in ("warm_threshold", "hot_threshold", "half_life_days"):
            if attr in data:
                setattr(row, attr, data[attr])
        row.save()
        _rescore_all()
    return row
