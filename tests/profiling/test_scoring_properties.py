"""Properties of scoring, checked on generated data (Hypothesis).

- the set-based SQL rescore computes exactly what the pure Python engine computes
  (score, grade, reasons, the triggering time), on generated leads, events and rules:
  sections and PDF pages, each read stored as one or several heartbeats, rules on
  sections, on a file's pages, on one page and on a chapter of pages;
- the what-if (a draft rule set against the active one: rules kept, dropped, changed,
  doubled, added; the same or other thresholds and half-life) gives the engine's
  answer, in both its forms (the shared rules scored once, or each side in full);
- the incremental path (`lead_score`) and the full rescore agree: after a full rescore,
  scoring any lead again changes nothing, and vice versa;
- order independence, idempotence under duplicates (the same report twice), split
  reports (a section's or a page's active time in any number of heartbeats, in any
  order), caps, decay monotone
  in time (the engine alone, without a database, so many examples are cheap).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms_app.models import Gate
from profiling.models import Event, GradeChange, Lead
from profiling.reading import GateReading
from profiling.scoring_engine import (
    EventFact,
    ProfileFact,
    RuleSpec,
    Thresholds,
    compute_score,
)
from profiling.services.rescore import leads_rescore_sql
from profiling.services.scoring import lead_score_compute
from profiling.services.scoring_sql import leads_score_sql
from profiling.services.whatif import (
    Comparison,
    _what_if_python,
    _what_if_separate,
    _what_if_shared,
    _what_if_sql,
)
from tests.support.factories import make_gate, make_lead, make_visitor

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SECTIONS = ["a", "b", "c"]
# Words per section: thresholds at the gate's minimum, ~26 s and ~130 s of reading.
SECTION_BODIES = {"a": "", "b": "word " * 400, "c": "word " * 2000}
FILES = ["network-map", "pricing", "Zeta"]
PAGES = ["p1", "p2", "p3"]  # a PDF's pages: section_view with the file's key
TRACK_NAMES = ["Demo Requested", "Ébauche"]
# Rule names with upper case, accents and punctuation: reasons sort by code point on both
# sides (Python str order, PostgreSQL COLLATE "C").
NAMES = st.text(alphabet="aZé_ -:", min_size=1, max_size=6)

# --- strategies ---------------------------------------------------------------------------

_offset = st.one_of(
    st.integers(-3600, 400 * 86400),  # seconds before NOW (negative: clock-skewed future)
    st.sampled_from([0, 7 * 86400, 86400, 3 * 86400]),  # exact half-lives: x.5 terms
)


@st.composite
def event_specs(draw: st.DrawFn, reading_only: bool = False) -> dict:
    etype = draw(
        st.just("section_view")
        if reading_only
        else st.sampled_from(["section_view", "download", "page_view", "form_view", "track"])
    )
    spec: dict = {
        "type": etype,
        "gate": draw(st.sampled_from([0, 1, None])),
        "age": draw(_offset),
        "recv_lag": draw(st.integers(0, 5000)),
        "duration_ms": draw(st.one_of(st.none(), st.integers(0, 200_000))),
        "section_key": "",
        "file_key": "",
        "name": "",
    }
    if etype == "section_view":
        if draw(st.booleans()):
            spec["section_key"] = draw(st.sampled_from(SECTIONS))
        else:  # a page of a PDF read inline: a section of its file
            spec["section_key"] = draw(st.sampled_from(PAGES))
            # Reading alone: one file, so that its pages meet often.
            spec["file_key"] = draw(st.sampled_from(FILES[: 1 if reading_only else 2]))
        # Stored as this many heartbeats (the SQL test): the time split between them.
        spec["heartbeats"] = draw(st.integers(1, 3))
    elif etype == "download":
        spec["file_key"] = draw(st.sampled_from(FILES))
    elif etype == "track":
        spec["name"] = draw(st.sampled_from(TRACK_NAMES))
    return spec


@st.composite
def rule_specs(draw: st.DrawFn, rule_id: int, reading_only: bool = False) -> dict:
    etype = draw(
        st.just("section_view")
        if reading_only
        else st.sampled_from(
            ["section_view", "download", "page_view", "form_view", "track", "profile"]
        )
    )
    spec: dict = {
        "id": rule_id,
        "name": draw(NAMES),
        "event_type": etype,
        "points": draw(st.integers(-30, 60)),
        "gate": draw(st.sampled_from([None, None, 0, 1])) if etype != "profile" else None,
        "section_key": "",
        "file_key": "",
        "event_name": "",
        "max_points": draw(st.one_of(st.none(), st.integers(0, 80))),
        "min_duration_ms": (
            draw(st.one_of(st.none(), st.integers(0, 90_000))) if etype != "profile" else None
        ),
        "makes_hot": draw(st.booleans()),
        "profile_condition": "",
    }
    if etype == "section_view":
        spec["section_key"] = draw(st.sampled_from(["", "", *SECTIONS, "p1"]))
        # Pages of a file read inline: all of them, one, or a chapter of its outline.
        if draw(st.integers(0, 1 if reading_only else 2)) == 0:
            spec["file_key"] = draw(st.sampled_from(FILES[: 1 if reading_only else 2]))
            spec["section_key"] = draw(st.sampled_from(["", "", "p1"]))
            if draw(st.booleans()):
                spec["section_key"] = "pricing"
                spec["pages"] = draw(st.sampled_from([("p1", "p2"), ("p1", "p2", "p3"), ("p3",)]))
    elif etype == "download":
        spec["file_key"] = draw(st.sampled_from(["", *FILES]))
    elif etype == "track":
        spec["event_name"] = draw(st.sampled_from(["", *TRACK_NAMES]))
    elif etype == "profile":
        spec["profile_condition"] = draw(st.sampled_from(["disposable_email", "company_domain"]))
    return spec


@st.composite
def scenarios(draw: st.DrawFn, reading_only: bool = False) -> dict:
    n_rules = draw(st.integers(0, 5))
    warm = draw(st.integers(1, 60))
    return {
        "leads": draw(
            st.lists(
                st.tuples(
                    st.booleans(),  # disposable email
                    st.sampled_from(["", "example-fibre.com"]),  # company domain
                    st.lists(event_specs(reading_only), max_size=12),
                ),
                min_size=1,
                max_size=4,
            )
        ),
        "rules": [draw(rule_specs(i + 1, reading_only)) for i in range(n_rules)],
        "half_life": draw(st.sampled_from([0, 1, 3, 7, 30])),
        "min_dwell": draw(st.sampled_from([0, 5000, 30000])),
        "warm": warm,
        "hot": warm + draw(st.integers(1, 60)),
    }


# --- SQL == Python ------------------------------------------------------------------------


def _heartbeats(spec: dict) -> list[tuple[int | None, int]]:
    """A report as its heartbeats: (duration, seconds earlier), the time split between
    them and the newest at the report's time (a section's reads then start earlier)."""
    n = spec.get("heartbeats", 1)
    duration = spec["duration_ms"]
    if duration is None or n == 1:
        return [(duration, 0)]
    part = duration // n
    return [(duration - part * (n - 1) if i == 0 else part, 10 * i) for i in range(n)]


def _rule(r: dict, gates: list[Gate]) -> RuleSpec:
    return RuleSpec(
        id=r["id"],
        name=r["name"],
        event_type=r["event_type"],
        points=r["points"],
        gate_id=None if r["gate"] is None else gates[r["gate"]].id,
        section_key=r["section_key"],
        file_key=r["file_key"],
        event_name=r["event_name"],
        max_points=r["max_points"],
        min_duration_ms=r["min_duration_ms"],
        makes_hot=r["makes_hot"],
        profile_condition=r["profile_condition"],
        pages=tuple(r.get("pages", ())),
    )


def _materialise(scenario: dict) -> tuple[list[Lead], list[RuleSpec], Thresholds]:
    gates: list[Gate] = [
        make_gate(sections=SECTIONS, files=FILES, min_dwell_ms=scenario["min_dwell"] * i)
        for i in range(2)
    ]
    for gate in gates:
        for section in gate.sections.all():
            section.body = SECTION_BODIES[section.key]
            section.save()
    # A third gate with no sections, and a deleted gate's events (gate NULL) via None.
    rules = [_rule(r, gates) for r in scenario["rules"]]
    leads = []
    for disposable, domain, events in scenario["leads"]:
        lead = make_lead(is_disposable_email=disposable, company_domain=domain)
        visitor = make_visitor(lead=lead)
        Event.objects.bulk_create(
            [
                Event(
                    id=uuid.uuid4(),
                    visitor=visitor,
                    lead=lead,
                    type=e["type"],
                    gate=None if e["gate"] is None else gates[e["gate"]],
                    section_key=e["section_key"],
                    file_key=e["file_key"],
                    name=e["name"],
                    duration_ms=duration_ms,
                    # microseconds too: ages are not whole seconds in real life
                    occurred_at=NOW
                    - timedelta(seconds=e["age"] + earlier_s, microseconds=e["recv_lag"]),
                    received_at=NOW
                    - timedelta(seconds=e["age"] + earlier_s)
                    + timedelta(milliseconds=e["recv_lag"]),
                )
                for e in events
                for duration_ms, earlier_s in _heartbeats(e)
            ]
        )
        leads.append(lead)
    thresholds = Thresholds(
        warm=scenario["warm"], hot=scenario["hot"], half_life_days=scenario["half_life"]
    )
    return leads, rules, thresholds


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_sql_rescore_equals_the_python_engine(scenario: dict) -> None:
    with transaction.atomic():
        leads, rules, thresholds = _materialise(scenario)
        by_sql = leads_score_sql(rules=rules, thresholds=thresholds, now=NOW)
        for lead in leads:
            py = lead_score_compute(lead.id, rules=rules, thresholds=thresholds, now=NOW)
            sql = by_sql[lead.id]
            assert (sql.score, sql.grade, sql.reasons, sql.last_counted_at) == (
                py.score,
                py.grade,
                py.reasons,
                py.last_counted_at,
            )
        transaction.set_rollback(True)


@st.composite
def what_if_scenarios(draw: st.DrawFn) -> dict:
    """A scenario, and a draft made of its rules: each kept, dropped, changed or taken
    twice, a few new ones, and thresholds the same, other grades or another half-life."""
    scenario = draw(scenarios())
    draft: list[dict] = []
    for rule in scenario["rules"]:
        action = draw(st.sampled_from(["keep", "keep", "drop", "change", "twice"]))
        if action == "keep":
            draft.append(rule)
        elif action == "change":
            # Far enough from the old points to move grades often.
            points = rule["points"] + draw(st.sampled_from([-40, -15, 15, 40]))
            draft.append({**rule, "points": points, "makes_hot": draw(st.booleans())})
        elif action == "twice":
            draft += [rule, rule]
    draft += [draw(rule_specs(0)) for _ in range(draw(st.integers(0, 2)))]
    # Draft rules are numbered by their position, as the API numbers them.
    scenario["draft"] = [{**r, "id": i + 1} for i, r in enumerate(draft)]
    scenario["draft_thresholds"] = draw(st.sampled_from(["same", "grades", "half_life"]))
    return scenario


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(what_if_scenarios())
def test_sql_what_if_equals_the_python_engine(scenario: dict) -> None:
    """The what-if that scores the rules both sides share once (same half-life) and the
    one that scores both sides in full (another half-life) give the engine's answer."""
    with transaction.atomic():
        _, rules, current = _materialise(scenario)
        gates = list(Gate.objects.order_by("id"))
        draft = [_rule(r, gates) for r in scenario["draft"]]
        thresholds = {
            "same": current,
            "grades": replace(current, warm=current.warm + 7, hot=current.hot + 3),
            "half_life": replace(current, half_life_days=current.half_life_days + 2),
        }[scenario["draft_thresholds"]]
        comparison = Comparison(draft, thresholds, rules, current, NOW, 100)
        py = _what_if_python(comparison)
        assert _what_if_sql(comparison) == py
        assert _what_if_separate(comparison) == py
        if thresholds.half_life_days == current.half_life_days:
            assert _what_if_shared(comparison) == py
        transaction.set_rollback(True)


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios(reading_only=True))
def test_sql_rescore_equals_the_python_engine_on_reading(scenario: dict) -> None:
    # Reading alone, so that the rare cases come up often: a section's or a page's
    # heartbeats adding up to its threshold, a chapter read through one or several pages,
    # rules on one page, on a file's pages, on sections beside pages.
    test_sql_rescore_equals_the_python_engine.hypothesis.inner_test(scenario)


