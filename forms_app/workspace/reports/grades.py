"""The grade mix over time: new leads per day or week, by the best grade reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from forms_app.models import Gate
from forms_app.workspace.common import DateRange
from forms_app.workspace.reports.cohort import CohortGroup, bucket_unit, cohort_groups


@dataclass(frozen=True)
class GradeBucket:
    start: datetime
    cold: int
    warm: int
    hot: int

    @property
    def total(self) -> int:
        return self.cold + self.warm + self.hot


def grade_mix(
    rng: DateRange, gate: Gate | None = None, groups: list[CohortGroup] | None = None
) -> tuple[str, list[GradeBucket]]:
    """New leads per day (per week past 62 days), split by the best grade reached."""
    groups = cohort_groups(rng, gate) if groups is None else groups
    by_bucket: dict[datetime, list[int]] = {}
    for g in groups:
        by_bucket.setdefault(g.bucket, [0, 0, 0])[g.reached] += g.n
    return bucket_unit(rng), [
        GradeBucket(start, c[0], c[1], c[2]) for start, c in sorted(by_bucket.items())
    ]
