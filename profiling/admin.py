"""Admin for leads, their behaviour, scoring configuration and CRM delivery."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin_widgets import URL_OVERRIDES
from profiling.models import (
    Delivery,
    Event,
    GradeChange,
    Lead,
    OutboundEmail,
    SandboxEmail,
    SandboxMessage,
    ScorePending,
    ScoringRule,
    ScoringSettings,
    Source,
    Visitor,
    WebhookEndpoint,
)
from profiling.selectors import endpoint_delivery_stats
from profiling.services.delivery import delivery_redeliver, delivery_send_test
from profiling.services.delivery.urls import UnsafeWebhookUrl, webhook_url_check
from profiling.services.endpoints import webhook_secret_retire_previous, webhook_secret_rotate
from profiling.services.leads import lead_erase


class RecordAdmin(admin.ModelAdmin):
    """A record of what happened (behaviour, scoring, delivery): shown, never made or
    edited by hand. Rows change only through the services that write them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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


class WebhookEndpointAdminForm(forms.ModelForm):
    # The admin is a write path like the API and the workspace: the same SSRF guard
    # refuses the URL on save, not only at send time.
    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"])
        try:
            webhook_url_check(url)
        except UnsafeWebhookUrl as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointAdminForm
    # The secret is shown on the change form only (a marketer copies it into the CRM).
    formfield_overrides = URL_OVERRIDES
    list_display = (
        "listed_name",
        "url",
        "grades",
        "is_active",
        "health",
        "speed_to_lead",
        "rotating",
        "created_at",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    readonly_fields = ("disabled_at", "failing_since", "secret_rotated_at", "speed_to_lead")
    actions = ("send_test_event", "rotate_secret", "retire_previous_secret")

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        # The marketer is told, on the page they look at, that pushes have stopped.
        for endpoint in WebhookEndpoint.objects.filter(is_active=False).exclude(disabled_reason=""):
            self.message_user(
                request,
                f"Webhook {endpoint.url} is disabled: {endpoint.disabled_reason}",
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    @admin.display(description="name", ordering="name")
    def listed_name(self, endpoint: WebhookEndpoint) -> str:
        return endpoint.display_name

    @admin.display(description="health")
    def health(self, endpoint: WebhookEndpoint) -> str:
        if not endpoint.is_active:
            return f"disabled: {endpoint.disabled_reason or 'by the marketer'}"
        if endpoint.failing_since is not None:
            return f"failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC"
        return "ok"

    @admin.display(description="speed to lead p50 / p95")
    def speed_to_lead(self, endpoint: WebhookEndpoint) -> str:
        speed = endpoint_delivery_stats(endpoint_id=endpoint.pk)["speed_to_lead_ms"]
        if not speed["count"]:
            return "-"
        return f"{speed['p50']:.0f} ms / {speed['p95']:.0f} ms (last {speed['count']})"

    @admin.display(description="rotating secret", boolean=True)
    def rotating(self, endpoint: WebhookEndpoint) -> bool:
        return bool(endpoint.previous_secret)

    @admin.action(description="Send a test event now")
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            d = delivery_send_test(endpoint=endpoint)
            answer = f"HTTP {d.last_status_code}" if d.last_status_code else d.last_error
            level = messages.SUCCESS if d.status == "succeeded" else messages.ERROR
            self.message_user(
                request,
                f"Test event to {endpoint.url}: {answer} in {d.last_latency_ms} ms "
                f"(webhook-id msg_{d.id.hex}; see the delivery log).",
                level,
            )

    @admin.action(description="Rotate the secret (the old one keeps signing)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_secret_rotate(endpoint_id=endpoint.pk)
        self.message_user(
            request,
            "New secret made: copy it from the endpoint's page into the CRM, then retire the "
            "old one. Until then every request carries both signatures.",
            messages.SUCCESS,
        )

    @admin.action(description="Retire the old secret (after the CRM has the new one)")
    def retire_previous_secret(
        self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]
    ) -> None:
        for endpoint in queryset:
            webhook_secret_retire_previous(endpoint_id=endpoint.pk)
        self.message_user(request, "Old secrets retired.", messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(RecordAdmin):
    list_display = (
        "id",
        "endpoint",
        "lead",
        "status",
        "event_type",
        "attempts",
        "last_status_code",
        "last_latency_ms",
        "speed_to_lead_ms",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "event_type", "endpoint")
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
        "last_latency_ms",
        "speed_to_lead_ms",
        "event_type",
        "triggered_at",
        "delivered_at",
        "created_at",
    )
    actions = ("redeliver",)

    @admin.action(description="Redeliver now (same webhook-id)")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = 0
        for delivery in queryset:
            delivery_redeliver(delivery=delivery)
            count += 1
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    """Segment-compatible sources: the write key is made for you."""

    list_display = ["name", "write_key", "all_gates", "is_active", "created_at"]
    readonly_fields = ["write_key", "created_at"]
    filter_horizontal = ["gates"]


@admin.register(ScorePending)
class ScorePendingAdmin(RecordAdmin):
    """Leads with stored events that scoring has not seen yet (normally empty)."""

    list_display = ["lead", "since"]
    raw_id_fields = ["lead"]


@admin.register(SandboxMessage)
class SandboxMessageAdmin(RecordAdmin):
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


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """The email outbox: what was sent to whom, and what is waiting for a retry."""

    list_display = ("created_at", "kind", "to", "subject", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("to", "subject", "lead__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("lead",)

    # Read-only: the outbox is written by the services, never by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SandboxEmail)
class SandboxEmailAdmin(admin.ModelAdmin):
    list_display = ("received_at", "subject", "from_email")
    search_fields = ("subject", "text")
    date_hierarchy = "received_at"
    readonly_fields = ("received_at", "from_email", "to", "subject", "headers", "text", "html")
