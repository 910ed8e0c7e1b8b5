"""Reads for the dashboard and the lead list: set-based aggregates, fast at a million leads.

- Everything is grouped in the database (one query per table); Python only classifies
  the (few) distinct source groups and formats.
- A lead's "best grade reached" counts a lead that was warm once and has cooled: it is
  its current grade or any grade change to warm/hot (EXISTS on the grade change's lead
  index), so the funnel does not shrink when decay cools old leads.
- Timing and speed-to-lead percentiles read a bounded window of the latest rows (the
  same practice as profiling.selectors.endpoint_delivery_stats).
- The lead list pages by keyset on (created_at, id), never OFFSET, so page 1,000 costs
  what page 1 costs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
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
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Lower, TruncDay, TruncWeek

from forms_app.models import CampaignCost, Gate, Submission
from forms_app.workspace.common import DateRange
from profiling.enrichment import SOCIAL_HOSTS, SOCIAL_SOURCES, social_network, touch_channel
from profiling.models import Delivery, Event, GradeChange, Lead, WebhookEndpoint

TIMING_WINDOW = 5000
SPEED_WINDOW = 1000
MAX_COST_ROWS = 100
SOURCE_ROWS = 12


# --- building blocks ---------------------------------------------------------------------


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
    jit_above_cost, and compiling each query (0.5-1.5 s measured) costs 10-20x more than
    it saves on these aggregates (bench/workspace.py)."""
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


def _counts() -> dict[str, Any]:
    return {
        "leads": Count("id"),
        "warm": Count("id", filter=Q(reached__gte=1)),
        "hot": Count("id", filter=Q(reached=2)),
    }


def rate(part: int | float | None, whole: int | float | None) -> float | None:
    if not whole or part is None:
        return None
    return part / whole


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    rank = (len(sorted_values) - 1) * p
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


# --- the cohort, grouped once ---------------------------------------------------------------


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
    table and the grade mix (each used to scan it again). The groups are few (sources x
    days x 3), so Python folds them."""
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


# --- funnel ----------------------------------------------------------------------------------


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


# --- sources ---------------------------------------------------------------------------------

SOCIAL = "social"


@dataclass
class SourceRow:
    label: str
    channel: str
    leads: int = 0
    warm: int = 0
    hot: int = 0

    @property
    def warm_rate(self) -> float | None:
        return rate(self.warm, self.leads)

    @property
    def hot_rate(self) -> float | None:
        return rate(self.hot, self.leads)


@dataclass
class SourcesReport:
    rows: list[SourceRow]
    total: int
    social: int
    social_networks: list[SourceRow] = field(default_factory=list)

    @property
    def social_share(self) -> float | None:
        return rate(self.social, self.total)


def _classify(utm_source: str, utm_medium: str, referrer: str) -> tuple[str, str]:
    """(label, channel) of one group, with profiling.enrichment's classifier."""
    ref = referrer if "://" in referrer or not referrer else f"https://{referrer}"
    network = social_network(utm_source=utm_source, referrer=ref)
    channel = touch_channel(utm_source=utm_source, utm_medium=utm_medium, referrer=ref)
    if network:
        return network, SOCIAL
    if utm_source:
        return utm_source.strip().lower(), channel
    if ref:
        from profiling.enrichment import referrer_host

        return referrer_host(ref) or "(unknown referrer)", channel
    return "Direct", channel


def sources(
    rng: DateRange, gate: Gate | None = None, groups: list[CohortGroup] | None = None
) -> SourcesReport:
    groups = cohort_groups(rng, gate) if groups is None else groups
    merged: dict[tuple[str, str], SourceRow] = {}
    labels: dict[tuple[str, str, str], tuple[str, str]] = {}
    for g in groups:
        key = (g.src, g.med, g.host)
        if key not in labels:
            labels[key] = _classify(*key)
        label, channel = labels[key]
        row = merged.setdefault((label, channel), SourceRow(label=label, channel=channel))
        row.leads += g.n
        row.warm += g.n if g.reached >= 1 else 0
        row.hot += g.n if g.reached == 2 else 0
    rows = sorted(merged.values(), key=lambda r: (-r.leads, r.label))
    total = sum(r.leads for r in rows)
    social_rows = [r for r in rows if r.channel == SOCIAL]
    return SourcesReport(
        rows=rows,
        total=total,
        social=sum(r.leads for r in social_rows),
        social_networks=social_rows,
    )


# --- grade mix over time ------------------------------------------------------------------------


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


# --- time to warm / hot ------------------------------------------------------------------------


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


# --- speed to lead per endpoint ----------------------------------------------------------------


@dataclass(frozen=True)
class Speed:
    endpoint: WebhookEndpoint
    count: int
    p50_ms: float | None
    p95_ms: float | None
    failed: int


