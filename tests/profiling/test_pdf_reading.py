"""Reading a PDF inline, as events and as scores: a page read is a section_view of the
file ("p3" with the file's key); ingest accepts the pages a file read inline has, rules
count them by file ("read N pages of the map") or by chapter ("read the pricing
chapter"), and the set-based SQL agrees with the engine."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from forms_app.models import GateFile
from forms_app.services.pdf import gate_file_pdf_attach
from profiling.models import Event, ScoringRule
from profiling.services.scoring import lead_score, lead_score_compute, rules_load, thresholds_load
from profiling.services.scoring_sql import leads_score_sql
from tests.support.api import assert_error
from tests.support.factories import (
    make_event,
    make_gate,
    make_lead,
    make_rule,
    make_visitor,
    set_thresholds,
)
from tests.support.pdfs import pdf_bytes

pytestmark = pytest.mark.django_db

URL = "/api/v1/public/events"
CHAPTERS = [("Coverage", 1), ("Buildings on net", 3), ("Pricing", 5)]


@pytest.fixture
def map_file(django_capture_on_commit_callbacks: Any) -> GateFile:
    """The gate's network map, a 6-page PDF read inline (not rendered: not needed here)."""
    gate = make_gate(files=("network-map", "price-list"))
    gate_file = GateFile.objects.get(gate=gate, key="network-map")
    with django_capture_on_commit_callbacks(execute=False):
        gate_file_pdf_attach(
            gate_file=gate_file,
            data=pdf_bytes(6, chapters=CHAPTERS),
            name="map.pdf",
            read_inline=True,
        )
    gate_file.refresh_from_db()
    return gate_file


def _page_event(gate_file: GateFile, page: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "section_view",
        "gate": gate_file.gate.slug,
        "file": gate_file.key,
        "section": page,
        "duration_ms": 6000,
        **extra,
    }


def _post(events: list[dict[str, Any]], visitor_id: uuid.UUID | None = None) -> Any:
    body = {"visitor_id": str(visitor_id or uuid.uuid4()), "events": events}
    return Client().post(URL, data=json.dumps(body), content_type="application/json")


# --- ingest -------------------------------------------------------------------------------


def test_ingest_accepts_the_pages_of_a_file_read_inline(map_file: GateFile) -> None:
    visitor_id = uuid.uuid4()
    response = _post([_page_event(map_file, f"p{n}") for n in (1, 3, 6)], visitor_id)
    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == 3
    stored = Event.objects.filter(visitor_id=visitor_id).order_by("section_key")
    assert [(e.type, e.file_key, e.section_key, e.duration_ms) for e in stored] == [
        ("section_view", "network-map", "p1", 6000),
        ("section_view", "network-map", "p3", 6000),
        ("section_view", "network-map", "p6", 6000),
    ]


@pytest.mark.parametrize("page", ["p7", "p0", "p01", "page1", "p-1", "p"])
def test_ingest_refuses_pages_the_file_does_not_have(map_file: GateFile, page: str) -> None:
    errors = assert_error(_post([_page_event(map_file, page)]), 400, "events.0.section")
    assert "has no section" in errors["events.0.section"][0]


def test_ingest_refuses_pages_of_a_file_not_read_inline(map_file: GateFile) -> None:
    other = GateFile.objects.get(gate=map_file.gate, key="price-list")
    assert_error(_post([_page_event(other, "p1")]), 400, "events.0.section")
    # Nor a page without its file.
    event = _page_event(map_file, "p1")
    del event["file"]
    assert_error(_post([event]), 400, "events.0.section")


def test_ingest_sees_a_file_marked_read_inline_a_moment_ago(
    django_capture_on_commit_callbacks: Any,
) -> None:
    gate = make_gate(files=("network-map",))
    gate_file = GateFile.objects.get(gate=gate, key="network-map")
    # The gate is cached before the PDF exists...
    assert _post([_page_event(gate_file, "p1")]).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        gate_file_pdf_attach(gate_file=gate_file, data=pdf_bytes(2), name="m.pdf", read_inline=True)
    # ...and read again before a page is refused.
    assert _post([_page_event(gate_file, "p2")]).status_code == 202


# --- scoring ------------------------------------------------------------------------------


def _read_pages(gate_file: GateFile, pages: list[int]) -> Any:
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    now = timezone.now()
    for offset, n in enumerate(pages):
        make_event(
            visitor=visitor,
            gate=gate_file.gate,
            section_key=f"p{n}",
            file_key=gate_file.key,
            duration_ms=6000,
            occurred_at=now - timedelta(minutes=offset),
        )
    return lead


