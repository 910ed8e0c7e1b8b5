"""Marketer API: scoring rules, scoring settings, webhooks, deliveries, redeliver, leads
(list, detail, erase, CSV export). Every error: status, contract shape, nothing changed."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from standardwebhooks import Webhook

from forms_app.models import Submission
from profiling.models import (
    Delivery,
    DeliveryStatus,
    Event,
    GradeChange,
    Lead,
    SandboxMessage,
    ScoringRule,
    ScoringSettings,
    Visitor,
    WebhookEndpoint,
)
from tests.support.api import assert_error
from tests.support.crm import CrmReceiver
from tests.support.factories import (
    make_endpoint,
    make_event,
    make_gate,
    make_lead,
    make_rule,
    make_visitor,
    set_thresholds,
)

pytestmark = pytest.mark.django_db

RULES = "/api/v1/scoring-rules/"
SETTINGS = "/api/v1/scoring-settings"
HOOKS = "/api/v1/webhooks/"
LEADS = "/api/v1/leads/"
EXPORT = "/api/v1/leads/export.csv"
PUBLIC_IP_URL = "https://93.184.216.34/hook"  # a literal public address: no DNS needed


@pytest.fixture(autouse=True)
def _eager(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = True


def send(api: Client, method: str, url: str, body: Any = None, auth: dict | None = None):
    if method == "get" or body is None:
        return getattr(api, method)(url, headers=auth)
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(api, method)(url, data=data, content_type="application/json", headers=auth)


def _rows(model) -> list[dict[str, Any]]:
    return list(model.objects.order_by("pk").values())


# ================================ scoring rules ===========================================


def _rule_body(gate=None, /, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Read a chapter",
        "event_type": "section_view",
        "gate": gate.slug if gate else None,
        "section": None,
        "points": 10,
        "max_points": 60,
        "min_duration_ms": 5000,
        "makes_hot": False,
    }
    body.update(overrides)
    return body


def test_rule_crud(api: Client, auth) -> None:
    gate = make_gate()
    response = send(api, "post", RULES, _rule_body(gate, section="section-2"), auth)
    assert response.status_code == 201, response.content
    rule = response.json()
    assert rule["gate"] == gate.slug
    assert rule["section"] == "section-2"
    assert rule["file"] is None
    assert (rule["points"], rule["max_points"], rule["min_duration_ms"]) == (10, 60, 5000)
    url = f"{RULES}{rule['id']}"
    assert send(api, "get", url, auth=auth).json() == rule
    assert [r["id"] for r in send(api, "get", RULES, auth=auth).json()] == [rule["id"]]

    patched = send(api, "patch", url, {"points": -5, "makes_hot": True}, auth)
    assert patched.status_code == 200
    assert (patched.json()["points"], patched.json()["makes_hot"]) == (-5, True)

    put = send(api, "put", url, _rule_body(None, event_type="download", file="x"), auth)
    assert put.status_code == 200, put.content
    assert put.json()["event_type"] == "download"

    assert send(api, "delete", url, auth=auth).status_code == 204
    assert not ScoringRule.objects.exists()
    assert_error(send(api, "get", url, auth=auth), 404)


def test_rule_for_any_gate_and_a_download_rule(api: Client, auth) -> None:
    gate = make_gate(files=("network-map",))
    response = send(
        api,
        "post",
        RULES,
        _rule_body(gate, event_type="download", file="network-map", min_duration_ms=None),
        auth,
    )
    assert response.status_code == 201, response.content
    assert response.json()["file"] == "network-map"
    track = send(
        api,
        "post",
        RULES,
        _rule_body(None, event_type="track", event_name="Demo Requested", min_duration_ms=None),
        auth,
    )
    assert track.status_code == 201, track.content
    assert track.json()["gate"] is None


def test_rule_change_regrades_leads_without_pushing(
    api: Client, auth, django_capture_on_commit_callbacks
) -> None:
    set_thresholds(warm=20, hot=80)
    gate = make_gate()
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    for key in ("section-1", "section-2", "section-3"):
        make_event(visitor=visitor, gate=gate, section_key=key, duration_ms=9000)
    make_endpoint(url=PUBLIC_IP_URL, grades=["warm", "hot"])
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, "post", RULES, _rule_body(gate), auth)
    assert response.status_code == 201
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (30, "warm")
    assert GradeChange.objects.filter(lead=lead).count() == 1
    assert not Delivery.objects.exists()


BAD_RULES = [
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": ["x"]}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "a\x00"}, "name"),
    ({"event_type": "click"}, "event_type"),
    ({"event_type": None}, "event_type"),
    ({"event_type": ["section_view"]}, "event_type"),
    ({"gate": "no-such-gate"}, "gate"),
    ({"gate": 123}, "gate"),
    ({"gate": ["x"]}, "gate"),
    ({"gate": {"slug": "x"}}, "gate"),
    ({"gate": True}, "gate"),
    ({"section": "no-such-section"}, "section"),
    ({"section": ["section-1"]}, "section"),
    ({"section": "s" * 81}, "section"),
    ({"section": "section-1\x00"}, "section"),
    ({"file": "network-map"}, "file"),  # pages of a file not read inline
    ({"event_type": "download", "file": "no-such-file"}, "file"),
    ({"event_type": "download", "section": "section-1"}, "section"),
    ({"event_name": "Demo"}, "event_name"),
    ({"event_name": "a\x00", "event_type": "track"}, "event_name"),
    ({"points": "abc"}, "points"),
    ({"points": True}, "points"),
    ({"points": 1.5}, "points"),
    ({"points": None}, "points"),
    ({"points": [1]}, "points"),
    ({"points": 10**30}, "points"),
    ({"points": -(10**30)}, "points"),
    ({"max_points": -1}, "max_points"),
    ({"max_points": "lots"}, "max_points"),
    ({"max_points": 10**12}, "max_points"),
    ({"min_duration_ms": -1}, "min_duration_ms"),
    ({"min_duration_ms": False}, "min_duration_ms"),
    ({"min_duration_ms": 10**12}, "min_duration_ms"),
    ({"makes_hot": "maybe"}, "makes_hot"),
    ({"makes_hot": None}, "makes_hot"),
    ({"is_active": [True]}, "is_active"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_RULES)
def test_bad_rule_create(api: Client, auth, overrides: dict, field: str) -> None:
    gate = make_gate()
    assert_error(send(api, "post", RULES, _rule_body(gate, **overrides), auth), 400, field)
    assert not ScoringRule.objects.exists()


@pytest.mark.parametrize("missing", ["name", "event_type", "points"])
def test_rule_required_fields(api: Client, auth, missing: str) -> None:
    body = _rule_body(make_gate())
    del body[missing]
    assert_error(send(api, "post", RULES, body, auth), 400, missing)
    assert not ScoringRule.objects.exists()


@pytest.mark.parametrize("raw", ["{", "", "[" * 20_000 + "]" * 20_000, '{"points": Infinity}'])
def test_rule_malformed_json(api: Client, auth, raw: str) -> None:
    assert_error(send(api, "post", RULES, raw, auth), 400)
    assert not ScoringRule.objects.exists()


@pytest.mark.parametrize("body", [[], [_rule_body()], "x", 1, None])
def test_rule_non_object_body(api: Client, auth, body: Any) -> None:
    assert_error(send(api, "post", RULES, json.dumps(body), auth), 400)
    assert not ScoringRule.objects.exists()


# PATCH checks against the stored rule are covered by test_patch_is_checked_against_the_stored_rule.
GATE_DEPENDENT = ("no-such-section", "no-such-file")


@pytest.mark.parametrize(("overrides", "field"), BAD_RULES)
def test_bad_rule_update_changes_nothing(api: Client, auth, overrides: dict, field: str) -> None:
    gate = make_gate()
    rule = make_rule(gate=gate, points=10, section_key="section-1")
    before = _rows(ScoringRule)
    url = f"{RULES}{rule.pk}"
    put = _rule_body(gate, **{"points": 99, **overrides})
    assert_error(send(api, "put", url, put, auth), 400, field)
    if not (set(GATE_DEPENDENT) & {str(v) for v in overrides.values()}) and field not in (
        "file",
        "event_name",
    ):
        assert_error(send(api, "patch", url, {"points": 99, **overrides}, auth), 400, field)
    assert _rows(ScoringRule) == before


@pytest.mark.parametrize(
    "patch",
    [
        {"section": "no-such-section"},
        {"event_type": "download"},
        {"file": "network-map"},
        {"event_name": "Demo"},
    ],
)
def test_patch_is_checked_against_the_stored_rule(api: Client, auth, patch: dict) -> None:
    gate = make_gate()
    rule = make_rule(gate=gate, points=10, section_key="section-1")
    before = _rows(ScoringRule)
    response = send(api, "patch", f"{RULES}{rule.pk}", patch, auth)
    assert_error(response, 400)
    assert _rows(ScoringRule) == before


def test_nul_in_rule_gate_is_400(api: Client, auth) -> None:
    assert_error(send(api, "post", RULES, _rule_body(None, gate="a\x00b"), auth), 400, "gate")
    assert not ScoringRule.objects.exists()


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
@pytest.mark.parametrize("pk", ["999999", "99999999999999999999999", "abc", "-1", "1.5"])
def test_unknown_rule_is_404(api: Client, auth, method: str, pk: str) -> None:
    make_rule(gate=None)
    before = _rows(ScoringRule)
    assert_error(send(api, method, f"{RULES}{pk}", _rule_body(), auth), 404)
    assert _rows(ScoringRule) == before


# ================================ scoring settings ========================================


def test_settings_read_and_update(api: Client, auth, django_capture_on_commit_callbacks) -> None:
    response = send(api, "get", SETTINGS, auth=auth)
    assert response.status_code == 200
    assert set(response.json()) >= {"warm_threshold", "hot_threshold", "half_life_days"}
    body = {"warm_threshold": 10, "hot_threshold": 50, "half_life_days": 14}
    with django_capture_on_commit_callbacks(execute=True):
        put = send(api, "put", SETTINGS, body, auth)
    assert put.status_code == 200
    assert put.json() == body
    patch = send(api, "patch", SETTINGS + "/", {"half_life_days": 0}, auth)
    assert patch.json() == {**body, "half_life_days": 0}
    row = ScoringSettings.objects.get(pk=1)
    assert (row.warm_threshold, row.hot_threshold, row.half_life_days) == (10, 50, 0)


def test_lowering_thresholds_regrades_without_pushing(
    api: Client, auth, django_capture_on_commit_callbacks
) -> None:
    set_thresholds(warm=30, hot=80)
    gate = make_gate()
    make_rule(gate=gate, points=10)
    lead = make_lead(grade="cold")
    visitor = make_visitor(lead=lead)
    make_event(visitor=visitor, gate=gate, section_key="section-1")
    make_endpoint(url=PUBLIC_IP_URL, grades=["hot"])
    with django_capture_on_commit_callbacks(execute=True):
        send(api, "patch", SETTINGS, {"warm_threshold": 5, "hot_threshold": 10}, auth)
    lead.refresh_from_db()
    assert lead.grade == "hot"
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"warm_threshold": 80, "hot_threshold": 80, "half_life_days": 0}, "warm_threshold"),
        ({"warm_threshold": 90, "hot_threshold": 80, "half_life_days": 0}, "warm_threshold"),
        ({"warm_threshold": "ten", "hot_threshold": 80, "half_life_days": 0}, "warm_threshold"),
        ({"warm_threshold": True, "hot_threshold": 80, "half_life_days": 0}, "warm_threshold"),
        ({"warm_threshold": None, "hot_threshold": 80, "half_life_days": 0}, "warm_threshold"),
        ({"warm_threshold": 0, "hot_threshold": 80, "half_life_days": 0}, "warm_threshold"),
        ({"warm_threshold": 10, "hot_threshold": 10**12, "half_life_days": 0}, "hot_threshold"),
        ({"warm_threshold": 10, "hot_threshold": [80], "half_life_days": 0}, "hot_threshold"),
        ({"warm_threshold": 10, "hot_threshold": 80, "half_life_days": -1}, "half_life_days"),
        ({"warm_threshold": 10, "hot_threshold": 80, "half_life_days": 1.5}, "half_life_days"),
        ({"warm_threshold": 10, "hot_threshold": 80, "half_life_days": 99999}, "half_life_days"),
        ({"warm_threshold": 10, "hot_threshold": 80}, "half_life_days"),  # PUT is complete
    ],
)
def test_bad_settings_put_changes_nothing(api: Client, auth, body: dict, field: str) -> None:
    set_thresholds(warm=30, hot=80, half_life_days=7)
    before = _rows(ScoringSettings)
    assert_error(send(api, "put", SETTINGS, body, auth), 400, field)
    assert _rows(ScoringSettings) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hot_threshold": 20}, "warm_threshold"),  # below the stored warm threshold
        ({"warm_threshold": 100}, "warm_threshold"),
        ({"half_life_days": "a week"}, "half_life_days"),
        ({"warm_threshold": "\x00"}, "warm_threshold"),
    ],
)
def test_bad_settings_patch_changes_nothing(api: Client, auth, body: dict, field: str) -> None:
    set_thresholds(warm=30, hot=80, half_life_days=7)
    before = _rows(ScoringSettings)
    assert_error(send(api, "patch", SETTINGS, body, auth), 400, field)
    assert _rows(ScoringSettings) == before


@pytest.mark.parametrize("raw", ["{", "[]", "null", "1", '"x"', "[" * 20_000 + "]" * 20_000])
def test_settings_malformed_or_non_object(api: Client, auth, raw: str) -> None:
    set_thresholds(warm=30, hot=80)
    before = _rows(ScoringSettings)
    assert_error(send(api, "put", SETTINGS, raw, auth), 400)
    assert _rows(ScoringSettings) == before


@pytest.mark.parametrize("method", ["post", "delete"])
def test_settings_other_methods_405(api: Client, auth, method: str) -> None:
    assert_error(send(api, method, SETTINGS, {}, auth), 405)


# ================================ webhooks =================================================


def test_webhook_crud_and_secret_shown_once(api: Client, auth) -> None:
    response = send(api, "post", HOOKS, {"url": PUBLIC_IP_URL}, auth)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["grades"] == ["hot"]
    assert created["is_active"] is True
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64
    url = f"{HOOKS}{created['id']}"
    read = send(api, "get", url, auth=auth).json()
    assert "secret" not in read
    listed = send(api, "get", HOOKS, auth=auth).json()
    assert [h["id"] for h in listed] == [created["id"]]
    assert all("secret" not in h for h in listed)
    assert secret not in send(api, "get", HOOKS, auth=auth).content.decode()

    patched = send(api, "patch", url, {"grades": ["hot", "warm", "warm"]}, auth)
    assert patched.status_code == 200
    assert patched.json()["grades"] == ["warm", "hot"]
    assert "secret" not in patched.json()
    assert WebhookEndpoint.objects.get().secret == secret

    assert send(api, "delete", url, auth=auth).status_code == 204
    assert_error(send(api, "get", url, auth=auth), 404)


def test_given_secret_is_used_to_sign(
    api: Client, auth, django_capture_on_commit_callbacks
) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    with CrmReceiver() as crm:
        body = {"url": crm.url, "secret": secret, "grades": ["warm"]}
        assert send(api, "post", HOOKS, body, auth).status_code == 201
        set_thresholds(warm=5, hot=80)
        gate = make_gate()
        make_rule(gate=gate, points=10)
        lead = make_lead()
        make_event(visitor=make_visitor(lead=lead), gate=gate, section_key="section-1")
        from profiling.services.scoring import lead_score

        with django_capture_on_commit_callbacks(execute=True):
            lead_score(lead_id=lead.id)
        received = crm.wait_for_delivery(timeout=5, lead_id=lead.id)
    payload = Webhook(secret).verify(received.body, received.headers)
    assert payload["data"]["grade"] == "warm"


def test_reactivating_clears_the_disabled_reason(api: Client, auth) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL, is_active=False, disabled_reason="410 Gone")
    response = send(api, "patch", f"{HOOKS}{hook.pk}", {"is_active": True}, auth)
    assert response.json()["is_active"] is True
    assert response.json()["disabled_reason"] == ""


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8000/hook",
        "http://[::1]/hook",
        "http://0.0.0.0/",
    ],
)
def test_private_webhook_urls_refused_without_the_setting(
    api: Client, auth, settings, url: str
) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    errors = assert_error(send(api, "post", HOOKS, {"url": url}, auth), 400, "url")
    assert "private" in errors["url"][0] or "resolve" in errors["url"][0]
    assert not WebhookEndpoint.objects.exists()
    # nor can an existing endpoint be moved there
    hook = make_endpoint(url=PUBLIC_IP_URL)
    before = _rows(WebhookEndpoint)
    assert_error(send(api, "patch", f"{HOOKS}{hook.pk}", {"url": url}, auth), 400, "url")
    assert _rows(WebhookEndpoint) == before


def test_public_webhook_url_accepted_without_the_setting(api: Client, auth, settings) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    assert send(api, "post", HOOKS, {"url": PUBLIC_IP_URL}, auth).status_code == 201


BAD_HOOKS = [
    ({"url": None}, "url"),
    ({"url": ""}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": "ftp://93.184.216.34/x"}, "url"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": ["https://93.184.216.34/"]}, "url"),
    ({"url": "https://93.184.216.34/" + "a" * 1000}, "url"),
    ({"url": "https://93.184.216.34/\x00"}, "url"),
    ({"secret": "plain"}, "secret"),
    ({"secret": "whsec_!!notbase64!!"}, "secret"),
    ({"secret": "whsec_" + base64.b64encode(b"short").decode()}, "secret"),
    ({"secret": "whsec_" + base64.b64encode(b"x" * 65).decode()}, "secret"),
    ({"secret": 12345}, "secret"),
    ({"secret": "whsec_\x00"}, "secret"),
    ({"grades": []}, "grades"),
    ({"grades": "hot"}, "grades"),
    ({"grades": ["boiling"]}, "grades.0"),
    ({"grades": [None]}, "grades.0"),
    ({"grades": ["hot", "warm", "cold", "hot"]}, "grades"),
    ({"is_active": "maybe"}, "is_active"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_HOOKS)
def test_bad_webhook_create(api: Client, auth, overrides: dict, field: str) -> None:
    body = {"url": PUBLIC_IP_URL, **overrides}
    assert_error(send(api, "post", HOOKS, body, auth), 400, field)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("overrides", "field"), BAD_HOOKS[::2])
def test_bad_webhook_update_changes_nothing(api: Client, auth, overrides: dict, field: str) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL, grades=["warm", "hot"])
    before = _rows(WebhookEndpoint)
    url = f"{HOOKS}{hook.pk}"
    assert_error(send(api, "patch", url, {"is_active": False, **overrides}, auth), 400, field)
    body = {"url": PUBLIC_IP_URL, "is_active": False, **overrides}
    assert_error(send(api, "put", url, body, auth), 400, field)
    assert _rows(WebhookEndpoint) == before


@pytest.mark.parametrize("raw", ["{", "[]", "null", "[" * 20_000 + "]" * 20_000])
def test_webhook_malformed_or_non_object(api: Client, auth, raw: str) -> None:
    assert_error(send(api, "post", HOOKS, raw, auth), 400)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
@pytest.mark.parametrize("pk", ["424242", "99999999999999999999999", "x"])
def test_unknown_webhook_is_404(api: Client, auth, method: str, pk: str) -> None:
    assert_error(send(api, method, f"{HOOKS}{pk}", {"url": PUBLIC_IP_URL}, auth), 404)


# ================================ deliveries ===============================================


def _delivery(endpoint: WebhookEndpoint, lead: Lead | None = None, **fields: Any) -> Delivery:
    lead = lead or make_lead()
    change = GradeChange.objects.create(lead=lead, previous_grade="warm", grade="hot", score=90)
    return Delivery.objects.create(
        endpoint=endpoint,
        grade_change=change,
        lead=lead,
        payload={"type": "lead.grade_changed", "data": {"lead": {"id": str(lead.id)}}},
        **fields,
    )


def test_deliveries_list(api: Client, auth) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    other = make_endpoint(url=PUBLIC_IP_URL)
    due = timezone.now() + timedelta(minutes=5)
    mine = _delivery(hook, attempts=2, last_status_code=500, next_attempt_at=due)
    _delivery(other)
    response = send(api, "get", f"{HOOKS}{hook.pk}/deliveries", auth=auth)
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 1
    item = data["results"][0]
    assert item["id"] == str(mine.id)
    assert item["webhook_id"] == f"msg_{mine.id.hex}"
    assert (item["status"], item["attempts"], item["last_status_code"]) == ("pending", 2, 500)
    assert item["next_attempt_at"] is not None
    assert (item["grade"], item["previous_grade"]) == ("hot", "warm")


def test_deliveries_list_pagination_and_bad_paging_params(api: Client, auth) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    for _ in range(3):
        _delivery(hook)
    url = f"{HOOKS}{hook.pk}/deliveries"
    page = send(api, "get", f"{url}?limit=2", auth=auth).json()
    assert (page["count"], len(page["results"])) == (3, 2)
    assert page["next"]
    for query in ("limit=abc", "offset=-5", "limit=0", "offset=99999999999999999999", "offset=x"):
        response = send(api, "get", f"{url}?{query}", auth=auth)
        assert response.status_code == 200, query
        assert response.json()["count"] == 3


@pytest.mark.parametrize("which", ["leads", "deliveries"])
def test_huge_limit_is_not_a_500(api: Client, auth, which: str) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    _delivery(hook)
    url = LEADS if which == "leads" else f"{HOOKS}{hook.pk}/deliveries"
    response = send(api, "get", f"{url}?limit=99999999999999999999", auth=auth)
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert_error(response, 400)
    else:
        assert response.json()["count"] == 1


@pytest.mark.parametrize("pk", ["424242", "99999999999999999999999"])
def test_deliveries_of_unknown_webhook_is_404(api: Client, auth, pk: str) -> None:
    assert_error(send(api, "get", f"{HOOKS}{pk}/deliveries", auth=auth), 404)


def test_redeliver_sends_again_with_the_same_webhook_id(
    api: Client, auth, django_capture_on_commit_callbacks
) -> None:
    with CrmReceiver() as crm:
        hook = make_endpoint(url=crm.url)
        delivery = _delivery(
            hook,
            status=DeliveryStatus.FAILED,
            attempts=8,
            next_attempt_at=None,
            last_status_code=500,
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = send(api, "post", f"/api/v1/deliveries/{delivery.id}/redeliver", {}, auth)
        assert response.status_code == 202, response.content
        assert response.json()["id"] == str(delivery.id)
        received = crm.wait_for_requests(1, timeout=5)[0]
    assert received.webhook_id == f"msg_{delivery.id.hex}"
    Webhook(hook.secret).verify(received.body, received.headers)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 9


@pytest.mark.parametrize(
    "pk",
    [
        "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
        "1b4e28ba2fa141d2883f0016d3cca427",
        "-" * 32,
        "0" * 36,
        "not-a-uuid",
        "zz",
    ],
)
def test_redeliver_unknown_is_404(api: Client, auth, pk: str) -> None:
    hook = make_endpoint(url=PUBLIC_IP_URL)
    delivery = _delivery(hook, status=DeliveryStatus.FAILED)
    assert_error(send(api, "post", f"/api/v1/deliveries/{pk}/redeliver", {}, auth), 404)
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.FAILED


def test_redeliver_is_post_only(api: Client, auth) -> None:
    delivery = _delivery(make_endpoint(url=PUBLIC_IP_URL), status=DeliveryStatus.FAILED)
    url = f"/api/v1/deliveries/{delivery.id}/redeliver"
    for method in ("get", "put", "delete"):
        assert_error(send(api, method, url, {}, auth), 405)
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.FAILED


# ================================ leads ====================================================


def _lead_with_history(gate, **fields: Any) -> Lead:
    lead = make_lead(**fields)
    visitor = make_visitor(lead=lead)
    make_event(
        visitor=visitor,
        gate=gate,
        section_key="section-1",
        duration_ms=12_000,
        url="https://www.example-fibre.com/guide#s1",
    )
    make_event(visitor=visitor, gate=gate, type="download", file_key="network-map", url="u")
    Submission.objects.create(
        gate=gate, lead=lead, visitor_id=visitor.id, consent_text="notice", utm_source="x"
    )
    return lead


def test_leads_list_and_filters(api: Client, auth) -> None:
    gate, other_gate = make_gate(), make_gate()
    hot = _lead_with_history(gate, grade="hot", score=90)
    warm = _lead_with_history(other_gate, grade="warm", score=40)
    old = make_lead(grade="cold")
    Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))

    def ids(query: str = "") -> set[str]:
        response = send(api, "get", f"{LEADS}{query}", auth=auth)
        assert response.status_code == 200, (query, response.content)
        return {item["id"] for item in response.json()["results"]}

    assert ids() == {str(hot.id), str(warm.id), str(old.id)}
    assert ids("?grade=hot") == {str(hot.id)}
    assert ids(f"?gate={gate.slug}") == {str(hot.id)}
    assert ids("?gate=no-such-gate") == set()
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert ids(f"?since={since}") == {str(hot.id), str(warm.id)}
    assert ids("?since=2000-01-01T00:00:00Z") == {str(hot.id), str(warm.id), str(old.id)}
    item = send(api, "get", f"{LEADS}?grade=hot", auth=auth).json()["results"][0]
    assert set(item) >= {"id", "name", "email", "score", "grade"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("grade=lukewarm", "grade"),
        ("grade=HOT", "grade"),
        ("since=yesterday", "since"),
        ("since=2024-13-45", "since"),
        ("since=2024-01-01T25:00:00", "since"),
        ("since=2024-01-01T00:00:00%2B99:00", "since"),
        ("since=" + "9" * 100, "since"),
        ("since=2024%00", "since"),
        ("gate=a%00b", "gate"),
        ("gate=" + "g" * 81, "gate"),
    ],
)
@pytest.mark.parametrize("url", [LEADS, EXPORT])
def test_bad_lead_filters_are_400(api: Client, auth, url: str, query: str, field: str) -> None:
    assert_error(send(api, "get", f"{url}?{query}", auth=auth), 400, field)


def test_lead_detail(api: Client, auth) -> None:
    gate = make_gate()
    lead = _lead_with_history(gate, name="Ada", utm_source="linkedin", reasons=["r1"])
    response = send(api, "get", f"{LEADS}{lead.id}", auth=auth)
    assert response.status_code == 200
    data = response.json()
    assert set(data) >= {"score", "grade", "reasons", "visitors", "timeline"}
    assert data["reasons"] == ["r1"]
    assert data["visitors"] == [str(v) for v in lead.visitors.values_list("id", flat=True)]
    assert [e["type"] for e in data["timeline"]] == ["download", "section_view"] or [
        e["type"] for e in data["timeline"]
    ] == ["section_view", "download"]
    texts = {e["text"] for e in data["timeline"]}
    # Readable: titles, not keys.
    assert f"Read “Section 1” in “{gate.title}” (12 s)" in texts
    assert f"Downloaded “Network Map” from “{gate.title}”" in texts
    assert send(api, "get", f"{LEADS}{lead.id}/", auth=auth).status_code == 200


def test_lead_detail_reading_sums_heartbeats_per_section_and_pdf_page(api: Client, auth) -> None:
    gate = make_gate(sections=["intro", "long", "glance"], files=["network-map"], min_dwell_ms=5000)
    long_section = gate.sections.get(key="long")
    long_section.body = "word " * 1150  # five minutes to read: 75 s to count as read
    long_section.save()
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    start = timezone.now() - timedelta(minutes=5)

    def report(section: str, ms: int, seconds: int, file_key: str = "") -> None:
        make_event(
            visitor=visitor,
            gate=gate,
            section_key=section,
            file_key=file_key,
            duration_ms=ms,
            occurred_at=start + timedelta(seconds=seconds),
        )

    # Heartbeats: 5 s (at the minimum dwell), then 10 s, 10 s, then a flush of 3 s.
    for at, ms in ((5, 5000), (15, 10_000), (25, 10_000), (28, 3000)):
        report("intro", ms, at)
    report("long", 10_000, 40)  # skimmed: 10 s of a 5-minute section
    report("glance", 2000, 50)
    report("p2", 4000, 60, "network-map")
    report("p2", 1500, 62, "network-map")
    data = send(api, "get", f"{LEADS}{lead.id}", auth=auth).json()
    assert data["reading"] == [
        {
            "gate": gate.slug,
            "section": "intro",
            "active_ms": 28_000,
            "read": True,
            "file": None,
            "page": None,
        },
        {
            "gate": gate.slug,
            "section": "long",
            "active_ms": 10_000,
            "read": False,
            "file": None,
            "page": None,
        },
        {
            "gate": gate.slug,
            "section": "glance",
            "active_ms": 2000,
            "read": False,
            "file": None,
            "page": None,
        },
        {
            "gate": gate.slug,
            "section": "p2",
            "active_ms": 5500,
            "read": True,
            "file": "network-map",
            "page": 2,
        },
    ]
    # The timeline: one entry per section read in a visit, with its real time.
    texts = [e["text"] for e in data["timeline"]]
    assert texts == [
        f"Read page 2 of “Network Map” in “{gate.title}” (5 s)",
        f"Read “Glance” in “{gate.title}” (2 s)",
        f"Read “Long” in “{gate.title}” (10 s)",
        f"Read “Intro” in “{gate.title}” (28 s)",
    ]
    intro = data["timeline"][-1]
    assert (intro["duration_ms"], intro["reports"]) == (28_000, 4)


@pytest.mark.parametrize(
    "pk", ["1b4e28ba-2fa1-41d2-883f-0016d3cca427", "-" * 32, "a" * 36, "not-a-uuid", "1"]
)
@pytest.mark.parametrize("method", ["get", "delete"])
def test_unknown_lead_is_404(api: Client, auth, pk: str, method: str) -> None:
    lead = make_lead()
    assert_error(send(api, method, f"{LEADS}{pk}", auth=auth), 404)
    assert Lead.objects.get(pk=lead.pk).erased_at is None


def test_leads_are_read_only_otherwise(api: Client, auth) -> None:
    lead = make_lead()
    before = _rows(Lead)
    assert_error(send(api, "post", LEADS, {"name": "x", "email": "x@acme.io"}, auth), 405)
    # PATCH changes consent only (tests/profiling/test_lead_rights.py): nothing else.
    assert_error(send(api, "patch", f"{LEADS}{lead.id}", {"name": "changed"}, auth), 400, "name")
    assert_error(send(api, "put", f"{LEADS}{lead.id}", {"name": "changed"}, auth), 405)
    assert _rows(Lead) == before


def test_erase_removes_the_person_and_keeps_anonymous_counts(api: Client, auth) -> None:
    gate = make_gate()
    lead = _lead_with_history(gate, name="Ada Lovelace", utm_source="linkedin")
    keep = _lead_with_history(gate, name="Grace Hopper")
    hook = make_endpoint(url=PUBLIC_IP_URL)
    delivery = _delivery(hook, lead=lead)
    Delivery.objects.filter(pk=delivery.pk).update(
        payload={"data": {"lead": {"name": "Ada Lovelace", "email": lead.email}}}
    )
    email = lead.email
    event_ids = set(Event.objects.filter(lead=lead).values_list("id", flat=True))
    counts_before = {
        (t, k) for t, k in Event.objects.filter(id__in=event_ids).values_list("type", "section_key")
    }

    response = send(api, "delete", f"{LEADS}{lead.id}", auth=auth)
    assert response.status_code == 204

    erased = Lead.objects.get(pk=lead.pk)
    assert erased.name == ""
    assert erased.email != email
    assert "ada" not in erased.email.lower()
    assert erased.utm_source == ""
    assert erased.do_not_contact is True
    assert not Submission.objects.filter(lead=lead).exists()
    assert not Visitor.objects.filter(lead=lead).exists()
    # the events stay, as anonymous counts: no lead, no url, not the person's visitor
    events = Event.objects.filter(id__in=event_ids)
    assert events.count() == len(event_ids)
    assert set(events.values_list("type", "section_key")) == counts_before
    assert not events.filter(lead__isnull=False).exists()
    assert set(events.values_list("url", flat=True)) == {""}
    assert "Ada" not in json.dumps(Delivery.objects.get(pk=delivery.pk).payload)
    # no longer listed, exported or readable; the other lead is untouched
    listed = {i["id"] for i in send(api, "get", LEADS, auth=auth).json()["results"]}
    assert listed == {str(keep.id)}
    export = b"".join(send(api, "get", EXPORT, auth=auth).streaming_content).decode()
    assert email not in export
    assert "Grace Hopper" in export
    assert_error(send(api, "get", f"{LEADS}{lead.id}", auth=auth), 404)
    assert_error(send(api, "delete", f"{LEADS}{lead.id}", auth=auth), 404)
    assert Event.objects.filter(lead=keep).count() == 2
    assert Submission.objects.filter(lead=keep).count() == 1


def test_erased_lead_is_never_rescored_or_pushed(api: Client, auth) -> None:
    from profiling.services.scoring import lead_score

    gate = make_gate()
    make_rule(gate=gate, points=100)
    lead = _lead_with_history(gate)
    make_endpoint(url=PUBLIC_IP_URL, grades=["warm", "hot"])
    assert send(api, "delete", f"{LEADS}{lead.id}", auth=auth).status_code == 204
    assert lead_score(lead_id=lead.id) is None
    assert not Delivery.objects.filter(lead=lead).exists()


def test_same_person_can_come_back_after_erasure(
    api: Client, auth, settings, django_capture_on_commit_callbacks
) -> None:
    gate = make_gate()
    lead = make_lead(email="ada@acme-networks.io")
    send(api, "delete", f"{LEADS}{lead.id}", auth=auth)
    response = api.post(
        f"/api/v1/public/gates/{gate.slug}/submissions",
        data=json.dumps({"name": "Ada", "email": "ada@acme-networks.io"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["lead_id"] != str(lead.id)


def test_erase_also_clears_the_sandbox_inbox_copies(api: Client, auth) -> None:
    gate = make_gate()
    lead = _lead_with_history(gate, name="Ada Lovelace")
    hook = make_endpoint(url=PUBLIC_IP_URL)
    delivery = _delivery(hook, lead=lead)
    body = json.dumps(
        {"data": {"lead": {"id": str(lead.id), "name": lead.name, "email": lead.email}}}
    )
    SandboxMessage.objects.create(
        webhook_id=f"msg_{delivery.id.hex}", body=body, endpoint=hook, signature_valid=True
    )
    email = lead.email
    assert send(api, "delete", f"{LEADS}{lead.id}", auth=auth).status_code == 204
    assert not any(
        email in m.body or "Ada Lovelace" in m.body for m in SandboxMessage.objects.all()
    )


# ================================ CSV export ===============================================


def _csv(response) -> list[dict[str, str]]:
    content = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(content)))


def test_export_csv(api: Client, auth) -> None:
    gate = make_gate()
    hot = _lead_with_history(gate, name="Ada", grade="hot", score=90, utm_source="linkedin")
    make_lead(name="Cold", grade="cold")
    response = send(api, "get", EXPORT, auth=auth)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert len(rows) == 2
    assert set(rows[0]) >= {"id", "name", "email", "score", "grade", "utm_source"}
    rows = _csv(send(api, "get", f"{EXPORT}?grade=hot", auth=auth))
    assert [(r["id"], r["name"], r["score"], r["utm_source"]) for r in rows] == [
        (str(hot.id), "Ada", "90", "linkedin")
    ]
    assert _csv(send(api, "get", f"{EXPORT}?gate={gate.slug}", auth=auth))[0]["id"] == str(hot.id)


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://evil.example","click")', "+1+2", "-2+3", "@SUM(A1)", "\t=1"]
)
def test_export_neutralises_spreadsheet_formulas(api: Client, auth, name: str) -> None:
    make_lead(name=name, utm_source="=cmd|' /C calc'!A0")
    row = _csv(send(api, "get", EXPORT, auth=auth))[0]
    assert row["name"] == "'" + name
    assert row["utm_source"].startswith("'=")


def test_export_keeps_unicode_and_quotes(api: Client, auth) -> None:
    name = 'José "Pepe" Ñúñez, 李, <b>'
    make_lead(name=name)
    assert _csv(send(api, "get", EXPORT, auth=auth))[0]["name"] == name


# ================================ auth on every marketer endpoint ===========================


@pytest.mark.parametrize(
    "headers", [None, {"Authorization": "Token nope"}, {"Authorization": "Basic dXNlcjpwdw=="}]
)
def test_marketer_endpoints_need_a_token(api: Client, headers) -> None:
    gate = make_gate()
    rule = make_rule(gate=gate)
    hook = make_endpoint(url=PUBLIC_IP_URL)
    delivery = _delivery(hook)
    lead = make_lead()
    snapshot = [_rows(m) for m in (ScoringRule, ScoringSettings, WebhookEndpoint, Delivery, Lead)]
    calls = [
        ("get", RULES),
        ("post", RULES),
        ("get", f"{RULES}{rule.pk}"),
        ("patch", f"{RULES}{rule.pk}"),
        ("delete", f"{RULES}{rule.pk}"),
        ("get", SETTINGS),
        ("put", SETTINGS),
        ("get", HOOKS),
        ("post", HOOKS),
        ("get", f"{HOOKS}{hook.pk}"),
        ("patch", f"{HOOKS}{hook.pk}"),
        ("delete", f"{HOOKS}{hook.pk}"),
        ("get", f"{HOOKS}{hook.pk}/deliveries"),
        ("post", f"/api/v1/deliveries/{delivery.id}/redeliver"),
        ("get", LEADS),
        ("get", f"{LEADS}{lead.id}"),
        ("delete", f"{LEADS}{lead.id}"),
        ("get", EXPORT),
    ]
    for method, url in calls:
        body = None if method in ("get", "delete") else {"points": 1, "url": PUBLIC_IP_URL}
        response = send(api, method, url, body, headers)
        assert response.status_code in (401, 403), (method, url, response.status_code)
        assert_error(response, response.status_code)
        if response.status_code == 401:
            assert response["WWW-Authenticate"].startswith("Token")
    assert [
        _rows(m) for m in (ScoringRule, ScoringSettings, WebhookEndpoint, Delivery, Lead)
    ] == snapshot


# ================================ hostile and oversized input ===============================


@pytest.mark.parametrize(
    "name",
    ["<script>alert(1)</script>", "x'); DROP TABLE profiling_scoringrule;--", "Lecture 📖 李"],
)
def test_hostile_rule_names_are_inert_data(api: Client, auth, name: str) -> None:
    response = send(api, "post", RULES, _rule_body(None, name=name), auth)
    assert response.status_code == 201
    assert response["Content-Type"].startswith("application/json")
    assert send(api, "get", RULES, auth=auth).json()[0]["name"] == name
    assert ScoringRule.objects.get().name == name


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", RULES, {"name": "x" * 700_000, "event_type": "page_view", "points": 1}),
        ("put", SETTINGS, {"warm_threshold": 1, "hot_threshold": 2, "pad": "x" * 700_000}),
        ("post", HOOKS, {"url": PUBLIC_IP_URL, "pad": "x" * 700_000}),
    ],
)
def test_oversized_marketer_bodies_are_413(api: Client, auth, method: str, url: str, body) -> None:
    set_thresholds(warm=30, hot=80)
    before = [_rows(m) for m in (ScoringRule, ScoringSettings, WebhookEndpoint)]
    assert_error(send(api, method, url, body, auth), 413)
    assert [_rows(m) for m in (ScoringRule, ScoringSettings, WebhookEndpoint)] == before
