"""Admin for the email outbox and the sandbox inboxes."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from profiling.admin.base import RecordAdmin
from profiling.models import (
    OutboundEmail,
    SandboxEmail,
    SandboxMessage,
)


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
