"""Ingest's hot-trigger check uses the engine's rule matching (they must never disagree)."""

from __future__ import annotations

from django.utils import timezone

from profiling.scoring_engine import EventFact, RuleSpec
from profiling.services.score_triggers import event_is_hot

NOW = timezone.now()


def _rule(**kw: object) -> RuleSpec:
    base: dict[str, object] = {"id": 1, "name": "map", "event_type": "download", "points": 50}
    base.update(kw)
    return RuleSpec(makes_hot=True, **base)  # type: ignore[arg-type]


def _hot(rule: RuleSpec, **event: object) -> bool:
    fields: dict[str, object] = {
        "type": "download",
        "gate_id": 7,
        "section_key": "",
        "file_key": "network-map",
        "name": "",
        "duration_ms": None,
    }
    fields.update(event)
    return event_is_hot(received=NOW, rules=[rule], **fields)  # type: ignore[arg-type]


def _engine(rule: RuleSpec, **event: object) -> bool:
    fields: dict[str, object] = {"type": "download", "gate_id": 7, "file_key": "network-map"}
    fields.update(event)
    return rule.matches(EventFact(occurred_at=NOW, received_at=NOW, **fields))  # type: ignore[arg-type]


def test_matches_like_the_engine() -> None:
    cases: list[tuple[RuleSpec, dict[str, object]]] = [
        (_rule(file_key="network-map"), {}),
        (_rule(file_key="other"), {}),
        (_rule(gate_id=8), {}),
        (_rule(gate_id=7, file_key="network-map"), {}),
        (
            _rule(event_type="section_view", section_key="s1"),
            {"type": "section_view", "section_key": "s1"},
        ),
        # Where the two used to differ: a dwell minimum of 0 and an event with no duration.
        (_rule(event_type="section_view", min_duration_ms=0), {"type": "section_view"}),
        (
            _rule(event_type="section_view", min_duration_ms=5000),
            {"type": "section_view", "duration_ms": 4999},
        ),
        (
            _rule(event_type="section_view", min_duration_ms=5000),
            {"type": "section_view", "duration_ms": 5000},
        ),
    ]
    for rule, event in cases:
        assert _hot(rule, **event) == _engine(rule, **event), (rule, event)


def test_an_event_without_a_duration_never_meets_a_dwell_minimum() -> None:
    track = _rule(event_type="track", event_name="Video", min_duration_ms=0)
    assert not _hot(track, type="track", name="Video", file_key="")
    assert _hot(track, type="track", name="Video", file_key="", duration_ms=0)
    assert _hot(_rule(file_key="network-map"))


def test_any_report_of_a_section_may_complete_its_read() -> None:
    # A section's reports (heartbeats) add up: one below the rule's minimum may be the
    # one that completes the read, so ingest scores at once and the engine judges the sum.
    rule = _rule(event_type="section_view", section_key="s1", min_duration_ms=5000)
    assert _hot(rule, type="section_view", section_key="s1", file_key="", duration_ms=100)
    assert _hot(rule, type="section_view", section_key="s1", file_key="")
    assert not _hot(rule, type="section_view", section_key="s2", file_key="", duration_ms=9000)
    # A page of a PDF read inline is a section of its file: a rule on sections never
    # counts it, a rule on the file's pages (or a chapter of them) does, report by report.
    assert not _hot(rule, type="section_view", section_key="s1", duration_ms=9000)
    pages = _rule(event_type="section_view", file_key="network-map", min_duration_ms=5000)
    assert _hot(pages, type="section_view", section_key="p3", duration_ms=100)
    chapter = _rule(
        event_type="section_view",
        file_key="network-map",
        section_key="pricing",
        pages=("p5", "p6"),
    )
    assert _hot(chapter, type="section_view", section_key="p6", duration_ms=100)
    assert not _hot(chapter, type="section_view", section_key="p4", duration_ms=9000)
