"""The delivery side of the admin: the disabled notice, health and speed to lead on the
endpoint list, "send a test event", secret rotation actions, the delivery log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from standardwebhooks import Webhook

from profiling.models import Delivery, DeliveryStatus, GradeChange, WebhookEndpoint
from tests.support.crm import CrmReceiver
from tests.support.factories import make_endpoint, make_lead, random_slug

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/profiling/webhookendpoint/"


@pytest.fixture
def admin_client(client: Client) -> Client:
    user = get_user_model().objects.create_superuser(
        username=f"a-{random_slug()}", email="a@example.com", password="pw-not-used-123"
    )
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _private(settings: Any) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = True


def test_disabled_endpoint_notice_health_and_speed(admin_client: Client) -> None:
    failing = make_endpoint(
        url="https://93.184.216.34/failing", failing_since=timezone.now() - timedelta(days=1)
    )
    make_endpoint(
        url="https://93.184.216.34/gone",
        is_active=False,
        disabled_reason="The receiver answered 410 Gone.",
    )
    lead = make_lead()
    for ms in (100, 300):
        Delivery.objects.create(
            endpoint=failing,
            grade_change=GradeChange.objects.create(
                lead=lead, previous_grade="warm", grade="hot", score=90
            ),
            lead=lead,
            payload={},
            status=DeliveryStatus.SUCCEEDED,
            delivered_at=timezone.now(),
            speed_to_lead_ms=ms,
        )
    html = admin_client.get(CHANGELIST).content.decode()
    assert "is disabled: The receiver answered 410 Gone." in html  # the notice
    assert "failing since" in html
    assert "200 ms / 290 ms (last 2)" in html


def test_send_test_event_action(admin_client: Client) -> None:
    with CrmReceiver() as crm:
        endpoint = make_endpoint(url=crm.url)
        response = admin_client.post(
            CHANGELIST,
            {"action": "send_test_event", "_selected_action": [endpoint.pk]},
            follow=True,
        )
        (hit,) = crm.wait_for_requests(1)
    assert Webhook(endpoint.secret).verify(hit.body, hit.headers)["type"] == "webhook.test"
    assert "Test event to" in response.content.decode()
    assert "HTTP 200" in response.content.decode()
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert (delivery.event_type, delivery.status) == ("webhook.test", DeliveryStatus.SUCCEEDED)
    # and it shows in the delivery log
    log = admin_client.get("/admin/profiling/delivery/").content.decode()
    assert "webhook.test" in log


def test_rotate_and_retire_actions(admin_client: Client) -> None:
    endpoint = make_endpoint(url="https://93.184.216.34/hook")
    old = endpoint.secret
    admin_client.post(CHANGELIST, {"action": "rotate_secret", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == old
    assert endpoint.secret != old
    admin_client.post(
        CHANGELIST, {"action": "retire_previous_secret", "_selected_action": [endpoint.pk]}
    )
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == ""


def test_delivery_change_page_shows_the_log_fields(admin_client: Client) -> None:
    endpoint = make_endpoint(url="https://93.184.216.34/hook")
    lead = make_lead()
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        grade_change=GradeChange.objects.create(
            lead=lead, previous_grade="warm", grade="hot", score=90
        ),
        lead=lead,
        payload={},
        attempts=3,
        last_status_code=503,
        last_response_body="upstream <b>down</b>",
        last_latency_ms=1234,
    )
    html = admin_client.get(f"/admin/profiling/delivery/{delivery.pk}/change/").content.decode()
    assert "upstream &lt;b&gt;down&lt;/b&gt;" in html
    assert "1234" in html
    assert "503" in html
    assert WebhookEndpoint.objects.count() == 1


def test_admin_refuses_a_private_webhook_url_on_save(admin_client: Client, settings: Any) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    endpoint = make_endpoint(url="https://93.184.216.34/crm")
    form = {
        "url": "http://100.100.100.200/latest/meta-data",
        "secret": endpoint.secret,
        "grades": '["hot"]',
        "is_active": "on",
        "disabled_reason": "",
        "previous_secret": "",
    }
    response = admin_client.post(f"{CHANGELIST}{endpoint.pk}/change/", form)
    assert response.status_code == 200  # the form again, with the error
    assert "Shared Address Space" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == "https://93.184.216.34/crm"
    # The same form with a public URL saves: the refusal above is the guard, not a typo.
    form["url"] = "https://93.184.216.35/crm"
    assert admin_client.post(f"{CHANGELIST}{endpoint.pk}/change/", form).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == "https://93.184.216.35/crm"
