"""Reads for the leads list and its CSV columns, one lead by id (following merges), and
a lead's language."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import QuerySet

from forms_app.models import Submission
from profiling.models import Lead, OutboundEmail


def lead_list(
    *, grade: str | None = None, gate: str | None = None, since: datetime | None = None
) -> QuerySet[Lead]:
    # Merged-away leads are pointers to their winner, not people of their own.
    leads = Lead.objects.filter(erased_at__isnull=True, merged_into__isnull=True)
    if grade:
        leads = leads.filter(grade=grade)
    if gate:
        # A lead "belongs" to a gate it submitted on or first arrived through.
        leads = leads.filter(submissions__gate__slug=gate).distinct()
    if since:
        leads = leads.filter(created_at__gte=since)
    return leads.order_by("-created_at", "id")


# The columns of a leads CSV export, in order: the same file from the API and the workspace.
LEAD_CSV_COLUMNS = (
    "id",
    "name",
    "email",
    "subscribed",
    "score",
    "grade",
    "company_domain",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "referrer",
    "created_at",
)


def lead_get(*, lead_id: uuid.UUID) -> Lead | None:
    """The lead, or the lead it was merged into (its id stays a valid link)."""
    lead = Lead.objects.filter(pk=lead_id, erased_at__isnull=True).first()
    hops = 0
    while lead is not None and lead.merged_into_id is not None and hops < 10:
        lead = Lead.objects.filter(pk=lead.merged_into_id, erased_at__isnull=True).first()
        hops += 1
    return lead


def lead_language(*, lead_id: uuid.UUID) -> str | None:
    """The language the lead's unsubscribe page speaks: their first gate's, else (every
    gate they used is gone) that of the latest email they were sent, else None."""
    first = (
        Submission.objects.filter(lead_id=lead_id)
        .order_by("created_at", "id")
        .values_list("gate__language", flat=True)
        .first()
    )
    if first:
        return first
    return (
        OutboundEmail.objects.filter(lead_id=lead_id)
        .exclude(language="")
        .order_by("-created_at")
        .values_list("language", flat=True)
        .first()
    )