@pytest.mark.django_db
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios(), st.integers(1, 3), st.integers(1, 4))
def test_incremental_scoring_equals_the_full_rescore(
    scenario: dict, chunk_size: int, slice_size: int
) -> None:
    # Slices of a few leads: the scoring statements then cover a session's leads in
    # several parts.
    with transaction.atomic():
        leads, rules, thresholds = _materialise(scenario)
        result = leads_rescore_sql(
            rules=rules,
            thresholds=thresholds,
            now=NOW,
            chunk_size=chunk_size,
            slice_size=slice_size,
        )
        assert result.leads == len(leads)
        for lead in leads:
            lead.refresh_from_db()
            py = lead_score_compute(lead.id, rules=rules, thresholds=thresholds, now=NOW)
            assert (lead.score, lead.grade, lead.reasons) == (py.score, py.grade, py.reasons)
            changes = GradeChange.objects.filter(lead=lead)
            assert changes.count() == (0 if py.grade == "cold" else 1)
        # a second full rescore finds nothing to change
        again = leads_rescore_sql(rules=rules, thresholds=thresholds, now=NOW, chunk_size=2)
        assert (again.updated, again.grade_changes) == (0, 0)
        transaction.set_rollback(True)


# --- the engine alone -------------------------------------------------------------------

