"""The funnel: page views, form views, submissions, then the cohort's warm and hot leads."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from forms_app.models import Gate, Submission
from forms_app.workspace.common import DateRange
from forms_app.workspace.reports.cohort import CohortGroup, cohort_groups
from forms_app.workspace.reports.numbers import rate
from profiling.models import Event


@dataclass(frozen=True)
class FunnelStep:
    key: str
    label: str
    count: int
    rate_from_previous: float | None
    note: str


def funnel(
    rng: DateRange, gate: Gate | None = None, groups: list[CohortGroup] | None = None
) -> list[FunnelStep]:
    events = Event.objects.filter(occurred_at__gte=rng.since, occurred_at__lt=rng.until)
    subs = Submission.objects.filter(created_at__gte=rng.since, created_at__lt=rng.until)
    if gate is not None:
        events = events.filter(gate=gate)
        subs = subs.filter(gate=gate)
    else:
        # Page and form views of any gate: naming the gates lets PostgreSQL use the
        # (gate, type, occurred_at) index, one range scan per gate and type, instead of
        # scanning every event (there is no index on occurred_at alone).
        events = events.filter(gate_id__in=list(Gate.objects.values_list("id", flat=True)))
    views = events.filter(type__in=("page_view", "form_view")).aggregate(
        page_views=Count("id", filter=Q(type="page_view")),
        form_views=Count("id", filter=Q(type="form_view")),
    )
    groups = cohort_groups(rng, gate) if groups is None else groups
    leads = {
        "warm": sum(g.n for g in groups if g.reached >= 1),
        "hot": sum(g.n for g in groups if g.reached == 2),
    }
    steps = [
        ("page_views", "Page views", views["page_views"], "visits to gate pages"),
        ("form_views", "Form views", views["form_views"], "the form was shown"),
        ("submissions", "Submissions", subs.count(), "name and email given"),
        ("warm", "Warm leads", leads["warm"], "new leads that reached warm"),
        ("hot", "Hot leads", leads["hot"], "new leads that reached hot"),
    ]
    out: list[FunnelStep] = []
    previous: int | None = None
    for key, label, count, note in steps:
        out.append(FunnelStep(key, label, count, rate(count, previous), note))
        previous = count
    return out
