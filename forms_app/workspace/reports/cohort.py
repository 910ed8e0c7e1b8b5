"""The building blocks every report shares: the live leads, the range's cohort, the best
grade a lead has reached, and the cohort counted once by source, day and grade.

A lead's "best grade reached" counts a lead that was warm once and has cooled: it is its
current grade or any grade change to warm/hot (EXISTS on the grade change's lead index),
so the funnel does not shrink when decay cools old leads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    Expression,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Lower, TruncDay, TruncWeek

from forms_app.models import Gate
from forms_app.workspace.common import DateRange
from profiling.models import GradeChange, Lead


class ReferrerHost(Func):
    """The host of a referrer URL, in SQL, so sources group by host and not by full URL
    (a million leads have many distinct referrer URLs but few hosts)."""

    output_field = CharField()

    def as_sql(self, compiler: Any, conn: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"lower(substring({sql} from '^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/]*@)?([^/:?#]+)'))",
            params,
        )


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


def live_leads() -> QuerySet[Lead]:
    # Erased people and merged-away duplicates are not leads of their own.
    return Lead.objects.filter(erased_at__isnull=True, merged_into__isnull=True)


def cohort(rng: DateRange, gate: Gate | None = None) -> QuerySet[Lead]:
    """Leads created in the range (through `gate` first, when given)."""
    leads = live_leads().filter(created_at__gte=rng.since, created_at__lt=rng.until)
    if gate is not None:
        leads = leads.filter(first_gate=gate)
    return leads


def reached_expr() -> Expression:
    """2 hot, 1 warm, 0 cold: the best grade the lead has reached."""
    changes = GradeChange.objects.filter(lead=OuterRef("pk"))
    hot = Q(grade="hot") | Exists(changes.filter(grade="hot"))
    warm = Q(grade="warm") | Exists(changes.filter(grade="warm"))
    return Case(
        When(hot, then=Value(2)),
        When(warm, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def reached_counts() -> dict[str, Any]:
    """Aggregates over leads annotated with `reached`: all, warm-or-hot, hot."""
    return {
        "leads": Count("id"),
        "warm": Count("id", filter=Q(reached__gte=1)),
        "hot": Count("id", filter=Q(reached=2)),
    }


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


def cohort_groups(rng: DateRange, gate: Gate | None = None) -> list[CohortGroup]:
    """The range's new leads counted by (source, medium, referrer host, day or week, best
    grade reached): ONE scan of the cohort feeds the funnel's lead steps, the sources
    table and the grade mix, instead of a scan each. The groups are few (sources x days x
    3), so Python folds them."""
    trunc = TruncDay("created_at") if bucket_unit(rng) == "day" else TruncWeek("created_at")
    rows = (
        cohort(rng, gate)
        .annotate(
            reached=reached_expr(),
            src=Lower("utm_source"),
            med=Lower("utm_medium"),
            host=ReferrerHost(F("referrer")),
            bucket=trunc,
        )
        .values("src", "med", "host", "bucket", "reached")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        CohortGroup(
            r["src"] or "", r["med"] or "", r["host"] or "", r["bucket"], r["reached"], r["n"]
        )
        for r in rows
    ]