GATE = 7


def _fact(spec: dict, number: int = 0) -> EventFact:
    at = NOW - timedelta(seconds=spec["age"])
    return EventFact(
        spec["type"],
        None if spec["gate"] is None else GATE + spec["gate"],
        at,
        at,
        section_key=spec["section_key"],
        file_key=spec["file_key"],
        name=spec["name"],
        duration_ms=spec["duration_ms"],
        id=f"event-{number}",
    )


def _engine_rules(specs: list[dict]) -> list[RuleSpec]:
    return [
        RuleSpec(
            id=r["id"],
            name=r["name"],
            event_type=r["event_type"],
            points=r["points"],
            gate_id=None if r["gate"] is None else GATE + r["gate"],
            section_key=r["section_key"],
            file_key=r["file_key"],
            event_name=r["event_name"],
            max_points=r["max_points"],
            min_duration_ms=r["min_duration_ms"],
            makes_hot=r["makes_hot"],
            profile_condition=r["profile_condition"],
            pages=tuple(r.get("pages", ())),
        )
        for r in specs
    ]


_facts = st.lists(event_specs(), max_size=25).map(
    lambda specs: [_fact(s, i) for i, s in enumerate(specs)]
)
_rule_lists = (
    st.integers(0, 5)
    .flatmap(lambda n: st.tuples(*[rule_specs(i + 1) for i in range(n)]).map(list))
    .map(_engine_rules)
)
_profiles = st.builds(ProfileFact, st.booleans(), st.sampled_from(["", "acme.example"]))
_half_lives = st.sampled_from([0, 1, 3, 30])


