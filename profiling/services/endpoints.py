"""Webhook endpoint writes: save, delete, secret rotation.

They own what an endpoint may be: a URL the SSRF guard lets leadgate post to, a signing
secret in the Standard Webhooks form, grades from the three there are. Every writer (the
marketer API, the workspace) is held to the same rules and messages.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from profiling.models import Grade, WebhookEndpoint, make_webhook_secret
from profiling.services.delivery import UnsafeWebhookUrl, webhook_url_check

GRADE_ORDER = (Grade.COLD, Grade.WARM, Grade.HOT)
NAME_MAX = WebhookEndpoint._meta.get_field("name").max_length or 200


def webhook_secret_problem(secret: str) -> str | None:
    """Why `secret` is not a Standard Webhooks signing secret ("whsec_" + base64 of 24 to 64
    bytes), or None."""
    if not secret.startswith("whsec_"):
        return 'Must be "whsec_" followed by base64.'
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return "The part after whsec_ is not base64."
    if not 24 <= len(key) <= 64:
        return "The key must be 24 to 64 bytes (Standard Webhooks)."
    return None


def webhook_endpoint_check(data: dict[str, Any]) -> dict[str, Any]:
    """`data` as webhook_endpoint_save stores it (grades in cold, warm, hot order), or
    ValidationError keyed by field. Only the keys given are checked (a partial update)."""
    errors: dict[str, list[str]] = {}
    checked = dict(data)
    name = data.get("name")
    if name is not None:
        checked["name"] = " ".join(str(name).split())  # one line, as it is shown
        if len(checked["name"]) > NAME_MAX:
            errors["name"] = [f"At most {NAME_MAX} characters."]
    url = data.get("url")
    if url is not None:
        try:
            webhook_url_check(url)
        except UnsafeWebhookUrl as exc:
            errors["url"] = [str(exc)]
    secret = data.get("secret")
    if secret is not None and (problem := webhook_secret_problem(secret)):
        errors["secret"] = [problem]
    grades = data.get("grades")
    if grades is not None:
        unknown = set(grades) - set(GRADE_ORDER)
        if unknown or not grades:
            errors["grades"] = [f"Choose one or more of: {', '.join(GRADE_ORDER)}."]
        checked["grades"] = [g for g in GRADE_ORDER if g in set(grades)]
    if errors:
        raise ValidationError(errors)
    return checked


def webhook_endpoint_save(
    *, endpoint: WebhookEndpoint | None = None, data: dict[str, Any]
) -> WebhookEndpoint:
    """Create (endpoint None) or update an endpoint; ValidationError for what it refuses."""
    data = webhook_endpoint_check(data)
    endpoint = endpoint or WebhookEndpoint(secret=make_webhook_secret(), grades=["hot"])
    was_active = endpoint.pk is not None and endpoint.is_active
    for attr in ("name", "url", "secret", "grades", "is_active"):
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
    cannot both demote the same secret and lose one. A `secret` given (one the CRM made)
    must be a valid one that neither current secret is.
    """
    if secret and (problem := webhook_secret_problem(secret)):
        raise ValidationError({"secret": [problem]})
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        if secret and secret in {endpoint.secret, endpoint.previous_secret}:
            raise ValidationError({"secret": ["This secret is already in use; pick a new one."]})
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
