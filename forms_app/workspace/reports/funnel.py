"""The funnel: page views, form views, submissions, then the cohort's warm and hot leads.
Days from the daily rollups, what came since the last fold live (cohort.split)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from forms_app.models import Gate, Submission
from forms_app.workspace.common import DateRange
from forms_app.workspace.reports.cohort import CohortGroup, cohort_groups, split
from forms_app.workspace.reports.numbers import rate
from profiling.models import DailyGateStats, Event


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
    parts = split(rng.start, rng.end)
    views = {"page_views": 0, "form_views": 0, "submissions": 0}
    gate_ids = [gate.id] if gate is not None else list(Gate.objects.values_list("id", flat=True))
    if parts.rolled is not None:
        # Gates deleted since keep their rollup rows; their events and submissions are
        # gone from the live tables, so they count nowhere here either.
        rolled = DailyGateStats.objects.filter(
            day__gte=parts.rolled[0], day__lte=parts.rolled[1], gate_id__in=gate_ids
        ).aggregate(
            page_views=Sum("page_views"),
            form_views=Sum("form_views"),
            submissions=Sum("submissions"),
        )
        for key, n in rolled.items():
            views[key] += n or 0
    if parts.live is not None:
        since, until = parts.live
        # Page and form views of the gates: naming the gates lets PostgreSQL use the
        # (gate, type, occurred_at) index, one range scan per gate and type, instead of
        # scanning every event (there is no index on occurred_at alone).
        events = Event.objects.filter(
            occurred_at__gte=since,
            occurred_at__lt=until,
            gate_id__in=gate_ids,
            type__in=("page_view", "form_view"),
        ).aggregate(
            page_views=Count("id", filter=Q(type="page_view")),
            form_views=Count("id", filter=Q(type="form_view")),
        )
        subs = Submission.objects.filter(created_at__gte=since, created_at__lt=until)
        if gate is not None:
            subs = subs.filter(gate=gate)
        views["page_views"] += events["page_views"]
        views["form_views"] += events["form_views"]
        views["submissions"] += subs.count()
    groups = cohort_groups(rng, gate) if groups is None else groups
    leads = {
        "warm": sum(g.n for g in groups if g.reached >= 1),
        "hot": sum(g.n for g in groups if g.reached == 2),
    }
    steps = [
        ("page_views", "Page views", views["page_views"], "visits to gate pages"),
        ("form_views", "Form views", views["form_views"], "the form was shown"),
        ("submissions", "Submissions", views["submissions"], "name and email given"),
        ("warm", "Warm leads", leads["warm"], "new leads that reached warm"),
        ("hot", "Hot leads", leads["hot"], "new leads that reached hot"),
    ]
    out: list[FunnelStep] = []
    previous: int | None = None
    for key, label, count, note in steps:
        out.append(FunnelStep(key, label, count, rate(count, previous), note))
        previous = count
    return out
