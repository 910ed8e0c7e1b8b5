"""Admin for leads, visitors, their events and sources."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from profiling.admin.base import RecordAdmin
from profiling.models import (
    Event,
    Lead,
    Source,
    Visitor,
)
from profiling.services.leads import lead_erase


class VisitorInline(admin.TabularInline):
    model = Visitor
    extra = 0
    fields = ("id", "first_seen", "last_seen")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Lead)
class LeadAdmin(RecordAdmin):
    """Leads come from submissions and are scored by leadgate. The one way to remove a
    person is erasure (lead_erase): it keeps the anonymous counts, where a plain delete
    would cascade through events, grade changes and the delivery log."""

    actions = ("erase_selected",)
    list_display = (
        "email",
        "name",
        "grade",
        "score",
        "subscribed",
        "company_domain",
        "utm_source",
        "created_at",
    )
    list_filter = ("grade", "subscribed", "do_not_contact", "is_disposable_email", "first_gate")
    search_fields = ("email", "name", "company_domain")
    date_hierarchy = "created_at"
    readonly_fields = (
        "id",
        "score",
        "grade",
        "reasons",
        "scored_at",
        "company_domain",
        "is_disposable_email",
        "consent_text",
        "consented_at",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "referrer",
        "landing_url",
        "first_gate",
        "created_at",
        "updated_at",
        "erased_at",
    )
    fieldsets = (
        (None, {"fields": ("id", "name", "email", "subscribed", "do_not_contact")}),
        ("Score", {"fields": ("grade", "score", "reasons", "scored_at")}),
        ("Inferred", {"fields": ("company_domain", "is_disposable_email")}),
        ("Consent", {"fields": ("consent_text", "consented_at")}),
        (
            "First touch",
            {
                "fields": (
                    "first_gate",
                    "utm_source",
                    "utm_medium",
                    "utm_campaign",
                    "referrer",
                    "landing_url",
                )
            },
        ),
        ("History", {"fields": ("created_at", "updated_at", "erased_at")}),
    )
    inlines = (VisitorInline,)

    @admin.action(description="Erase the selected people (keeps anonymous counts)")
    def erase_selected(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        count = 0
        for lead in queryset.filter(erased_at__isnull=True):
            lead_erase(lead=lead)
            count += 1
        self.message_user(request, f"{count} people erased.", messages.SUCCESS)


@admin.register(Visitor)
class VisitorAdmin(RecordAdmin):
    list_display = ("id", "lead", "first_seen", "last_seen")
    search_fields = ("id", "lead__email")
    raw_id_fields = ("lead",)
    list_select_related = ("lead",)
    readonly_fields = ("first_seen", "last_seen")


@admin.register(Event)
class EventAdmin(RecordAdmin):
    list_display = (
        "occurred_at",
        "type",
        "gate",
        "section_key",
        "file_key",
        "duration_ms",
        "lead",
        "source",
    )
    list_filter = ("type", "source", "gate")
    search_fields = ("id", "lead__email", "section_key", "file_key", "name")
    date_hierarchy = "occurred_at"
    raw_id_fields = ("visitor", "lead", "gate")
    list_select_related = ("gate", "lead")
    readonly_fields = ("received_at",)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    """Segment-compatible sources: the write key is made for you."""

    list_display = ["name", "write_key", "all_gates", "is_active", "created_at"]
    readonly_fields = ["write_key", "created_at"]
    filter_horizontal = ["gates"]
