"""A scoring rule read back in one sentence, for each trigger type (unsaved drafts too)."""

from __future__ import annotations

from typing import Any

import pytest

from forms_app.models import Gate
from forms_app.workspace.rule_sentence import rule_sentence
from profiling.models import ScoringRule
from tests.support.factories import make_gate

pytestmark = pytest.mark.django_db


@pytest.fixture
def vbook() -> Gate:
    return make_gate(title="Network vBook", sections=["why-fibre"], files=["network-map"])


def _rule(**fields: Any) -> ScoringRule:
    fields.setdefault("name", "r")
    fields.setdefault("is_active", True)
    return ScoringRule(**fields)


def test_each_section_with_dwell_and_cap(vbook: Gate) -> None:
    rule = _rule(
        event_type="section_view", gate=vbook, points=10, min_duration_ms=20_000, max_points=60
    )
    assert (
        rule_sentence(rule)
        == "10 points for each section of Network vBook read for 20 s, at most 60"
    )


def test_one_named_section_by_its_title(vbook: Gate) -> None:
    rule = _rule(event_type="section_view", gate=vbook, section_key="why-fibre", points=15)
    assert rule_sentence(rule) == "15 points when the section “Why Fibre” of Network vBook is read"


def test_a_named_file_that_makes_hot(vbook: Gate) -> None:
    rule = _rule(
        event_type="download", gate=vbook, file_key="network-map", points=50, makes_hot=True
    )
    assert rule_sentence(rule) == (
        "50 points when the file “Network Map” of Network vBook is downloaded; makes hot"
    )


def test_any_file_of_any_gate() -> None:
    rule = _rule(event_type="download", points=5)
    assert rule_sentence(rule) == "5 points for each file of any gate downloaded"


def test_a_minimum_duration_on_other_events_is_read_back() -> None:
    rule = _rule(event_type="track", event_name="Video Watched", points=5, min_duration_ms=1500)
    assert rule_sentence(rule) == (
        "5 points each time the event “Video Watched” is tracked on any gate lasting at least 1.5 s"
    )


def test_a_key_the_gate_lacks_is_read_back_as_the_key(vbook: Gate) -> None:
    rule = _rule(event_type="download", gate=vbook, file_key="price-list", points=5)
    assert (
        rule_sentence(rule) == "5 points when the file “price-list” of Network vBook is downloaded"
    )


def test_page_view_counts_every_time(vbook: Gate) -> None:
    rule = _rule(event_type="page_view", gate=vbook, points=1)
    assert rule_sentence(rule) == "1 point each time a page of Network vBook is viewed"


def test_form_view() -> None:
    rule = _rule(event_type="form_view", points=2, max_points=4)
    assert rule_sentence(rule) == "2 points each time the form of any gate is seen, at most 4"


@pytest.mark.parametrize(
    ("event_name", "expected"),
    [
        ("Pricing Viewed", "20 points each time the event “Pricing Viewed” is tracked on any gate"),
        ("", "20 points each time a custom event is tracked on any gate"),
    ],
)
def test_track(event_name: str, expected: str) -> None:
    assert rule_sentence(_rule(event_type="track", event_name=event_name, points=20)) == expected


@pytest.mark.parametrize(
    ("condition", "points", "expected"),
    [
        (
            "disposable_email",
            -30,
            "-30 points if the lead uses a disposable email address, at most 30 off",
        ),
        ("company_domain", 10, "10 points if the lead has a company email domain, at most 30"),
    ],
)
def test_profile(condition: str, points: int, expected: str) -> None:
    rule = _rule(event_type="profile", profile_condition=condition, points=points, max_points=30)
    assert rule_sentence(rule) == expected


def test_an_inactive_rule_says_so() -> None:
    rule = _rule(event_type="section_view", points=10, is_active=False)
    assert rule_sentence(rule) == "10 points for each section of any gate read (off)"


def test_pages_and_a_chapter_of_a_pdf_read_inline(vbook: Gate) -> None:
    from forms_app.models import GateFile, PdfChapter

    gate_file = GateFile.objects.get(gate=vbook, key="network-map")
    PdfChapter.objects.create(
        gate_file=gate_file, key="pricing", title="Pricing", first_page=5, last_page=6
    )
    pages = _rule(
        event_type="section_view", gate=vbook, file_key="network-map", points=5, max_points=30
    )
    assert (
        rule_sentence(pages)
        == "5 points for each page of “Network Map” (Network vBook) read, at most 30"
    )
    chapter = _rule(
        event_type="section_view",
        gate=vbook,
        file_key="network-map",
        section_key="pricing",
        points=20,
        min_duration_ms=5000,
    )
    assert (
        rule_sentence(chapter)
        == "20 points when the chapter “Pricing” of “Network Map” (Network vBook) is read for 5 s"
    )
