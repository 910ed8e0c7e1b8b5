"""What-if: a draft rule set's effect on grades, changing nothing (API and admin action)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from profiling.models import Delivery, GradeChange, Lead, ScoringRule, ScoringSettings
from profiling.scoring_engine import RuleSpec, Thresholds
from profiling.services.scoring import lead_score, rules_load, thresholds_load
from profiling.services.whatif import Comparison, _what_if_python, scoring_what_if
from tests.support.factories import (
    make_event,
    make_gate,
    make_lead,
    make_marketer,
    make_rule,
    make_visitor,
    set_thresholds,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/scoring-rules/what-if"


@pytest.fixture
def world() -> dict[str, Any]:
    """Readers of 1..6 sections, scored with "10 points per section"."""
    set_thresholds(warm=30, hot=80)
    gate = make_gate(sections=6, files=("network-map",))
    make_rule(gate=gate, points=10, name="read")
    leads = []
    for n in range(1, 7):
        lead = make_lead(name=f"Reader {n}")
        visitor = make_visitor(lead=lead)
        for i in range(n):
            make_event(visitor=visitor, gate=gate, section_key=f"section-{i + 1}", duration_ms=9000)
        lead_score(lead_id=lead.id)
        leads.append(lead)
    return {"gate": gate, "leads": leads}


@pytest.fixture
def api() -> tuple[Client, dict[str, Any]]:
    marketer = make_marketer()
    return Client(raise_request_exception=False), {"HTTP_AUTHORIZATION": f"Token {marketer.token}"}


def _snapshot() -> tuple[Any, ...]:
    return (
        sorted(Lead.objects.values_list("id", "score", "grade", "reasons", "scored_at")),
        GradeChange.objects.count(),
        Delivery.objects.count(),
        sorted(ScoringRule.objects.values_list("id", "name", "points", "is_active")),
        list(ScoringSettings.objects.values_list("warm_threshold", "hot_threshold")),
    )


def _post(api: tuple[Client, dict[str, Any]], body: Any) -> Any:
    client, auth = api
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data, content_type="application/json", **auth)


def test_what_if_counts_the_grade_changes_and_shows_old_and_new_reasons(world, api) -> None:
    gate = world["gate"]
    before = _snapshot()
    draft = [{"name": "read more", "event_type": "section_view", "gate": gate.slug, "points": 20}]
    r = _post(api, {"rules": draft, "sample_size": 10})
    assert r.status_code == 200, r.content
    body = r.json()
    # 10/section: 1-2 cold, 3-6 warm; 20/section: 1 cold, 2-3 warm, 4-6 hot
    assert body["leads"] == 6
    assert body["transitions"] == {"cold->warm": 1, "warm->hot": 3}
    assert body["would_change"] == 4
    assert len(body["sample"]) == 4
    top = body["sample"][0]  # the biggest move first: the reader of 6 sections
    assert top["lead"]["name"] == "Reader 6"
    assert top["old"] == {
        "score": 60,
        "grade": "warm",
        "reasons": [f"read 6 of 6 sections of {gate.slug}, 54 s [read: +60]"],
    }
    assert top["new"] == {
        "score": 120,
        "grade": "hot",
        "reasons": [f"read 6 of 6 sections of {gate.slug}, 54 s [read more: +120]"],
    }
    assert _snapshot() == before  # nothing changed


def test_draft_thresholds_and_sample_size(world, api) -> None:
    gate = world["gate"]
    same_rules = [{"name": "read", "event_type": "section_view", "gate": gate.slug, "points": 10}]
    thresholds = {"warm_threshold": 20, "hot_threshold": 50, "half_life_days": 0}
    r = _post(api, {"rules": same_rules, "thresholds": thresholds, "sample_size": 1})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["transitions"] == {"cold->warm": 1, "warm->hot": 2}
    assert len(body["sample"]) == 1
    r = _post(api, {"rules": same_rules, "sample_size": 0})
    assert r.json()["would_change"] == 0
    assert r.json()["sample"] == []


def test_profile_rules_and_inactive_drafts(world, api) -> None:
    lead = world["leads"][0]
    Lead.objects.filter(pk=lead.id).update(is_disposable_email=True)
    draft = [
        {
            "name": "burner",
            "event_type": "profile",
            "profile_condition": "disposable_email",
            "points": -20,
        },
        {"name": "off", "event_type": "section_view", "points": 500, "is_active": False},
    ]
    body = _post(api, {"rules": draft}).json()
    # without the read rule everyone falls to cold; the inactive draft does not count
    assert body["transitions"] == {"warm->cold": 4}
    r = _post(api, {"rules": draft[:1]})
    assert r.status_code == 200


def test_an_empty_draft_is_allowed(world, api) -> None:
    body = _post(api, {"rules": []}).json()
    assert body["transitions"] == {"warm->cold": 4}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "rules"),
        ({"rules": "section_view"}, "rules"),
        ({"rules": [{"event_type": "section_view", "points": 1}]}, "rules.0.name"),
        ({"rules": [{"name": "x", "event_type": "hover", "points": 1}]}, "rules.0.event_type"),
        ({"rules": [{"name": "x", "event_type": "page_view", "points": "ten"}]}, "rules.0.points"),
        ({"rules": [{"name": "x", "event_type": "page_view", "points": 10**9}]}, "rules.0.points"),
        (
            {"rules": [{"name": "x", "event_type": "page_view", "points": 1, "gate": "nope"}]},
            "rules.0.gate",
        ),
        (
            {"rules": [{"name": "x", "event_type": "profile", "points": 1}]},
            "rules.0.profile_condition",
        ),
        (
            {
                "rules": [
                    {
                        "name": "x",
                        "event_type": "page_view",
                        "points": 1,
                        "profile_condition": "company_domain",
                    }
                ]
            },
            "rules.0.profile_condition",
        ),
        ({"rules": [], "sample_size": 101}, "sample_size"),
        ({"rules": [], "sample_size": -1}, "sample_size"),
        (
            {
                "rules": [],
                "thresholds": {"warm_threshold": 50, "hot_threshold": 50, "half_life_days": 0},
            },
            "thresholds.warm_threshold",
        ),
        ({"rules": [], "thresholds": {"warm_threshold": 5}}, "thresholds.hot_threshold"),
    ],
)
def test_malformed_drafts_are_refused_with_field_errors(world, api, body, field) -> None:
    before = _snapshot()
    r = _post(api, body)
    assert r.status_code == 400, r.content
    errors = r.json()["errors"]
    assert any(k == field or k.startswith(field + ".") for k in errors), errors
    assert _snapshot() == before


def test_oversized_and_non_json_bodies(world, api) -> None:
    rule = {"name": "x", "event_type": "page_view", "points": 1}
    r = _post(api, {"rules": [rule] * 201})
    assert r.status_code == 400
    assert r.json()["errors"] == {
        "rules.__all__": ["Ensure this field has no more than 200 elements."]
    }
    r = _post(api, "{not json")
    assert r.status_code == 400
    assert "errors" in r.json()
    r = _post(api, {"rules": [{**rule, "name": "n" * 201}]})
    assert r.status_code == 400
    assert "rules.0.name" in r.json()["errors"]


def test_hostile_names_are_data_not_sql(world, api) -> None:
    gate = world["gate"]
    name = '\'); DELETE FROM profiling_lead; -- ünïcode "quoted" %s %(now)s'
    draft = [{"name": name, "event_type": "section_view", "gate": gate.slug, "points": 30}]
    r = _post(api, {"rules": draft, "sample_size": 100})
    assert r.status_code == 200, r.content
    reasons = [x["new"]["reasons"][0] for x in r.json()["sample"]]
    assert reasons
    assert all(f"[{name}: +" in text for text in reasons)
    assert Lead.objects.count() == 6


def test_duplicate_draft_rules_each_count_and_repeating_a_request_gives_the_same_answer(
    world, api
) -> None:
    gate = world["gate"]
    rule = {"name": "read", "event_type": "section_view", "gate": gate.slug, "points": 10}
    first = _post(api, {"rules": [rule, rule]})
    second = _post(api, {"rules": [rule, rule]})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    # two identical rules are two rules: 20 points per section
    assert first.json()["transitions"] == {"cold->warm": 1, "warm->hot": 3}


def test_what_if_needs_a_marketer(world) -> None:
    r = Client().post(URL, json.dumps({"rules": []}), content_type="application/json")
    assert r.status_code in (401, 403)
    assert "errors" in r.json()


def test_sql_and_python_what_if_agree(world) -> None:
    from django.utils import timezone

    draft = [RuleSpec(id=1, name="read", event_type="section_view", points=25, max_points=100)]
    now = timezone.now()
    draft_t = Thresholds(warm=30, hot=70)
    sql = scoring_what_if(rules=draft, thresholds=draft_t, sample_size=100, now=now)
    py = _what_if_python(Comparison(draft, draft_t, rules_load(), thresholds_load(), now, 100))
    assert sql == py
    assert sql.would_change == 5


def test_admin_what_if_action_shows_the_preview_and_changes_nothing(world, client) -> None:
    from tests.support.factories import make_user

    admin_user = make_user(is_superuser=True)
    client.force_login(admin_user)
    gate = world["gate"]
    draft = make_rule(gate=gate, points=20, name="read double", is_active=False)
    before = _snapshot()
    r = client.post(
        "/admin/profiling/scoringrule/",
        {"action": "what_if_selected", "_selected_action": [draft.id]},
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "4 of 6 leads would change grade" in html
    assert "cold-&gt;warm: 1" in html
    assert "[read double: +120]" in html
    assert _snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_parallel_sessions_give_the_single_session_answer(world, monkeypatch) -> None:
    """Outside a transaction the what-if splits the leads between sessions (threads),
    like the full rescore; the counts add up and the samples merge to the same top."""
    import threading

    from django.utils import timezone

    from profiling.services import whatif
    from profiling.services.whatif import set_based

    ran: list[str] = []
    one_range = set_based._what_if_range

    def spy(*args: Any, **kwargs: Any) -> Any:
        ran.append(threading.current_thread().name)
        return one_range(*args, **kwargs)

    monkeypatch.setattr(set_based, "_what_if_range", spy)
    draft = [RuleSpec(id=1, name="read", event_type="section_view", points=25, max_points=100)]
    draft_t = Thresholds(warm=30, hot=70)
    now = timezone.now()
    args = (draft, draft_t, rules_load(), thresholds_load(), now)
    for sample_size in (2, 100):
        ran.clear()
        comparison = Comparison(*args, sample_size)
        parallel = whatif._what_if_sql(comparison, sessions=3)
        assert sorted(ran) == ["whatif_0", "whatif_1", "whatif_2"]
        assert parallel == whatif._what_if_sql(comparison, sessions=1)
        assert parallel == _what_if_python(comparison)
    assert parallel.leads == 6
    assert parallel.would_change == 5


def test_the_union_of_two_rule_sets_keeps_shared_rules_once() -> None:
    """Kept rules (whatever their ids) count once on both sides; a changed rule is one
    rule per side; a rule both sets have twice is kept twice, a third copy is added."""
    from profiling.services.whatif import rules_union

    read = RuleSpec(id=7, name="read", event_type="section_view", points=10)
    pages = RuleSpec(id=8, name="pages", event_type="page_view", points=2)
    gone = RuleSpec(id=9, name="gone", event_type="form_view", points=-1)
    draft = [
        RuleSpec(id=1, name="read", event_type="section_view", points=10),
        RuleSpec(id=2, name="pages", event_type="page_view", points=3),
        RuleSpec(id=3, name="read", event_type="section_view", points=10),
    ]
    union, old_only, new_only = rules_union([read, pages, gone, read], draft)
    assert [r.id for r in union] == [1, 2, 3, 4, 5]
    assert [(r.name, r.points) for r in union] == [
        ("read", 10),
        ("pages", 2),
        ("gone", -1),
        ("read", 10),
        ("pages", 3),
    ]
    assert old_only == [2, 3]
    assert new_only == [5]
    union, old_only, new_only = rules_union([read], [read, read])
    assert (len(union), old_only, new_only) == (2, [], [2])


def test_a_draft_with_another_half_life_scores_both_sides_in_full(world, monkeypatch) -> None:
    """Another half-life changes every line: the shared scoring does not apply."""
    from django.utils import timezone

    from profiling.services import whatif

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the shared path must not run")

    monkeypatch.setattr(whatif, "_what_if_shared", refuse)
    now = timezone.now()
    current = thresholds_load()
    draft_t = Thresholds(warm=current.warm, hot=current.hot, half_life_days=1)
    comparison = Comparison(
        rules_load(), draft_t, rules_load(), current, now + timedelta(days=3), 100
    )
    result = whatif._what_if_sql(comparison)
    assert result == _what_if_python(comparison)
    assert result.transitions == {"warm->cold": 4}