def _assert_sql_agrees(lead: Any) -> None:
    engine = lead_score_compute(
        lead.id, rules=rules_load(), thresholds=thresholds_load(), now=timezone.now()
    )
    sql = leads_score_sql(rules=rules_load(), thresholds=thresholds_load(), now=timezone.now())[
        lead.id
    ]
    assert (sql.score, sql.grade, sql.reasons) == (engine.score, engine.grade, engine.reasons)


def test_a_rule_counts_pages_read_of_the_map(map_file: GateFile) -> None:
    set_thresholds(warm=30, hot=80)
    make_rule(
        name="read 3 pages of the map",
        gate=map_file.gate,
        file_key="network-map",
        points=10,
        max_points=30,
    )
    lead = _read_pages(map_file, [1, 2, 2, 4])  # page 2 twice: a re-read counts once
    change = lead_score(lead_id=lead.id)
    lead.refresh_from_db()
    assert lead.score == 30
    assert lead.grade == "warm"
    assert change is not None
    assert change.grade == "warm"
    assert lead.reasons == ["read 3 pages of network-map, 24 s [read 3 pages of the map: +30]"]
    _assert_sql_agrees(lead)


def test_a_rule_on_a_chapter_counts_its_pages_only(map_file: GateFile) -> None:
    rule = make_rule(
        name="pricing chapter",
        gate=map_file.gate,
        file_key="network-map",
        section_key="pricing",
        points=25,
    )
    rule.full_clean()  # a chapter of the file's outline: a valid rule
    outside = _read_pages(map_file, [1, 2, 3, 4])
    assert lead_score_compute(outside.id).score == 0
    inside = _read_pages(map_file, [5, 6])
    result = lead_score_compute(inside.id)
    assert result.score == 25
    # The chapter counts once, whichever of its pages were read.
    assert result.reasons == ["read chapter pricing of network-map, 12 s [pricing chapter: +25]"]
    _assert_sql_agrees(inside)
    _assert_sql_agrees(outside)


def test_a_rule_on_sections_does_not_count_pdf_pages(map_file: GateFile) -> None:
    make_rule(name="sections", gate=map_file.gate, points=10)
    lead = _read_pages(map_file, [1, 2, 3])
    make_event(
        visitor=lead.visitors.first(), gate=map_file.gate, section_key="section-1", duration_ms=6000
    )
    result = lead_score_compute(lead.id)
    assert result.score == 10
    assert result.reasons[0].startswith("read 1 of 6 section of ")
    _assert_sql_agrees(lead)


def test_rules_name_files_and_chapters_that_exist(map_file: GateFile) -> None:
    gate = map_file.gate
    ScoringRule(
        name="ok", event_type="section_view", gate=gate, file_key="network-map", points=5
    ).full_clean()
    with pytest.raises(ValidationError) as exc:
        ScoringRule(
            name="x", event_type="section_view", gate=gate, file_key="network-map",
            section_key="nope", points=5,
        ).full_clean()  # fmt: skip
    assert "has no chapter 'nope'" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        ScoringRule(
            name="x", event_type="section_view", file_key="network-map", section_key="pricing",
            points=5,
        ).full_clean()  # fmt: skip
    assert "names the file's gate" in str(exc.value)
    with pytest.raises(ValidationError):
        ScoringRule(
            name="x", event_type="page_view", gate=gate, file_key="network-map", points=5
        ).full_clean()


def test_a_page_rule_needs_a_file_read_inline(map_file: GateFile) -> None:
    GateFile.objects.filter(pk=map_file.pk).update(read_inline=False)
    with pytest.raises(ValidationError) as exc:
        ScoringRule(
            name="x",
            event_type="section_view",
            gate=map_file.gate,
            file_key="network-map",
            points=5,
        ).full_clean()
    assert "is not read inline" in str(exc.value)


def test_segment_section_viewed_with_a_page_of_the_file(map_file: GateFile) -> None:
    import base64

    from profiling.models import Source

    source = Source.objects.create(name="site")
    auth = "Basic " + base64.b64encode(f"{source.write_key}:".encode()).decode()

    def message(section: str, file: str) -> dict[str, Any]:
        return {
            "type": "track",
            "event": "Section Viewed",
            "anonymousId": str(uuid.uuid4()),
            "messageId": str(uuid.uuid4()),
            "properties": {"gate": map_file.gate.slug, "section": section, "file": file},
        }

    batch = [
        message("p4", "network-map"),
        message("p9", "network-map"),
        message("p1", "price-list"),
    ]
    response = Client().post(
        "/v1/batch",
        data=json.dumps({"batch": batch}),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert response.status_code == 200
    stored = list(Event.objects.filter(type="section_view").values_list("file_key", "section_key"))
    assert stored == [("network-map", "p4")]  # no page 9; the price list is not read inline
