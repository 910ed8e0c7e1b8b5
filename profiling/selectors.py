"""Reads for leads, rules, endpoints and deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from profiling.models import Delivery, Event, Lead, ScoringRule, WebhookEndpoint

TIMELINE_LIMIT = 500


def lead_list(
    *, grade: str | None = None, gate: str | None = None, since: datetime | None = None
) -> QuerySet[Lead]:
    leads = Lead.objects.filter(erased_at__isnull=True)
    if grade:
        leads = leads.filter(grade=grade)
    if gate:
        # A lead "belongs" to a gate it submitted on or first arrived through.
        leads = leads.filter(submissions__gate__slug=gate).distinct()
    if since:
        leads = leads.filter(created_at__gte=since)
    return leads.order_by("-created_at", "id")


def lead_get(*, lead_id: uuid.UUID) -> Lead | None:
    return Lead.objects.filter(pk=lead_id, erased_at__isnull=True).first()


def _describe(event: Event) -> str:
    gate = event.gate.slug if event.gate else "a deleted gate"
    if event.type == "section_view":
        seconds = (event.duration_ms or 0) // 1000
        return f"read section {event.section_key} of {gate}" + (
            f" ({seconds} s)" if seconds else ""
        )
    if event.type == "download":
        return f"downloaded {event.file_key} from {gate}"
    if event.type == "page_view":
        return f"viewed a page of {gate}"
    if event.type == "form_view":
        return f"saw the form of {gate}"
    return f"{event.name or 'custom event'}"


def lead_timeline(*, lead_id: uuid.UUID, limit: int = TIMELINE_LIMIT) -> list[dict[str, Any]]:
    """Newest first: what the person read and downloaded, in words and in data."""
    events = (
        Event.objects.filter(lead_id=lead_id)
        .select_related("gate")
        .order_by("-occurred_at", "id")[:limit]
    )
    return [
        {
            "id": str(e.id),
            "at": e.occurred_at,
            "type": e.type,
            "text": _describe(e),
            "gate": e.gate.slug if e.gate else None,
            "section": e.section_key or None,
            "file": e.file_key or None,
            "name": e.name or None,
            "duration_ms": e.duration_ms,
            "url": e.url or None,
            "visitor_id": str(e.visitor_id),
        }
        for e in events
    ]


def rule_list() -> QuerySet[ScoringRule]:
    return ScoringRule.objects.select_related("gate").order_by("id")


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


def endpoint_deliveries(*, endpoint_id: int) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(endpoint_id=endpoint_id)
        .select_related("grade_change")
        .order_by("-created_at")
    )
