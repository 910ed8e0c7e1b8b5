"""The gate builder's one screen: section order (buttons, hidden ORDER, the API's list
order), the live preview of the unsaved form, and the diagnostics of refused events,
recorded through the real public endpoints and shown next to the allowed origins."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest
from django.test import Client

from forms_app.models import Gate, Section
from profiling.models import Event, Source
from profiling.refusals import gate_refusals
from tests.forms_app.workspace.test_gates import gate_post
from tests.support.factories import DEFAULT_ORIGIN, make_gate

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example"
EVENTS = "/api/v1/public/events"
THREE = [
    {"key": "intro", "title": "Intro", "body": "One", "ORDER": "1"},
    {"key": "pricing", "title": "Pricing", "body": "Two", "ORDER": "2"},
    {"key": "faq", "title": "FAQ", "body": "Three", "ORDER": "3"},
]


def _keys(slug: str) -> list[str]:
    return [s.key for s in Section.objects.filter(gate__slug=slug).order_by("position")]


# --- order ---------------------------------------------------------------------------


def test_the_hidden_order_decides_the_saved_order(mclient: Client) -> None:
    rows = [dict(THREE[0], ORDER="3"), dict(THREE[1], ORDER="1"), dict(THREE[2], ORDER="2")]
    response = mclient.post("/app/gates/new", gate_post(sections=rows))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _keys("fibre-guide") == ["pricing", "faq", "intro"]


def test_move_buttons_work_without_javascript(mclient: Client) -> None:
    assert mclient.post("/app/gates/new", gate_post(sections=THREE)).status_code == 302
    data = gate_post(sections=THREE, initial=(3, 0, 0))
    data["move"] = "sections-2-up"  # FAQ one place up
    page = mclient.post("/app/gates/fibre-guide/", data)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Order changed. Save to keep it." in html
    # Shown in the new order, re-numbered, nothing saved yet; focus stays on the moved row.
    assert html.index('value="faq"') < html.index('value="pricing"')
    assert re.search(r'name="sections-1-key" value="faq"', html)
    assert re.search(r'name="sections-1-ORDER" value="2"', html)
    assert 'value="sections-1-up" data-move="up" formnovalidate autofocus' in html
    assert _keys("fibre-guide") == ["intro", "pricing", "faq"]
    # Saving the page as shown keeps the new order.
    moved = gate_post(
        sections=[dict(THREE[0], ORDER="1"), dict(THREE[2], ORDER="2"), dict(THREE[1], ORDER="3")],
        initial=(3, 0, 0),
    )
    assert mclient.post("/app/gates/fibre-guide/", moved).status_code == 302
    assert _keys("fibre-guide") == ["intro", "faq", "pricing"]


def test_moving_the_first_row_up_changes_nothing(mclient: Client) -> None:
    data = gate_post(sections=THREE)
    data["move"] = "sections-0-up"
    html = mclient.post("/app/gates/new", data).content.decode()
    assert html.index('value="intro"') < html.index('value="pricing"') < html.index('value="faq"')


@pytest.mark.parametrize("value", ["sections-x-up", "files-0-up", "sections-0-left", "junk"])
def test_a_bad_move_value_is_an_ordinary_save(mclient: Client, value: str) -> None:
    data = gate_post(sections=THREE)
    data["move"] = value
    assert mclient.post("/app/gates/new", data).status_code == 302


def test_the_api_keeps_the_list_order(api: Client, auth: dict[str, str]) -> None:
    body = {
        "slug": "ordered",
        "title": "Ordered",
        "sections": [{"key": k, "title": k} for k in ("c", "a", "b")],
    }
    response = api.post("/api/v1/gates/", body, content_type="application/json", headers=auth)
    assert response.status_code == 201, response.content
    assert [s["key"] for s in response.json()["sections"]] == ["c", "a", "b"]
    body["sections"] = [{"key": k, "title": k} for k in ("b", "c", "a")]
    response = api.put("/api/v1/gates/ordered", body, content_type="application/json", headers=auth)
    assert [s["key"] for s in response.json()["sections"]] == ["b", "c", "a"]
    assert _keys("ordered") == ["b", "c", "a"]


def test_section_bodies_are_sized_for_writing(mclient: Client) -> None:
    html = mclient.get("/app/gates/new").content.decode()
    assert 'rows="12"' in html
    assert "workspace-builder.css" in html
    assert "workspace-builder.js" in html


# --- the live preview ----------------------------------------------------------------


def test_the_live_preview_renders_the_unsaved_form(mclient: Client) -> None:
    gate = make_gate(sections=["intro"])
    data = gate_post(
        slug=gate.slug,
        title="A title not saved",
        sections=[
            {"key": "intro", "title": "Intro", "body": "Typed **just now**", "ORDER": "2"},
            {"key": "first", "title": "Moved first", "body": "", "ORDER": "1"},
        ],
    )
    response = mclient.post(f"/app/gates/preview?gate={gate.slug}&mode=content", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "A title not saved" in html
    assert "Typed <strong>just now</strong>" in html
    assert html.index("Moved first") < html.index("Typed")
    assert "leadgate.js" not in html  # no tracker in a preview
    assert Gate.objects.get(pk=gate.pk).title != "A title not saved"
    assert _keys(gate.slug) == ["intro"]


def test_the_live_preview_of_a_new_decision_gate_shows_its_question(mclient: Client) -> None:
    data = gate_post(
        stage="decision",
        questions=[{"name": "issue", "label": "What slows you down?", "type": "text"}],
    )
    html = mclient.post("/app/gates/preview?mode=page", data).content.decode()
    assert "What slows you down?" in html
    assert "Work email" in html
    assert not Gate.objects.exists()


def test_the_live_preview_survives_nonsense(mclient: Client) -> None:
    data = {"stage": "nope", "sections-TOTAL_FORMS": "x", "fields-TOTAL_FORMS": "99999"}
    assert mclient.post("/app/gates/preview?mode=embed", data).status_code == 200
    assert mclient.post("/app/gates/preview?mode=other", data).status_code == 404


def test_sales_users_get_no_preview(sclient: Client) -> None:
    assert sclient.post("/app/gates/preview?mode=page", gate_post()).status_code == 403


# --- diagnostics: refused events, through the real endpoints --------------------------


def _events(api: Client, gate: Gate, origin: str, **event: Any) -> Any:
    body = {
        "visitor_id": str(uuid.uuid4()),
        "events": [{"id": str(uuid.uuid4()), "type": "page_view", "gate": gate.slug, **event}],
    }
    return api.post(
        EVENTS, json.dumps(body), content_type="application/json", headers={"Origin": origin}
    )


def _reasons(gate: Gate) -> set[tuple[str, str, str, int]]:
    return {(r.reason, r.origin, r.key, r.count) for r in gate_refusals(gate.pk)}


def test_each_refusal_reason_is_recorded_and_shown(api: Client, mclient: Client) -> None:
    gate = make_gate(sections=["pricing", "intro"], files=["network-map"])
    for _ in range(3):
        assert _events(api, gate, SHOP).status_code == 403
    assert (
        _events(api, gate, DEFAULT_ORIGIN, type="section_view", section="pricng").status_code == 400
    )
    assert _events(api, gate, DEFAULT_ORIGIN, type="download", file="netwrk-map").status_code == 400
    submit = api.post(
        f"/api/v1/public/gates/{gate.slug}/submissions",
        {"name": "Ada", "email": "ada@shop.example"},
        content_type="application/json",
        headers={"Origin": "https://other.example"},
    )
    assert submit.status_code == 403
    assert _reasons(gate) == {
        ("origin", SHOP, "", 3),
        ("section", DEFAULT_ORIGIN, "pricng", 1),
        ("file", DEFAULT_ORIGIN, "netwrk-map", 1),
        ("origin", "https://other.example", "", 1),
    }
    html = mclient.get(f"/app/gates/{gate.slug}/").content.decode()
    assert (
        f"Events from {SHOP} were refused 3 times in the last 24 h: this site is not in the "
        "allowed origins." in html
    )
    assert f'name="origin" value="{SHOP}">Add it</button>' in html
    # Refused seconds ago reads as such, not "0 minutes ago".
    assert "last just now" in html
    assert "0 minutes" not in html
    assert "Section key “pricng” is not in this gate (1 event from" in html
    assert "did you mean “pricing”?" in html
    assert "File key “netwrk-map” is not in this gate" in html
    assert "did you mean “network-map”?" in html

    # The API says the same.
    api_answer = mclient.get(f"/api/v1/gates/{gate.slug}/diagnostics")
    assert api_answer.status_code == 200
    body = api_answer.json()
    assert body["window_hours"] == 24
    by_key = {(r["reason"], r["origin"], r["key"]): r for r in body["refusals"]}
    assert by_key[("origin", SHOP, "")]["count"] == 3
    assert by_key[("origin", SHOP, "")]["suggestion"] == SHOP
    assert by_key[("section", DEFAULT_ORIGIN, "pricng")]["suggestion"] == "pricing"

    # "Add it" allows the site; its line goes, and its events are accepted.
    response = mclient.post(f"/app/gates/{gate.slug}/origins", {"origin": SHOP})
    assert response.status_code == 302
    gate.refresh_from_db()
    assert SHOP in gate.allowed_origins
    assert DEFAULT_ORIGIN in gate.allowed_origins
    assert (
        "Events from https://shop.example"
        not in mclient.get(f"/app/gates/{gate.slug}/").content.decode()
    )
    assert _events(api, gate, SHOP).status_code == 202


def test_an_inactive_gate_records_its_refusals(api: Client, mclient: Client) -> None:
    gate = make_gate(is_active=False)
    assert _events(api, gate, DEFAULT_ORIGIN).status_code == 400
    assert api.get(f"/api/v1/public/gates/{gate.slug}", headers={"Origin": SHOP}).status_code == 404
    assert _reasons(gate) == {("inactive", DEFAULT_ORIGIN, "", 1), ("inactive", SHOP, "", 1)}
    html = mclient.get(f"/app/gates/{gate.slug}/").content.decode()
    assert "this gate is not live" in html
    # A slug no gate has is nobody's diagnostic, and stores nothing.
    ghost = Gate(slug="no-such-gate", pk=10**9)
    assert _events(api, ghost, DEFAULT_ORIGIN).status_code == 400


def test_accepted_events_record_nothing(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    import profiling.refusals as refusals

    monkeypatch.setattr(refusals, "refusals_record", lambda items: calls.append(list(items)))
    gate = make_gate(sections=["intro"])
    response = _events(api, gate, DEFAULT_ORIGIN, type="section_view", section="intro")
    assert response.status_code == 202
    no_origin = {
        "visitor_id": str(uuid.uuid4()),
        "events": [{"id": str(uuid.uuid4()), "type": "page_view", "gate": gate.slug}],
    }
    assert api.post(EVENTS, no_origin, content_type="application/json").status_code == 202
    assert (
        api.get(f"/api/v1/public/gates/{gate.slug}", headers={"Origin": DEFAULT_ORIGIN}).status_code
        == 200
    )
    assert calls == []
    assert Event.objects.filter(gate=gate).exists()
    assert gate_refusals(gate.pk) == []


def test_a_hostile_client_cannot_grow_the_counters_without_bound(api: Client) -> None:
    gate = make_gate()
    from profiling import refusals

    for i in range(refusals.MAX_FIELDS + 20):
        refusals.refusals_record_origin(f"https://x{i}.example", [gate.pk])
    assert len(gate_refusals(gate.pk)) == refusals.MAX_FIELDS


def test_diagnostics_api_is_marketers_only(api: Client, sclient: Client) -> None:
    gate = make_gate()
    assert sclient.get(f"/api/v1/gates/{gate.slug}/diagnostics").status_code == 403
    assert api.get(f"/api/v1/gates/{gate.slug}/diagnostics").status_code == 401


# --- diagnostics: messages the Segment-compatible ingest drops ------------------------


def _segment(api: Client, source: Source, *messages: dict[str, Any], **headers: str) -> Any:
    for message in messages:
        message.setdefault("anonymousId", str(uuid.uuid4()))
        message.setdefault("messageId", str(uuid.uuid4()))
    auth = base64.b64encode(f"{source.write_key}:".encode()).decode()
    response = api.post(
        "/v1/batch",
        json.dumps({"batch": list(messages)}),
        content_type="application/json",
        headers={"Authorization": f"Basic {auth}", **headers},
    )
    # Like Segment, dropped messages never fail the request (clients would retry it).
    assert response.status_code == 200
    assert response.json() == {"success": True}
    return response


def _section(gate: Gate, section: str) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Section Viewed",
        "properties": {"gate": gate.slug, "section": section, "url": "https://x.example/a"},
    }


def _download(gate: Gate, file_key: str) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "File Downloaded",
        "properties": {"gate": gate.slug, "file": file_key, "url": "https://x.example/a"},
    }


def test_segment_refusals_are_recorded_and_shown_with_their_source(
    api: Client, mclient: Client
) -> None:
    gate = make_gate(sections=["pricing", "intro"], files=["network-map"])
    other = make_gate()
    website = Source.objects.create(name="Marketing website")
    narrow = Source.objects.create(name="Webinar tool", all_gates=False)
    narrow.gates.set([other])
    _segment(
        api,
        website,
        _section(gate, "pricng"),
        _download(gate, "netwrk-map"),
        _section(gate, "intro"),  # accepted
    )
    # Counted per request, as the beacon's: the same mistake twice in one batch is one.
    _segment(api, website, _section(gate, "pricng"), _section(gate, "pricng"))
    _segment(
        api,
        narrow,
        {"type": "page", "properties": {"gate": gate.slug, "url": "https://x.example/"}},
    )
    # A browser SDK (analytics.js) says its page's origin: kept beside the source.
    _segment(api, website, _section(gate, "faq"), Origin="https://www.acme.example")
    assert Event.objects.filter(gate=gate).count() == 1

    refusals = {(r.reason, r.origin, r.key, r.count, r.channel) for r in gate_refusals(gate.pk)}
    assert refusals == {
        ("section", "", "pricng", 2, "segment"),
        ("file", "", "netwrk-map", 1, "segment"),
        ("source", "", "", 1, "segment"),
        ("section", "https://www.acme.example", "faq", 1, "segment"),
    }
    assert {r.source_id for r in gate_refusals(gate.pk)} == {website.pk, narrow.pk}
    assert gate_refusals(other.pk) == []

    html = mclient.get(f"/app/gates/{gate.slug}/").content.decode()
    assert (
        "Section key “pricng” is not in this gate (2 events from the Segment source "
        "“Marketing website”): did you mean “pricing”?" in html
    )
    assert "File key “netwrk-map” is not in this gate (1 event from the Segment source" in html
    assert (
        "Events from the Segment source “Webinar tool” were refused once in the last 24 h: "
        "the source may not send events for this gate" in html
    )
    assert "from the Segment source “Marketing website” (https://www.acme.example)" in html

    body = mclient.get(f"/api/v1/gates/{gate.slug}/diagnostics").json()
    by_key = {(r["reason"], r["key"]): r for r in body["refusals"]}
    assert by_key[("section", "pricng")]["channel"] == "segment"
    assert by_key[("section", "pricng")]["source_name"] == "Marketing website"
    assert by_key[("section", "pricng")]["suggestion"] == "pricing"
    assert by_key[("source", "")]["source_name"] == "Webinar tool"

    # Allowing the gate for the source clears its line.
    narrow.gates.add(gate)
    html = mclient.get(f"/app/gates/{gate.slug}/").content.decode()
    assert "the source may not send events for this gate" not in html


def test_beacon_and_segment_refusals_are_told_apart(api: Client, mclient: Client) -> None:
    gate = make_gate(sections=["intro"])
    source = Source.objects.create(name="Site")
    assert (
        _events(api, gate, DEFAULT_ORIGIN, type="section_view", section="intr").status_code == 400
    )
    _segment(api, source, _section(gate, "intr"))
    body = mclient.get(f"/api/v1/gates/{gate.slug}/diagnostics").json()
    assert sorted((r["channel"], r["source_name"], r["count"]) for r in body["refusals"]) == [
        ("beacon", "", 1),
        ("segment", "Site", 1),
    ]


def test_an_inactive_gate_records_segment_refusals(api: Client, mclient: Client) -> None:
    gate = make_gate(is_active=False)
    source = Source.objects.create(name="Site")
    _segment(
        api,
        source,
        {"type": "page", "properties": {"gate": gate.slug, "url": "https://x.example/"}},
    )
    _segment(
        api,
        source,
        {"type": "page", "properties": {"gate": "no-such-gate", "url": "https://x.example/"}},
    )
    assert [(r.reason, r.channel, r.count) for r in gate_refusals(gate.pk)] == [
        ("inactive", "segment", 1)
    ]
    html = mclient.get(f"/app/gates/{gate.slug}/").content.decode()
    assert "Requests from the Segment source “Site” were refused once" in html


def test_accepted_segment_messages_record_nothing(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    import profiling.refusals as refusals

    monkeypatch.setattr(refusals, "refusals_record", lambda items: calls.append(list(items)))
    gate = make_gate(sections=["intro"], files=["network-map"])
    source = Source.objects.create(name="Site")
    _segment(
        api,
        source,
        _section(gate, "intro"),
        _download(gate, "network-map"),
        {"type": "page", "properties": {"url": "https://x.example/"}},  # no gate: fine
        {"type": "track", "event": "Webinar Joined", "properties": {"url": "https://x.example/"}},
        # Dropped, but not for any gate's sake: nothing for a builder to show.
        {"type": "track", "properties": {"gate": gate.slug, "url": "https://x.example/"}},
    )
    assert calls == []
    assert Event.objects.filter(gate=gate).count() == 2
