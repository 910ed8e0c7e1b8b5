"""Reads for the scoring rules."""

from __future__ import annotations

from django.db.models import QuerySet

from profiling.models import ScoringRule


def rule_list() -> QuerySet[ScoringRule]:
    return ScoringRule.objects.select_related("gate").order_by("id")