# Gate 7's sections have words (their thresholds differ), gate 8 has only its minimum.
_READING = {
    GATE: GateReading(min_dwell_ms=5000, section_words={"b": 400, "c": 2000}),
    GATE + 1: GateReading(min_dwell_ms=20_000),
}


def _score(events, rules, half_life=0, now=NOW, profile=None):
    t = Thresholds(warm=30, hot=80, half_life_days=half_life)
    return compute_score(
        events,
        rules,
        t,
        now,
        {GATE: "g7", GATE + 1: "g8"},
        {GATE: 3},
        profile,
        gate_reading=_READING,
    )


@settings(max_examples=150, deadline=None)
@given(_facts, _rule_lists, _profiles, _half_lives, st.randoms(use_true_random=False))
def test_order_independence(events, rules, profile, half_life, rnd: random.Random) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert _score(events, rules, half_life, profile=profile) == _score(
        shuffled, list(rules), half_life, profile=profile
    )


@settings(max_examples=150, deadline=None)
@given(_facts, _rule_lists, _half_lives, st.randoms(use_true_random=False))
def test_the_same_report_twice_changes_nothing(events, rules, half_life, rnd) -> None:
    # The same event delivered again (same id) counts once: heartbeats retried included.
    doubled = events + [rnd.choice(events) for _ in events]
    rnd.shuffle(doubled)
    assert _score(events, rules, half_life) == _score(doubled, rules, half_life)


