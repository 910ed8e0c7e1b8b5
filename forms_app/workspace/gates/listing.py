"""The gate list: each gate with its counts of sections and files and its submissions
of the last 30 days."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from forms_app.models import Gate
from forms_app.workspace.access import marketer_required
from forms_app.workspace.common import page


@marketer_required
@require_GET
def gate_list(request: HttpRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=30)
    gates = Gate.objects.annotate(
        section_count=Count("sections", distinct=True),
        file_count=Count("files", distinct=True),
    ).order_by("title")
    # Submissions per gate over 30 days: one grouped query on the created_at index.
    from forms_app.models import Submission

    recent = dict(
        Submission.objects.filter(created_at__gte=since)
        .values("gate_id")
        .annotate(n=Count("id"))
        .values_list("gate_id", "n")
    )
    rows = [{"gate": g, "submissions_30d": recent.get(g.pk, 0)} for g in gates]
    return page(request, "gates.html", {"rows": rows}, section="gates")
