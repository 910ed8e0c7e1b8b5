"""Scoring configuration writes. Changing rules or thresholds re-grades every lead in
the background (a set-based SQL rescore, profiling/services/rescore/); those re-grades
are recorded but pushed to the CRM only when the marketer asks for it (`push=True`): a
marketer tuning rules must not flood sales with alerts by default."""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError
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


def _apply(rule: ScoringRule, data: dict[str, Any]) -> ScoringRule:
    for attr in RULE_FIELDS:
        if attr in data:
            setattr(rule, attr, data[attr])
    return rule


def scoring_rule_check(*, rule: ScoringRule | None = None, data: dict[str, Any]) -> ScoringRule:
    """The rule `data` would make (from `rule`, or new), checked as scoring_rule_save checks
    it and not saved: a draft for a what-if preview. `rule` itself is left unchanged.
    Raises ValidationError keyed by the model's field names."""
    draft = _apply(copy.copy(rule) if rule is not None else ScoringRule(), data)
    draft.full_clean()
    return draft


def scoring_rule_save(
    *, rule: ScoringRule | None = None, data: dict[str, Any], push: bool = False
) -> ScoringRule:
    rule = _apply(rule or ScoringRule(), data)
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
    """Change the thresholds and half-life; a partial `data` keeps the other values. The
    warm threshold must stay below the hot one (checked on the row it produces)."""
    with transaction.atomic():
        row, _ = ScoringSettings.objects.select_for_update().get_or_create(pk=1)
        for attr in ("warm_threshold", "hot_threshold", "half_life_days"):
            if attr in data:
                setattr(row, attr, data[attr])
        if row.warm_threshold >= row.hot_threshold:
            raise ValidationError({"warm_threshold": ["Must be lower than hot_threshold."]})
        row.save()
        _rescore_all(push)
    return row


def leads_rescore_request(*, push: bool = False) -> None:
    """Ask for a full rescore now (API/admin), e.g. to push what an earlier edit changed."""
    with transaction.atomic():
        _rescore_all(push)
