"""Lead list (filters, search, keyset pages, streamed CSV) and the lead page."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db import OperationalError, connection, transaction
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from config.csv_export import csv_response
from forms_app.models import Gate, Submission
from forms_app.workspace import reports
from forms_app.workspace.access import viewer_required
from forms_app.workspace.common import page
from profiling.models import Delivery, Grade
from profiling.scoring_engine import dwell_text
from profiling.selectors import (
    LEAD_CSV_COLUMNS,
    lead_get,
    lead_profile,
    lead_reading,
    lead_timeline,
)

PAGE_SIZE = 50
SEARCH_TIMEOUT_MS = 3000


class LeadFilterForm(forms.Form):
    q = forms.CharField(max_length=254, required=False, label="Search name or email")
    grade = forms.ChoiceField(choices=[("", "any grade"), *Grade.choices], required=False)
    gate = forms.ChoiceField(required=False)
    source = forms.CharField(
        max_length=200, required=False, label="Source (utm_source, or “social”)"
    )
    start = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From"
    )
    end = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gates = list(Gate.objects.order_by("title").values_list("slug", "title"))
        self.fields["gate"].choices = [("", "any gate"), *gates]  # type: ignore[attr-defined]

    def filters(self) -> reports.LeadFilters:
        if not self.is_valid():
            return reports.LeadFilters()
        d = self.cleaned_data
        start, end = d.get("start"), d.get("end")
        return reports.LeadFilters(
            grade=d.get("grade") or "",
            gate=Gate.objects.filter(slug=d["gate"]).first() if d.get("gate") else None,
            source=d.get("source") or "",
            q=d.get("q") or "",
            since=timezone.make_aware(datetime.combine(start, time.min)) if start else None,
            until=timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
            if end
            else None,
        )


def _cursor(raw: str | None) -> tuple[datetime, str] | None:
    """`after=<iso time>_<uuid>`; anything malformed is page 1."""
    if not raw or len(raw) > 120 or "_" not in raw:
        return None
    at_raw, _, id_raw = raw.rpartition("_")
    try:
        at = parse_datetime(at_raw)
        lead_id = uuid.UUID(id_raw)
    except ValueError:
        return None
    if at is None:
        return None
    if at.tzinfo is None:
        at = timezone.make_aware(at)
    return at, str(lead_id)


@viewer_required
@require_GET
def lead_list(request: HttpRequest) -> HttpResponseBase:
    form = LeadFilterForm(request.GET or None)
    filters = form.filters()
    too_slow = False
    try:
        with transaction.atomic():
            if filters.q and "@" not in filters.q:
                # A name search is a substring match: the trigram index (migration
                # profiling 0005) serves it, but a very short or very common fragment
                # can still touch much of the table. Bound it, and say how to narrow it,
                # rather than hold a worker (and the marketer) for many seconds.
                with connection.cursor() as c:
                    c.execute(f"SET LOCAL statement_timeout = {SEARCH_TIMEOUT_MS}")
            rows, cursor = reports.keyset_page(
                reports.lead_search(filters), _cursor(request.GET.get("after")), PAGE_SIZE
            )
    except OperationalError:  # statement_timeout: psycopg's QueryCanceled
        rows, cursor, too_slow = [], None, True
    titles = reports.gate_titles(r.first_gate_id for r in rows)
    query = request.GET.copy()
    query.pop("after", None)
    next_query = None
    if cursor is not None:
        query["after"] = f"{cursor[0].isoformat()}_{cursor[1]}"
        next_query = query.urlencode()
    export_query = request.GET.copy()
    export_query.pop("after", None)
    return page(
        request,
        "leads.html",
        {
            "form": form,
            "leads": [
                {"lead": r, "gate_title": titles.get(r.first_gate_id or 0, "")} for r in rows
            ],
            "next_query": next_query,
            "first_page": "after" not in request.GET,
            "export_query": export_query.urlencode(),
            "page_size": PAGE_SIZE,
            "too_slow": too_slow,
        },
        section="leads",
    )


@viewer_required
@require_GET
def lead_export(request: HttpRequest) -> HttpResponseBase:
    """The filtered list as CSV: streamed (constant memory at a million rows), formula
    injection neutralised (config.csv_export)."""
    form = LeadFilterForm(request.GET or None)
    leads = reports.lead_search(form.filters()).values_list(*LEAD_CSV_COLUMNS)
    return csv_response(
        LEAD_CSV_COLUMNS, leads.iterator(chunk_size=2000), filename="leadgate-leads.csv"
    )


@viewer_required
@require_GET
def lead_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    lead = lead_get(lead_id=pk)
    if lead is None:
        raise Http404("No lead with this id.")
    deliveries = (
        Delivery.objects.filter(lead=lead)
        .select_related("endpoint", "grade_change")
        .defer("payload")
        .order_by("-created_at")[:50]
    )
    submissions = (
        Submission.objects.filter(lead=lead).select_related("gate").order_by("-created_at")[:20]
    )
    return page(
        request,
        "lead_detail.html",
        {
            "lead": lead,
            "profile": lead_profile(lead=lead),
            "timeline": lead_timeline(lead_id=lead.id, limit=200),
            "reading": [
                {**r, "time": dwell_text(r["active_ms"])} for r in lead_reading(lead_id=lead.id)
            ],
            "grade_changes": list(lead.grade_changes.order_by("-created_at")[:50]),
            "deliveries": list(deliveries),
            "submissions": list(submissions),
            "first_gate": lead.first_gate,
        },
        section="leads",
    )
