"""Webhook bodies. Their JSON Schema is published at /schemas/<type>.v1.json."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from django.utils import timezone

from profiling.models import GradeChange, Lead, WebhookEndpoint

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
GRADE_CHANGED = "lead.grade_changed"
TEST_EVENT = "webhook.test"
SCHEMA_NAMES = (f"{GRADE_CHANGED}.v1.json", f"{TEST_EVENT}.v1.json")


def payload_for(*, change: GradeChange, lead: Lead) -> dict[str, Any]:
    return {
        "type": GRADE_CHANGED,
        "timestamp": change.created_at.isoformat(),
        "data": {
            "lead": {
                "id": str(lead.id),
                "name": lead.name,
                "email": lead.email,
                "subscribed": lead.subscribed,
                "email_verified": lead.email_verified_at is not None,
                "company_domain": lead.company_domain,
            },
            "grade": change.grade,
            "previous_grade": change.previous_grade,
            "score": change.score,
            "reasons": change.reasons,
            "source": {
                "utm_source": lead.utm_source,
                "utm_medium": lead.utm_medium,
                "utm_campaign": lead.utm_campaign,
                "referrer": lead.referrer,
            },
        },
    }


def test_payload_for(*, endpoint: WebhookEndpoint) -> dict[str, Any]:
    """A `webhook.test` body: lets a marketer check URL, secret and CRM parsing."""
    return {
        "type": TEST_EVENT,
        "timestamp": timezone.now().isoformat(),
        "data": {
            "endpoint_id": endpoint.pk,
            "message": "A test event from leadgate: if its signature verifies, you are set.",
        },
    }


test_payload_for.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


@cache
def schema_text(name: str) -> str | None:
    """The published JSON Schema `name` (one of SCHEMA_NAMES), or None."""
    if name not in SCHEMA_NAMES:
        return None
    text = (SCHEMA_DIR / name).read_text()
    json.loads(text)  # fail loudly on a broken file rather than serve it
    return text
