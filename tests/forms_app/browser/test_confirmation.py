"""Proven identity in a real browser: on a double opt-in gate the visitor is subscribed
only after pressing the emailed link's button (opening the link does nothing), and a
stranger's browser typing a known address changes nothing of that person."""

from __future__ import annotations

import re
from typing import Any

import pytest

from profiling.models import Consent, ConsentMethod, IdentityProof, Lead, SandboxEmail
from tests.forms_app.browser.conftest import SCREENSHOTS
from tests.support.factories import make_gate, make_lead
from tests.support.page_watch import hosted_form_submit, page_problems
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.form_token, pytest.mark.django_db(transaction=True)]


def test_double_opt_in_confirms_with_the_button_not_the_link(
    chromium: Any, live_server: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "profiling.mail_backend.SandboxEmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    gate = make_gate(title="The fibre report")
    gate.double_opt_in = True
    gate.save(update_fields=["double_opt_in"])
    address = "dee@fibre-doi.example"
    visitor_context = chromium.new_context()
    page = visitor_context.new_page()
    problems = page_problems(page)
    try:
        hosted_form_submit(page, f"{live_server.url}/g/{gate.slug}", name="Dee Doe", email=address)
        assert "confirm your subscription from the email" in page.inner_text(".lg-notice")
        lead = Lead.objects.get(email=address)
        assert lead.subscribed is False
        browser_id = next(c["value"] for c in visitor_context.cookies() if c["name"] == "lg_vid")

        confirmation = wait_for(
            lambda: SandboxEmail.objects.filter(
                to=[address], subject="Please confirm your subscription"
            ).first()
        )
        assert confirmation is not None
        assert "list-unsubscribe" not in confirmation.headers
        content = SandboxEmail.objects.get(to=[address], subject="The fibre report")
        assert "list-unsubscribe" in content.headers
        link = re.search(r"^(http\S+/confirm/\S+)$", confirmation.text, re.MULTILINE)
        assert link is not None, confirmation.text

        # The mail client's browser: opening the link (as a scanner would) changes nothing.
        mail_context = chromium.new_context()
        mail = mail_context.new_page()
        # Its own list: what the mail client's page complains of is filed there.
        mail_problems = page_problems(mail)
        mail.goto(link.group(1))
        assert mail.inner_text("h1") == "Confirm your subscription"
        assert mail.locator("button[type=submit]").count() == 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        mail.screenshot(path=str(SCREENSHOTS / "confirm-subscription.png"))
        lead.refresh_from_db()
        assert (lead.subscribed, lead.email_verified_at) == (False, None)

        mail.click("button[type=submit]")
        mail.wait_for_selector("text=Confirmed")
        assert "You are subscribed" in mail.inner_text("[role=status]")
        mail.screenshot(path=str(SCREENSHOTS / "confirm-subscription-done.png"))
        lead.refresh_from_db()
        assert lead.subscribed is True
        assert lead.email_verified_at is not None
        consent = Consent.objects.get(lead=lead)
        assert (consent.method, consent.gate_id) == (ConsentMethod.DOUBLE_OPT_IN, gate.id)
        # The browser that filled the form has proven the address.
        assert IdentityProof.objects.filter(visitor_id=browser_id, lead=lead).exists()
        mail_context.close()
        assert (problems, mail_problems) == ([], [])
    finally:
        visitor_context.close()


def test_a_strangers_browser_typing_a_known_address_changes_nothing(
    chromium: Any, live_server: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "profiling.mail_backend.SandboxEmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    gate = make_gate(title="The fibre network e-book")
    alice = make_lead(email="alice@fibre-keys.example", name="Alice Archer", subscribed=False)
    context = chromium.new_context()
    page = context.new_page()
    problems = page_problems(page)
    try:
        hosted_form_submit(
            page, f"{live_server.url}/g/{gate.slug}", name="Mallory", email=alice.email
        )
        alice.refresh_from_db()
        assert (alice.name, alice.subscribed, alice.email_verified_at) == (
            "Alice Archer",
            False,
            None,
        )
        assert not Consent.objects.filter(lead=alice).exists()
        confirmation = wait_for(
            lambda: SandboxEmail.objects.filter(
                to=[alice.email], subject="Please confirm your subscription"
            ).first()
        )
        assert confirmation is not None
        assert confirmation.text.startswith("Hello Alice Archer,")
        assert problems == []
    finally:
        context.close()
