"""Speed to lead per CRM endpoint: a triggering event's arrival to the CRM's 2xx, over a
bounded window of the range's latest successes."""

from __future__ import annotations

from dataclasses import dataclass

from forms_app.models import Gate
from forms_app.workspace.common import DateRange
from forms_app.workspace.reports.numbers import percentile
from profiling.models import Delivery, WebhookEndpoint

SPEED_WINDOW = 1000


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
