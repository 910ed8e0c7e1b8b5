"""Admin for CRM webhook endpoints and their deliveries."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin_widgets import URL_OVERRIDES
from profiling.admin.base import RecordAdmin
from profiling.models import (
    Delivery,
    WebhookEndpoint,
)
from profiling.selectors import endpoint_delivery_stats
from profiling.services.delivery import delivery_redeliver, delivery_send_test
from profiling.services.delivery.urls import UnsafeWebhookUrl, webhook_url_check
from profiling.services.endpoints import webhook_secret_retire_previous, webhook_secret_rotate


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
