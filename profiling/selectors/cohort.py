"""The lead cohort the dashboard counts, shared by its live reads and the daily rollups
that replace them (profiling/services/rollups.py), so both count a lead the same way.

A lead's "best grade reached" counts a lead that was warm once and has cooled: it is its
current grade or any grade change to warm/hot (EXISTS on the grade change's lead index),
so the funnel does not shrink when decay cools old leads.
"""

from __future__ import annotations

from datetime import datetime
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
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, TruncDate

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
    return list(
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
