"""Helpers for API tests: the contract's error shape and marketer credentials."""

from __future__ import annotations

import uuid
from typing import Any

# Headers Django's security and clickjacking middleware and django-csp put on every
# answer; the events beacon's early dispatch (profiling/beacon.py) must keep them.
SECURITY_HEADERS = (
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "X-Frame-Options",
    "Content-Security-Policy",
)


def assert_error(response: Any, status: int, *fields: str) -> dict[str, list[str]]:
    """Status, JSON content type, `{"errors": {field: [str, ...]}}` naming `fields`.

    Returns the errors so a test can check a message.
    """
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    errors = body.get("errors") if isinstance(body, dict) else None
    assert isinstance(errors, dict), body
    assert errors, body
    for key, messages in errors.items():
        assert isinstance(key, str)
        assert isinstance(messages, list), (key, messages)
        assert messages, key
        assert all(isinstance(m, str) and m for m in messages), (key, messages)
    for field in fields:
        assert field in errors, (field, errors)
    return errors


def token_header() -> dict[str, str]:
    """A marketer (group member, not staff) with an API token, made without password
    hashing (fast)."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from tests.support.factories import add_role

    user = add_role(User.objects.create(username=f"m-{uuid.uuid4().hex[:12]}"), "marketer")
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}
