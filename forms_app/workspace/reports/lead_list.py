"""The lead list: filters, search and keyset pages on (created_at, id), never OFFSET, so
page 1,000 costs what page 1 costs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from forms_app.models import Gate, Submission
from forms_app.workspace.reports.cohort import live_leads
from forms_app.workspace.reports.sources import SOCIAL
from profiling.enrichment import SOCIAL_HOSTS, SOCIAL_SOURCES
from profiling.models import Lead

SOCIAL_REFERRER_RE = (
    r"^https?://([^/?#]*\.)?(" + "|".join(re.escape(h) for h in SOCIAL_HOSTS) + r")([/:?#]|$)"
)


@dataclass(frozen=True)
class LeadFilters:
    grade: str = ""
    gate: Gate | None = None
    source: str = ""
    q: str = ""
    since: datetime | None = None
    until: datetime | None = None


LIST_FIELDS = (
    "id",
    "name",
    "email",
    "grade",
    "score",
    "company_domain",
    "utm_source",
    "utm_campaign",
    "referrer",
    "created_at",
    "first_gate_id",
    "subscribed",
)


def lead_search(f: LeadFilters) -> QuerySet[Lead]:
    """Filtered leads, newest first; `.only()` what the list shows."""
    leads = live_leads()
    if f.grade:
        leads = leads.filter(grade=f.grade)  # (grade, -created_at) index
    if f.gate is not None:
        # A lead belongs to a gate it arrived through or submitted on. EXISTS, not a
        # join + DISTINCT, so the newest-first walk can stop after one page.
        leads = leads.filter(
            Q(first_gate=f.gate)
            | Exists(Submission.objects.filter(lead=OuterRef("pk"), gate=f.gate))
        )
    if f.source:
        source = f.source.strip().lower()
        if source == SOCIAL:
            leads = leads.alias(src=Lower("utm_source")).filter(
                Q(src__in=list(SOCIAL_SOURCES)) | Q(referrer__iregex=SOCIAL_REFERRER_RE)
            )
        else:
            leads = leads.alias(src=Lower("utm_source")).filter(src=source)
    if f.q:
        q = f.q.strip()
        if "@" in q:
            # Emails are stored lower-cased; lower(email) has the unique index.
            leads = leads.alias(lemail=Lower("email")).filter(lemail=q.lower())
        else:
            leads = leads.filter(Q(name__icontains=q) | Q(email__istartswith=q))
    if f.since is not None:
        leads = leads.filter(created_at__gte=f.since)
    if f.until is not None:
        leads = leads.filter(created_at__lt=f.until)
    return leads.only(*LIST_FIELDS).order_by("-created_at", "-id")


def keyset_page(
    leads: QuerySet[Lead], after: tuple[datetime, str] | None, size: int
) -> tuple[list[Lead], tuple[datetime, str] | None]:
    """One page after the cursor (created_at, id) of the previous page's last lead."""
    if after is not None:
        at, lead_id = after
        leads = leads.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=lead_id))
    rows = list(leads[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    cursor = (rows[-1].created_at, str(rows[-1].id)) if more and rows else None
    return rows, cursor


def gate_titles(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    return dict(Gate.objects.filter(id__in=wanted).values_list("id", "title")) if wanted else {}
