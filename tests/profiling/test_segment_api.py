"""Segment-compatible endpoints: auth, limits, gzip, hostile and duplicate input, the
browser short forms, identify/alias and the marketer's /api/v1/sources/."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from typing import Any

import pytest
from django.test import Client

from profiling.models import Consent, ConsentMethod, Event, Lead, Source, Visitor
from profiling.services.segment import ID_NAMESPACE, segment_id
from tests.support.factories import make_event, make_gate, make_lead, make_visitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def source() -> Source:
    return Source.objects.create(name="site")


def _auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _post(
    path: str, body: Any, *, key: str | None = None, raw: bytes | None = None, **headers: Any
) -> Any:
    data = raw if raw is not None else json.dumps(body).encode()
    extra: dict[str, Any] = _auth(key) if key else {}
    extra.update(headers)
    content_type = extra.pop("content_type", "application/json")
    return Client().post(path, data=data, content_type=content_type, **extra)


def _track(gate: Any, **kw: Any) -> dict[str, Any]:
    msg = {
        "type": "track",
        "event": "Section Viewed",
        "anonymousId": str(uuid.uuid4()),
        "userId": None,
        "messageId": str(uuid.uuid4()),
        "properties": {"gate": gate.slug, "section": "section-1"},
    }
    msg.update(kw)
    return msg


def test_success_is_exactly_200_success_true(source: Source) -> None:
    gate = make_gate()
    response = _post("/v1/batch", {"batch": [_track(gate)]}, key=source.write_key)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert Event.objects.count() == 1


def test_write_key_in_the_body_and_text_plain_like_analytics_js(source: Source) -> None:
    gate = make_gate()
    body = {"batch": [_track(gate)], "writeKey": source.write_key}
    response = Client().post("/v1/b", data=json.dumps(body), content_type="text/plain")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert Event.objects.count() == 1


@pytest.mark.parametrize(
    ("path", "message", "expected"),
    [
        ("/v1/t", {"event": "Webinar Joined"}, "track"),
        ("/v1/track", {"event": "Webinar Joined"}, "track"),
        ("/v1/p", {"name": "Home"}, "page_view"),
        ("/v1/page", {"name": "Home"}, "page_view"),
    ],
)
def test_single_message_endpoints(source: Source, path: str, message: dict, expected: str) -> None:
    body = {"anonymousId": "anon-x", "messageId": "m-1", **message}
    assert _post(path, body, key=source.write_key).status_code == 200
    assert Event.objects.get().type == expected


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Basic !!!notbase64"}, {"HTTP_AUTHORIZATION": "Bearer x"}],
)
def test_missing_or_unknown_key_is_401(headers: dict[str, Any]) -> None:
    response = _post("/v1/batch", {"batch": [], "writeKey": "wk_unknown"}, **headers)
    assert response.status_code == 401
    assert "__all__" in response.json()["errors"]


@pytest.mark.parametrize("key", ["wk\x00nul", "k" * 101])
def test_a_key_no_source_can_have_is_401_not_a_500(key: str) -> None:
    assert _post("/v1/batch", {"batch": []}, key=key).status_code == 401  # Basic auth
    assert _post("/v1/batch", {"batch": [], "writeKey": key}).status_code == 401


def test_inactive_source_is_401(source: Source) -> None:
    source.is_active = False
    source.save()
    assert _post("/v1/batch", {"batch": []}, key=source.write_key).status_code == 401


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1,2]", b'"text"', b'{"batch": {"no": "list"}}', b"[" * 100000],
)
def test_malformed_bodies_are_400_never_500(source: Source, raw: bytes) -> None:
    response = _post("/v1/batch", None, raw=raw, key=source.write_key)
    assert response.status_code == 400
    assert "errors" in response.json()


def test_gzip_is_accepted(source: Source) -> None:
    gate = make_gate()
    raw = gzip.compress(json.dumps({"batch": [_track(gate)]}).encode())
    response = _post("/v1/batch", None, raw=raw, key=source.write_key, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200
    assert Event.objects.count() == 1


def test_gzip_bomb_and_broken_gzip_are_400(source: Source) -> None:
    bomb = gzip.compress(b'{"batch": [' + b" " * (20 * 1024 * 1024) + b"]}")
    assert len(bomb) < 100_000
    response = _post(
        "/v1/batch", None, raw=bomb, key=source.write_key, HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 400
    response = _post(
        "/v1/batch", None, raw=b"\x1f\x8bjunk", key=source.write_key, HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 400


def test_oversized_body_is_400(source: Source) -> None:
    gate = make_gate()
    big = [
        _track(gate, properties={"gate": gate.slug, "section": "section-1", "pad": "x" * 20000})
        for _ in range(30)
    ]
    response = _post("/v1/batch", {"batch": big}, key=source.write_key)
    assert response.status_code == 400
    assert Event.objects.count() == 0


def test_a_message_over_32_kb_is_dropped_the_rest_stored(source: Source) -> None:
    gate = make_gate()
    fat = _track(gate, properties={"gate": gate.slug, "section": "section-1", "pad": "x" * 40000})
    ok = _track(gate)
    assert _post("/v1/batch", {"batch": [fat, ok]}, key=source.write_key).status_code == 200
    assert list(Event.objects.values_list("id", flat=True)) == [uuid.UUID(ok["messageId"])]


def test_hostile_messages_are_dropped_and_valid_ones_kept(source: Source) -> None:
    gate = make_gate()
    good = _track(gate)
    hostile = [
        "not an object",
        {"type": "track", "event": "X"},  # no ids
        _track(gate, anonymousId="a\x00b"),
        _track(gate, event="Bad\ud800name"),
        _track(gate, anonymousId=["list"]),
        _track(gate, properties={"gate": "no-such-gate", "section": "section-1"}),
        _track(gate, properties={"gate": gate.slug, "section": "'; DROP TABLE x; --"}),
        _track(gate, event="File Downloaded", properties={"gate": gate.slug, "file": {"a": 1}}),
        _track(gate, properties={"gate": gate.slug, "section": "section-1", "url": "u\x00"}),
        _track(
            gate,
            properties={"gate": gate.slug, "section": "section-1", "duration_ms": -5},
            messageId="dur",
        ),
        {"type": "group", "anonymousId": "g", "groupId": "acme"},
        _track(gate, timestamp="not a time", messageId="bad-time"),
        {"type": "identify", "anonymousId": "i", "traits": {"email": "not-an-email"}},
        {"type": "identify", "anonymousId": "i", "traits": {"email": ["x@y.z"]}},
    ]
    body = json.dumps({"batch": [good, *hostile]}).replace("\\\\ud800", "\\ud800")
    response = _post("/v1/batch", None, raw=body.encode(), key=source.write_key)
    assert response.status_code == 200
    stored = set(Event.objects.values_list("id", flat=True))
    # Kept: the good one, the one with a negative duration (duration dropped), the one
    # with an unreadable timestamp (time of receipt).
    assert stored == {
        uuid.UUID(good["messageId"]),
        segment_id("dur", "msg"),
        segment_id("bad-time", "msg"),
    }
    assert Event.objects.get(id=uuid.uuid5(ID_NAMESPACE, "msg:dur")).duration_ms is None
    assert Lead.objects.count() == 0


def test_duplicate_message_ids_change_nothing(source: Source) -> None:
    gate = make_gate()
    msg = _track(gate, messageId="ajs-next-abc123")
    for _ in range(3):
        assert _post("/v1/batch", {"batch": [msg, msg]}, key=source.write_key).status_code == 200
    assert Event.objects.count() == 1
    assert Event.objects.get().id == segment_id("ajs-next-abc123", "msg")


def test_clock_skew_is_corrected_with_sent_at(source: Source) -> None:
    from datetime import timedelta

    from django.utils import timezone

    gate = make_gate()
    client_now = timezone.now() + timedelta(hours=3)  # the client clock is 3 h fast
    msg = _track(gate, timestamp=(client_now - timedelta(minutes=10)).isoformat())
    body = {"batch": [msg], "sentAt": client_now.isoformat()}
    assert _post("/v1/batch", body, key=source.write_key).status_code == 200
    age = timezone.now() - Event.objects.get().occurred_at
    assert timedelta(minutes=9) < age < timedelta(minutes=11)


def test_source_limited_to_some_gates(source: Source) -> None:
    allowed, other = make_gate(), make_gate()
    source.all_gates = False
    source.save()
    source.gates.set([allowed])
    batch = [_track(allowed), _track(other)]
    assert _post("/v1/batch", {"batch": batch}, key=source.write_key).status_code == 200
    assert list(Event.objects.values_list("gate_id", flat=True)) == [allowed.id]


def test_back_pressure_is_429_with_retry_after(source: Source, settings: Any) -> None:
    settings.LEADGATE_SEGMENT_MAX_INFLIGHT = 0
    response = _post("/v1/batch", {"batch": []}, key=source.write_key)
    assert response.status_code == 429
    assert response["Retry-After"] == "1"


def test_identify_with_context_traits_like_rudderstack(source: Source) -> None:
    anon = str(uuid.uuid4())
    body = {
        "type": "identify",
        "anonymousId": anon,
        "context": {
            "traits": {
                "email": "lin@fibre-co.example",
                "firstName": "Lin",
                "lastName": "Ma",
                "subscribe": True,
            }
        },
    }
    assert _post("/v1/identify", body, key=source.write_key).status_code == 200
    lead = Lead.objects.get()
    assert (lead.email, lead.name, lead.subscribed) == ("lin@fibre-co.example", "Lin Ma", True)
    assert Visitor.objects.get(id=uuid.UUID(anon)).lead_id == lead.id
    consent = Consent.objects.get(lead=lead)
    assert (consent.method, consent.gate) == (ConsentMethod.SEGMENT_IDENTIFY, None)
    assert "Segment identify" in consent.text


def test_identify_with_a_known_email_from_another_browser_takes_nothing_over(
    source: Source,
) -> None:
    lead = make_lead(email="lin@fibre-co.example", name="Lin Ma", subscribed=False)
    stranger = str(uuid.uuid4())
    body = {
        "type": "identify",
        "anonymousId": stranger,
        "traits": {"email": "LIN@fibre-co.example", "name": "Mallory", "subscribe": True},
    }
    assert _post("/v1/identify", body, key=source.write_key).status_code == 200
    lead.refresh_from_db()
    assert (lead.name, lead.subscribed) == ("Lin Ma", False)
    assert not Consent.objects.filter(lead=lead).exists()
    # Its behaviour may count for the lead (a returning person on a new device).
    assert Visitor.objects.get(id=uuid.UUID(stranger)).lead_id == lead.id


def test_identify_in_the_same_batch_hands_over_earlier_events(source: Source) -> None:
    gate = make_gate()
    anon = "browser-1"
    batch = [
        _track(gate, anonymousId=anon),
        {"type": "identify", "anonymousId": anon, "traits": {"email": "kim@acme.example"}},
        _track(gate, anonymousId=anon, properties={"gate": gate.slug, "section": "section-2"}),
    ]
    assert _post("/v1/batch", {"batch": batch}, key=source.write_key).status_code == 200
    lead = Lead.objects.get()
    assert Event.objects.filter(lead=lead).count() == 2


def test_alias_joins_an_unknown_id_to_the_lead_but_never_merges_two_leads(
    source: Source,
) -> None:
    """Anyone holding a browser write key can send an alias: it may join an anonymous id
    to a known lead (its events count for the person), never merge two known leads
    (that needs a browser that proved both addresses, or a marketer)."""
    gate = make_gate()
    older = make_lead(email="old@acme.example")
    younger = make_lead(email="new@acme.example")
    v_old = make_visitor(lead=older, visitor_id=segment_id("anon-old", "anon"))
    v_new = make_visitor(lead=younger, visitor_id=segment_id("u-9", f"user:{source.id}"))
    make_event(visitor=v_old, gate=gate, section_key="section-1")
    make_event(visitor=v_new, gate=gate, section_key="section-2")
    body = {"type": "alias", "previousId": "anon-old", "userId": "u-9"}
    assert _post("/v1/batch", {"batch": [body]}, key=source.write_key).status_code == 200
    younger.refresh_from_db()
    assert younger.merged_into_id is None
    assert Event.objects.filter(lead=older).count() == 1
    assert Event.objects.filter(lead=younger).count() == 1

    anonymous = make_visitor(visitor_id=segment_id("anon-new", "anon"))
    make_event(visitor=anonymous, gate=gate, section_key="section-3", lead=None)
    body = {"type": "alias", "previousId": "anon-new", "userId": "u-9"}
    assert _post("/v1/batch", {"batch": [body]}, key=source.write_key).status_code == 200
    assert Visitor.objects.get(pk=anonymous.id).lead_id == younger.id
    assert Event.objects.filter(lead=younger).count() == 2


# --- /api/v1/sources/ -------------------------------------------------------------------


def test_sources_api_create_list_read_delete(marketer: Any) -> None:
    gate = make_gate()
    api = Client()
    auth = {"headers": marketer.auth_header}
    response = api.post(
        "/api/v1/sources/",
        {"name": "Website", "allowed_gates": [gate.slug]},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["write_key"].startswith("wk_")
    assert created["allowed_gates"] == [gate.slug]
    response = api.post(
        "/api/v1/sources/",
        {"name": "All", "allowed_gates": None},
        content_type="application/json",
        **auth,
    )
    assert response.json()["allowed_gates"] is None
    listed = api.get("/api/v1/sources/", **auth).json()
    assert [s["name"] for s in listed] == ["Website", "All"]
    assert (
        api.get(f"/api/v1/sources/{created['id']}", **auth).json()["write_key"]
        == created["write_key"]
    )
    assert api.delete(f"/api/v1/sources/{created['id']}", **auth).status_code == 204
    assert api.get(f"/api/v1/sources/{created['id']}", **auth).status_code == 404
    # The deleted key no longer authenticates.
    assert _post("/v1/batch", {"batch": []}, key=created["write_key"]).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 201},
        {"name": "ok", "allowed_gates": ["no-such-gate"]},
        {"name": "ok", "allowed_gates": "not-a-list"},
        {"name": "ok", "write_key": "wk_mine"},
    ],
)
def test_sources_api_refuses_bad_input(marketer: Any, body: dict) -> None:
    response = Client().post(
        "/api/v1/sources/", body, content_type="application/json", headers=marketer.auth_header
    )
    if "write_key" in body:  # read-only: ignored, a key is made for you
        assert response.status_code == 201
        assert response.json()["write_key"] != "wk_mine"
        return
    assert response.status_code == 400
    assert "errors" in response.json()


def test_sources_api_needs_auth() -> None:
    assert Client().get("/api/v1/sources/").status_code in (401, 403)


def test_preflight_and_wrong_methods() -> None:
    response = Client().options("/v1/batch")
    assert response.status_code == 200
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    response = Client().get("/v1/batch")
    assert response.status_code == 405
    assert "errors" in response.json()


def test_database_trouble_is_503_with_retry_after(source: Source, monkeypatch: Any) -> None:
    """Every Segment-style client retries a 503; a 500 would be retried by some and
    dropped by none, but says nothing about when to come back."""
    from django.db import OperationalError

    from profiling.api import segment as segment_api

    def down(**_: Any) -> None:
        raise OperationalError("the database is restarting")

    monkeypatch.setattr(segment_api, "segment_ingest", down)
    response = _post("/v1/batch", {"batch": []}, key=source.write_key)
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert "errors" in response.json()
