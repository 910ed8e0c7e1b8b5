"""Reads for webhook endpoints and their deliveries: the list, speed to lead, health."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, QuerySet

from profiling.models import Delivery, DeliveryStatus, WebhookEndpoint


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


def endpoint_deliveries(*, endpoint_id: int) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(endpoint_id=endpoint_id)
        .select_related("grade_change")
        .order_by("-created_at")
    )


SPEED_WINDOW = 1000


def _percentile(sorted_values: list[int], p: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    rank = (len(sorted_values) - 1) * p
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def endpoint_delivery_stats(*, endpoint_id: int, window: int = SPEED_WINDOW) -> dict[str, Any]:
    """Speed to lead (trigger -> CRM 2xx) p50/p95/p99 over the endpoint's latest `window`
    successes (partial index delivery_endpoint_speed), plus delivery counts by status.
    The percentiles are computed in Python over that bounded window."""
    speeds = sorted(
        ms
        for ms in Delivery.objects.filter(endpoint_id=endpoint_id, speed_to_lead_ms__isnull=False)
        .order_by("-delivered_at")
        .values_list("speed_to_lead_ms", flat=True)[:window]
        if ms is not None
    )
    counts = {
        row["status"]: row["n"]
        for row in Delivery.objects.filter(endpoint_id=endpoint_id)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    }
    return {
        "speed_to_lead_ms": {
            "count": len(speeds),
            "p50": _percentile(speeds, 0.50),
            "p95": _percentile(speeds, 0.95),
            "p99": _percentile(speeds, 0.99),
            "max": speeds[-1] if speeds else None,
        },
        "deliveries": {status: counts.get(status, 0) for status in DeliveryStatus.values},
    }


def endpoint_health(*, endpoint_id: int) -> dict[str, Any]:
    """The endpoint's last 2xx, and its failure streak: how many deliveries have been
    tried and not accepted since then (each retried until it succeeds or gives up). The
    endpoint's own failing_since says since when."""
    last_success = Delivery.objects.filter(
        endpoint_id=endpoint_id, status=DeliveryStatus.SUCCEEDED
    ).aggregate(at=Max("delivered_at"))["at"]
    failing = Delivery.objects.filter(endpoint_id=endpoint_id, attempts__gt=0).exclude(
        status__in=(DeliveryStatus.SUCCEEDED, DeliveryStatus.SKIPPED)
    )
    if last_success is not None:
        failing = failing.filter(last_attempt_at__gt=last_success)
    return {"last_success_at": last_success, "failure_streak": failing.count()}
