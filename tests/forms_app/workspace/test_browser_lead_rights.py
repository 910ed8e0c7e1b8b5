"""The lead page's rights actions in headless Chromium, as a marketer: do-not-contact on
and off, the export download, and erasure through its confirmation page. A sales user
sees none of them. No JavaScript is needed for any (plain forms and links)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from profiling.models import Consent, ConsentMethod, Event, Lead
from tests.forms_app.browser.conftest import SCREENSHOTS
from tests.support.factories import make_event, make_gate, make_lead, make_user, make_visitor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a long enough passphrase"
CHROME_ERRORS = ("Uncaught", "TypeError", "ReferenceError", "Content Security Policy")


def _user(group: str) -> Any:
    user = make_user(username=f"rights-{group}", is_staff=False)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def _login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/app/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*/app/$"))


@pytest.fixture
def person() -> Lead:
    gate = make_gate()
    lead = make_lead(
        name="Ada Lovelace",
        subscribed=True,
        referrer="https://news.example.org/?from=ada",
        utm_source="linkedin",
    )
    visitor = make_visitor(lead=lead)
    for key in ("section-1", "section-2"):
        make_event(
            visitor=visitor, gate=gate, section_key=key, duration_ms=20_000, url="https://x/"
        )
    Consent.objects.create(
        lead=lead,
        text="Send me news about fibre for business.",
        given_at=timezone.now() - timedelta(days=2),
        method=ConsentMethod.FORM,
        gate=gate,
    )
    return lead


def test_marketer_toggles_contact_exports_and_erases(
    chromium: Any, live_server: Any, person: Lead, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    _user("marketer")
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    _login(page, base, "rights-marketer")
    page.goto(f"{base}/app/leads/{person.id}/")
    actions = page.locator("#lead-actions")
    expect(page.locator("[data-testid=subscribed]")).to_have_text("subscribed")

    # do not contact: on (unsubscribes, withdraws the opt-in), then off again
    actions.get_by_role("button", name="Do not contact").click()
    expect(page.locator(".ws-flash")).to_contain_text("Marked do not contact")
    expect(page.locator("[data-testid=do-not-contact]")).to_be_visible()
    expect(page.locator("[data-testid=subscribed]")).to_have_text("not subscribed")
    withdrawn = page.locator("#consents tbody tr td").last
    expect(withdrawn).to_have_text(re.compile(r"\d{4} \d{2}:\d{2}$"))  # a date, no longer blank
    lead = Lead.objects.get(pk=person.pk)
    assert (lead.do_not_contact, lead.subscribed) == (True, False)
    assert Consent.objects.get(lead=person).withdrawn_at is not None
    actions.get_by_role("button", name="Clear do not contact").click()
    expect(page.locator(".ws-flash")).to_contain_text("Do not contact cleared")
    expect(page.locator("[data-testid=do-not-contact]")).to_have_count(0)
    assert Lead.objects.get(pk=person.pk).do_not_contact is False

    # export: a JSON file with the person's data
    with page.expect_download() as info:
        actions.get_by_role("link", name="Export data").click()
    download = info.value
    assert download.suggested_filename == f"leadgate-lead-{person.id}.json"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    doc = json.loads(saved.read_text())
    assert doc["lead"]["email"] == person.email
    assert doc["lead"]["referrer"] == "https://news.example.org/?from=ada"
    assert len(doc["events"]) == 2
    assert [c["text"] for c in doc["consents"]] == ["Send me news about fibre for business."]

    # erase: a confirmation page first; cancel keeps the person, confirm erases
    actions.get_by_role("link", name="Erase").click()
    page.wait_for_url(re.compile(rf".*/app/leads/{person.id}/erase$"))
    expect(page.locator("main")).to_contain_text("cannot be undone")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "workspace-lead-erase.png"), full_page=True)
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(re.compile(rf".*/app/leads/{person.id}/$"))
    assert Lead.objects.get(pk=person.pk).erased_at is None
    actions.get_by_role("link", name="Erase").click()
    page.get_by_role("button", name="Erase this person").click()
    page.wait_for_url(re.compile(r".*/app/leads/$"))
    expect(page.locator(".ws-flash")).to_contain_text("The person was erased")
    expect(page.locator("main")).not_to_contain_text(person.email)
    erased = Lead.objects.get(pk=person.pk)
    assert erased.erased_at is not None
    assert (erased.name, erased.referrer, erased.utm_source) == ("", "", "")
    assert Event.objects.filter(lead__isnull=True).count() == 2  # anonymous counts stay
    response = page.goto(f"{base}/app/leads/{person.id}/")
    assert response is not None
    assert response.status == 404
    assert not [c for c in console if any(e in c for e in CHROME_ERRORS)], console
    context.close()


def test_sales_user_sees_no_rights_action(chromium: Any, live_server: Any, person: Lead) -> None:
    from playwright.sync_api import expect

    _user("sales")
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _login(page, base, "rights-sales")
    page.goto(f"{base}/app/leads/{person.id}/")
    expect(page.locator("#consent-title")).to_be_visible()
    assert page.locator("#lead-actions").count() == 0
    response = page.goto(f"{base}/app/leads/{person.id}/erase")
    assert response is not None
    assert response.status == 403
    assert Lead.objects.get(pk=person.pk).erased_at is None
    context.close()
