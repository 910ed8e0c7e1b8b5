"""The lead cohort the dashboard counts, shared by its live reads and the daily rollups
that replace them (profiling/services/rollups.py), so both count a lead the same way.

A lead's "best grade reached" counts a lead that was warm once and has cooled: it is its
current grade or any grade change to warm/hot (EXISTS on the grade change's lead index),
so the funnel does not shrink when decay cools old leads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    Expression,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, TruncDate
from django.utils import timezone

from profiling.models import Event, GradeChange, Lead


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


def live_leads() -> QuerySet[Lead]:
    # Erased people and merged-away duplicates are not leads of their own.
    return Lead.objects.filter(erased_at__isnull=True, merged_into__isnull=True)


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


def lead_day_groups(*, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Live leads created in [since, until) counted by (day, first gate, lower(utm_source),
    lower(utm_medium), referrer host, utm_campaign, best grade reached): the rows of
    DailyLeadStats. Gate 0 stands for no gate."""
    groups = (
        live_leads()
        .filter(created_at__gte=since, created_at__lt=until)
        .annotate(
            day=TruncDate("created_at"),
            gate=Coalesce(F("first_gate_id"), Value(0)),
            src=Coalesce(Lower("utm_source"), Value("")),
            med=Coalesce(Lower("utm_medium"), Value("")),
            host=Coalesce(ReferrerHost(F("referrer")), Value("")),
            campaign=F("utm_campaign"),
            reached=reached_expr(),
        )
        .values("day", "gate", "src", "med", "host", "campaign", "reached")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [dict(g) for g in groups]


# Time to warm/hot in the rollups: a histogram of seconds per day, in buckets 2^(1/8)
# wide (bucket 0 is [0, 1) s; bucket b >= 1 is [2^((b-1)/8), 2^(b/8)) s). A bucket's
# value is its geometric middle, within 2^(1/16) - 1 = 4.4% of any time in it, so a
# percentile read from the histogram is within 4.4% (or 1 s) of the exact one.
TIMING_STEPS_PER_DOUBLING = 8
TIMING_ACCURACY = 2 ** (1 / (2 * TIMING_STEPS_PER_DOUBLING)) - 1


def timing_bucket(seconds: float) -> int:
    if seconds < 1:
        return 0
    return 1 + math.floor(TIMING_STEPS_PER_DOUBLING * math.log2(seconds))


def timing_bucket_value(bucket: int) -> float:
    if bucket == 0:
        return 0.5
    return 2 ** ((bucket - 0.5) / TIMING_STEPS_PER_DOUBLING)


# The grades time is measured to, and the grade changes that count as reaching them.
TIMING_GRADES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("warm", ("warm", "hot")),
    ("hot", ("hot",)),
)


def first_reach_seconds(
    *,
    since: datetime,
    until: datetime,
    grades: Sequence[str],
    gate_id: int | None = None,
    limit: int | None = None,
) -> list[tuple[date, int, float]]:
    """(creation day, first gate or 0, seconds) for live leads created in [since, until)
    that changed to one of `grades`: from the lead's first visit (its first event, else
    its creation) to its first such change; the latest `limit` leads when given.

    Driven from the grade changes (few) rather than the leads (many): one grouped query
    on the changes joined to their leads, then the first events of those leads on the
    (lead, occurred_at) index."""
    changes = GradeChange.objects.filter(
        grade__in=grades,
        lead__created_at__gte=since,
        lead__created_at__lt=until,
        lead__erased_at__isnull=True,
        lead__merged_into__isnull=True,
    )
    if gate_id is not None:
        changes = changes.filter(lead__first_gate_id=gate_id)
    rows = (
        changes.values("lead_id")
        .annotate(
            reached_at=Min("created_at"),
            created=Min("lead__created_at"),
            gate=Min("lead__first_gate_id"),
        )
        .order_by("-created")
        .values_list("lead_id", "reached_at", "created", "gate")
    )
    firsts = list(rows[:limit] if limit is not None else rows)
    seen: dict[Any, datetime] = {}
    for i in range(0, len(firsts), 5000):
        ids = [f[0] for f in firsts[i : i + 5000]]
        seen.update(
            Event.objects.filter(lead_id__in=ids)
            .values("lead_id")
            .annotate(first=Min("occurred_at"))
            .values_list("lead_id", "first")
        )
    return [
        (
            timezone.localdate(created),
            gate or 0,
            max(0.0, (reached - (seen.get(lead_id) or created)).total_seconds()),
        )
        for lead_id, reached, created, gate in firsts
    ]
