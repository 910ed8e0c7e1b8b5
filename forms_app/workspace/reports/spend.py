"""Return on spend: each campaign cost against the leads its source brought in its period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models.functions import Lower
from django.utils import timezone

from forms_app.models import CampaignCost, Gate
from forms_app.workspace.common import DateRange
from forms_app.workspace.reports.cohort import live_leads, reached_counts, reached_expr

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
    campaign) brought during the cost's own period (first touch)."""
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
        c = leads.annotate(reached=reached_expr()).aggregate(**reached_counts())
        out.append(Spend(cost, c["leads"], c["warm"], c["hot"]))
    return out
