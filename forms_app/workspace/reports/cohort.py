"""The building blocks every report shares: the live leads, the range's cohort, the best
grade a lead has reached (profiling.selectors.cohort), and the cohort counted once by
source, day and grade.

Days come from the daily rollups (profiling/models/rollups.py), so a range costs what
its days cost, not what its leads cost; what came after the last fold (a minute's
worth) is read live from the leads, events and submissions (`split`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import Lower, TruncDay, TruncWeek
from django.utils import timezone

from forms_app.models import Gate
from forms_app.workspace.common import DateRange
from profiling.models import DailyLeadStats, Lead, RollupState
from profiling.models.rollups import STATE_KEY
from profiling.selectors.cohort import (
    ReferrerHost,
    live_leads,
    reached_counts,
    reached_expr,
)

__all__ = [
    "CohortGroup",
    "ReferrerHost",
    "Split",
    "bucket_unit",
    "cohort",
    "cohort_groups",
    "day_start",
    "live_leads",
    "reached_counts",
    "reached_expr",
    "report_reads",
    "split",
]


@contextmanager
def report_reads() -> Iterator[None]:
    """Run the report queries with PostgreSQL's JIT off (for this transaction only).

    The planner's cost estimates for the EXISTS subplans over a large cohort exceed
    jit_above_cost, and compiling each query costs 10-20x more than it saves on these
    aggregates (see docs/benchmarks.md, section "Workspace: lead list and dashboard")."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class Split:
    """Days [start, end] split into the part read from the rollups (`rolled`, inclusive
    days, or None) and the part read live (`live`, [since, until) times, or None)."""

    rolled: tuple[date, date] | None
    live: tuple[datetime, datetime] | None


def split(start: date, end: date) -> Split:
    """The rollups hold everything before the last fold (its day up to the fold's
    moment); what came after is read live. Without any fold yet (just upgraded),
    everything is read live."""
    since, until = day_start(start), day_start(end + timedelta(days=1))
    state = RollupState.objects.filter(key=STATE_KEY).only("folded_at").first()
    if state is None:
        return Split(None, (since, until))
    rolled_end = min(end, timezone.localdate(state.folded_at))
    live_since = max(since, state.folded_at)
    return Split(
        (start, rolled_end) if start <= rolled_end else None,
        (live_since, until) if live_since < until else None,
    )


def cohort(rng: DateRange, gate: Gate | None = None) -> QuerySet[Lead]:
    """Leads created in the range (through `gate` first, when given)."""
    leads = live_leads().filter(created_at__gte=rng.since, created_at__lt=rng.until)
    if gate is not None:
        leads = leads.filter(first_gate=gate)
    return leads


@dataclass(frozen=True)
class CohortGroup:
    src: str
    med: str
    host: str
    bucket: datetime
    reached: int  # 0 cold, 1 warm, 2 hot (best reached)
    n: int


def bucket_unit(rng: DateRange) -> str:
    return "day" if rng.days <= 62 else "week"


def _bucket(day: date, unit: str) -> datetime:
    # PostgreSQL's date_trunc('week') (TruncWeek): the ISO week's Monday.
    return day_start(day if unit == "day" else day - timedelta(days=day.weekday()))


def cohort_groups(rng: DateRange, gate: Gate | None = None) -> list[CohortGroup]:
    """The range's new leads counted by (source, medium, referrer host, day or week, best
    grade reached): ONE read feeds the funnel's lead steps, the sources table and the
    grade mix, instead of a read each. Folded days are summed from the daily rollups; only
    the leads since the last fold are scanned. The groups are few (sources x days x 3), so Python folds
    them."""
    unit = bucket_unit(rng)
    parts = split(rng.start, rng.end)
    counts: dict[tuple[str, str, str, datetime, int], int] = {}
    if parts.rolled is not None:
        rows = DailyLeadStats.objects.filter(day__gte=parts.rolled[0], day__lte=parts.rolled[1])
        if gate is not None:
            rows = rows.filter(gate_id=gate.id)
        for row in (
            rows.values("src", "med", "host", "day", "reached").annotate(n=Sum("leads")).order_by()
        ):
            key = (row["src"], row["med"], row["host"], _bucket(row["day"], unit), row["reached"])
            counts[key] = counts.get(key, 0) + row["n"]
    if parts.live is not None:
        trunc = TruncDay("created_at") if unit == "day" else TruncWeek("created_at")
        leads = live_leads().filter(created_at__gte=parts.live[0], created_at__lt=parts.live[1])
        if gate is not None:
            leads = leads.filter(first_gate=gate)
        for r in (
            leads.annotate(
                reached=reached_expr(),
                src=Lower("utm_source"),
                med=Lower("utm_medium"),
                host=ReferrerHost(F("referrer")),
                bucket=trunc,
            )
            .values("src", "med", "host", "bucket", "reached")
            .annotate(n=Count("id"))
            .order_by()
        ):
            key = (r["src"] or "", r["med"] or "", r["host"] or "", r["bucket"], r["reached"])
            counts[key] = counts.get(key, 0) + r["n"]
    return [CohortGroup(*key, n) for key, n in counts.items()]
