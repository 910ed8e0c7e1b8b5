"""A gate's content analytics: per section and PDF page, who reached it, for how long,
who read it, and what the leads who became hot read most (profiling/content_analytics).
The drop-off is a chart, with its numbers as a table and as CSV (`content.csv`)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponseBase
from django.views.decorators.http import require_GET

from config.csv_export import csv_response
from forms_app.models import Gate
from forms_app.workspace import charts
from forms_app.workspace.access import viewer_required
from forms_app.workspace.common import DateRange, RangeForm, date_range, page
from profiling.content_analytics import (
    CONTENT_CSV_COLUMNS,
    ContentReport,
    content_csv_rows,
    gate_content_report,
)


def _report(request: HttpRequest, slug: str) -> tuple[RangeForm, DateRange, ContentReport]:
    gate = Gate.objects.filter(slug=slug).first()
    if gate is None:
        raise Http404("No such gate.")
    form = RangeForm(request.GET or None)
    rng = date_range(form)
    return form, rng, gate_content_report(gate=gate, since=rng.since, until=rng.until)


@viewer_required
@require_GET
def gate_content(request: HttpRequest, slug: str) -> HttpResponseBase:
    form, rng, report = _report(request, slug)
    files = [
        {
            "file": f,
            "svg": charts.dropoff(
                [(p.title, p.readers, p.reach, p.read_share) for p in f.pages],
                label=f"Pages of {f.title} reached and read, share of the gate's visitors",
            ),
        }
        for f in report.files
    ]
    context = {
        "report": report,
        "gate": report.gate,
        "range_form": form,
        "rng": rng,
        "query": request.GET.urlencode(),
        "sections_svg": charts.dropoff(
            [(s.title, s.readers, s.reach, s.read_share) for s in report.sections],
            label="Sections reached and read, share of the gate's visitors",
        ),
        "files": files,
    }
    return page(request, "gate_content.html", context, section="dashboard")


@viewer_required
@require_GET
def gate_content_csv(request: HttpRequest, slug: str) -> HttpResponseBase:
    _, rng, report = _report(request, slug)
    # Section titles are the marketer's, but csv_response neutralises formulas anyway.
    return csv_response(
        CONTENT_CSV_COLUMNS,
        content_csv_rows(report),
        filename=f"leadgate-content-{report.gate.slug}-{rng.start}-{rng.end}.csv",
    )
