"""The pure scoring function: no database, only events, rules, thresholds and a clock."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms_app.reading import read_threshold_ms
from profiling.reading import GateReading, reads_of
from profiling.scoring_engine import (
    COLD,
    HOT,
    WARM,
    EventFact,
    RuleSpec,
    Thresholds,
    compute_score,
    decay_factor,
    grade_for,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
GATE = 7
SLUGS = {GATE: "network-vbook"}
COUNTS = {GATE: 6}
T = Thresholds(warm=30, hot=80)


def section(key: str, *, age: timedelta = timedelta(0), ms: int | None = 8000, gate=GATE):
    at = NOW - age
    return EventFact("section_view", gate, at, at, section_key=key, duration_ms=ms)


def download(key: str, *, age: timedelta = timedelta(0), gate=GATE):
    at = NOW - age
    return EventFact("download", gate, at, at, file_key=key)


def page(*, age: timedelta = timedelta(0), gate=GATE):
    at = NOW - age
    return EventFact("page_view", gate, at, at)


def score(events, rules, thresholds=T, now=NOW):
    return compute_score(events, rules, thresholds, now, SLUGS, COUNTS)


READ = RuleSpec(id=1, name="read", event_type="section_view", points=10)
DOWNLOAD = RuleSpec(id=2, name="map", event_type="download", points=25, file_key="network-map")


def test_no_events_is_cold_zero() -> None:
    result = score([], [READ, DOWNLOAD])
    assert (result.score, result.grade, result.reasons, result.last_counted_at) == (
        0,
        COLD,
        [],
        None,
    )


def test_points_add_up_across_rules() -> None:
    events = [section("a"), section("b"), download("network-map")]
    result = score(events, [READ, DOWNLOAD])
    assert result.score == 45
    assert result.grade == WARM


def test_same_section_read_twice_counts_once() -> None:
    once = score([section("a")], [READ])
    again = score([section("a"), section("a", age=timedelta(hours=1)), section("a")], [READ])
    assert once.score == again.score == 10


def test_same_file_downloaded_twice_counts_once_but_page_views_each_count() -> None:
    assert score([download("network-map")] * 3, [DOWNLOAD]).score == 25
    views = RuleSpec(id=3, name="views", event_type="page_view", points=2)
    assert score([page(), page(age=timedelta(minutes=1))], [views]).score == 4


def test_same_section_key_on_two_gates_counts_twice() -> None:
    events = [section("a"), section("a", gate=8)]
    assert score(events, [READ]).score == 20


def test_cap_per_rule() -> None:
    capped = RuleSpec(id=1, name="read", event_type="section_view", points=10, max_points=25)
    events = [section(k) for k in "abcdef"]
    assert score(events, [capped]).score == 25


def test_negative_points_are_capped_towards_zero() -> None:
    penalty = RuleSpec(id=5, name="bounce", event_type="page_view", points=-10, max_points=15)
    events = [page(age=timedelta(minutes=i)) for i in range(5)]
    assert score(events, [penalty]).score == -15
    # and combine with positive rules
    assert score([*events, download("network-map")], [penalty, DOWNLOAD]).score == 10


def test_min_dwell_excludes_short_and_unknown_durations() -> None:
    dwell = RuleSpec(id=1, name="read", event_type="section_view", points=10, min_duration_ms=6000)
    events = [section("a", ms=5999), section("b", ms=None), section("c", ms=6000)]
    result = score(events, [dwell])
    assert result.score == 10
    assert "read 1 of 6 sections" not in result.reasons[0]  # singular
    assert "read 1 of 6 section of network-vbook" in result.reasons[0]


def test_short_read_does_not_hide_a_long_read_of_the_same_section() -> None:
    dwell = RuleSpec(id=1, name="read", event_type="section_view", points=10, min_duration_ms=5000)
    events = [section("a", ms=100), section("a", ms=9000, age=timedelta(days=1))]
    assert score(events, [dwell]).score == 10


def test_makes_hot_whatever_the_score() -> None:
    trigger = RuleSpec(id=9, name="pricing", event_type="download", points=1, makes_hot=True)
    result = score([download("pricing")], [trigger])
    assert result.score == 1
    assert result.grade == HOT
    assert "(makes hot)" in result.reasons[0]


def test_makes_hot_rule_that_does_not_match_changes_nothing() -> None:
    trigger = RuleSpec(
        id=9, name="pricing", event_type="download", points=1, makes_hot=True, file_key="pricing"
    )
    result = score([download("network-map")], [trigger])
    assert result.grade == COLD


def test_decay_halves_points_after_one_half_life() -> None:
    thresholds = Thresholds(warm=30, hot=80, half_life_days=7)
    rule = RuleSpec(id=1, name="read", event_type="section_view", points=40)
    fresh = score([section("a")], [rule], thresholds)
    old = score([section("a", age=timedelta(days=7))], [rule], thresholds)
    older = score([section("a", age=timedelta(days=14))], [rule], thresholds)
    assert (fresh.score, old.score, older.score) == (40, 20, 10)


def test_no_decay_without_half_life_and_none_for_future_events() -> None:
    assert decay_factor(10 * 86400, 0) == 1.0
    assert decay_factor(-5, 7) == 1.0
    assert decay_factor(7 * 86400, 7) == pytest.approx(0.5)


def test_distinct_events_keep_the_newest_occurrence_for_decay() -> None:
    thresholds = Thresholds(warm=30, hot=80, half_life_days=7)
    rule = RuleSpec(id=1, name="read", event_type="section_view", points=40)
    events = [section("a", age=timedelta(days=14)), section("a", age=timedelta(0))]
    assert score(events, [rule], thresholds).score == 40
    assert score(list(reversed(events)), [rule], thresholds).score == 40


def test_reasons_say_what_the_person_did() -> None:
    events = [section(k) for k in ("a", "b", "c", "d")] + [download("network-map")]
    result = score(events, [READ, DOWNLOAD])
    assert any(r.startswith("read 4 of 6 sections of network-vbook") for r in result.reasons)
    assert any(r.startswith("downloaded network-map") for r in result.reasons)
    # biggest contribution first, rule name and points shown
    assert result.reasons[0].endswith("[read: +40]")
    assert result.reasons[1] == "downloaded network-map [map: +25]"


def test_reason_for_a_deleted_gate_and_dwell_time() -> None:
    events = [section("a", gate=None, ms=90_000)]
    result = score(events, [READ])
    assert result.reasons == ["read 1 section of a deleted gate, 1 min 30 s [read: +10]"]


def test_hot_trigger_reason_comes_first() -> None:
    trigger = RuleSpec(id=9, name="pricing", event_type="download", points=1, makes_hot=True)
    events = [section(k) for k in "abcdef"] + [download("price")]
    result = score(events, [READ, trigger])
    assert "(makes hot)" in result.reasons[0]


def test_rule_filters_by_gate_section_file_and_name() -> None:
    events = [section("a"), section("b", gate=8), download("other")]
    gate_rule = RuleSpec(id=1, name="g", event_type="section_view", points=10, gate_id=GATE)
    section_rule = RuleSpec(id=2, name="s", event_type="section_view", points=5, section_key="b")
    assert score(events, [gate_rule]).score == 10
    assert score(events, [section_rule]).score == 5
    assert score(events, [DOWNLOAD]).score == 0
    track = EventFact("track", None, NOW, NOW, name="Demo Requested")
    named = RuleSpec(id=3, name="t", event_type="track", points=50, event_name="Demo Requested")
    other = RuleSpec(id=4, name="t2", event_type="track", points=50, event_name="Else")
    assert score([track], [named]).score == 50
    assert score([track], [other]).score == 0


def test_grade_thresholds_are_inclusive() -> None:
    assert grade_for(29, False, T) == COLD
    assert grade_for(30, False, T) == WARM
    assert grade_for(79, False, T) == WARM
    assert grade_for(80, False, T) == HOT
    assert grade_for(-5, True, T) == HOT


def test_last_counted_at_is_the_newest_received_event_that_counted() -> None:
    older = section("a", age=timedelta(hours=2))
    newer = section("b", age=timedelta(hours=1))
    ignored = page()  # no rule for page views
    result = score([older, newer, ignored], [READ])
    assert result.last_counted_at == newer.received_at


def test_same_input_same_output_and_input_iterables_accepted() -> None:
    events = [section("a"), download("network-map")]
    assert score(iter(events), iter([READ, DOWNLOAD])) == score(events, [READ, DOWNLOAD])


# --- properties -------------------------------------------------------------------------

_keys = st.sampled_from(["a", "b", "c", "d", "e", "f"])
_facts = st.lists(
    st.one_of(
        st.builds(
            lambda k, h, ms: section(k, age=timedelta(hours=h), ms=ms),
            _keys,
            st.integers(0, 24 * 30),
            st.one_of(st.none(), st.integers(0, 60_000)),
        ),
        st.builds(
            lambda k, h: download(k, age=timedelta(hours=h)),
            st.sampled_from(["network-map", "pricing"]),
            st.integers(0, 24 * 30),
        ),
        st.builds(lambda h: page(age=timedelta(hours=h)), st.integers(0, 24 * 30)),
    ),
    max_size=30,
)
_rules = [
    RuleSpec(id=1, name="read", event_type="section_view", points=10, max_points=45),
    RuleSpec(id=2, name="dwell", event_type="section_view", points=3, min_duration_ms=5000),
    RuleSpec(id=3, name="map", event_type="download", points=25, file_key="network-map"),
    RuleSpec(id=4, name="views", event_type="page_view", points=-2, max_points=10),
    RuleSpec(id=5, name="pricing", event_type="download", points=5, file_key="pricing"),
]


@settings(max_examples=150, deadline=None)
@given(_facts, st.randoms(use_true_random=False), st.sampled_from([0, 3, 30]))
def test_order_does_not_matter(events, rnd: random.Random, half_life: int) -> None:
    thresholds = Thresholds(warm=30, hot=80, half_life_days=half_life)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    a = score(events, _rules, thresholds)
    b = score(shuffled, _rules, thresholds)
    assert (a.score, a.grade, a.reasons) == (b.score, b.grade, b.reasons)


@settings(max_examples=150, deadline=None)
@given(_facts)
def test_repeating_distinct_events_never_changes_the_score(events) -> None:
    # A re-download counts once; so does a re-read of a section that was read already
    # (its time adds up, but the section counts once and the rules here have no minimum
    # above the gate's read threshold).
    rules = [r for r in _rules if (r.min_duration_ms or 0) <= 5000]
    reads = {e.section_key: 0 for e in events if e.type == "section_view"}
    for e in events:
        if e.type == "section_view":
            reads[e.section_key] += e.duration_ms or 0
    again = [
        e
        for e in events
        if e.type == "download" or (e.type == "section_view" and reads[e.section_key] >= 5000)
    ]
    assert score(events + again, rules).score == score(events, rules).score


@settings(max_examples=150, deadline=None)
@given(_facts)
def test_the_same_report_handed_in_twice_counts_once(events) -> None:
    with_ids = [replace(e, id=f"event-{i}") for i, e in enumerate(events)]
    assert score(with_ids + with_ids[::2], _rules) == score(with_ids, _rules)


@settings(max_examples=100, deadline=None)
@given(_facts)
def test_capped_rules_stay_within_their_caps(events) -> None:
    capped = [RuleSpec(id=1, name="read", event_type="section_view", points=10, max_points=45)]
    assert 0 <= score(events, capped).score <= 45
    negative = [RuleSpec(id=4, name="views", event_type="page_view", points=-2, max_points=10)]
    assert -10 <= score(events, negative).score <= 0


# --- profile rules, rounding, reason texts ----------------------------------------------

from profiling.scoring_engine import (  # noqa: E402
    NANO,
    ProfileFact,
    age_seconds,
    decayed_nanos,
    dwell_text,
    round_half_up,
)


def test_profile_rules_score_the_passive_profile() -> None:
    burner = RuleSpec(
        id=1, name="burner", event_type="profile", points=-20, profile_condition="disposable_email"
    )
    company = RuleSpec(
        id=2, name="company", event_type="profile", points=10, profile_condition="company_domain"
    )
    p = ProfileFact(is_disposable_email=True)
    result = compute_score([section("a")], [READ, burner, company], T, NOW, SLUGS, COUNTS, p)
    assert result.score == -10
    assert result.reasons[0] == "uses a disposable email address [burner: -20]"
    acme = ProfileFact(company_domain="acme.example")
    result = compute_score([], [burner, company], T, NOW, profile=acme)
    assert (result.score, result.reasons) == (10, ["company domain acme.example [company: +10]"])
    # a profile fact has no age: no decay, and it sets no trigger time
    decaying = Thresholds(warm=30, hot=80, half_life_days=1)
    result = compute_score([], [company], decaying, NOW, profile=acme)
    assert (result.score, result.last_counted_at) == (10, None)


def test_scores_round_half_away_from_zero() -> None:
    assert [round_half_up(n) for n in (NANO // 2, -NANO // 2, NANO // 2 - 1, 3 * NANO)] == [
        1,
        -1,
        0,
        3,
    ]
    thresholds = Thresholds(warm=30, hot=80, half_life_days=7)
    one = RuleSpec(id=1, name="one", event_type="page_view", points=1)
    half = score([page(age=timedelta(days=7))], [one], thresholds)
    assert half.score == 1  # 0.5 rounds up
    assert half.reasons == ["viewed 1 page [one: +1]"]
    minus = RuleSpec(id=2, name="minus", event_type="page_view", points=-1)
    assert score([page(age=timedelta(days=7))], [minus], thresholds).score == -1


def test_ages_and_decay_are_counted_in_billionths() -> None:
    assert age_seconds(NOW, NOW + timedelta(seconds=5)) == 0.0
    assert age_seconds(NOW, NOW - timedelta(days=2, microseconds=500)) == 2 * 86400 + 0.0005
    assert decayed_nanos(10, 7 * 86400.0, 7) == 5 * NANO
    assert decayed_nanos(10, 0.0, 0) == 10 * NANO


def test_dwell_text_and_reread_dwell() -> None:
    times = (999, 59_999, 60_000, 89_999, 190_000, 3_599_999, 3_600_000, 3_959_000)
    assert [dwell_text(ms) for ms in times] == [
        "0 s",
        "59 s",
        "1 min",
        "1 min 29 s",
        "3 min 10 s",
        "59 min 59 s",
        "1 h",
        "1 h 5 min",
    ]
    # a re-read adds no points but its time counts in the dwell shown
    result = score([section("a", ms=40_000), section("a", ms=40_000)], [READ])
    assert result.reasons == ["read 1 of 6 section of network-vbook, 1 min 20 s [read: +10]"]


# --- reading: active time reported in parts -----------------------------------------------


def test_heartbeats_of_one_section_add_up_to_real_time() -> None:
    # 40 s of reading over six sections, reported as heartbeats: real time, not 6 x 5 s.
    events = [section(k, ms=ms) for k in "abcdef" for ms in (4000, 2000, 700)]
    events += [section("a", ms=1300)]
    result = score(events, [READ])
    assert result.score == 60
    assert result.reasons == ["read 6 of 6 sections of network-vbook, 41 s [read: +60]"]


def test_a_section_counts_once_its_summed_time_reaches_the_threshold() -> None:
    # 3 + 1.5 s: below the gate's 5 s minimum; one more heartbeat and it is read.
    parts = [section("a", ms=3000), section("a", ms=1500)]
    assert score(parts, [READ]).score == 0
    assert score([*parts, section("a", ms=500)], [READ]).score == 10
    # A rule's own minimum is compared with the sum, too.
    long_read = RuleSpec(
        id=3, name="long", event_type="section_view", points=7, min_duration_ms=8000
    )
    assert score([*parts, section("a", ms=3000)], [long_read]).score == 0
    assert score([*parts, section("a", ms=3500)], [long_read]).score == 7


def test_a_long_section_needs_a_share_of_its_reading_time() -> None:
    # 1150 words at 230 a minute: 5 min to read, a quarter of it is 75 s.
    reading = {GATE: GateReading(min_dwell_ms=5000, section_words={"long": 1150, "short": 10})}

    def scored(events):
        return compute_score(events, [READ], T, NOW, SLUGS, COUNTS, gate_reading=reading)

    assert read_threshold_ms(min_dwell_ms=5000, words=1150) == 75_000
    assert read_threshold_ms(min_dwell_ms=5000, words=10) == 5000
    assert scored([section("long", ms=5000)]).score == 0  # skimmed
    assert scored([section("long", ms=40_000), section("long", ms=35_000)]).score == 10
    assert scored([section("short", ms=5000)]).score == 10


def test_pdf_pages_are_read_like_sections_with_the_gate_minimum() -> None:
    reading = {GATE: GateReading(min_dwell_ms=4000, section_words={"p1": 5000})}

    def page_view(n: int, ms: int) -> EventFact:
        return EventFact(
            "section_view", GATE, NOW, NOW, section_key=f"p{n}", file_key="map", duration_ms=ms
        )

    events = [page_view(1, 4000), page_view(2, 3000), page_view(2, 1000), page_view(3, 3999)]
    events += [section("a", ms=6000)]
    result = compute_score(events, [READ], T, NOW, SLUGS, COUNTS, gate_reading=reading)
    # A rule on sections counts section a only, never the PDF's pages.
    assert result.score == 10
    assert result.reasons == ["read 1 of 6 section of network-vbook, 6 s [read: +10]"]
    # Pages 1 and 2 (the words of a section keyed "p1" do not apply to a page; page 2 in
    # two heartbeats); page 3 is short of the gate minimum.
    only_pages = RuleSpec(id=5, name="map", event_type="section_view", points=2, file_key="map")
    assert compute_score(
        events, [only_pages], T, NOW, SLUGS, COUNTS, gate_reading=reading
    ).reasons == ["read 2 pages of map, 8 s [map: +4]"]
    # A chapter counts once when one of its pages is read on its own sum: 3999 ms on page
    # 3 and 4000 ms on a page 4 that is not the chapter's do not add up into it.
    chapter = RuleSpec(
        id=6,
        name="end",
        event_type="section_view",
        points=9,
        file_key="map",
        section_key="end",
        pages=("p3",),
    )
    assert compute_score(events, [chapter], T, NOW, SLUGS, COUNTS, gate_reading=reading).score == 0
    more = [*events, page_view(3, 1), page_view(1, 500)]
    result = compute_score(more, [chapter], T, NOW, SLUGS, COUNTS, gate_reading=reading)
    assert result.reasons == ["read chapter end of map, 4 s [end: +9]"]
    both = replace(chapter, pages=("p1", "p2", "p3"))
    result = compute_score(more, [both], T, NOW, SLUGS, COUNTS, gate_reading=reading)
    assert result.reasons == ["read chapter end of map, 12 s [end: +9]"]


def test_reads_of_sums_per_gate_file_and_section() -> None:
    events = [
        replace(section("a", ms=2000), id="1"),
        replace(section("a", ms=2000), id="1"),  # the same report again
        replace(section("a", ms=3000), id="2"),
        replace(section("a", ms=1000, gate=8), id="3"),
    ]
    reads = {(r.gate_id, r.section_key): (r.active_ms, r.read) for r in reads_of(events)}
    assert reads == {(GATE, "a"): (5000, True), (8, "a"): (1000, False)}


def test_a_report_without_a_duration_counts_its_section_as_read() -> None:
    # An API client that does not measure time (duration_ms is optional in the contract)
    # says the section was read; a rule with its own minimum still needs the time.
    assert score([section("a", ms=None)], [READ]).score == 10
    assert score([section("a", ms=None), section("a", ms=100)], [READ]).score == 10
    dwell = RuleSpec(id=1, name="read", event_type="section_view", points=10, min_duration_ms=1)
    assert score([section("a", ms=None)], [dwell]).score == 0
