"""Admin for the content catalog: gates with their sections, files and questions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from config.admin_widgets import URL_OVERRIDES
from forms_app.models import CampaignCost, FormField, Gate, GateFile, Section, Submission
from forms_app.section_body import body_html

# URLs typed without a scheme are read as https:// (Django 6's default, chosen now).


class SectionInline(admin.StackedInline):
    model = Section
    extra = 0
    fields = ("position", "key", "title", "body", "topics")
    ordering = ("position", "id")


class GateFileInline(admin.TabularInline):
    model = GateFile
    extra = 0
    formfield_overrides = URL_OVERRIDES
    fields = ("position", "key", "title", "url", "upload", "read_inline", "pdf_status", "pdf_pages")
    # The PDF's state is the render tasks' to write (forms_app/services/pdf.py).
    readonly_fields = ("pdf_status", "pdf_pages")
    ordering = ("position", "id")

    @admin.display(description="PDF pages")
    def pdf_pages(self, obj: GateFile) -> str:
        if not obj.pdf_status:
            return ""
        return f"{obj.pdf_pages_ready} of {obj.pdf_page_count} rendered" + (
            f": {obj.pdf_error}" if obj.pdf_error else ""
        )


class FormFieldInline(admin.TabularInline):
    model = FormField
    extra = 0
    max_num = 2  # contract: at most two custom questions, decision stage only
    fields = ("position", "name", "type", "label", "choices")
    ordering = ("position", "id")


@admin.register(Gate)
class GateAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "slug",
        "stage",
        "is_active",
        "section_count",
        "page_link",
        "updated_at",
    )
    list_filter = ("stage", "language", "is_active")
    search_fields = ("title", "slug", "headline")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("created_at", "updated_at")
    inlines = (SectionInline, GateFileInline, FormFieldInline)
    fieldsets = (
        (None, {"fields": ("title", "slug", "stage", "language", "is_active")}),
        ("Page", {"fields": ("headline", "description", "submit_label", "subscribe_label")}),
        (
            "Consent and tracking",
            {
                "fields": (
                    "consent_text",
                    "email_content",
                    "double_opt_in",
                    "min_dwell_ms",
                    "allowed_origins",
                )
            },
        ),
        ("History", {"fields": ("created_at", "updated_at")}),
    )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # The admin writes sections without gate_save: render their bodies as it would.
        if formset.model is Section:
            for section_form in formset.forms:
                instance = section_form.instance
                if isinstance(instance, Section):
                    instance.body_html = body_html(instance.body or "")
        super().save_formset(request, form, formset, change)

    @admin.display(description="sections")
    def section_count(self, obj: Gate) -> int:
        return obj.sections.count()

    @admin.display(description="hosted page")
    def page_link(self, obj: Gate) -> str:
        return format_html(
            '<a href="/g/{}" target="_blank" rel="noopener">/g/{}</a>', obj.slug, obj.slug
        )


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    formfield_overrides = URL_OVERRIDES
    list_display = (
        "created_at",
        "gate",
        "lead",
        "subscribed",
        "verified",
        "utm_source",
        "utm_campaign",
    )
    list_filter = ("gate", "subscribed", "verified", "utm_source")
    search_fields = ("lead__email", "lead__name", "utm_campaign")
    date_hierarchy = "created_at"
    raw_id_fields = ("lead",)
    list_select_related = ("gate", "lead")
    readonly_fields = (
        "gate",
        "lead",
        "visitor_id",
        "claimed_name",
        "subscribed",
        "consent_text",
        "verified",
        "confirmed_at",
        "answers",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "referrer",
        "page_url",
        "created_at",
    )

    # Submissions are proof of consent: they come from visitors, not from staff, and
    # leave only with the person (lead erasure).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CampaignCost)
class CampaignCostAdmin(admin.ModelAdmin):
    """Fallback for the workspace's return-on-spend costs (entered on the dashboard)."""

    list_display = (
        "utm_source",
        "utm_campaign",
        "period_start",
        "period_end",
        "amount",
        "currency",
    )
    list_filter = ("utm_source", "currency")
    date_hierarchy = "period_start"
