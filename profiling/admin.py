"""Admin for leads, their behaviour, scoring configuration and CRM delivery."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin_widgets import URL_OVERRIDES
from profiling.models import (
    Delivery,
    Event,
    GradeChange,
    Lead,
    SandboxMessage,
    ScoringRule,
    ScoringSettings,
    Visitor,
    WebhookEndpoint,
)
from profiling.services.delivery import delivery_redeliver


class VisitorInline(admin.TabularInline):
    model = Visitor
    extra = 0
    fields = ("id", "first_seen", "last_seen")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
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


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ("id", "lead", "first_seen", "last_seen")
    search_fields = ("id", "lead__email")
    raw_id_fields = ("lead",)
    list_select_related = ("lead",)
    readonly_fields = ("first_seen", "last_seen")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
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


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "warm_threshold", "hot_threshold", "half_life_days", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A single row (pk=1).
        return not ScoringSettings.objects.exists()


@admin.register(GradeChange)
class GradeChangeAdmin(admin.ModelAdmin):
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


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    # The secret is shown on the change form only (a marketer copies it into the CRM).
    formfield_overrides = URL_OVERRIDES
    list_display = ("url", "grades", "is_active", "disabled_reason", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "endpoint",
        "lead",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "endpoint")
    search_fields = ("id", "lead__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("lead", "grade_change", "endpoint")
    list_select_related = ("endpoint", "lead")
    readonly_fields = (
        "id",
        "endpoint",
        "grade_change",
        "lead",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_response_body",
        "last_error",
        "triggered_at",
        "delivered_at",
        "created_at",
    )
    actions = ("redeliver",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Redeliver now (same webhook-id)")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = 0
        for delivery in queryset:
            delivery_redeliver(delivery=delivery)
            count += 1
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)


@admin.register(SandboxMessage)
class SandboxMessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "webhook_id", "signature_valid", "endpoint")
    list_filter = ("signature_valid",)
    search_fields = ("webhook_id", "body")
    date_hierarchy = "received_at"
    readonly_fields = (
        "received_at",
        "webhook_id",
        "headers",
        "body",
        "endpoint",
        "signature_valid",
        "verification_error",
    )
