"""What campaigns and channels cost, for the return on spend report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from forms_app.models import CampaignCost


def campaign_cost_create(
    *,
    utm_source: str,
    utm_campaign: str = "",
    period_start: date,
    period_end: date,
    amount: Decimal,
    currency: str = "EUR",
) -> CampaignCost:
    # Sources are matched case-insensitively (leads keep utm_source as the link gave
    # it), so the cost row is stored normalised the same way.
    cost = CampaignCost(
        utm_source=utm_source.strip().lower(),
        utm_campaign=utm_campaign.strip(),
        period_start=period_start,
        period_end=period_end,
        amount=amount,
        currency=currency.upper(),
    )
    with transaction.atomic():
        cost.full_clean()
        cost.save()
    return cost


def campaign_cost_delete(*, cost: CampaignCost) -> None:
    with transaction.atomic():
        cost.delete()
