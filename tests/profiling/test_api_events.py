"""POST /api/v1/public/events: durable before 202, duplicates counted, per-event errors."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from profiling.models import Delivery, Event, Lead, Visitor
from tests.support.api import assert_error
from tests.support.factories import (
    DEFAULT_ORIGIN,
    make_endpoint,
    make_gate,
    make_lead,
    make_rule,
    make_visitor,
    set_thresholds,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/public/events"
FOREIGN = "https://evil.example.net"


@pytest.fixture(autouse=True)
def _eager(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _ev(g, /, **kw: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"id": str(uuid.uuid4()), "type": "page_view", "gate": g.slug}
    event.update(kw)
    return event


def _post(api: Client, body: Any, content_type: str = "application/json", **headers: str):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.post(URL, data=data, content_type=content_type, headers=headers or None)


def _batch(events: list[dict[str, Any]], visitor_id: uuid.UUID | None = None) -> dict[str, Any]:
    return {"visitor_id": str(visitor_id or uuid.uuid4()), "events": events}


def test_batch_is_stored_before_the_202(api: Client) -> None:
    gate = make_gate()
    visitor_id = uuid.uuid4()
    events = [
        _ev(gate, url="https://www.example-fibre.com/guide"),
        _ev(gate, type="section_view", section="section-1", duration_ms=8000),
        _ev(gate, type="download", file="network-map"),
        _ev(gate, type="form_view", occurred_at="2020-01-01T00:00:00Z"),
    ]
    response = _post(api, _batch(events, visitor_id), Origin=DEFAULT_ORIGIN)
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 4, "duplicates": 0}
    assert response["Access-Control-Allow-Origin"] == DEFAULT_ORIGIN
    stored = Event.objects.filter(visitor_id=visitor_id)
    assert {str(e.id) for e in stored} == {e["id"] for e in events}
    section = stored.get(type="section_view")
    assert (section.section_key, section.duration_ms) == ("section-1", 8000)
    assert Visitor.objects.filter(pk=visitor_id).exists()


def test_same_event_ids_across_requests_are_counted_as_duplicates(api: Client) -> None:
    gate = make_gate()
    visitor_id = uuid.uuid4()
    events = [_ev(gate), _ev(gate)]
    assert _post(api, _batch(events, visitor_id)).json() == {"accepted": 2, "duplicates": 0}
    retry = [*events, _ev(gate)]
    assert _post(api, _batch(retry, visitor_id)).json() == {"accepted": 1, "duplicates": 2}
    assert _post(api, _batch(retry, visitor_id)).json() == {"accepted": 0, "duplicates": 3}
    assert Event.objects.count() == 3


def test_replayed_id_with_other_content_changes_nothing(api: Client) -> None:
    gate = make_gate()
    event = _ev(gate, url="https://first.example.com/")
    _post(api, _batch([event]))
    changed = {**event, "type": "download", "file": "network-map", "url": "https://x.test/"}
    assert _post(api, _batch([changed])).json() == {"accepted": 0, "duplicates": 1}
    stored = Event.objects.get(pk=event["id"])
    assert (stored.type, stored.url) == ("page_view", "https://first.example.com/")


def test_text_plain_beacons_are_accepted(api: Client) -> None:
    gate = make_gate()
    response = _post(api, _batch([_ev(gate)]), content_type="text/plain;charset=UTF-8")
    assert response.status_code == 202
    assert Event.objects.count() == 1


def test_gates_named_with_bytes_no_slug_has_are_refused_not_a_500(api: Client) -> None:
    """An unknown gate is looked up (an inactive one shows in its builder's diagnostics)
    only if it could be a slug: a NUL byte or an emoji in it is a 400 for that event."""
    gate = make_gate()
    good = _ev(gate)
    events = [
        good,
        _ev(gate, gate="=\u00a7\x00\u00a3"),
        _ev(gate, gate="\U0001f60d"),
        _ev(gate, gate=""),
    ]
    response = _post(api, _batch(events))
    errors = assert_error(response, 400)
    assert set(errors) >= {"events.1.gate", "events.2.gate", "events.3.gate"}
    assert Event.objects.filter(id=good["id"]).exists()


def test_invalid_events_are_refused_per_index_and_valid_ones_kept(api: Client) -> None:
    gate = make_gate()
    good = [_ev(gate), _ev(gate, type="section_view", section="section-2")]
    events: list[Any] = [
        good[0],
        _ev(gate, type="scroll"),
        _ev(gate, type="section_view", section="no-such-section"),
        good[1],
        _ev(gate, type="download", file="../../etc/passwd"),
        _ev(gate, id="not-a-uuid"),
        _ev(gate, gate="no-such-gate"),
        "event",
        _ev(gate, duration_ms="1000"),
        _ev(gate, duration_ms=10**15),
        _ev(gate, occurred_at=12345),
        _ev(gate, url=["x"]),
        _ev(gate, type="section_view", section="section-1\x00"),
    ]
    response = _post(api, _batch(events))
    errors = assert_error(
        response,
        400,
        "events.1.type",
        "events.2.section",
        "events.4.file",
        "events.5.id",
        "events.6.gate",
        "events.7",
        "events.8.duration_ms",
        "events.9.duration_ms",
        "events.10.occurred_at",
        "events.11.url",
        "events.12.section",
    )
    assert not any(k.startswith(("events.0", "events.3")) for k in errors)
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert {str(pk) for pk in Event.objects.values_list("id", flat=True)} == {e["id"] for e in good}


@pytest.mark.parametrize(
    ("field", "value"), [("gate", ["x"]), ("gate", {"a": 1}), ("type", ["page_view"]), ("type", {})]
)
def test_unhashable_values_are_per_event_errors(api: Client, field: str, value: Any) -> None:
    gate = make_gate()
    good = _ev(gate)
    response = _post(api, _batch([good, _ev(gate, **{field: value})]))
    assert_error(response, 400, f"events.1.{field}")
    assert list(Event.objects.values_list("id", flat=True)) == [uuid.UUID(good["id"])]


def test_duplicate_ids_in_one_batch_are_refused(api: Client) -> None:
    gate = make_gate()
    first = _ev(gate)
    response = _post(api, _batch([first, _ev(gate, id=first["id"])]))
    assert_error(response, 400, "events.1.id")
    assert Event.objects.count() == 1


@pytest.mark.parametrize(
    "raw",
    ["{", "", "nope", '{"visitor_id": NaN}', b"\xff\xfe\x00", "[" * 30_000 + "]" * 30_000],
)
def test_malformed_bodies_are_400(api: Client, raw: Any) -> None:
    assert_error(_post(api, raw), 400)
    assert not Event.objects.exists()
    assert not Visitor.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "__all__"),
        ("just a string", "__all__"),
        (None, "__all__"),
        (42, "__all__"),
        ({"events": []}, "visitor_id"),
        ({"visitor_id": "nope", "events": []}, "visitor_id"),
        ({"visitor_id": ["x"], "events": []}, "visitor_id"),
        ({"visitor_id": "\x00", "events": []}, "visitor_id"),
        ({"visitor_id": str(uuid.uuid4())}, "events"),
        ({"visitor_id": str(uuid.uuid4()), "events": []}, "events"),
        ({"visitor_id": str(uuid.uuid4()), "events": {"0": {}}}, "events"),
        ({"visitor_id": str(uuid.uuid4()), "events": None}, "events"),
    ],
)
def test_bad_envelopes_are_400(api: Client, body: Any, field: str) -> None:
    assert_error(_post(api, json.dumps(body)), 400, field)
    assert not Event.objects.exists()


def test_events_without_a_visitor_are_not_stored(api: Client) -> None:
    gate = make_gate()
    response = _post(api, {"events": [_ev(gate)]})
    assert_error(response, 400, "visitor_id")
    assert not Event.objects.exists()


def test_more_than_100_events_is_400_and_nothing_stored(api: Client) -> None:
    gate = make_gate()
    events = [{"id": str(uuid.uuid4()), "type": "form_view", "gate": gate.slug} for _ in range(101)]
    assert_error(_post(api, _batch(events)), 400, "events")
    assert not Event.objects.exists()


def test_exactly_100_events_is_fine(api: Client) -> None:
    gate = make_gate()
    events = [{"id": str(uuid.uuid4()), "type": "form_view", "gate": gate.slug} for _ in range(100)]
    assert _post(api, _batch(events)).json() == {"accepted": 100, "duplicates": 0}


def test_body_over_64_kib_is_413_and_nothing_stored(api: Client, settings) -> None:
    gate = make_gate()
    events = [_ev(gate, url="https://x.example.com/" + "a" * 1900) for _ in range(40)]
    body = json.dumps(_batch(events))
    assert len(body) > settings.LEADGATE_EVENTS_MAX_BYTES
    assert_error(_post(api, body), 413)
    assert not Event.objects.exists()


def test_huge_body_is_413(api: Client) -> None:
    assert_error(_post(api, "x" * 2_000_000), 413)


def test_foreign_origin_is_403_and_nothing_stored(api: Client) -> None:
    gate = make_gate()
    response = _post(api, _batch([_ev(gate)]), Origin=FOREIGN)
    assert_error(response, 403)
    assert "Access-Control-Allow-Origin" not in response
    assert not Event.objects.exists()


def test_one_foreign_gate_in_the_batch_refuses_the_batch(api: Client) -> None:
    mine = make_gate()
    theirs = make_gate(allowed_origins=["https://other.example.org"])
    response = _post(api, _batch([_ev(mine), _ev(theirs)]), Origin=DEFAULT_ORIGIN)
    assert_error(response, 403)
    assert not Event.objects.exists()


def test_own_origin_and_no_origin_are_allowed(api: Client) -> None:
    gate = make_gate(allowed_origins=[])
    assert _post(api, _batch([_ev(gate)]), Origin="http://testserver").status_code == 202
    assert _post(api, _batch([_ev(gate)])).status_code == 202


def test_preflight_and_other_methods(api: Client) -> None:
    response = api.options(URL, headers={"Origin": DEFAULT_ORIGIN})
    assert response.status_code in (200, 204)
    assert response["Access-Control-Allow-Origin"] == DEFAULT_ORIGIN
    for method in ("get", "put", "patch", "delete"):
        assert_error(getattr(api, method)(URL), 405)


def test_absurd_client_clock_is_clamped(api: Client) -> None:
    gate = make_gate()
    body = _batch([_ev(gate, occurred_at="9999-12-31T00:00:00+00:00")])
    body["sent_at"] = "0001-01-01T00:00:00+00:00"
    assert _post(api, body).status_code == 202
    from django.utils import timezone

    assert Event.objects.get().occurred_at <= timezone.now()


@pytest.mark.parametrize(
    "url",
    [
        "https://www.example-fibre.com/?q=<script>alert(1)</script>",
        "https://www.example-fibre.com/?id=1' OR '1'='1",
        "https://www.example-fibre.com/réseau/光纤",
    ],
)
def test_hostile_urls_are_inert_data(api: Client, url: str, auth) -> None:
    gate = make_gate()
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    assert _post(api, _batch([_ev(gate, url=url)], visitor.id)).status_code == 202
    assert Event.objects.get().url == url
    timeline = api.get(f"/api/v1/leads/{lead.id}", headers=auth).json()["timeline"]
    assert timeline[0]["url"] == url


def test_nul_in_url_is_a_per_event_error(api: Client) -> None:
    gate = make_gate()
    good = _ev(gate)
    response = _post(api, _batch([good, _ev(gate, url="https://x.example.com/a\x00b")]))
    assert_error(response, 400, "events.1.url")
    assert list(Event.objects.values_list("id", flat=True)) == [uuid.UUID(good["id"])]


def test_lone_surrogate_in_url_is_a_per_event_error(api: Client) -> None:
    gate = make_gate()
    good = _ev(gate)
    raw = json.dumps(_batch([good, _ev(gate, url="SURROGATE")])).replace("SURROGATE", "\\ud800")
    response = _post(api, raw)
    assert_error(response, 400, "events.1.url")
    assert list(Event.objects.values_list("id", flat=True)) == [uuid.UUID(good["id"])]


def test_events_of_a_known_visitor_score_its_lead(
    api: Client, django_capture_on_commit_callbacks
) -> None:
    set_thresholds(warm=20, hot=80)
    gate = make_gate()
    make_rule(gate=gate, points=10)
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    events = [_ev(gate, type="section_view", section=f"section-{i}") for i in (1, 2, 3)]
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api, _batch(events, visitor.id))
    assert response.status_code == 202
    assert Event.objects.filter(lead=lead).count() == 3
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (30, "warm")


def test_heartbeats_add_up_and_the_webhook_reasons_say_the_real_time(
    api: Client, django_capture_on_commit_callbacks
) -> None:
    set_thresholds(warm=20, hot=80)
    gate = make_gate(sections=["why-fiber", "costs"], min_dwell_ms=5000)
    make_rule(gate=gate, points=25, name="Read sections")
    endpoint = make_endpoint(url="http://127.0.0.1:9/crm", grades=["warm"])
    lead = make_lead()
    visitor = make_visitor(lead=lead)

    def beats(*durations: int) -> None:
        events = [
            _ev(gate, type="section_view", section="why-fiber", duration_ms=ms) for ms in durations
        ]
        with django_capture_on_commit_callbacks(execute=True):
            assert _post(api, _batch(events, visitor.id)).status_code == 202

    # 3 s, then 1.5 s: below the gate's 5 s minimum, not read yet.
    beats(3000, 1500)
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (0, "cold")
    # A heartbeat of 10 s and the flush on page hide: 3 min 10 s in all, with the rest.
    beats(10_000, 175_500)
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (25, "warm")
    assert lead.reasons == [f"read 1 of 2 section of {gate.slug}, 3 min 10 s [Read sections: +25]"]
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.payload["data"]["reasons"] == lead.reasons
    assert delivery.payload["data"]["grade"] == "warm"


def test_anonymous_events_are_attached_when_the_visitor_submits(
    api: Client, settings, django_capture_on_commit_callbacks
) -> None:
    settings.LEADGATE_SUBMIT_LIMIT_PER_IP = 100
    gate = make_gate()
    visitor_id = uuid.uuid4()
    _post(api, _batch([_ev(gate), _ev(gate)], visitor_id))
    assert Event.objects.filter(lead__isnull=True).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/public/gates/{gate.slug}/submissions",
            data=json.dumps(
                {"name": "Ada", "email": "ada@acme-networks.io", "visitor_id": str(visitor_id)}
            ),
            content_type="application/json",
        )
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert Event.objects.filter(lead=lead).count() == 2


# --- the lean path (cached gates, touch fields, method handling) -------------------------


def test_a_deactivated_gate_is_refused_at_once_despite_the_cache(api: Client) -> None:
    gate = make_gate()
    assert _post(api, _batch([_ev(gate)])).status_code == 202  # now cached
    gate.is_active = False
    gate.save()  # the save clears this process's cache
    assert_error(_post(api, _batch([_ev(gate)])), 400, "events.0.gate")


def test_a_new_section_is_known_at_once_despite_the_cache(api: Client) -> None:
    from forms_app.models import Section

    gate = make_gate()
    assert _post(api, _batch([_ev(gate)])).status_code == 202
    Section.objects.create(gate=gate, key="new-part", title="New part", position=99)
    assert _post(api, _batch([_ev(gate, section="new-part")])).status_code == 202


def test_a_write_that_fires_no_signal_is_seen_within_the_ttl(api: Client, monkeypatch) -> None:
    from forms_app.models import Gate
    from profiling.caches import CACHE_TTL_S, gate_keys_cache

    gate = make_gate()
    assert _post(api, _batch([_ev(gate)])).status_code == 202
    # A raw UPDATE fires no signal and moves no stamp: only the TTL catches it.
    Gate.objects.filter(pk=gate.pk).update(is_active=False)
    assert _post(api, _batch([_ev(gate)])).status_code == 202  # still cached
    assert gate_keys_cache.ttl_s == CACHE_TTL_S
    monkeypatch.setattr(gate_keys_cache, "ttl_s", 0.0)  # as if CACHE_TTL_S had passed
    assert_error(_post(api, _batch([_ev(gate)])), 400, "events.0.gate")


def test_a_gate_deactivated_by_another_process_is_refused_once_the_stamp_is_read(
    api: Client, monkeypatch
) -> None:
    from config.stamped_cache import STAMP_KEY, _stamp_write, shared_stamp
    from forms_app.models import Gate

    monkeypatch.setattr(shared_stamp, "max_age_s", 0.0)  # read the stamp on every request
    gate = make_gate()
    assert _post(api, _batch([_ev(gate)])).status_code == 202
    # Another process's write: no signal here; it sets a new stamp when it commits.
    Gate.objects.filter(pk=gate.pk).update(is_active=False)
    assert _post(api, _batch([_ev(gate)])).status_code == 202  # the stamp has not moved
    _stamp_write(STAMP_KEY, "another-process-committed")
    assert_error(_post(api, _batch([_ev(gate)])), 400, "events.0.gate")


def test_touch_fields_are_stored(api: Client) -> None:
    gate = make_gate()
    event = _ev(gate, referrer="https://www.linkedin.com/feed/", utm_source="linkedin")
    assert _post(api, _batch([event])).status_code == 202
    assert Event.objects.get().touch == {
        "utm_source": "linkedin",
        "referrer": "https://www.linkedin.com/feed/",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("referrer", "x" * 2001),
        ("utm_source", "s" * 201),
        ("utm_medium", ["list"]),
        ("utm_campaign", "a\x00b"),
    ],
)
def test_bad_touch_fields_are_per_event_errors(api: Client, field: str, value: Any) -> None:
    gate = make_gate()
    good = _ev(gate)
    response = _post(api, _batch([good, _ev(gate, **{field: value})]))
    assert_error(response, 400, f"events.1.{field}")
    assert list(Event.objects.values_list("id", flat=True)) == [uuid.UUID(good["id"])]


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_other_methods_are_405_in_the_error_shape(api: Client, method: str) -> None:
    response = getattr(api, method)("/api/v1/public/events")
    assert_error(response, 405)