@settings(max_examples=150, deadline=None)
@given(_facts, _rule_lists, _half_lives, st.randoms(use_true_random=False))
def test_redownloads_change_nothing(events, rules, half_life, rnd) -> None:
    # Downloading a file again (a new id) counts once.
    downloads = [e for e in events if e.type == "download"]
    again = [replace(rnd.choice(downloads), id=f"again-{i}") for i in range(len(downloads))]
    a, b = _score(events, rules, half_life), _score(events + again, rules, half_life)
    assert (a.score, a.grade) == (b.score, b.grade)


@st.composite
def _split_reports(draw: st.DrawFn) -> tuple[list[EventFact], list[EventFact]]:
    """Events, and the same events with each section view's time split into several
    heartbeats (new ids, none newer than the original report, the newest at its time)."""
    events = draw(_facts)
    split: list[EventFact] = []
    for e in events:
        if e.type != "section_view" or not e.duration_ms:
            split.append(e)
            continue
        parts = draw(st.integers(1, 4))
        cuts = sorted(
            draw(st.lists(st.integers(0, e.duration_ms), min_size=parts - 1, max_size=parts - 1))
        )
        bounds = [0, *cuts, e.duration_ms]
        for i in range(parts):
            earlier = timedelta(seconds=draw(st.integers(0, 600))) if i else timedelta(0)
            split.append(
                replace(
                    e,
                    id=f"{e.id}-{i}",
                    duration_ms=bounds[i + 1] - bounds[i],
                    occurred_at=e.occurred_at - earlier,
                    received_at=e.received_at - earlier,
                )
            )
    return events, split


@settings(max_examples=200, deadline=None)
@given(_split_reports(), _rule_lists, _profiles, _half_lives, st.randoms(use_true_random=False))
def test_split_reports_change_nothing(pair, rules, profile, half_life, rnd) -> None:
    # 40 s of reading reported once or as 10 + 15 + 15 s: the same score, grade, reasons
    # and triggering time, in any order.
    events, split = pair
    rnd.shuffle(split)
    assert _score(events, rules, half_life, profile=profile) == _score(
        split, rules, half_life, profile=profile
    )


@settings(max_examples=150, deadline=None)
@given(_facts, _rule_lists, _profiles, _half_lives)
def test_caps_are_never_exceeded(events, rules, profile, half_life) -> None:
    # Each rule on its own: its contribution lies within [-|cap|, |cap|].
    for rule in rules:
        if rule.max_points is None:
            continue
        result = _score(events, [rule], half_life, profile=profile)
        assert abs(result.score) <= abs(rule.max_points)
    total_cap = sum(abs(r.max_points) for r in rules if r.max_points is not None)
    if rules and all(r.max_points is not None for r in rules):
        assert abs(_score(events, rules, half_life, profile=profile).score) <= total_cap


@settings(max_examples=150, deadline=None)
@given(_facts, _rule_lists, st.sampled_from([1, 3, 30]), st.integers(0, 90 * 86400))
def test_decay_is_monotone_in_time(events, rules, half_life, later_s) -> None:
    # Without negative rules a quiet lead only cools down: its score never rises with time.
    positive = [r for r in rules if r.points >= 0]
    then = _score(events, positive, half_life)
    later = _score(events, positive, half_life, now=NOW + timedelta(seconds=later_s))
    assert later.score <= then.score
    # and each rule's contribution shrinks in size, penalties included
    for rule in rules:
        a = _score(events, [rule], half_life)
        b = _score(events, [rule], half_life, now=NOW + timedelta(seconds=later_s))
        assert abs(b.score) <= abs(a.score)
