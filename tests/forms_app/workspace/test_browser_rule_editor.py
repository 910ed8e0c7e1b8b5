"""The rule editor in headless Chromium: only the fields that fit the chosen trigger show,
hidden ones are not sent, a field that already holds a value stays in sight, and a key the
gate lacks is refused with the keys it has."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group

from profiling.models import ScoringRule
from tests.support.axe import assert_accessible
from tests.support.factories import make_gate, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a long enough passphrase"


def _visible(page: Any, field: str) -> bool:
    return bool(page.locator(f"#id_{field}").is_visible())


def test_fields_follow_the_trigger(chromium: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    make_gate(slug="vbook", title="Network vBook", sections=["why-fibre"], files=["network-map"])
    user = make_user(username="rule-marketer", is_staff=False)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get_or_create(name="marketer")[0])
    page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server.url + "/app/login/")
    page.fill("#id_username", "rule-marketer")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*/app/$"))

    page.goto(live_server.url + "/app/scoring/rules/new")
    # A new rule starts on section_view: the section key and the file (a PDF's pages
    # count as its reads), no track name or fact.
    assert _visible(page, "section")
    assert _visible(page, "file")
    assert not _visible(page, "event_name")
    assert not _visible(page, "profile_condition")
    assert _visible(page, "gate")

    page.select_option("#id_event_type", "download")
    assert _visible(page, "file")
    assert not _visible(page, "section")
    page.select_option("#id_event_type", "track")
    assert _visible(page, "event_name")
    assert not _visible(page, "file")
    page.select_option("#id_event_type", "profile")
    assert _visible(page, "profile_condition")
    assert not _visible(page, "gate")
    assert not _visible(page, "min_duration_s")

    # A section key typed, then the trigger changed: the hidden key is not sent, so it
    # cannot refuse the download rule out of sight.
    page.select_option("#id_event_type", "section_view")
    page.fill("#id_name", "Map download")
    page.fill("#id_section", "why-fibre")
    page.select_option("#id_event_type", "download")
    page.select_option("#id_gate", "vbook")
    page.fill("#id_file", "network-map")
    page.fill("#id_points", "50")
    page.check("#id_makes_hot")
    # Read back as it is typed, before any preview.
    live = "50 points when the file “Network Map” of Network vBook is downloaded; makes hot"
    expect(page.locator("#rule-sentence")).to_have_text(live, timeout=10_000)
    page.fill("#id_max_points", "100")
    expect(page.locator("#rule-sentence")).to_have_text(
        live.replace("downloaded;", "downloaded, at most 100;"), timeout=10_000
    )
    page.fill("#id_max_points", "")
    expect(page.locator("#rule-sentence")).to_have_text(live, timeout=10_000)
    # A key the gate lacks: refused on save with the gate's keys, the suggestions offered
    # from the page itself, and the page with its error stays accessible.
    page.fill("#id_file", "network_map")
    page.click("button:has-text('Save rule')")
    expect(page.locator("#id_file ~ .ws-error")).to_have_text(
        '"network_map" is not a file of gate "vbook": its files are network-map.'
    )
    assert page.locator("#id_file").get_attribute("list") == "rule-file-keys"
    options = page.locator("#rule-file-keys option")
    assert options.evaluate_all("os => os.map(o => [o.value, o.label])") == [
        ["network-map", "Network Map — gate Network vBook"]
    ]
    assert_accessible(page, where="rule editor with a refused file key")
    assert not ScoringRule.objects.filter(name="Map download").exists()
    # Chromium logs the refused save's status (400, as for every refused form): only that.
    assert errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    errors.clear()
    page.fill("#id_file", "network-map")
    expect(page.locator("#rule-sentence")).to_have_text(live, timeout=10_000)
    page.click("button:has-text('Preview impact')")
    page.wait_for_load_state()
    sentence = page.locator("#rule-sentence").inner_text()
    assert sentence == (
        "50 points when the file “Network Map” of Network vBook is downloaded; makes hot"
    )
    page.click("button:has-text('Save rule')")
    page.wait_for_url(re.compile(r".*/app/scoring/$"))
    rule = ScoringRule.objects.get(name="Map download")
    assert (rule.event_type, rule.file_key, rule.section_key) == ("download", "network-map", "")
    assert "50 points when the file “Network Map” of Network vBook is downloaded" in page.content()

    # Editing a rule whose stored field does not fit its trigger keeps that field shown.
    odd = ScoringRule.objects.create(
        name="Odd", event_type="download", points=1, min_duration_ms=2000
    )
    page.goto(f"{live_server.url}/app/scoring/rules/{odd.pk}/")
    assert _visible(page, "min_duration_s")
    assert not _visible(page, "section")
    assert errors == []
