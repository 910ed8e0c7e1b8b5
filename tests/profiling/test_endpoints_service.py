"""webhook_endpoint_save and webhook_secret_rotate own what an endpoint may be: whoever
calls them (the marketer API, the workspace) gets the same refusals."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from profiling.models import WebhookEndpoint
from profiling.services.endpoints import webhook_endpoint_save, webhook_secret_rotate

pytestmark = pytest.mark.django_db

VALID_SECRET = "whsec_" + "A" * 32  # 24 bytes of base64


def test_private_urls_are_refused_on_create_and_update(settings: Any) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as refused:
        webhook_endpoint_save(data={"url": "http://127.0.0.1:9/hook", "grades": ["hot"]})
    assert list(refused.value.message_dict) == ["url"]
    assert "leadgate posts only to public addresses" in refused.value.messages[0]
    assert WebhookEndpoint.objects.count() == 0

    endpoint = webhook_endpoint_save(data={"url": "https://93.184.216.34/hook", "grades": ["hot"]})
    with pytest.raises(ValidationError):
        webhook_endpoint_save(endpoint=endpoint, data={"url": "http://10.0.0.1/hook"})
    endpoint.refresh_from_db()
    assert endpoint.url == "https://93.184.216.34/hook"


def test_grades_are_stored_in_order_and_checked() -> None:
    endpoint = webhook_endpoint_save(
        data={"url": "http://127.0.0.1:9/hook", "grades": ["hot", "cold", "hot"]}
    )
    assert endpoint.grades == ["cold", "hot"]
    for grades in ([], ["lukewarm"]):
        with pytest.raises(ValidationError) as refused:
            webhook_endpoint_save(endpoint=endpoint, data={"grades": grades})
        assert list(refused.value.message_dict) == ["grades"]
    endpoint.refresh_from_db()
    assert endpoint.grades == ["cold", "hot"]


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("abc", 'Must be "whsec_" followed by base64.'),
        ("whsec_%%%", "The part after whsec_ is not base64."),
        ("whsec_QUJD", "The key must be 24 to 64 bytes (Standard Webhooks)."),
    ],
)
def test_bad_secrets_are_refused(secret: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        webhook_endpoint_save(data={"url": "http://127.0.0.1:9/hook", "secret": secret})
    assert refused.value.message_dict == {"secret": [message]}
    endpoint = webhook_endpoint_save(data={"url": "http://127.0.0.1:9/hook"})
    with pytest.raises(ValidationError) as rotated:
        webhook_secret_rotate(endpoint_id=endpoint.pk, secret=secret)
    assert rotated.value.message_dict == {"secret": [message]}


def test_rotation_refuses_a_secret_already_in_use() -> None:
    endpoint = webhook_endpoint_save(
        data={"url": "http://127.0.0.1:9/hook", "secret": VALID_SECRET}
    )
    with pytest.raises(ValidationError, match="already in use"):
        webhook_secret_rotate(endpoint_id=endpoint.pk, secret=VALID_SECRET)
    rotated = webhook_secret_rotate(endpoint_id=endpoint.pk)
    assert rotated.previous_secret == VALID_SECRET
    with pytest.raises(ValidationError, match="already in use"):
        webhook_secret_rotate(endpoint_id=endpoint.pk, secret=VALID_SECRET)
