"""Return on spend: each campaign cost against the leads its source brought in its period."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import Lower

from forms_app.models import CampaignCost, Gate
from forms_app.workspace.common import DateRange
from forms_app.workspace.reports.cohort import live_leads, reached_counts, reached_expr, split
from profiling.models import DailyLeadStats

MAX_COST_ROWS = 100


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
    campaign) brought during the cost's own period (first touch): from the daily rollups, and
    live since the last fold."""
    costs = CampaignCost.objects.filter(period_start__lte=rng.end, period_end__gte=rng.start)[
        :MAX_COST_ROWS
    ]
    out: list[Spend] = []
    for cost in costs:
        parts = split(cost.period_start, cost.period_end)
        c = {"leads": 0, "warm": 0, "hot": 0}
        if parts.rolled is not None:
            rows = DailyLeadStats.objects.filter(
                src=cost.utm_source, day__gte=parts.rolled[0], day__lte=parts.rolled[1]
            )
            if cost.utm_campaign:
                rows = rows.filter(campaign=cost.utm_campaign)
            if gate is not None:
                rows = rows.filter(gate_id=gate.id)
            rolled = rows.aggregate(
                n_all=Sum("leads"),
                n_warm=Sum("leads", filter=Q(reached__gte=1)),
                n_hot=Sum("leads", filter=Q(reached=2)),
            )
            for key in c:
                c[key] += rolled[f"n_{'all' if key == 'leads' else key}"] or 0
        if parts.live is not None:
            leads = (
                live_leads()
                .alias(src=Lower("utm_source"))
                .filter(src=cost.utm_source, created_at__gte=parts.live[0])
                .filter(created_at__lt=parts.live[1])
            )
            if cost.utm_campaign:
                leads = leads.filter(utm_campaign=cost.utm_campaign)
            if gate is not None:
                leads = leads.filter(first_gate=gate)
            live = leads.annotate(reached=reached_expr()).aggregate(**reached_counts())
            for key in c:
                c[key] += live[key]
        out.append(Spend(cost, c["leads"], c["warm"], c["hot"]))
    return out
