"""Webhook endpoints (test event to a real local CRM, secret shown once, rotation,
delivery log, redeliver) and Segment sources in the workspace."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from profiling.models import Delivery, GradeChange, Source, WebhookEndpoint
from profiling.selectors import endpoint_health
from tests.support.factories import make_endpoint, make_gate, make_lead

pytestmark = pytest.mark.django_db


def test_add_webhook_shows_secret_once(mclient: Client, crm_receiver: Any) -> None:
    response = mclient.post(
        "/app/webhooks/", {"url": crm_receiver.url, "grades": ["warm", "hot"], "is_active": "on"}
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.grades == ["warm", "hot"]
    first = mclient.get(response["Location"]).content.decode()
    assert endpoint.secret in first
    again = mclient.get(response["Location"]).content.decode()
    assert endpoint.secret not in again


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "not a url", "grades": ["hot"]}, "Enter a valid URL"),
        ({"url": "https://crm.example.com/x", "grades": []}, "This field is required"),
        ({"url": "https://crm.example.com/x", "grades": ["lukewarm"]}, "Select a valid choice"),
        ({"url": "ftp://crm.example.com/x", "grades": ["hot"]}, "Use an http:// or https:// URL"),
    ],
)
def test_bad_webhooks_are_refused_inline(
    mclient: Client, data: dict[str, Any], message: str
) -> None:
    response = mclient.post("/app/webhooks/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_private_targets_are_refused_by_the_ssrf_guard(mclient: Client, settings: Any) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    response = mclient.post("/app/webhooks/", {"url": "http://127.0.0.1:9/hook", "grades": ["hot"]})
    assert response.status_code == 400
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://100.100.100.200/", "100.100.100.200 is Shared Address Space (100.64.0.0/10"),
        ("http://[2002:a00:1::]/", "6to4 (2002::/16) for 10.0.0.1, which is Private-Use"),
    ],
)
def test_addresses_that_are_not_public_are_refused_on_add_and_edit(
    mclient: Client, settings: Any, url: str, reason: str
) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    added = mclient.post("/app/webhooks/", {"url": url, "grades": ["hot"]})
    assert added.status_code == 400
    assert reason in added.content.decode()
    assert WebhookEndpoint.objects.count() == 0
    endpoint = make_endpoint(url="https://93.184.216.34/hook", grades=["hot"])
    edited = mclient.post(f"/app/webhooks/{endpoint.pk}/", {"url": url, "grades": ["warm"]})
    assert edited.status_code == 400
    assert reason in edited.content.decode()
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.grades, endpoint.is_active) == (
        "https://93.184.216.34/hook",
        ["hot"],
        True,
    )


def test_test_event_reaches_the_crm_and_is_logged(mclient: Client, crm_receiver: Any) -> None:
    endpoint = make_endpoint(url=crm_receiver.url)
    response = mclient.post(f"/app/webhooks/{endpoint.pk}/test")
    assert response.status_code == 302
    assert len(crm_receiver.requests) == 1
    assert crm_receiver.requests[0].json()["type"] == "webhook.test"
    page = mclient.get(f"/app/webhooks/{endpoint.pk}/").content.decode()
    assert "Test event delivered: the CRM answered 200" in page
    assert "webhook.test" in page
    assert "Succeeded" in page


def test_failed_test_event_says_why(mclient: Client, crm_receiver: Any) -> None:
    endpoint = make_endpoint(url=crm_receiver.url)
    crm_receiver.script(500)
    mclient.post(f"/app/webhooks/{endpoint.pk}/test")
    page = mclient.get(f"/app/webhooks/{endpoint.pk}/").content.decode()
    assert "Test event not accepted" in page


def test_rotate_and_retire_secret(mclient: Client, crm_receiver: Any) -> None:
    endpoint = make_endpoint(url=crm_receiver.url)
    old = endpoint.secret
    mclient.post(f"/app/webhooks/{endpoint.pk}/rotate")
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == old
    assert endpoint.secret != old
    page = mclient.get(f"/app/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.secret in page  # the new secret, once
    assert "Rotation under way" in page
    mclient.post(f"/app/webhooks/{endpoint.pk}/retire")
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == ""
    again = mclient.post(f"/app/webhooks/{endpoint.pk}/retire", follow=True).content.decode()
    assert "nothing to retire" in again
    assert mclient.post(f"/app/webhooks/{endpoint.pk}/explode").status_code == 404


def test_delivery_log_and_redeliver(
    mclient: Client, crm_receiver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint = make_endpoint(url=crm_receiver.url)
    lead = make_lead(name="Hot Prospect")
    change = GradeChange.objects.create(
        lead=lead, previous_grade="warm", grade="hot", score=90, reasons=[]
    )
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        grade_change=change,
        lead=lead,
        payload={"type": "lead.grade_changed"},
        status="failed",
        attempts=12,
        last_status_code=503,
    )
    page = mclient.get(f"/app/webhooks/{endpoint.pk}/?status=failed").content.decode()
    assert "Hot Prospect" in page
    assert "HTTP 503" in page
    assert "Redeliver" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = mclient.post(f"/app/deliveries/{delivery.pk}/redeliver")
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert crm_receiver.requests[-1].webhook_id == f"msg_{delivery.pk.hex}"
    assert (
        mclient.post("/app/deliveries/00000000-0000-4000-8000-000000000000/redeliver").status_code
        == 404
    )
    assert mclient.get(f"/app/webhooks/{endpoint.pk}/?page=999999&status=bogus").status_code == 200


def test_edit_and_delete_webhook(mclient: Client, crm_receiver: Any) -> None:
    endpoint = make_endpoint(url=crm_receiver.url)
    response = mclient.post(
        f"/app/webhooks/{endpoint.pk}/", {"url": crm_receiver.url, "grades": ["warm"]}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.grades == ["warm"]
    assert endpoint.is_active is False
    assert (
        mclient.post(f"/app/webhooks/{endpoint.pk}/", {"url": "", "grades": ["warm"]}).status_code
        == 400
    )
    mclient.post(f"/app/webhooks/{endpoint.pk}/delete")
    assert not WebhookEndpoint.objects.exists()
    assert mclient.get(f"/app/webhooks/{endpoint.pk}/").status_code == 404


def test_sources_create_scoped_and_delete(mclient: Client) -> None:
    gate = make_gate(slug="scoped")
    response = mclient.post("/app/sources/", {"name": "Website", "gates": ["scoped"]})
    assert response.status_code == 302
    source = Source.objects.get()
    assert not source.all_gates
    assert list(source.gates.all()) == [gate]
    page = mclient.get("/app/sources/").content.decode()
    assert source.write_key in page
    assert mclient.post("/app/sources/", {"name": "", "gates": []}).status_code == 400
    assert mclient.post("/app/sources/", {"name": "X", "gates": ["not-a-gate"]}).status_code == 400
    assert mclient.post("/app/sources/", {"name": "x" * 201}).status_code == 400
    assert Source.objects.count() == 1
    mclient.post(f"/app/sources/{source.pk}/delete")
    assert not Source.objects.exists()
    assert mclient.post(f"/app/sources/{source.pk}/delete").status_code == 404


# --- names and health --------------------------------------------------------------------


def test_a_webhook_is_named_and_listed_with_its_health(mclient: Client, crm_receiver: Any) -> None:
    response = mclient.post(
        "/app/webhooks/",
        {"name": "  HubSpot:\n hot leads ", "url": crm_receiver.url, "grades": ["hot"]},
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.name == "HubSpot: hot leads"  # one line, as it is shown
    detail = mclient.get(response["Location"]).content.decode()
    assert "<title>HubSpot: hot leads · CRM webhooks · leadgate</title>" in detail
    assert '<h1 class="ws-ellipsis">HubSpot: hot leads</h1>' in detail
    assert 'value="HubSpot: hot leads"' in detail  # the edit form keeps it
    listed = mclient.get("/app/webhooks/").content.decode()
    assert "<strong>HubSpot: hot leads</strong>" in listed
    assert "no success yet" in listed

    # A test event accepted: the list says when it last worked.
    mclient.post(f"/app/webhooks/{endpoint.pk}/test")
    listed = mclient.get("/app/webhooks/").content.decode()
    assert "last success" in listed
    assert "just now" in listed

    # Renamed to blank: shown by the URL's host, never the path (it may hold a token).
    form = {"name": "", "url": crm_receiver.url, "grades": ["hot"], "is_active": "on"}
    assert mclient.post(f"/app/webhooks/{endpoint.pk}/", form).status_code == 302
    detail = mclient.get(f"/app/webhooks/{endpoint.pk}/").content.decode()
    assert '<h1 class="ws-ellipsis">127.0.0.1</h1>' in detail


def test_a_failing_webhook_shows_its_streak(mclient: Client) -> None:
    endpoint = make_endpoint(
        url="https://93.184.216.34/hook",
        name="Salesforce",
        failing_since=timezone.now() - timedelta(hours=3),
    )
    lead = make_lead()
    long_ago = timezone.now() - timedelta(days=2)
    Delivery.objects.create(
        endpoint=endpoint,
        lead=lead,
        payload={},
        status="succeeded",
        attempts=1,
        last_attempt_at=long_ago,
        delivered_at=long_ago,
    )
    for status in ("pending", "failed", "pending"):
        Delivery.objects.create(
            endpoint=endpoint,
            lead=lead,
            payload={},
            status=status,
            attempts=3,
            last_attempt_at=timezone.now() - timedelta(hours=1),
        )
    # Created but not tried yet: not part of the streak.
    Delivery.objects.create(endpoint=endpoint, lead=lead, payload={}, status="pending")
    listed = mclient.get("/app/webhooks/").content.decode()
    assert "failing since" in listed
    assert "(3 deliveries not accepted)" in listed
    assert "last success" in listed
    assert "2\xa0days ago" in listed


def test_endpoint_health_selector() -> None:
    endpoint = make_endpoint(url="https://93.184.216.34/hook")
    assert endpoint_health(endpoint_id=endpoint.pk) == {
        "last_success_at": None,
        "failure_streak": 0,
    }
    tried = timezone.now() - timedelta(minutes=5)
    Delivery.objects.create(
        endpoint=endpoint, payload={}, status="pending", attempts=1, last_attempt_at=tried
    )
    assert endpoint_health(endpoint_id=endpoint.pk)["failure_streak"] == 1
    Delivery.objects.create(
        endpoint=endpoint,
        payload={},
        status="succeeded",
        attempts=1,
        last_attempt_at=timezone.now(),
        delivered_at=timezone.now(),
    )
    health = endpoint_health(endpoint_id=endpoint.pk)
    assert health["failure_streak"] == 0  # the failure came before the last success
    assert health["last_success_at"] is not None
