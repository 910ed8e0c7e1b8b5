"""The emailed links in a real browser: the content link opens the content, and the
unsubscribe link shows a confirm page whose button unsubscribes (CSP on, no errors)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from profiling.models import Lead, SandboxEmail
from tests.support.factories import make_gate
from tests.support.page_watch import hosted_form_submit, page_problems
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.form_token, pytest.mark.django_db(transaction=True)]


def test_the_emailed_links_work_in_a_browser(
    chromium: Any, live_server: Any, settings: Any
) -> None:
    # The demo's set-up: no EMAIL_HOST, so the email lands in the sandbox mail inbox.
    settings.EMAIL_BACKEND = "profiling.mail_backend.SandboxEmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    gate = make_gate(title="The fibre network e-book", headline="Plan a fibre roll-out")
    context = chromium.new_context()
    page = context.new_page()
    problems = page_problems(page)
    try:
        hosted_form_submit(
            page,
            f"{live_server.url}/g/{gate.slug}",
            name="Kim Keys",
            email="kim@fibre-keys.example",
        )
        lead = Lead.objects.get(email="kim@fibre-keys.example")
        assert lead.subscribed is True

        email = wait_for(lambda: SandboxEmail.objects.filter(to=[lead.email]).first())
        assert email is not None
        content_link = re.search(r"^(http\S+/g/\S+)$", email.text, re.MULTILINE)
        assert content_link is not None, email.text
        unsubscribe = email.headers["list-unsubscribe"].strip().strip("<>")

        # The content link opens the content in a browser that never saw the form.
        fresh = chromium.new_context()
        other = fresh.new_page()
        other.goto(content_link.group(1))
        assert other.locator("[data-leadgate-section]").count() == 6
        fresh.close()

        page.goto(unsubscribe)
        assert page.inner_text("h1") == "Unsubscribe?"
        lead.refresh_from_db()
        assert lead.subscribed is True  # opening the link changes nothing
        page.click("button[type=submit]")
        page.wait_for_selector("text=You are unsubscribed")
        lead.refresh_from_db()
        assert lead.subscribed is False
        assert problems == []
    finally:
        context.close()
