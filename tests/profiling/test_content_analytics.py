"""Content analytics (profiling/content_analytics.py) on hand-built events: heartbeats
summed per visitor, medians, reach and read shares, PDF pages under their file, what
hot leads read, the time range, and the CSV rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from profiling.content_analytics import (
    CONTENT_CSV_COLUMNS,
    ContentItem,
    content_csv_rows,
    gate_content_report,
)
from profiling.models import GradeChange
from tests.support.factories import make_event, make_gate, make_lead, make_visitor

pytestmark = pytest.mark.django_db

SECTIONS = ("intro", "costs", "redundancy")


def _read(
    visitor: Any, gate: Any, key: str, *durations: int, file_key: str = "", **kw: Any
) -> None:
    """One heartbeat per duration: the tracker reports active time in pieces."""
    for ms in durations:
        make_event(
            visitor=visitor,
            gate=gate,
            type="section_view",
            section_key=key,
            file_key=file_key,
            duration_ms=ms,
            **kw,
        )


@pytest.fixture
def world() -> dict[str, Any]:
    now = timezone.now()
    gate = make_gate(sections=SECTIONS, files=("network-map", "price-list"), min_dwell_ms=5000)
    other = make_gate(sections=SECTIONS)

    a = make_visitor()  # anonymous: reads intro in three heartbeats, skims costs
    make_event(visitor=a, gate=gate, type="page_view")
    _read(a, gate, "intro", 2000, 2000, 2000)
    _read(a, gate, "costs", 3000)
    _read(a, gate, "costs", 50_000, occurred_at=now - timedelta(days=40))  # an old visit

    b = make_visitor()  # came, read nothing
    make_event(visitor=b, gate=gate, type="page_view")

    hot = make_lead(grade="hot")
    c = make_visitor(lead=hot)
    _read(c, gate, "intro", 10_000)
    _read(c, gate, "costs", 4000, 4000)
    _read(c, gate, "redundancy", 1000)
    _read(c, gate, "p1", 6000, file_key="network-map")
    _read(c, gate, "p3", 1000, 1000, file_key="network-map")

    # Hot once, cooled since; reads intro on two devices, 3 s each: neither device reached
    # the 5 s threshold, the lead did.
    cooled = make_lead(grade="cold")
    GradeChange.objects.create(lead=cooled, previous_grade="warm", grade="hot", score=80)
    d1, d2 = make_visitor(lead=cooled), make_visitor(lead=cooled)
    _read(d1, gate, "intro", 3000)
    _read(d2, gate, "intro", 1000, 2000)

    warm = make_lead(grade="warm")
    GradeChange.objects.create(lead=warm, previous_grade="cold", grade="warm", score=30)
    e = make_visitor(lead=warm)
    _read(e, gate, "intro", 20_000)
    _read(e, gate, "p1", 1000, file_key="network-map")

    f = make_visitor()  # section views without active time: a visitor, not a reader
    _read(f, gate, "intro", 0)
    make_event(visitor=f, gate=gate, type="section_view", section_key="costs")

    # Not this report's: another gate, a deleted section, a file key with a section key,
    # a page of a file the gate does not have, page keys that are not pages.
    _read(a, other, "intro", 99_000)
    _read(a, gate, "gone", 99_000)
    _read(a, gate, "intro", 99_000, file_key="network-map")
    _read(a, gate, "p1", 99_000, file_key="no-such-file")
    _read(a, gate, "p0", 99_000, file_key="network-map")
    _read(a, gate, "p01", 99_000, file_key="network-map")
    return {"gate": gate, "now": now}


def _by_key(items: list[ContentItem]) -> dict[str, ContentItem]:
    return {i.key: i for i in items}


def test_sections_in_order_with_readers_medians_reach_and_reads(world: dict[str, Any]) -> None:
    report = gate_content_report(gate=world["gate"], since=world["now"] - timedelta(days=30))
    # a, b, c, d1, d2, e, f: everyone with an event on the gate in the range.
    assert report.visitors == 7
    assert report.hot_leads == 2  # hot now, and hot once
    assert [s.key for s in report.sections] == list(SECTIONS)
    s = _by_key(report.sections)

    # intro per visitor: a 6000 (3 heartbeats), c 10000, d1 3000, d2 3000, e 20000.
    assert s["intro"].readers == 5
    assert s["intro"].median_active_ms == 6000
    assert s["intro"].read == 3  # a, c, e reached 5 s; d1 and d2 did not
    assert s["intro"].reach == pytest.approx(5 / 7)
    assert s["intro"].read_share == pytest.approx(3 / 7)
    assert s["intro"].read_threshold_ms == 5000
    assert s["intro"].title == "Intro"

    # costs: a 3000, c 8000 -> an even count, interpolated like percentile_cont.
    assert (s["costs"].readers, s["costs"].median_active_ms, s["costs"].read) == (2, 5500, 1)
    assert s["redundancy"].readers == 1
    assert s["redundancy"].median_active_ms == 1000
    assert s["redundancy"].read == 0


def test_pages_are_grouped_under_their_file_with_gaps_shown(world: dict[str, Any]) -> None:
    report = gate_content_report(gate=world["gate"])
    assert [f.key for f in report.files] == ["network-map", "price-list"]
    network_map, price_list = report.files
    assert price_list.pages == []
    assert [p.key for p in network_map.pages] == ["p1", "p2", "p3"]
    p1, p2, p3 = network_map.pages
    assert (p1.page, p1.readers, p1.median_active_ms, p1.read) == (1, 2, 3500, 1)
    assert (p2.readers, p2.median_active_ms, p2.reach) == (0, None, 0.0)
    assert (p3.readers, p3.median_active_ms, p3.read) == (1, 2000, 0)
    assert p1.file_key == "network-map"
    assert p1.label == "Network Map, Page 1"
    assert [i.key for i in report.items] == [*SECTIONS, "p1", "p2", "p3"]


def test_what_hot_leads_read_is_counted_per_lead_and_ranked(world: dict[str, Any]) -> None:
    report = gate_content_report(gate=world["gate"])
    s = _by_key(report.sections)
    # intro: the hot lead and the cooled one (3 s + 3 s over two devices); the warm lead
    # read it longest but was never hot.
    assert s["intro"].hot_leads == 2
    assert s["intro"].hot_share == 1.0
    assert s["costs"].hot_leads == 1
    assert s["redundancy"].hot_leads == 0  # 1 s: reached, not read
    assert [(i.key, i.hot_rank, i.hot_leads) for i in report.hot_ranking] == [
        ("intro", 1, 2),
        ("costs", 2, 1),
        ("p1", 3, 1),
    ]
    assert s["redundancy"].hot_rank is None


def test_the_range_bounds_the_events(world: dict[str, Any]) -> None:
    now = world["now"]
    everything = _by_key(gate_content_report(gate=world["gate"]).sections)
    # a's old 50 s on costs counts without a range: a 53000, c 8000.
    assert (everything["costs"].median_active_ms, everything["costs"].read) == (30_500, 2)

    old = gate_content_report(
        gate=world["gate"], since=now - timedelta(days=41), until=now - timedelta(days=30)
    )
    assert old.visitors == 1
    assert _by_key(old.sections)["costs"].readers == 1
    assert _by_key(old.sections)["costs"].reach == 1.0
    assert _by_key(old.sections)["intro"].readers == 0
    assert old.hot_leads == 0

    future = gate_content_report(gate=world["gate"], since=now + timedelta(days=1))
    assert future.visitors == 0
    assert all(i.reach is None and i.readers == 0 for i in future.items)
    assert future.files[0].pages == []
    assert future.hot_ranking == []


def test_two_statements_whatever_the_numbers(world: dict[str, Any]) -> None:
    with CaptureQueriesContext(connection) as queries:
        gate_content_report(gate=world["gate"])
    statements = [q["sql"] for q in queries.captured_queries]
    reads = [q for q in statements if "profiling_event" in q]
    assert len(reads) == 2, statements
    # Besides: the gate's sections and files, the two SET LOCALs, a savepoint and its
    # release; no query per section, page, visitor or lead.
    assert len(statements) <= 8, statements


def test_csv_rows_follow_the_columns(world: dict[str, Any]) -> None:
    report = gate_content_report(gate=world["gate"])
    rows = list(content_csv_rows(report))
    assert len(rows) == 6
    assert all(len(r) == len(CONTENT_CSV_COLUMNS) for r in rows)
    intro = dict(zip(CONTENT_CSV_COLUMNS, rows[0], strict=True))
    assert intro["kind"] == "section"
    assert intro["key"] == "intro"
    assert intro["readers"] == 5
    assert intro["median_active_ms"] == 6000
    assert intro["hot_rank"] == 1
    p2 = dict(zip(CONTENT_CSV_COLUMNS, rows[4], strict=True))
    assert (p2["kind"], p2["file"], p2["key"], p2["median_active_ms"]) == (
        "page",
        "network-map",
        "p2",
        "",
    )


def test_each_section_is_held_to_its_own_threshold(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thresholds reach the SQL per section (by position), pages get the gate's."""
    from profiling import content_analytics

    per_section = {"intro": 9000, "costs": 3000, "redundancy": 1000}

    def threshold(*, gate: Any, section: Any = None) -> int:
        return per_section[section.key] if section is not None else 1000

    monkeypatch.setattr(content_analytics, "read_threshold_for", threshold)
    report = gate_content_report(gate=world["gate"], since=world["now"] - timedelta(days=1))
    s = _by_key(report.sections)
    assert [i.read_threshold_ms for i in report.sections] == [9000, 3000, 1000]
    assert s["intro"].read == 2  # c 10000, e 20000; a's 6000 is short of 9 s now
    assert s["intro"].hot_leads == 1  # the cooled lead's 6 s no longer counts
    assert s["costs"].read == 2  # a 3000, c 8000
    assert s["redundancy"].read == 1
    p1, _, p3 = report.files[0].pages
    assert (p1.read, p3.read, p1.read_threshold_ms) == (2, 1, 1000)
