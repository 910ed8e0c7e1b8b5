"""Webhook endpoint writes: save, delete, secret rotation."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from profiling.models import WebhookEndpoint, make_webhook_secret


def webhook_endpoint_save(
    *, endpoint: WebhookEndpoint | None = None, data: dict[str, Any]
) -> WebhookEndpoint:
    endpoint = endpoint or WebhookEndpoint(secret=make_webhook_secret(), grades=["hot"])
    was_active = endpoint.pk is not None and endpoint.is_active
    for attr in ("url", "secret", "grades", "is_active"):
        if attr in data and data[attr] is not None:
            setattr(endpoint, attr, data[attr])
    if data.get("is_active") and not was_active:
        # Re-enabled by the marketer: forget the old failure streak too, or the next
        # failure would disable it again at once.
        endpoint.disabled_reason = ""
        endpoint.disabled_at = None
        endpoint.failing_since = None
    with transaction.atomic():
        endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        endpoint.delete()


def webhook_secret_rotate(*, endpoint_id: int, secret: str | None = None) -> WebhookEndpoint:
    """Add a new signing secret; the current one keeps signing as `previous_secret`.

    Every request then carries two `v1,` signatures, so the CRM verifies with either
    until the marketer retires the old secret. Rotating again during a rotation drops
    the oldest secret (at most two sign at once). Row-locked so two concurrent rotations
    cannot both demote the same secret and lose one.
    """
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        endpoint.previous_secret = endpoint.secret
        endpoint.secret = secret or make_webhook_secret()
        endpoint.secret_rotated_at = timezone.now()
        endpoint.save(update_fields=["previous_secret", "secret", "secret_rotated_at"])
    return endpoint


def webhook_secret_retire_previous(*, endpoint_id: int) -> WebhookEndpoint:
    """The CRM has the new secret: stop signing with the old one."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        endpoint.previous_secret = ""
        endpoint.save(update_fields=["previous_secret"])
    return endpoint
