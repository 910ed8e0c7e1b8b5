"""Time to warm and to hot: from a lead's first visit to its first grade change there.

Percentiles read a bounded window of the latest leads (the same practice as
profiling.selectors.endpoint_delivery_stats).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Min

from forms_app.models import Gate
from forms_app.workspace.common import DateRange
from forms_app.workspace.reports.numbers import percentile
from profiling.models import Event, GradeChange

TIMING_WINDOW = 5000


@dataclass(frozen=True)
class Timing:
    grade: str
    count: int
    p50_s: float | None
    p90_s: float | None


def time_to_grade(rng: DateRange, gate: Gate | None = None) -> list[Timing]:
    """From a lead's first visit (its first event, else its creation) to its first grade
    change to warm-or-hot (and to hot): median and 90th percentile over the latest
    TIMING_WINDOW leads of the range that got there.

    Driven from the grade changes (few) rather than the leads (many): one grouped query
    on the changes joined to their leads, then the first events of at most
    TIMING_WINDOW leads on the (lead, occurred_at) index."""
    out: list[Timing] = []
    leads = {
        "lead__created_at__gte": rng.since,
        "lead__created_at__lt": rng.until,
        "lead__erased_at__isnull": True,
        "lead__merged_into__isnull": True,
    }
    if gate is not None:
        leads["lead__first_gate"] = gate
    for grade, grades in (("warm", ("warm", "hot")), ("hot", ("hot",))):
        firsts = list(
            GradeChange.objects.filter(grade__in=grades, **leads)
            .values("lead_id")
            .annotate(reached_at=Min("created_at"), created=Min("lead__created_at"))
            .order_by("-created")
            .values_list("lead_id", "reached_at", "created")[:TIMING_WINDOW]
        )
        seen = dict(
            Event.objects.filter(lead_id__in=[f[0] for f in firsts])
            .values("lead_id")
            .annotate(first=Min("occurred_at"))
            .values_list("lead_id", "first")
        )
        seconds = sorted(
            max(0.0, (reached - (seen.get(lead_id) or created)).total_seconds())
            for lead_id, reached, created in firsts
        )
        out.append(Timing(grade, len(seconds), percentile(seconds, 0.5), percentile(seconds, 0.9)))
    return out
