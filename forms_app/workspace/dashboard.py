"""The dashboard: per gate and overall, over a chosen date range. Every chart has its
numbers as a table on the page and as CSV (`/app/dashboard.csv?table=...`)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from config.csv_export import csv_response
from config.roles import can_edit
from forms_app.models import CampaignCost, Gate, SpamTallyKind
from forms_app.selectors import first_run, quarantine_count, spam_tally_totals
from forms_app.services.costs import campaign_cost_create, campaign_cost_delete
from forms_app.workspace import charts, reports
from forms_app.workspace.access import marketer_required, viewer_required
from forms_app.workspace.common import (
    DateRange,
    RangeForm,
    add_errors,
    date_range,
    page,
    validation_messages,
)
from forms_app.workspace.forms import CostForm

CSV_TABLES = ("funnel", "sources", "grades", "timing", "speed", "spend")


def _scope(request: HttpRequest) -> tuple[RangeForm, DateRange, Gate | None]:
    form = RangeForm(request.GET or None)
    rng = date_range(form)
    slug = request.GET.get("gate", "")
    gate = Gate.objects.filter(slug=slug).first() if slug else None
    return form, rng, gate


def _build(rng: DateRange, gate: Gate | None) -> dict[str, Any]:
    groups = reports.cohort_groups(rng, gate)  # one scan of the range's leads
    steps = reports.funnel(rng, gate, groups)
    src = reports.sources(rng, gate, groups)
    unit, buckets = reports.grade_mix(rng, gate, groups)
    return {
        "steps": steps,
        "sources": src,
        "unit": unit,
        "buckets": buckets,
        "timing": reports.time_to_grade(rng, gate),
        "speed": reports.speed_to_lead(rng, gate),
        "spend": reports.spend(rng, gate),
    }


@viewer_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponseBase:
    form, rng, gate = _scope(request)
    with reports.report_reads():
        data = _build(rng, gate)
    steps = data["steps"]
    src: reports.SourcesReport = data["sources"]
    context = {
        **data,
        "range_form": form,
        "rng": rng,
        "gate": gate,
        "gates": Gate.objects.order_by("title").only("slug", "title"),
        "query": request.GET.urlencode(),
        "funnel_svg": charts.funnel([(s.label, s.count, s.rate_from_previous) for s in steps]),
        "sources_svg": charts.hbars(
            [
                (r.label, r.leads, r.channel == reports.SOCIAL)
                for r in src.rows[: reports.SOURCE_ROWS]
            ]
        ),
        "social_svg": charts.share_ring(
            src.social_share, label="Share of new leads from social media"
        ),
        "grades_svg": charts.stacked_columns(
            [(b.start, b.cold, b.warm, b.hot) for b in data["buckets"]], unit=data["unit"]
        ),
        "headline": {
            "leads": src.total,
            "warm": steps[3].count,
            "hot": steps[4].count,
            "conversion": reports.rate(steps[2].count, steps[1].count),
            "social_share": src.social_share,
        },
        # Marketers only: they are the ones who can release or delete what is held.
        "quarantine": {
            "held": quarantine_count(gate=gate),
            "honeypot": spam_tally_totals(start=rng.start, end=rng.end, gate=gate)[
                SpamTallyKind.HONEYPOT
            ],
        }
        if can_edit(request.user)
        else None,
        # A new marketer's checklist, until every step is done (marketers only: the
        # steps are theirs to do).
        "first_run": first_run() if can_edit(request.user) else None,
        "cost_form": CostForm(
            initial={"period_start": rng.start, "period_end": rng.end, "currency": "EUR"}
        )
        if can_edit(request.user)
        else None,
    }
    return page(request, "dashboard.html", context, section="dashboard")


@marketer_required
@require_POST
def cost_add(request: HttpRequest) -> HttpResponseBase:
    form = CostForm(request.POST)
    if form.is_valid():
        try:
            campaign_cost_create(**form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, validation_messages(exc))
        else:
            messages.success(request, "Cost saved: see its cost per lead under Return on spend.")
            return redirect(f"{_dashboard_url()}?{request.POST.get('back', '')}#spend")
    return page(
        request,
        "cost_form.html",
        {"cost_form": form, "back": request.POST.get("back", "")},
        section="dashboard",
        status=400,
    )


@marketer_required
@require_POST
def cost_remove(request: HttpRequest, pk: int) -> HttpResponseBase:
    cost = CampaignCost.objects.filter(pk=pk).first()
    if cost is None:
        raise Http404("No such cost.")
    campaign_cost_delete(cost=cost)
    messages.success(request, "Cost deleted.")
    return redirect(f"{_dashboard_url()}?{request.POST.get('back', '')}#spend")


def _dashboard_url() -> str:
    from django.urls import reverse

    return reverse("workspace:dashboard")


def _table(name: str, rng: DateRange, gate: Gate | None) -> tuple[list[str], list[list[Any]]]:
    if name == "funnel":
        steps = reports.funnel(rng, gate)
        return ["step", "count", "rate_from_previous"], [
            [
                s.label,
                s.count,
                "" if s.rate_from_previous is None else f"{s.rate_from_previous:.4f}",
            ]
            for s in steps
        ]
    if name == "sources":
        src = reports.sources(rng, gate)
        return ["source", "channel", "leads", "warm", "hot"], [
            [r.label, r.channel, r.leads, r.warm, r.hot] for r in src.rows
        ]
    if name == "grades":
        unit, buckets = reports.grade_mix(rng, gate)
        return [unit, "cold", "warm", "hot"], [
            [b.start.date().isoformat(), b.cold, b.warm, b.hot] for b in buckets
        ]
    if name == "timing":
        return ["grade", "leads", "median_seconds", "p90_seconds"], [
            [t.grade, t.count, t.p50_s, t.p90_s] for t in reports.time_to_grade(rng, gate)
        ]
    if name == "speed":
        return ["endpoint", "deliveries", "p50_ms", "p95_ms", "failed"], [
            [s.endpoint.url, s.count, s.p50_ms, s.p95_ms, s.failed]
            for s in reports.speed_to_lead(rng, gate)
        ]
    if name == "spend":
        return (
            [
                "utm_source",
                "utm_campaign",
                "from",
                "to",
                "amount",
                "currency",
                "leads",
                "warm",
                "hot",
                "per_lead",
                "per_warm",
                "per_hot",
            ],
            [
                [
                    s.cost.utm_source,
                    s.cost.utm_campaign,
                    s.cost.period_start,
                    s.cost.period_end,
                    s.cost.amount,
                    s.cost.currency,
                    s.leads,
                    s.warm,
                    s.hot,
                    s.per_lead,
                    s.per_warm,
                    s.per_hot,
                ]
                for s in reports.spend(rng, gate)
            ],
        )
    raise Http404("No such table.")


@viewer_required
@require_GET
def dashboard_csv(request: HttpRequest) -> HttpResponseBase:
    name = request.GET.get("table", "")
    if name not in CSV_TABLES:
        raise Http404("No such table.")
    _, rng, gate = _scope(request)
    with reports.report_reads():
        header, rows = _table(name, rng, gate)
    # Source names and campaigns come from links anyone can craft: csv_response
    # neutralises spreadsheet formulas the same way the lead export does.
    filename = f"leadgate-{name}-{rng.start}-{rng.end}{'-' + gate.slug if gate else ''}.csv"
    return csv_response(header, rows, filename=filename)
