"""Scoring rules and thresholds in the workspace: what-if before saving, the API's
validation shown inline, saves through the scoring services; the section and file keys
offered from the gates and checked against them."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client

from forms_app.models import GateFile, PdfChapter
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
        ({"gate": "ebook", "section": "no-such-section"}, "is not a section of gate"),
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


def test_the_key_fields_suggest_every_gates_keys_with_gate_and_title(
    mclient: Client, reader: Any
) -> None:
    make_gate(slug="vbook", title="Network vBook", sections=["why-fibre"], files=["pricing"])
    gate_file = GateFile.objects.get(gate__slug="vbook", key="pricing")
    PdfChapter.objects.create(
        gate_file=gate_file, key="tariffs", title="Tariffs", first_page=2, last_page=3
    )
    html = mclient.get("/app/scoring/rules/new").content.decode()
    # Server-rendered suggestions: a datalist each key field points at.
    assert re.search(r'<input[^>]*name="section"[^>]*list="rule-section-keys"', html)
    assert re.search(r'<input[^>]*name="file"[^>]*list="rule-file-keys"', html)
    # The section key's help (a chapter with a file key) is what its input is described by.
    assert re.search(r'<input[^>]*name="section"[^>]*aria-describedby="id_section_helptext"', html)
    assert '<p class="ws-help" id="id_section_helptext">A section of the gate;' in html
    sections = re.search(r'<datalist id="rule-section-keys">(.*?)</datalist>', html, re.S)
    files = re.search(r'<datalist id="rule-file-keys">(.*?)</datalist>', html, re.S)
    assert sections
    assert files
    assert '<option value="section-1">Section 1 — gate Guide ebook</option>' in sections[1]
    assert '<option value="why-fibre">Why Fibre — gate Network vBook</option>' in sections[1]
    assert (
        '<option value="tariffs">Tariffs — chapter of file pricing, gate Network vBook</option>'
        in sections[1]
    )
    assert '<option value="network-map">Network Map — gate Guide ebook</option>' in files[1]
    assert '<option value="pricing">Pricing — gate Network vBook</option>' in files[1]
    assert "section-1" not in files[1]


def test_a_key_the_chosen_gate_lacks_is_refused_with_its_keys(mclient: Client, reader: Any) -> None:
    make_gate(slug="network-vbook", sections=["why-fibre"], files=["network-map", "pricing"])
    data = rule_post(
        name="Map download", event_type="download", gate="network-vbook", file="network_map"
    )
    for action in ("preview", "save"):
        response = mclient.post("/app/scoring/rules/new", dict(data, action=action))
        assert response.status_code == 400
        html = unescape(response.content.decode())
        assert "Nothing was saved" in html
        assert (
            '"network_map" is not a file of gate "network-vbook": '
            "its files are network-map, pricing." in html
        )
        assert 'value="network_map"' in html  # what was typed comes back to be fixed
    response = mclient.post(
        "/app/scoring/rules/new",
        rule_post(gate="network-vbook", section="why_fibre", action="save"),
    )
    assert response.status_code == 400
    assert (
        '"why_fibre" is not a section of gate "network-vbook": its sections are why-fibre.'
        in unescape(response.content.decode())
    )
    assert ScoringRule.objects.count() == 1  # the reader's rule only

    response = mclient.post("/app/scoring/rules/new", dict(data, file="network-map", action="save"))
    assert response.status_code == 302
    rule = ScoringRule.objects.get(name="Map download")
    assert (rule.gate.slug if rule.gate else None, rule.file_key) == (
        "network-vbook",
        "network-map",
    )


def test_a_long_key_list_names_the_first_keys_and_counts_the_rest(
    mclient: Client, reader: Any
) -> None:
    make_gate(slug="handbook", sections=[f"part-{i:02}" for i in range(1, 31)])
    response = mclient.post(
        "/app/scoring/rules/new", rule_post(gate="handbook", section="part-99", action="save")
    )
    assert response.status_code == 400
    listed = ", ".join(f"part-{i:02}" for i in range(1, 13))
    assert (
        f'"part-99" is not a section of gate "handbook": its sections are {listed} and 18 more.'
        in unescape(response.content.decode())
    )


def test_with_any_gate_a_key_must_exist_on_some_gate(mclient: Client, reader: Any) -> None:
    make_gate(slug="network-vbook", sections=["why-fibre"], files=["pricing"])
    refused = {
        "file": (
            rule_post(event_type="download", file="price-list"),
            'No gate has a file with the key "price-list".',
        ),
        "section": (
            rule_post(section="why_fibre"),
            'No gate has a section with the key "why_fibre".',
        ),
    }
    for data, message in refused.values():
        response = mclient.post("/app/scoring/rules/new", dict(data, action="save"))
        assert response.status_code == 400
        assert message in unescape(response.content.decode())
    assert ScoringRule.objects.count() == 1
    # A key of another gate than the first one (blank stays "any").
    for name, data in (
        ("Any pricing download", rule_post(event_type="download", file="pricing")),
        ("Any why-fibre read", rule_post(section="why-fibre")),
        ("Any section read", rule_post()),
    ):
        response = mclient.post("/app/scoring/rules/new", dict(data, name=name, action="save"))
        assert response.status_code == 302, name
    saved = ScoringRule.objects.filter(gate=None).order_by("id")
    assert [(r.name, r.section_key, r.file_key) for r in saved] == [
        ("Any pricing download", "", "pricing"),
        ("Any why-fibre read", "why-fibre", ""),
        ("Any section read", "", ""),
    ]


def test_a_file_rule_names_a_chapter_of_its_pdf_not_a_section(mclient: Client, reader: Any) -> None:
    """A section_view rule naming a file counts the pages of its PDF read inline; its
    section key is one of the PDF's chapters, which the gate's sections do not list."""
    gate_file = GateFile.objects.get(gate=reader["gate"], key="network-map")
    gate_file.read_inline = True
    gate_file.save()
    PdfChapter.objects.create(
        gate_file=gate_file, key="pricing", title="Pricing", first_page=5, last_page=6
    )
    data = rule_post(name="Pricing read", gate="ebook", file="network-map", action="save")
    response = mclient.post("/app/scoring/rules/new", dict(data, section="section-1"))
    assert response.status_code == 400
    assert (
        '"section-1" is not a chapter of file "network-map" of gate "ebook": '
        "its chapters are pricing. Chapters come from the PDF's outline."
    ) in unescape(response.content.decode())
    assert ScoringRule.objects.count() == 1
    response = mclient.post("/app/scoring/rules/new", dict(data, section="pricing"))
    assert response.status_code == 302
    rule = ScoringRule.objects.get(name="Pricing read")
    assert (rule.file_key, rule.section_key) == ("network-map", "pricing")


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
        ("section_view download", "file"),  # a read rule's file: its PDF's pages
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
    # A key being typed is read back as it is: preview and save are where it is checked.
    assert mclient.get(
        "/app/scoring/rules/sentence", {"event_type": "download", "file": "network_m"}
    ).json() == {"sentence": "0 points when the file “network_m” of any gate is downloaded (off)"}
    refused = mclient.get(
        "/app/scoring/rules/sentence", {"event_type": "download", "points": "ten"}
    )
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["points"]
    assert ScoringRule.objects.count() == count


def test_the_sentence_endpoint_is_for_marketers(sclient: Client) -> None:
    assert sclient.get("/app/scoring/rules/sentence").status_code == 403
    assert Client().get("/app/scoring/rules/sentence").status_code == 302
