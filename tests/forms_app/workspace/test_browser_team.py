"""The team in headless Chromium: a marketer invites a sales colleague from the Team page;
the colleague opens the link from the email, chooses a password, lands in the workspace,
sees the leads and has no edit controls (and a write sent anyway is refused). CSP on: the
pages need no JavaScript of their own and log no errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from config.roles import can_edit, can_view
from forms_app.models import Invitation
from profiling.models import Lead, SandboxEmail
from tests.forms_app.browser.conftest import SCREENSHOTS
from tests.support.factories import add_role, make_lead, make_user
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a long enough passphrase"
COLLEAGUE_PASSWORD = "sales colleague passphrase"
CHROME_ERRORS = ("Uncaught", "TypeError", "ReferenceError", "Content Security Policy")


def _watch(page: Any, problems: list[str]) -> None:
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and any(e in m.text for e in CHROME_ERRORS)
            else None
        ),
    )


def test_a_marketer_invites_a_sales_colleague_who_reads_but_cannot_edit(
    chromium: Any, live_server: Any, settings: Any
) -> None:
    from playwright.sync_api import expect

    # The demo's set-up: no mail server, so the email lands in the sandbox mail inbox.
    settings.EMAIL_BACKEND = "profiling.mail_backend.SandboxEmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    marketer = add_role(make_user(username="team-marketer", is_staff=False), "marketer")
    marketer.set_password(PASSWORD)
    marketer.save()
    lead: Lead = make_lead(name="Ada Lovelace")
    base = live_server.url
    problems: list[str] = []

    # --- the marketer invites ------------------------------------------------------------
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    _watch(page, problems)
    page.goto(base + "/app/login/")
    page.fill("#id_username", "team-marketer")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*/app/$"))
    page.get_by_role("navigation").get_by_role("link", name="Team").click()
    page.wait_for_url(re.compile(r".*/app/team/$"))
    page.fill("#id_email", "sam.sales@example-fibre.com")
    page.select_option("#id_role", "sales")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".ws-flash")).to_contain_text(
        "Invitation sent to sam.sales@example-fibre.com as sales"
    )
    expect(page.locator("#invitations")).to_contain_text("sam.sales@example-fibre.com")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "workspace-team.png"), full_page=True)

    # --- the colleague opens the link from the email --------------------------------------
    email = wait_for(
        lambda: SandboxEmail.objects.filter(to=["sam.sales@example-fibre.com"]).first()
    )
    assert email is not None
    link = re.search(r"^(http\S+/app/invite/\S+)$", email.text, re.MULTILINE)
    assert link is not None, email.text
    assert link.group(1).startswith(base)
    colleague = chromium.new_context(viewport={"width": 1280, "height": 800})
    other = colleague.new_page()
    _watch(other, problems)
    other.goto(link.group(1))
    expect(other.locator("h1")).to_have_text("Join the team")
    expect(other.locator("#id_email")).to_have_value("sam.sales@example-fibre.com")
    other.fill("#id_name", "Sam Sales")
    # A weak password is refused on the page, and the link keeps working.
    other.fill("#id_password", "password")
    other.fill("#id_password2", "password")
    other.get_by_role("button", name="Accept and log in").click()
    expect(other.locator(".ws-error").first).to_contain_text("too")
    other.screenshot(path=str(SCREENSHOTS / "team-invite-accept.png"), full_page=True)
    other.fill("#id_password", COLLEAGUE_PASSWORD)
    other.fill("#id_password2", COLLEAGUE_PASSWORD)
    other.get_by_role("button", name="Accept and log in").click()
    other.wait_for_url(re.compile(r".*/app/$"))
    expect(other.locator(".ws-flash")).to_contain_text("Welcome to the team")
    expect(other.locator(".ws-role")).to_have_text("sales · read only")
    user = get_user_model().objects.get(username="sam.sales@example-fibre.com")
    assert can_view(user)
    assert not can_edit(user)
    assert Invitation.objects.get().accepted_by_id == user.pk

    # --- sales: sees leads, has no edit controls ----------------------------------------
    nav = other.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Leads")).to_be_visible()
    for hidden in ("Team", "Gates", "Scoring", "CRM webhooks", "Quarantine"):
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    nav.get_by_role("link", name="Leads").click()
    expect(other.locator("main")).to_contain_text("Ada Lovelace")
    other.goto(f"{base}/app/leads/{lead.id}/")
    expect(other.locator("h1")).to_contain_text("Ada Lovelace")
    assert other.locator("#lead-actions").count() == 0
    assert other.get_by_role("button", name=re.compile("Erase|Do not contact|Delete")).count() == 0
    other.screenshot(path=str(SCREENSHOTS / "workspace-team-sales-lead.png"), full_page=True)

    # A write sent anyway, with the session and a valid CSRF token, is refused: 403.
    csrf = next(c["value"] for c in colleague.cookies() if c["name"] == "csrftoken")
    refused = other.request.post(
        f"{base}/app/leads/{lead.id}/erase",
        form={"confirm": "erase"},
        headers={"X-CSRFToken": csrf, "Referer": f"{base}/app/leads/{lead.id}/"},
    )
    assert refused.status == 403
    assert "Only marketers can change this" in refused.text()
    assert Lead.objects.get(pk=lead.pk).erased_at is None
    team = other.request.post(
        f"{base}/app/team/",
        form={"email": "eve@example-fibre.com", "role": "marketer"},
        headers={"X-CSRFToken": csrf},
    )
    assert team.status == 403
    assert Invitation.objects.count() == 1

    # --- the marketer sees the new member -------------------------------------------------
    page.goto(f"{base}/app/team/")
    row = page.locator("#members tr", has_text="Sam Sales")
    expect(row).to_contain_text("sam.sales@example-fibre.com")
    expect(row.locator("select")).to_have_value("sales")
    expect(page.locator("#invitations")).to_contain_text("No pending invitations.")
    assert not problems, problems
    colleague.close()
    context.close()
