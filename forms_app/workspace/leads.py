"""Lead list (filters, search, keyset pages, streamed CSV), the lead page, and the
person's rights from it: unsubscribe, do-not-contact, export, erasure (with a
confirmation page: works without JavaScript), and merging two leads that are one person."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.db import OperationalError, connection, transaction
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.csv_export import csv_response
from config.json_export import json_download
from forms_app.models import Gate, Submission
from forms_app.workspace import reports
from forms_app.workspace.access import marketer_required, viewer_required
from forms_app.workspace.common import page
from profiling.models import Consent, Delivery, Grade
from profiling.scoring_engine import dwell_text
from profiling.selectors import (
    LEAD_CSV_COLUMNS,
    lead_get,
    lead_profile,
    lead_reading,
    lead_timeline,
)
from profiling.selectors.person import lead_export_document, person_by_email, person_lead_ids
from profiling.services.consent import lead_contact_set, lead_subscription_withdraw
from profiling.services.identity import leads_merge
from profiling.services.leads import lead_erase

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
            "consents": list(
                Consent.objects.filter(lead_id__in=person_lead_ids(root_id=lead.id))
                .select_related("gate")
                .order_by("-given_at")[:50]
            ),
        },
        section="leads",
    )


def _live_lead(pk: uuid.UUID) -> Any:
    lead = lead_get(lead_id=pk)
    if lead is None:
        raise Http404("No lead with this id.")
    return lead


CONTACT_ACTIONS = {
    "unsubscribe": "Unsubscribed: no more marketing email; their opt-ins are marked withdrawn.",
    "do-not-contact": (
        "Marked do not contact: no email of any kind, no push to the CRM; "
        "their opt-ins are marked withdrawn."
    ),
    "may-contact": "Do not contact cleared. They stay unsubscribed until they opt in again.",
}


@marketer_required
@require_POST
def lead_contact(request: HttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """Unsubscribe, or set/clear do-not-contact (the same services as the API's PATCH)."""
    lead = _live_lead(pk)
    action = request.POST.get("action", "")
    if action not in CONTACT_ACTIONS:
        messages.error(request, "Unknown action.")
        return redirect("workspace:lead", pk=lead.id)
    if action == "unsubscribe":
        lead_subscription_withdraw(lead_id=lead.id)
    else:
        lead_contact_set(lead_id=lead.id, do_not_contact=action == "do-not-contact")
    messages.success(request, CONTACT_ACTIONS[action])
    return redirect("workspace:lead", pk=lead.id)


@marketer_required
@require_GET
def lead_person_export(request: HttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """Everything stored about the person, as the API's export: one JSON download."""
    lead = _live_lead(pk)
    return json_download(lead_export_document(lead=lead), filename=f"leadgate-lead-{lead.id}.json")


@marketer_required
@require_http_methods(["GET", "POST"])
def lead_erase_confirm(request: HttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """GET: what erasure does, and the button. POST with confirm=erase: erase the person."""
    lead = _live_lead(pk)
    if request.method == "POST":
        if request.POST.get("confirm") == "erase":
            lead_erase(lead=lead)
            messages.success(
                request, "The person was erased. Their activity stays only as anonymous counts."
            )
            return redirect("workspace:leads")
        return page(
            request,
            "lead_erase.html",
            {"lead": lead, "error": "Confirm the erasure with the button below."},
            section="leads",
            status=400,
        )
    merged = lead.merged_leads.filter(erased_at__isnull=True).count()
    return page(request, "lead_erase.html", {"lead": lead, "merged": merged}, section="leads")


class LeadMergeForm(forms.Form):
    into = forms.EmailField(
        max_length=254,
        label="Email address of the lead that stays",
        help_text="This lead joins that one: its visits, events and forms move there.",
    )


@marketer_required
@require_http_methods(["GET", "POST"])
def lead_merge(request: HttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """Merge by hand: the marketer knows two addresses are one person (leadgate merges on
    its own only when one browser proved both). GET: the form; POST: merge."""
    lead = _live_lead(pk)
    form = LeadMergeForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_valid():
        target = person_by_email(email=form.cleaned_data["into"])
        if target is None:
            form.add_error("into", "No lead has this email address.")
        elif target.pk == lead.pk:
            form.add_error("into", "That address is already this person.")
        else:
            winner = leads_merge(lead_ids=[lead.pk, target.pk], into=target.pk)
            messages.success(request, f"{lead.email} was merged into {winner.email}.")
            return redirect("workspace:lead", pk=winner.pk)
    if request.method == "POST":
        status = 400
    return page(
        request, "lead_merge.html", {"lead": lead, "form": form}, section="leads", status=status
    )
