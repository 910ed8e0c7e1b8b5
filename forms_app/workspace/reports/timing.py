"""Time to warm and to hot: from a lead's first visit to its first grade change there.

Folded days come from the daily rollups' histograms (profiling.selectors.cohort: buckets
2^(1/8) wide, so a percentile is within 4.4% or 1 s of the exact one); leads since the
last fold are measured live and added to the same histogram. Before the first fold, a
range is measured exactly over a bounded window of its latest leads (the same practice
as profiling.selectors.endpoint_delivery_stats).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from forms_app.models import Gate
from forms_app.workspace.common import DateRange
from forms_app.workspace.reports.cohort import split
from forms_app.workspace.reports.numbers import percentile
from profiling.models import DailyTimingStats
from profiling.selectors.cohort import (
    TIMING_GRADES,
    first_reach_seconds,
    timing_bucket,
    timing_bucket_value,
)

TIMING_WINDOW = 5000


@dataclass(frozen=True)
class Timing:
    grade: str
    count: int
    p50_s: float | None
    p90_s: float | None


def histogram_percentile(histogram: dict[int, int], p: float) -> float | None:
    """percentile() over the bucket values, each repeated its count (linear interpolation
    between closest ranks), without expanding the histogram."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = (total - 1) * p
    low, high = int(rank), min(int(rank) + 1, total - 1)
    values: dict[int, float] = {}
    seen = 0
    for bucket in sorted(histogram):
        n = histogram[bucket]
        for index in (low, high):
            if seen <= index < seen + n:
                values[index] = timing_bucket_value(bucket)
        seen += n
    return values[low] + (values[high] - values[low]) * (rank - low)


def time_to_grade(rng: DateRange, gate: Gate | None = None) -> list[Timing]:
    """From a lead's first visit (its first event, else its creation) to its first grade
    change to warm-or-hot (and to hot): how many leads of the range got there, the median
    and the 90th percentile."""
    parts = split(rng.start, rng.end)
    gate_id = gate.id if gate is not None else None
    out: list[Timing] = []
    for grade, grades in TIMING_GRADES:
        live = (
            sorted(
                seconds
                for _, _, seconds in first_reach_seconds(
                    since=parts.live[0],
                    until=parts.live[1],
                    grades=grades,
                    gate_id=gate_id,
                    limit=TIMING_WINDOW if parts.rolled is None else None,
                )
            )
            if parts.live is not None
            else []
        )
        if parts.rolled is None:
            out.append(Timing(grade, len(live), percentile(live, 0.5), percentile(live, 0.9)))
            continue
        rows = DailyTimingStats.objects.filter(
            grade=grade, day__gte=parts.rolled[0], day__lte=parts.rolled[1]
        )
        if gate_id is not None:
            rows = rows.filter(gate_id=gate_id)
        histogram: dict[int, int] = dict(
            rows.values("bucket").annotate(n=Sum("leads")).values_list("bucket", "n")
        )
        for seconds in live:
            bucket = timing_bucket(seconds)
            histogram[bucket] = histogram.get(bucket, 0) + 1
        out.append(
            Timing(
                grade,
                sum(histogram.values()),
                histogram_percentile(histogram, 0.5),
                histogram_percentile(histogram, 0.9),
            )
        )
    return out
