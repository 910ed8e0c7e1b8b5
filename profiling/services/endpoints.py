"""Webhook endpoint writes."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from profiling.models import WebhookEndpoint, make_webhook_secret


def webhook_endpoint_save(
    *, endpoint: WebhookEndpoint | None = None, data: dict[str, Any]
) -> WebhookEndpoint:
    endpoint = endpoint or WebhookEndpoint(secret=make_webhook_secret(), grades=["hot"])
    for attr in ("url", "secret", "grades", "is_active"):
        if attr in data and data[attr] is not None:
            setattr(endpoint, attr, data[attr])
    if data.get("is_active"):
        endpoint.disabled_reason = ""  # re-enabled by the marketer
    with transaction.atomic():
        endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        endpoint.delete()
