"""The workspace in headless Chromium, as a marketer and as a sales user.

A marketer logs in, builds a gate from scratch (the friction guard's message shows
inline), previews it, copies the embed snippet, changes a rule and sees the what-if
numbers, opens the dashboard and a lead page. A sales user cannot edit. Screenshots of
the builder, the what-if, the dashboard and a lead page are kept under docs/screenshots/.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from forms_app.models import FormField, Gate
from profiling.models import ScoringRule, WebhookEndpoint
from tests.forms_app.browser.conftest import SCREENSHOTS
from tests.forms_app.workspace.seed import seed_activity
from tests.support.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a long enough passphrase"
CHROME_ERRORS = ("Uncaught", "TypeError", "ReferenceError")


def _user(group: str) -> Any:
    user = make_user(username=f"{group}-user", is_staff=False)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def workspace_world(live_server: Any, settings: Any, tmp_path: Any) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path  # the demo's uploaded map must not land in the repo
    # Its own activity (seed_activity) instead of the demo's history: numbers it knows.
    call_command("demo", base_url=live_server.url, no_history=True, stdout=io.StringIO())
    gate = Gate.objects.get(slug="network-vbook")
    endpoint = WebhookEndpoint.objects.get()
    seed_activity(gate=gate, endpoint=endpoint)
    return {"marketer": _user("marketer"), "sales": _user("sales"), "gate": gate}


def _login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/app/")
    assert "/app/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*/app/$"))


def _expect_text(locator: Any, text: str) -> None:
    from playwright.sync_api import expect

    expect(locator).to_contain_text(text, timeout=10_000)


def test_marketer_builds_previews_tunes_and_reads(
    chromium: Any, live_server: Any, workspace_world: dict[str, Any]
) -> None:
    base = live_server.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(
        viewport={"width": 1440, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    _login(page, base, "marketer-user")

    # --- build a gate from scratch ------------------------------------------------------
    page.click("nav >> text=Gates")
    page.click("text=New gate")
    page.fill("#id_title", "Fibre for clinics: the checklist")
    page.fill("#id_slug", "clinic-checklist")
    page.select_option("#id_stage", "decision")
    page.fill("#id_headline", "Twelve questions to ask before your clinic moves to fibre.")
    page.fill("#id_allowed_origins", "https://www.brightline-fibre.example")
    page.fill("#id_sections-0-key", "downtime")
    page.fill("#id_sections-0-title", "What an hour offline costs a clinic")
    page.fill("#id_sections-0-topics", "downtime, costs")
    page.click("button[data-add='sections']")
    page.fill("#id_sections-1-key", "redundancy")
    page.fill("#id_sections-1-title", "Two paths, no single point of failure")
    page.click("button[data-add='files']")
    page.fill("#id_files-0-key", "checklist")
    page.fill("#id_files-0-title", "The checklist (PDF)")
    page.fill("#id_files-0-url", "https://files.brightline-fibre.example/checklist.pdf")
    page.click("button[data-add='fields']")
    page.fill("#id_fields-0-name", "phone")
    page.fill("#id_fields-0-label", "Your phone number")
    page.click("button:has-text('Create gate')")
    # The friction guard says why, inline, and nothing is stored.
    _expect_text(page.locator("#block-fields"), "leadgate does not ask for phone")
    assert not Gate.objects.filter(slug="clinic-checklist").exists()
    page.fill("#id_fields-0-name", "main-issue")
    page.fill("#id_fields-0-label", "What worries you most about your connection?")
    page.click("button:has-text('Create gate')")
    page.wait_for_url(re.compile(r".*/app/gates/clinic-checklist/$"))
    _expect_text(page.locator(".ws-flash"), "Saved")
    gate = Gate.objects.get(slug="clinic-checklist")
    assert [s.key for s in gate.sections.all()] == ["downtime", "redundancy"]
    assert FormField.objects.filter(gate=gate).count() == 1

    # --- preview: the visitor's page, the embedded form, the content ----------------------
    frame = page.frame_locator("#preview-frame")
    _expect_text(frame.locator("h1"), "Fibre for clinics")
    _expect_text(frame.locator("form"), "What worries you most about your connection?")
    assert frame.locator("input[name=email]").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "workspace-builder.png"), full_page=False)
    page.click("button[data-preview$='/content']")
    _expect_text(frame.locator(".lg-reading"), "Two paths, no single point of failure")
    page.click("button[data-preview$='/embed']")
    _expect_text(frame.locator("form"), "Work email")

    # --- copy the snippet -------------------------------------------------------------
    page.click("button[data-copy='embed-snippet']")
    _expect_text(page.locator("#copied"), "Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert 'data-leadgate-form="clinic-checklist"' in copied
    assert "/static/leadgate.js" in copied

    # --- change a rule and see the what-if numbers --------------------------------------
    page.click("nav >> text=Scoring")
    page.click("text=Read e-book sections")
    page.fill("#id_points", "25")
    page.click("button:has-text('Preview impact')")
    whatif = page.locator("[data-testid=whatif]")
    _expect_text(whatif, "would change grade")
    changed = int(re.search(r"What if: (\d+) of (\d+)", whatif.inner_text()).group(1))  # type: ignore[union-attr]
    assert changed > 0
    assert (
        ScoringRule.objects.get(name="Read e-book sections").points == 10
    )  # a preview saves nothing
    page.screenshot(path=str(SCREENSHOTS / "workspace-whatif.png"), full_page=True)
    page.click("button:has-text('Save rule')")
    page.wait_for_url(re.compile(r".*/app/scoring/$"))
    assert ScoringRule.objects.get(name="Read e-book sections").points == 25

    # --- dashboard -------------------------------------------------------------------------
    page.click("nav >> text=Dashboard")
    _expect_text(page.locator("[data-testid=social-share]"), "%")
    assert page.locator("svg.ws-chart").count() >= 4
    _expect_text(page.locator("#sources"), "LinkedIn")
    page.screenshot(path=str(SCREENSHOTS / "workspace-dashboard.png"), full_page=True)

    # --- a lead page ---------------------------------------------------------------------
    page.click("nav >> text=Leads")
    page.select_option("#id_grade", "hot")
    page.click("button:has-text('Filter')")
    page.locator("#lead-list tbody a").first.click()
    page.wait_for_url(re.compile(r".*/app/leads/[0-9a-f-]+/$"))
    _expect_text(page.locator(".ws-timeline"), "Downloaded")
    _expect_text(page.locator("#deliveries-title + table"), "Succeeded")
    page.screenshot(path=str(SCREENSHOTS / "workspace-lead.png"), full_page=True)
    assert not [c for c in console if any(e in c for e in CHROME_ERRORS)], console
    context.close()


def test_sales_user_sees_leads_and_reports_but_cannot_edit(
    chromium: Any, live_server: Any, workspace_world: dict[str, Any]
) -> None:
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _login(page, base, "sales-user")
    nav = page.locator("nav.ws-nav")
    _expect_text(nav, "Leads")
    assert nav.locator("text=Gates").count() == 0
    assert nav.locator("text=Scoring").count() == 0
    assert page.locator("text=Add cost").count() == 0
    response = page.goto(base + "/app/gates/new")
    assert response is not None
    assert response.status == 403
    _expect_text(page.locator("main"), "Only marketers can change this")
    response = page.goto(base + "/app/scoring/rules/new")
    assert response is not None
    assert response.status == 403
    page.goto(base + "/app/leads/")
    page.locator("#lead-list tbody a").first.click()
    page.wait_for_url(re.compile(r".*/app/leads/[0-9a-f-]+/$"))
    _expect_text(page.locator("main"), "Timeline")
    assert page.locator("main form").count() == 0  # nothing to submit on a lead page
    context.close()