def speed_to_lead(rng: DateRange, gate: Gate | None = None) -> list[Speed]:
    """Triggering event's arrival to the CRM's 2xx, per endpoint, over the range's latest
    successes (partial index delivery_endpoint_speed)."""
    out: list[Speed] = []
    for endpoint in WebhookEndpoint.objects.order_by("id"):
        deliveries = Delivery.objects.filter(endpoint=endpoint, event_type="lead.grade_changed")
        if gate is not None:
            deliveries = deliveries.filter(lead__first_gate=gate)
        speeds = sorted(
            float(ms)
            for ms in deliveries.filter(
                speed_to_lead_ms__isnull=False,
                delivered_at__gte=rng.since,
                delivered_at__lt=rng.until,
            )
            .order_by("-delivered_at")
            .values_list("speed_to_lead_ms", flat=True)[:SPEED_WINDOW]
            if ms is not None
        )
        failed = deliveries.filter(
            status="failed", created_at__gte=rng.since, created_at__lt=rng.until
        ).count()
        out.append(
            Speed(endpoint, len(speeds), percentile(speeds, 0.5), percentile(speeds, 0.95), failed)
        )
    return out


# --- return on spend --------------------------------------------------------------------------


@dataclass(frozen=True)
class Spend:
    cost: CampaignCost
    leads: int
    warm: int
    hot: int

    def _per(self, n: int) -> Decimal | None:
        return (self.cost.amount / n).quantize(Decimal("0.01")) if n else None

    @property
    def per_lead(self) -> Decimal | None:
        return self._per(self.leads)

    @property
    def per_warm(self) -> Decimal | None:
        return self._per(self.warm)

    @property
    def per_hot(self) -> Decimal | None:
        return self._per(self.hot)


def spend(rng: DateRange, gate: Gate | None = None) -> list[Spend]:
    """Costs whose period overlaps the range; each against the leads its source (and
    campaign) brought during the cost's own period (first touch)."""
    from datetime import timedelta

    from django.utils import timezone

    costs = CampaignCost.objects.filter(period_start__lte=rng.end, period_end__gte=rng.start)[
        :MAX_COST_ROWS
    ]
    out: list[Spend] = []
    for cost in costs:
        since = timezone.make_aware(datetime.combine(cost.period_start, datetime.min.time()))
        until = timezone.make_aware(
            datetime.combine(cost.period_end + timedelta(days=1), datetime.min.time())
        )
        leads = (
            live_leads()
            .alias(src=Lower("utm_source"))
            .filter(src=cost.utm_source, created_at__gte=since, created_at__lt=until)
        )
        if cost.utm_campaign:
            leads = leads.filter(utm_campaign=cost.utm_campaign)
        if gate is not None:
            leads = leads.filter(first_gate=gate)
        c = leads.annotate(reached=reached_expr()).aggregate(**_counts())
        out.append(Spend(cost, c["leads"], c["warm"], c["hot"]))
    return out


# --- lead list -------------------------------------------------------------------------------

SOCIAL_REFERRER_RE = (
    r"^https?://([^/?#]*\.)?(" + "|".join(re.escape(h) for h in SOCIAL_HOSTS) + r")([/:?#]|$)"
)


@dataclass(frozen=True)
class LeadFilters:
    grade: str = ""
    gate: Gate | None = None
    source: str = ""
    q: str = ""
    since: datetime | None = None
    until: datetime | None = None


LIST_FIELDS = (
    "id",
    "name",
    "email",
    "grade",
    "score",
    "company_domain",
    "utm_source",
    "utm_campaign",
    "referrer",
    "created_at",
    "first_gate_id",
    "subscribed",
)


def lead_search(f: LeadFilters) -> QuerySet[Lead]:
    """Filtered leads, newest first; `.only()` what the list shows."""
    leads = live_leads()
    if f.grade:
        leads = leads.filter(grade=f.grade)  # (grade, -created_at) index
    if f.gate is not None:
        # A lead belongs to a gate it arrived through or submitted on. EXISTS, not a
        # join + DISTINCT, so the newest-first walk can stop after one page.
        leads = leads.filter(
            Q(first_gate=f.gate)
            | Exists(Submission.objects.filter(lead=OuterRef("pk"), gate=f.gate))
        )
    if f.source:
        source = f.source.strip().lower()
        if source == SOCIAL:
            leads = leads.alias(src=Lower("utm_source")).filter(
                Q(src__in=list(SOCIAL_SOURCES)) | Q(referrer__iregex=SOCIAL_REFERRER_RE)
            )
        else:
            leads = leads.alias(src=Lower("utm_source")).filter(src=source)
    if f.q:
        q = f.q.strip()
        if "@" in q:
            # Emails are stored lower-cased; lower(email) has the unique index.
            leads = leads.alias(lemail=Lower("email")).filter(lemail=q.lower())
        else:
            leads = leads.filter(Q(name__icontains=q) | Q(email__istartswith=q))
    if f.since is not None:
        leads = leads.filter(created_at__gte=f.since)
    if f.until is not None:
        leads = leads.filter(created_at__lt=f.until)
    return leads.only(*LIST_FIELDS).order_by("-created_at", "-id")


def keyset_page(
    leads: QuerySet[Lead], after: tuple[datetime, str] | None, size: int
) -> tuple[list[Lead], tuple[datetime, str] | None]:
    """One page after the cursor (created_at, id) of the previous page's last lead."""
    if after is not None:
        at, lead_id = after
        leads = leads.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=lead_id))
    rows = list(leads[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    cursor = (rows[-1].created_at, str(rows[-1].id)) if more and rows else None
    return rows, cursor


def gate_titles(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    return dict(Gate.objects.filter(id__in=wanted).values_list("id", "title")) if wanted else {}
