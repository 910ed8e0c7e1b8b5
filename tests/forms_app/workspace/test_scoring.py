"""Scoring rules and thresholds in the workspace: what-if before saving, the API's
validation shown inline, saves through the scoring services."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from profiling.models import ScoringRule, ScoringSettings
from tests.support.factories import (
    make_event,
    make_gate,
    make_lead,
    make_rule,
    make_visitor,
    set_thresholds,
)

pytestmark = pytest.mark.django_db


def rule_post(**over: Any) -> dict[str, Any]:
    data = {
        "name": "Read sections",
        "event_type": "section_view",
        "gate": "",
        "section": "",
        "file": "",
        "event_name": "",
        "profile_condition": "",
        "points": "10",
        "max_points": "",
        "min_duration_s": "",
        "is_active": "on",
        "action": "preview",
    }
    data.update(over)
    return data


@pytest.fixture
def reader() -> Any:
    """A lead who read three sections: 30 points = warm under 10 points a section."""
    gate = make_gate(slug="ebook")
    set_thresholds(warm=30, hot=80)
    rule = make_rule(gate=gate, points=10, name="Read sections")
    lead = make_lead(name="Reader One")
    visitor = make_visitor(lead=lead)
    for key in ("section-1", "section-2", "section-3"):
        make_event(visitor=visitor, gate=gate, section_key=key, duration_ms=8000)
    return {"gate": gate, "rule": rule, "lead": lead}


def test_scoring_page_lists_rules_in_words(mclient: Client, reader: Any) -> None:
    html = mclient.get("/app/scoring/").content.decode()
    assert "Read sections" in html
    assert "10 points for each section of Guide ebook read" in html
    assert 'value="30"' in html
    assert 'value="80"' in html


def test_rule_change_preview_shows_what_if_and_saves_nothing(mclient: Client, reader: Any) -> None:
    rule = reader["rule"]
    response = mclient.post(
        f"/app/scoring/rules/{rule.pk}/", rule_post(gate="ebook", points="30", action="preview")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 of 1 lead would change grade" in html
    assert "warm → hot" in html
    assert "Reader One" in html
    rule.refresh_from_db()
    assert rule.points == 10


def test_rule_save_goes_through_the_service(
    mclient: Client, reader: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rule = reader["rule"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = mclient.post(
            f"/app/scoring/rules/{rule.pk}/", rule_post(gate="ebook", points="30", action="save")
        )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.points == 30
    assert callbacks, "saving a rule must enqueue the background re-grade"


def test_new_rule_preview_and_create(mclient: Client, reader: Any) -> None:
    data = rule_post(
        name="Map download",
        event_type="download",
        gate="ebook",
        file="network-map",
        points="50",
        makes_hot="on",
    )
    html = mclient.post("/app/scoring/rules/new", data).content.decode()
    assert "0 of 1 lead would change grade" in html
    assert ScoringRule.objects.count() == 1
    response = mclient.post("/app/scoring/rules/new", dict(data, action="save"))
    assert response.status_code == 302
    created = ScoringRule.objects.get(name="Map download")
    assert (created.file_key, created.makes_hot, created.gate_id) == (
        "network-map",
        True,
        reader["gate"].pk,
    )


@pytest.mark.parametrize(
    ("override", "field_message"),
    [
        ({"gate": "ebook", "section": "no-such-section"}, "has no section"),
        (
            {"event_type": "download", "section": "section-1"},
            "Only section_view rules can name a section",
        ),
        ({"event_type": "profile"}, "A profile rule needs a profile_condition"),
        ({"points": "abc"}, "Enter a whole number"),
        ({"points": "99999999"}, "less than or equal to 10000"),
        ({"name": ""}, "This field is required"),
        ({"event_type": "hack"}, "Select a valid choice"),
        ({"gate": "unknown-gate"}, "Select a valid choice"),
    ],
)
def test_bad_rules_are_refused_inline(
    mclient: Client, reader: Any, override: dict[str, str], field_message: str
) -> None:
    for action in ("preview", "save"):
        response = mclient.post("/app/scoring/rules/new", rule_post(action=action, **override))
        assert response.status_code == 400
        html = response.content.decode()
        assert field_message in html
        assert "Nothing was saved" in html
    assert ScoringRule.objects.count() == 1


def test_delete_rule_previews_then_deletes(mclient: Client, reader: Any) -> None:
    rule = reader["rule"]
    html = mclient.post(f"/app/scoring/rules/{rule.pk}/", {"action": "delete"}).content.decode()
    assert "Delete this rule?" in html
    assert "1 of 1 lead would change grade" in html  # warm -> cold without the rule
    assert ScoringRule.objects.filter(pk=rule.pk).exists()
    response = mclient.post(f"/app/scoring/rules/{rule.pk}/", {"action": "delete", "confirm": "1"})
    assert response.status_code == 302
    assert not ScoringRule.objects.filter(pk=rule.pk).exists()


def test_thresholds_preview_save_and_validation(mclient: Client, reader: Any) -> None:
    html = mclient.post(
        "/app/scoring/",
        {"warm_threshold": "40", "hot_threshold": "80", "half_life_days": "0", "action": "preview"},
    ).content.decode()
    assert "1 of 1 lead would change grade" in html
    assert "warm → cold" in html
    assert ScoringSettings.objects.get(pk=1).warm_threshold == 30
    bad = mclient.post(
        "/app/scoring/",
        {"warm_threshold": "90", "hot_threshold": "80", "half_life_days": "0", "action": "save"},
    )
    assert bad.status_code == 400
    assert "Must be lower than the hot threshold" in bad.content.decode()
    assert ScoringSettings.objects.get(pk=1).warm_threshold == 30
    ok = mclient.post(
        "/app/scoring/",
        {"warm_threshold": "40", "hot_threshold": "80", "half_life_days": "7", "action": "save"},
    )
    assert ok.status_code == 302
    row = ScoringSettings.objects.get(pk=1)
    assert (row.warm_threshold, row.half_life_days) == (40, 7)


def test_unknown_rule_is_404(mclient: Client) -> None:
    assert mclient.get("/app/scoring/rules/999999/").status_code == 404


def test_rule_editor_reads_the_rule_back_and_groups_fields_by_trigger(
    mclient: Client, reader: Any
) -> None:
    rule = reader["rule"]
    rule.max_points = 60
    rule.min_duration_ms = 20_000
    rule.save()
    html = mclient.get(f"/app/scoring/rules/{rule.pk}/").content.decode()
    assert "10 points for each section of Guide ebook read for 20 s, at most 60" in html
    # Each trigger-specific field sits in a group naming the triggers it fits; the
    # script (a static file: no inline script under the CSP) shows only those.
    for trigger, field in (
        ("section_view", "section"),
        ("download", "file"),
        ("track", "event_name"),
        ("profile", "profile_condition"),
    ):
        group = re.search(
            rf'<div data-triggers="([^"]*)">\s*<div class="ws-field[^"]*">\s*'
            rf'<label for="id_{field}"',
            html,
        )
        assert group, field
        assert group.group(1) == trigger
    assert re.search(r'<script src="[^"]*rule-edit[^"]*\.js" defer></script>', html)
    assert "<script>" not in html
    # Without the script every field is in the page.
    for field in ("section", "file", "event_name", "profile_condition", "min_duration_s"):
        assert f'name="{field}"' in html


def test_rule_preview_reads_the_draft_back(mclient: Client, reader: Any) -> None:
    html = mclient.post(
        "/app/scoring/rules/new",
        rule_post(
            name="Map",
            event_type="download",
            gate="ebook",
            file="network-map",
            points="50",
            makes_hot="on",
        ),
    ).content.decode()
    assert "50 points when the file “Network Map” of Guide ebook is downloaded; makes hot" in html
    assert ScoringRule.objects.count() == 1  # the reader's rule only: a preview saves nothing


def test_the_sentence_endpoint_reads_a_draft_back(mclient: Client, reader: Any) -> None:
    count = ScoringRule.objects.count()
    response = mclient.get(
        "/app/scoring/rules/sentence",
        {
            "event_type": "section_view",
            "gate": "ebook",
            "points": "10",
            "min_duration_s": "20",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "sentence": "10 points for each section of Guide ebook read for 20 s"
    }
    # Half-filled: no name or points yet reads as 0 points (an unticked box is off).
    assert mclient.get("/app/scoring/rules/sentence", {"event_type": "section_view"}).json() == {
        "sentence": "0 points for each section of any gate read (off)"
    }
    assert list(mclient.get("/app/scoring/rules/sentence").json()["errors"]) == ["event_type"]
    refused = mclient.get(
        "/app/scoring/rules/sentence", {"event_type": "download", "points": "ten"}
    )
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["points"]
    assert ScoringRule.objects.count() == count


def test_the_sentence_endpoint_is_for_marketers(sclient: Client) -> None:
    assert sclient.get("/app/scoring/rules/sentence").status_code == 403
    assert Client().get("/app/scoring/rules/sentence").status_code == 302
