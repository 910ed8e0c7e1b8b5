"""Scoring configuration writes. Changing rules or thresholds re-grades every lead in
the background (a set-based SQL rescore, profiling/services/rescore.py); those re-grades
are recorded but pushed to the CRM only when the marketer asks for it (`push=True`): a
marketer tuning rules must not flood sales with alerts by default."""

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
    "profile_condition",
)


def _rescore_all(push: bool) -> None:
    # After commit: the task must see the new rules. By name: no import of tasks here.
    enqueue_after_commit("profiling.tasks.leads_rescore", push)


def scoring_rule_save(
    *, rule: ScoringRule | None = None, data: dict[str, Any], push: bool = False
) -> ScoringRule:
    rule = rule or ScoringRule()
    for attr in RULE_FIELDS:
        if attr in data:
            setattr(rule, attr, data[attr])
    with transaction.atomic():
        rule.full_clean()
        rule.save()
        _rescore_all(push)
    return rule


def scoring_rule_delete(*, rule: ScoringRule, push: bool = False) -> None:
    with transaction.atomic():
        rule.delete()
        _rescore_all(push)


def scoring_settings_update(*, data: dict[str, Any], push: bool = False) -> ScoringSettings:
    with transaction.atomic():
        row, _ = ScoringSettings.objects.select_for_update().get_or_create(pk=1)
        for attr in ("warm_threshold", "hot_threshold", "half_life_days"):
            if attr in data:
                setattr(row, attr, data[attr])
        row.save()
        _rescore_all(push)
    return row


def leads_rescore_request(*, push: bool = False) -> None:
    """Ask for a full rescore now (API/admin), e.g. to push what an earlier edit changed."""
    with transaction.atomic():
        _rescore_all(push)
