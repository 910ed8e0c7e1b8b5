"""Marketer API for CRM delivery beyond CRUD: secret rotation, "send a test event",
delivery log (filters, latency), speed-to-lead stats. Each endpoint with malformed,
oversized, hostile and duplicate input; every error in the contract's shape."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from standardwebhooks import Webhook

from profiling.models import Delivery, DeliveryStatus, GradeChange, WebhookEndpoint
from tests.support.api import assert_error
from tests.support.crm import CrmReceiver
from tests.support.factories import make_endpoint, make_lead

pytestmark = pytest.mark.django_db

HOOKS = "/api/v1/webhooks/"
PUBLIC_IP_URL = "https://93.184.216.34/hook"


@pytest.fixture(autouse=True)
def _eager(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def crm() -> Any:
    with CrmReceiver() as receiver:
        yield receiver


def post(api: Client, url: str, body: Any, auth: dict[str, str] | None) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.post(url, data=data, content_type="application/json", headers=auth)


def new_secret(n: int = 32) -> str:
    return "whsec_" + base64.b64encode(bytes(range(n))).decode()


# --- secret rotation -------------------------------------------------------------------


def test_rotate_then_retire(api: Client, auth, crm: CrmReceiver) -> None:
    created = post(api, HOOKS, {"url": crm.url}, auth).json()
    old = created["secret"]
    assert created["rotating"] is False
    url = f"{HOOKS}{created['id']}"

    response = post(api, f"{url}/secret/rotate", {}, auth)
    assert response.status_code == 200, response.content
    rotated = response.json()
    new = rotated["secret"]  # shown once, here
    assert new.startswith("whsec_")
    assert new != old
    assert rotated["rotating"] is True
    assert rotated["secret_rotated_at"]
    detail = api.get(url, headers=auth).json()
    assert detail["rotating"] is True
    assert "secret" not in detail
    assert new not in json.dumps(detail)
    assert old not in json.dumps(detail)

    # a test event now carries both signatures: either secret verifies
    sent = post(api, f"{url}/test", None, auth)
    assert sent.status_code == 201, sent.content
    hit = crm.wait_for_requests(1)[0]
    Webhook(old).verify(hit.body, hit.headers)
    Webhook(new).verify(hit.body, hit.headers)

    retired = post(api, f"{url}/secret/retire-previous", None, auth)
    assert retired.status_code == 200
    assert retired.json()["rotating"] is False
    assert WebhookEndpoint.objects.get(pk=created["id"]).previous_secret == ""
    # retiring twice: nothing to retire, and said so
    assert_error(post(api, f"{url}/secret/retire-previous", None, auth), 400, "__all__")


def test_rotate_with_a_given_secret(api: Client, auth) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    given = new_secret()
    response = post(api, f"{HOOKS}{hook.pk}/secret/rotate", {"secret": given}, auth)
    assert response.status_code == 200
    assert response.json()["secret"] == given
    hook.refresh_from_db()
    assert hook.secret == given


@pytest.mark.parametrize(
    "body",
    [
        {"secret": "plain"},
        {"secret": "whsec_!!!"},
        {"secret": new_secret(8)},
        {"secret": new_secret(65)},
        {"secret": 12345},
        {"secret": ["whsec_x"]},
        {"secret": "whsec_" + "A" * 5000},
        {"secret": "whsec_\x00"},
    ],
)
def test_rotate_refuses_bad_secrets_and_changes_nothing(api: Client, auth, body: Any) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    before = (hook.secret, hook.previous_secret)
    assert_error(post(api, f"{HOOKS}{hook.pk}/secret/rotate", body, auth), 400, "secret")
    hook.refresh_from_db()
    assert (hook.secret, hook.previous_secret) == before


@pytest.mark.parametrize("raw", ["{", "[]", "null", '"x"', "[" * 20_000 + "]" * 20_000])
def test_rotate_malformed_body(api: Client, auth, raw: str) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    assert_error(post(api, f"{HOOKS}{hook.pk}/secret/rotate", raw, auth), 400)
    hook.refresh_from_db()
    assert hook.previous_secret == ""


def test_rotate_to_the_current_secret_is_refused(api: Client, auth) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    errors = assert_error(
        post(api, f"{HOOKS}{hook.pk}/secret/rotate", {"secret": hook.secret}, auth), 400, "secret"
    )
    assert "already" in errors["secret"][0]


def test_rotating_twice_keeps_two_secrets(api: Client, auth) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    first = post(api, f"{HOOKS}{hook.pk}/secret/rotate", {}, auth).json()["secret"]
    second = post(api, f"{HOOKS}{hook.pk}/secret/rotate", {}, auth).json()["secret"]
    hook.refresh_from_db()
    assert (hook.previous_secret, hook.secret) == (first, second)


def test_oversized_body_is_refused(api: Client, auth) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    huge = json.dumps({"secret": "x" * (3 * 1024 * 1024)})
    response = post(api, f"{HOOKS}{hook.pk}/secret/rotate", huge, auth)
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")
    hook.refresh_from_db()
    assert hook.previous_secret == ""


# --- send a test event -------------------------------------------------------------------


def test_send_test_event_answers_with_the_crm_response(api: Client, auth, crm) -> None:
    crm.script(503)
    hook = make_endpoint(url=crm.url)
    response = post(api, f"{HOOKS}{hook.pk}/test", None, auth)
    assert response.status_code == 201
    item = response.json()
    assert item["event_type"] == "webhook.test"
    assert (item["status"], item["last_status_code"], item["attempts"]) == ("failed", 503, 1)
    assert item["lead_id"] is None
    assert item["grade"] is None
    assert item["last_latency_ms"] is not None
    # and it is in the delivery log
    log = api.get(f"{HOOKS}{hook.pk}/deliveries", headers=auth).json()
    assert [d["id"] for d in log["results"]] == [item["id"]]

    again = post(api, f"{HOOKS}{hook.pk}/test", None, auth).json()
    assert again["status"] == "succeeded"
    assert again["id"] != item["id"]
    hits = crm.wait_for_requests(2)
    assert [h.status for h in hits] == [503, 200]
    assert hits[0].webhook_id != hits[1].webhook_id  # two events, not one retried


def test_test_event_to_an_unreachable_crm_is_a_logged_failure_not_a_500(api: Client, auth) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hook = make_endpoint(url=f"http://127.0.0.1:{port}/nobody")
    response = post(api, f"{HOOKS}{hook.pk}/test", None, auth)
    assert response.status_code == 201
    assert response.json()["status"] == "failed"
    assert "ConnectError" in response.json()["last_error"]


@pytest.mark.parametrize("pk", ["424242", "99999999999999999999999"])
def test_unknown_webhook_is_404_everywhere(api: Client, auth, pk: str) -> None:
    for suffix in ("test", "secret/rotate", "secret/retire-previous"):
        assert_error(post(api, f"{HOOKS}{pk}/{suffix}", {}, auth), 404)
    assert_error(api.get(f"{HOOKS}{pk}/stats", headers=auth), 404)
    assert not Delivery.objects.exists()


def test_everything_needs_a_marketer(api: Client) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    for suffix in ("test", "secret/rotate", "secret/retire-previous"):
        response = post(api, f"{HOOKS}{hook.pk}/{suffix}", {}, None)
        assert response.status_code in (401, 403)
        assert "errors" in response.json()
    bad = {"Authorization": "Token " + "0" * 40}
    assert api.get(f"{HOOKS}{hook.pk}/stats", headers=bad).status_code in (401, 403)
    assert not Delivery.objects.exists()
    hook.refresh_from_db()
    assert hook.previous_secret == ""


def test_wrong_methods(api: Client, auth) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    assert api.get(f"{HOOKS}{hook.pk}/test", headers=auth).status_code == 405
    assert api.delete(f"{HOOKS}{hook.pk}/secret/rotate", headers=auth).status_code == 405
    assert post(api, f"{HOOKS}{hook.pk}/stats", {}, auth).status_code == 405


# --- the SSRF guard on create and update ------------------------------------------------

NOT_PUBLIC = [
    # cloud metadata (Alibaba) in 100.64.0.0/10, carrier-grade NAT's shared space
    ("http://100.100.100.200/", "100.100.100.200 is Shared Address Space (100.64.0.0/10"),
    # 6to4 wrapping 10.0.0.1
    ("http://[2002:a00:1::]/", "2002:a00:1:: is 6to4 (2002::/16) for 10.0.0.1, which is Private"),
]


def _stored(hook: WebhookEndpoint) -> dict[str, Any]:
    return dict(WebhookEndpoint.objects.values().get(pk=hook.pk))


@pytest.mark.parametrize(("url", "reason"), NOT_PUBLIC)
def test_create_to_an_address_that_is_not_public_is_refused(
    api: Client, auth, settings, url: str, reason: str
) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    errors = assert_error(post(api, HOOKS, {"url": url}, auth), 400, "url")
    assert reason in errors["url"][0]
    assert list(errors) == ["url"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("url", "reason"), NOT_PUBLIC)
def test_update_to_an_address_that_is_not_public_is_refused_and_changes_nothing(
    api: Client, auth, settings, url: str, reason: str
) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    hook = make_endpoint(url=PUBLIC_IP_URL, grades=["hot"])
    before = _stored(hook)
    detail = f"{HOOKS}{hook.pk}"
    for method, body in (
        ("patch", {"url": url, "is_active": False}),
        ("put", {"url": url, "grades": ["warm"], "is_active": False}),
    ):
        response = getattr(api, method)(
            detail, data=json.dumps(body), content_type="application/json", headers=auth
        )
        errors = assert_error(response, 400, "url")
        assert reason in errors["url"][0], method
    assert _stored(hook) == before
    assert api.get(detail, headers=auth).json()["url"] == PUBLIC_IP_URL


def test_a_public_ipv6_address_and_a_registry_exception_are_accepted(
    api: Client, auth, settings
) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    created = post(api, HOOKS, {"url": "https://[2606:4700:4700::1111]/hook"}, auth)
    assert created.status_code == 201, created.content
    # 192.0.0.9 is globally reachable although the rest of 192.0.0.0/24 is not
    moved = api.patch(
        f"{HOOKS}{created.json()['id']}",
        data=json.dumps({"url": "https://192.0.0.9/hook"}),
        content_type="application/json",
        headers=auth,
    )
    assert moved.status_code == 200, moved.content
    assert WebhookEndpoint.objects.get().url == "https://192.0.0.9/hook"


def test_a_test_event_to_a_stored_address_that_is_not_public_fails_with_the_reason(
    api: Client, auth, settings
) -> None:
    hook = make_endpoint(url="http://100.100.100.200/hook")  # stored while allowed
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    response = post(api, f"{HOOKS}{hook.pk}/test", None, auth)
    assert response.status_code == 201
    item = response.json()
    assert (item["status"], item["last_status_code"]) == ("failed", None)
    assert "Shared Address Space" in item["last_error"]


# --- delivery log and stats ---------------------------------------------------------------


def _delivered(hook: WebhookEndpoint, ms: int, **fields: Any) -> Delivery:
    lead = make_lead()
    change = GradeChange.objects.create(lead=lead, previous_grade="warm", grade="hot", score=90)
    defaults: dict[str, Any] = {
        "status": DeliveryStatus.SUCCEEDED,
        "delivered_at": timezone.now(),
        "speed_to_lead_ms": ms,
        "last_latency_ms": 3,
        "attempts": 1,
    }
    defaults.update(fields)
    return Delivery.objects.create(
        endpoint=hook, grade_change=change, lead=lead, payload={}, **defaults
    )


def test_stats_and_detail_show_speed_to_lead(api: Client, auth) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    for ms in (100, 200, 300, 400, 500, 600, 700, 800, 900, 10_000):
        _delivered(hook, ms)
    _delivered(hook, 0, status=DeliveryStatus.PENDING, speed_to_lead_ms=None, delivered_at=None)
    stats = api.get(f"{HOOKS}{hook.pk}/stats", headers=auth).json()
    assert stats["speed_to_lead_ms"]["count"] == 10
    assert stats["speed_to_lead_ms"]["p50"] == 550
    assert stats["speed_to_lead_ms"]["p95"] == pytest.approx(900 + 0.55 * 9100)
    assert stats["deliveries"]["succeeded"] == 10
    assert stats["deliveries"]["pending"] == 1
    detail = api.get(f"{HOOKS}{hook.pk}", headers=auth).json()
    assert detail["speed_to_lead_ms"]["p50"] == 550
    # another endpoint's deliveries do not leak in
    other = make_endpoint(url=PUBLIC_IP_URL)
    assert api.get(f"{HOOKS}{other.pk}/stats", headers=auth).json()["speed_to_lead_ms"] == {
        "count": 0,
        "p50": None,
        "p95": None,
        "p99": None,
        "max": None,
    }


def test_delivery_log_has_latency_speed_and_a_status_filter(api: Client, auth) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    ok = _delivered(hook, 42)
    failing = _delivered(
        hook,
        0,
        status=DeliveryStatus.PENDING,
        speed_to_lead_ms=None,
        delivered_at=None,
        last_status_code=500,
        last_response_body="<h1>oops</h1>",
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    log = api.get(f"{HOOKS}{hook.pk}/deliveries", headers=auth).json()
    by_id = {d["id"]: d for d in log["results"]}
    assert by_id[str(ok.id)]["speed_to_lead_ms"] == 42
    assert by_id[str(ok.id)]["last_latency_ms"] == 3
    assert by_id[str(failing.id)]["last_response_body"] == "<h1>oops</h1>"
    pending = api.get(f"{HOOKS}{hook.pk}/deliveries?status=pending", headers=auth).json()
    assert [d["id"] for d in pending["results"]] == [str(failing.id)]
    for bad in ("boiling", "", "pending'--", "x" * 5000):
        assert_error(api.get(f"{HOOKS}{hook.pk}/deliveries?status={bad}", headers=auth), 400)


def test_disabled_endpoint_shows_when_and_why(api: Client, auth) -> None:
    hook = make_endpoint(
        url=PUBLIC_IP_URL,
        is_active=False,
        disabled_at=timezone.now(),
        disabled_reason="No successful delivery since ... disabled.",
        failing_since=timezone.now() - timedelta(days=6),
    )
    detail = api.get(f"{HOOKS}{hook.pk}", headers=auth).json()
    assert detail["is_active"] is False
    assert detail["disabled_at"]
    assert detail["failing_since"]
    assert "disabled" in detail["disabled_reason"]


def test_openapi_documents_the_new_endpoints(api: Client, auth) -> None:
    response = api.get("/api/schema/", headers={**auth, "Accept": "application/json"})
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/stats", "/test", "/secret/rotate", "/secret/retire-previous"):
        assert f"/api/v1/webhooks/{{id}}{path}" in text or f"{{pk}}{path}" in text, path


# --- names ----------------------------------------------------------------------------


def test_a_webhook_has_an_optional_name(api: Client, auth) -> None:
    unnamed = post(api, HOOKS, {"url": PUBLIC_IP_URL}, auth)
    assert unnamed.status_code == 201, unnamed.content
    assert unnamed.json()["name"] == ""
    named = post(api, HOOKS, {"url": PUBLIC_IP_URL, "name": "HubSpot: hot leads"}, auth)
    assert named.json()["name"] == "HubSpot: hot leads"
    pk = named.json()["id"]
    assert api.get(f"{HOOKS}{pk}", headers=auth).json()["name"] == "HubSpot: hot leads"
    assert [h["name"] for h in api.get(HOOKS, headers=auth).json()] == ["", "HubSpot: hot leads"]
    renamed = api.patch(
        f"{HOOKS}{pk}",
        data=json.dumps({"name": "HubSpot"}),
        content_type="application/json",
        headers=auth,
    )
    assert renamed.json()["name"] == "HubSpot"
    # A PATCH without a name keeps it.
    api.patch(
        f"{HOOKS}{pk}",
        data=json.dumps({"is_active": False}),
        content_type="application/json",
        headers=auth,
    )
    assert WebhookEndpoint.objects.get(pk=pk).name == "HubSpot"


def test_a_name_too_long_is_refused(api: Client, auth) -> None:
    response = post(api, HOOKS, {"url": PUBLIC_IP_URL, "name": "x" * 201}, auth)
    assert_error(response, 400, "name")
    assert WebhookEndpoint.objects.count() == 0
