"""Admin for scoring rules and settings, grade changes and pending scores."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from profiling.admin.base import RecordAdmin
from profiling.models import (
    GradeChange,
    ScorePending,
    ScoringRule,
    ScoringSettings,
)


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "event_type",
        "gate",
        "section_key",
        "file_key",
        "points",
        "max_points",
        "min_duration_ms",
        "makes_hot",
        "is_active",
    )
    list_filter = ("event_type", "makes_hot", "is_active", "gate")
    search_fields = ("name", "section_key", "file_key", "event_name")
    list_editable = ("points", "is_active")
    actions = ("what_if_selected",)

    # Admin edits bypass the rules service; re-grade like the API does (recorded, not
    # pushed), after commit.
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _rescore_after_admin_edit()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        _rescore_after_admin_edit()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ScoringRule]) -> None:
        super().delete_queryset(request, queryset)
        _rescore_after_admin_edit()

    @admin.action(
        description="What if the selected rules were the whole rule set? (changes nothing)"
    )
    def what_if_selected(self, request: HttpRequest, queryset: QuerySet[ScoringRule]) -> Any:
        from django.template.response import TemplateResponse

        from profiling.services.scoring import rule_spec
        from profiling.services.whatif import scoring_what_if

        rules = list(queryset.order_by("id"))
        result = scoring_what_if(rules=[rule_spec(r) for r in rules], sample_size=20)
        return TemplateResponse(
            request,
            "admin/profiling/scoringrule/what_if.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "What if these rules were the rule set?",
                "rules": rules,
                "result": result,
            },
        )


def _rescore_after_admin_edit() -> None:
    from profiling.services.rules import leads_rescore_request

    leads_rescore_request(push=False)


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "warm_threshold", "hot_threshold", "half_life_days", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A single row (pk=1).
        return not ScoringSettings.objects.exists()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _rescore_after_admin_edit()


@admin.register(GradeChange)
class GradeChangeAdmin(RecordAdmin):
    list_display = ("created_at", "lead", "previous_grade", "grade", "score")
    list_filter = ("grade", "previous_grade")
    search_fields = ("lead__email",)
    date_hierarchy = "created_at"
    raw_id_fields = ("lead",)
    list_select_related = ("lead",)
    readonly_fields = (
        "lead",
        "previous_grade",
        "grade",
        "score",
        "reasons",
        "triggered_at",
        "created_at",
    )


@admin.register(ScorePending)
class ScorePendingAdmin(RecordAdmin):
    """Leads with stored events that scoring has not seen yet (normally empty)."""

    list_display = ["lead", "since"]
    raw_id_fields = ["lead"]
