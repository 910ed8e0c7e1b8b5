"""The acceptance test: a marketer, two visitors and a CRM, through HTTP only.

Everything goes over real sockets: httpx against pytest-django's live server, scoring
and delivery in a real `celery -A config worker` subprocess, and the CRM webhook to a real
HTTP server on 127.0.0.1, verified with the unmodified `standardwebhooks` library.

The only direct database write is the marketer's user and API token (an admin makes those
with `manage.py drf_create_token`). Every other step is an HTTP request.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.support.celery_worker import CeleryWorkerProcess, wait_briefly
from tests.support.crm import CrmReceiver, ReceivedRequest
from tests.support.factories import Marketer, random_slug
from tests.support.waiting import wait_for

ORIGIN = "https://www.example-fibre.com"
FOREIGN_ORIGIN = "https://evil.example"
SECTIONS = [
    ("why-fiber", "Why fibre"),
    ("coverage", "Coverage"),
    ("latency", "Latency"),
    ("resilience", "Resilience"),
    ("pricing-models", "Pricing models"),
    ("case-studies", "Case studies"),
]
DELIVERY_TIMEOUT_S = 10.0
QUIET_PERIOD_S = 2.0


def _json(response: httpx.Response) -> Any:
    """The JSON body, or a failure that shows what the server actually answered."""
    try:
        return response.json()
    except ValueError:
        pytest.fail(
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code} with a non-JSON body: {response.text[:1000]!r}"
        )


def _expect(response: httpx.Response, status: int) -> Any:
    body = _json(response)
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path} -> {response.status_code} "
        f"(expected {status}): {body}"
    )
    return body


def _assert_error_shape(response: httpx.Response, status: int) -> dict[str, list[str]]:
    body = _expect(response, status)
    assert isinstance(body, dict)
    assert set(body) == {"errors"}, f"contract error shape is {{'errors': {{...}}}}: {body}"
    errors = body["errors"]
    assert isinstance(errors, dict)
    assert errors, "errors must name at least one field or __all__"
    for key, messages in errors.items():
        assert isinstance(key, str)
        assert isinstance(messages, list)
        assert messages
        assert all(isinstance(m, str) and m for m in messages), body
    return errors


def _section_views(gate: str, keys: list[str], *, duration_ms: int = 6000) -> list[dict]:
    return [
        {
            "id": str(uuid.uuid4()),
            "type": "section_view",
            "gate": gate,
            "section": key,
            "duration_ms": duration_ms,
            "url": f"{ORIGIN}/guides/{gate}#{key}",
        }
        for key in keys
    ]


def _verified(secret: str, delivery: ReceivedRequest) -> dict[str, Any]:
    """The payload, after the reference Standard Webhooks library accepted the signature."""
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert header in delivery.headers, f"missing {header}: {delivery.headers}"
    payload = Webhook(secret).verify(delivery.body, delivery.headers)
    assert isinstance(payload, dict)
    return payload


@pytest.mark.e2e
@pytest.mark.form_token  # submissions carry the real signed token from the gate config
def test_marketer_visitor_and_crm_end_to_end(
    live_http: httpx.Client,
    marketer: Marketer,
    crm_receiver: CrmReceiver,
    celery_worker_process: CeleryWorkerProcess,
) -> None:
    api = marketer.auth_header
    public = {"Origin": ORIGIN}
    slug = random_slug("network-vbook")

    # --- 1. the marketer sets everything up through the API ------------------------------
    body = _expect(
        live_http.post(
            "/api/v1/webhooks/",
            json={"url": crm_receiver.url, "grades": ["warm", "hot"]},
            headers=api,
        ),
        201,
    )
    assert body["url"] == crm_receiver.url
    assert sorted(body["grades"]) == ["hot", "warm"]
    secret = body.get("secret")
    assert isinstance(secret, str), f"the webhook secret must be returned once, on create: {body}"
    assert secret.startswith("whsec_")
    # Write-only afterwards: reading the endpoint back does not reveal it.
    read_back = _expect(live_http.get(f"/api/v1/webhooks/{body['id']}", headers=api), 200)
    assert read_back.get("secret") in (None, ""), read_back

    gate_body = _expect(
        live_http.post(
            "/api/v1/gates/",
            json={
                "slug": slug,
                "title": "The fibre network v-book",
                "stage": "interest",
                "headline": "How a fibre network pays for itself",
                "allowed_origins": [ORIGIN],
                "sections": [{"key": k, "title": t} for k, t in SECTIONS],
                "files": [
                    {
                        "key": "network-map",
                        "title": "Network map",
                        "url": "https://files.example-fibre.com/network-map.pdf",
                    }
                ],
            },
            headers=api,
        ),
        201,
    )
    assert gate_body["slug"] == slug
    assert [s["key"] for s in gate_body["sections"]] == [k for k, _ in SECTIONS]
    assert [f["key"] for f in gate_body["files"]] == ["network-map"]

    thresholds = _expect(
        live_http.put(
            "/api/v1/scoring-settings",
            json={"warm_threshold": 30, "hot_threshold": 80, "half_life_days": 0},
            headers=api,
        ),
        200,
    )
    assert (thresholds["warm_threshold"], thresholds["hot_threshold"]) == (30, 80)

    section_rule = _expect(
        live_http.post(
            "/api/v1/scoring-rules/",
            json={
                "name": "Reads the v-book",
                "event_type": "section_view",
                "gate": slug,
                "section": None,
                "file": None,
                "points": 10,
                "max_points": 60,
                "min_duration_ms": 5000,
                "makes_hot": False,
            },
            headers=api,
        ),
        201,
    )
    assert section_rule["gate"] == slug
    assert (section_rule["points"], section_rule["max_points"]) == (10, 60)
    map_rule = _expect(
        live_http.post(
            "/api/v1/scoring-rules/",
            json={
                "name": "Downloads the network map",
                "event_type": "download",
                "gate": slug,
                "file": "network-map",
                "points": 50,
                "makes_hot": True,
            },
            headers=api,
        ),
        201,
    )
    assert map_rule["file"] == "network-map"
    assert map_rule["makes_hot"] is True

    # --- 2. the public gate, read from the allowed website -------------------------------
    response = live_http.get(f"/api/v1/public/gates/{slug}", headers=public)
    public_gate = _expect(response, 200)
    assert [f["name"] for f in public_gate["fields"]] == ["name", "email", "subscribe"]
    assert public_gate["stage"] == "interest"
    assert response.headers.get("access-control-allow-origin") == ORIGIN

    # --- 3. a foreign website is refused, with the contract's error shape ----------------
    evil = {"Origin": FOREIGN_ORIGIN}
    response = live_http.get(f"/api/v1/public/gates/{slug}", headers=evil)
    _assert_error_shape(response, 403)
    assert response.headers.get("access-control-allow-origin") != FOREIGN_ORIGIN
    response = live_http.post(
        f"/api/v1/public/gates/{slug}/submissions",
        json={
            "name": "Mallory",
            "email": "mallory@evil.example",
            "subscribe": True,
            "visitor_id": str(uuid.uuid4()),
            "website": "",
        },
        headers=evil,
    )
    _assert_error_shape(response, 403)

    # --- 4. a gate that asks for a phone number is refused, saying why -------------------
    response = live_http.post(
        "/api/v1/gates/",
        json={
            "slug": random_slug("decision"),
            "title": "Pricing calculator",
            "stage": "decision",
            "allowed_origins": [ORIGIN],
            "fields": [{"name": "phone", "type": "text", "label": "Phone number"}],
        },
        headers=api,
    )
    errors = _assert_error_shape(response, 400)
    assert "phone" in json.dumps(errors).lower(), errors

    # --- 5. a visitor from LinkedIn fills in the minimal form ----------------------------
    visitor_1 = str(uuid.uuid4())
    email_1 = f"jo.fibre-{uuid.uuid4().hex[:8]}@acme-telecom.example"
    submitted = _expect(
        live_http.post(
            f"/api/v1/public/gates/{slug}/submissions",
            json={
                "name": "Jo Fibre",
                "email": email_1,
                "subscribe": True,
                "visitor_id": visitor_1,
                "website": "",
                "form_token": public_gate["form_token"],
                "utm_source": "linkedin",
                "utm_medium": "social",
                "utm_campaign": "fibre-q3",
                "page_url": f"{ORIGIN}/guides/network",
            },
            headers=public,
        ),
        201,
    )
    assert set(submitted) >= {"lead_id", "access_token", "content_url"}
    lead_1 = str(submitted["lead_id"])
    assert submitted["access_token"]
    assert submitted["content_url"]

    def post_events(visitor_id: str, events: list[dict]) -> dict[str, Any]:
        return _expect(
            live_http.post(
                "/api/v1/public/events",
                json={"visitor_id": visitor_id, "events": events},
                headers=public,
            ),
            202,
        )

    def lead(lead_id: str) -> dict[str, Any]:
        return _expect(live_http.get(f"/api/v1/leads/{lead_id}", headers=api), 200)

    def crm_saw() -> str:
        return crm_receiver.describe()

    # --- 6. two sections read: scored, still cold, nothing pushed ------------------------
    keys = [k for k, _ in SECTIONS]
    assert post_events(visitor_1, _section_views(slug, keys[0:2])) == {
        "accepted": 2,
        "duplicates": 0,
    }
    detail = wait_for(
        lambda: (d := lead(lead_1))["score"] >= 20 and d,
        DELIVERY_TIMEOUT_S,
        message=lambda: (
            f"the worker never scored the lead: {lead(lead_1)}\n" + celery_worker_process.log_tail()
        ),
    )
    assert {"score", "grade", "reasons", "visitors", "timeline"} <= set(detail), detail
    assert detail["score"] == 20
    assert detail["grade"] == "cold"
    assert isinstance(detail["reasons"], list)
    assert visitor_1 in json.dumps(detail["visitors"]), detail["visitors"]
    assert len(detail["timeline"]) >= 2, detail["timeline"]
    wait_briefly(QUIET_PERIOD_S)
    assert lead(lead_1)["grade"] == "cold"
    assert crm_receiver.requests == [], f"a cold lead must not be pushed: {crm_saw()}"

    # --- 7. four sections read: warm, pushed to the CRM ----------------------------------
    assert post_events(visitor_1, _section_views(slug, keys[2:4])) == {
        "accepted": 2,
        "duplicates": 0,
    }
    warm = crm_receiver.wait_for_delivery(DELIVERY_TIMEOUT_S, lead_id=lead_1, grade="warm")
    warm_payload = _verified(secret, warm)
    assert warm_payload["type"] == "lead.grade_changed"
    assert warm_payload["data"]["previous_grade"] == "cold"
    assert warm_payload["data"]["lead"]["email"] == email_1
    assert warm_payload["data"]["lead"]["name"] == "Jo Fibre"
    assert warm_payload["data"]["score"] == 40
    assert lead(lead_1)["grade"] == "warm"

    # --- 8. the network map is downloaded: hot, pushed, signed ---------------------------
    download_id = str(uuid.uuid4())
    download = {
        "id": download_id,
        "type": "download",
        "gate": slug,
        "file": "network-map",
        "url": f"{ORIGIN}/guides/network#map",
    }
    assert post_events(visitor_1, [download]) == {"accepted": 1, "duplicates": 0}
    hot = crm_receiver.wait_for_delivery(DELIVERY_TIMEOUT_S, lead_id=lead_1, grade="hot")
    hot_payload = _verified(secret, hot)
    data = hot_payload["data"]
    assert data["grade"] == "hot"
    assert data["previous_grade"] == "warm"
    assert any("network-map" in reason for reason in data["reasons"]), data["reasons"]
    assert data["source"]["utm_source"] == "linkedin"
    assert data["lead"]["id"] == lead_1
    assert data["lead"]["subscribed"] is True
    assert data["score"] >= 80
    assert hot.webhook_id != warm.webhook_id
    assert lead(lead_1)["grade"] == "hot"

    # --- 9. the same download sent again changes nothing ---------------------------------
    seen_before = len(crm_receiver.requests)
    assert post_events(visitor_1, [download]) == {"accepted": 0, "duplicates": 1}
    wait_briefly(QUIET_PERIOD_S)
    assert len(crm_receiver.requests) == seen_before, f"a duplicate was pushed: {crm_saw()}"
    assert len(crm_receiver.deliveries(lead_id=lead_1)) == 2, crm_saw()

    # --- 10. an anonymous reader is credited when they finally fill in the form ----------
    visitor_2 = str(uuid.uuid4())
    assert post_events(visitor_2, _section_views(slug, keys[0:4])) == {
        "accepted": 4,
        "duplicates": 0,
    }
    email_2 = f"sam.reader-{uuid.uuid4().hex[:8]}@metro-isp.example"
    second = _expect(
        live_http.post(
            f"/api/v1/public/gates/{slug}/submissions",
            json={
                "name": "Sam Reader",
                "email": email_2,
                "subscribe": False,
                "visitor_id": visitor_2,
                "website": "",
                "form_token": public_gate["form_token"],
            },
            headers=public,
        ),
        201,
    )
    lead_2 = str(second["lead_id"])
    assert lead_2 != lead_1
    warm_2 = crm_receiver.wait_for_delivery(DELIVERY_TIMEOUT_S, lead_id=lead_2, grade="warm")
    payload_2 = _verified(secret, warm_2)
    assert payload_2["data"]["lead"]["email"] == email_2
    assert payload_2["data"]["previous_grade"] == "cold"
    assert payload_2["data"]["score"] == 40

    # --- 11. the same person in capitals is the same lead --------------------------------
    again = _expect(
        live_http.post(
            f"/api/v1/public/gates/{slug}/submissions",
            json={
                "name": "Jo Fibre",
                "email": email_1.upper(),
                "subscribe": True,
                "visitor_id": str(uuid.uuid4()),
                "website": "",
                "form_token": public_gate["form_token"],
            },
            headers=public,
        ),
        201,
    )
    assert str(again["lead_id"]) == lead_1

    # Exactly three pushes in all, each accepted by the CRM at the first attempt.
    assert all(r.status == 200 for r in crm_receiver.requests), crm_saw()
    assert {r.webhook_id for r in crm_receiver.requests} == {
        warm.webhook_id,
        hot.webhook_id,
        warm_2.webhook_id,
    }, crm_saw()
