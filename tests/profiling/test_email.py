"""Email plumbing: the sandbox mail inbox (backend and page), the outbox with a real
Celery worker, and the one-click unsubscribe link (RFC 8058)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.test import Client

from profiling import mail_backend
from profiling.models import EmailKind, EmailStatus, Lead, OutboundEmail, SandboxEmail
from profiling.services.mail import email_queue, unsubscribe_token_make
from profiling.services.mail.unsubscribe import unsubscribe_url
from tests.support.celery_worker import CeleryWorkerProcess
from tests.support.csp import markup_of, policy_of
from tests.support.factories import make_gate, make_lead, make_user, random_email
from tests.support.waiting import wait_for

SANDBOX_BACKEND = "profiling.mail_backend.SandboxEmailBackend"


@pytest.fixture(autouse=True)
def _sandbox_mail(settings: Any) -> None:
    settings.LEADGATE_SANDBOX = True
    settings.EMAIL_BACKEND = SANDBOX_BACKEND
    settings.EMAIL_HOST = ""


def _staff_client() -> Client:
    client = Client()
    client.force_login(make_user(is_staff=True))
    return client


# --- the sandbox mail inbox -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_sandbox_backend_stores_mail_and_the_page_lists_it(
    django_capture_on_commit_callbacks: Any,
) -> None:
    lead = make_lead()
    with django_capture_on_commit_callbacks(execute=True):
        email_queue(
            kind=EmailKind.CONTENT_LINK,
            lead_id=lead.pk,
            to=lead.email,
            subject="Reliable connectivity",
            text="Open it here: https://leads.example-fibre.com/g/x?t=abc",
            html="<p>Open <a href='https://leads.example-fibre.com/g/x?t=abc'>it</a></p>",
            headers={"List-Unsubscribe": "<https://leads.example-fibre.com/u/t>"},
        )
    stored = SandboxEmail.objects.get()
    assert stored.to == [lead.email]
    assert stored.subject == "Reliable connectivity"
    assert "t=abc" in stored.text
    assert "<a href" in stored.html
    assert stored.headers["list-unsubscribe"] == "<https://leads.example-fibre.com/u/t>"
    assert OutboundEmail.objects.get().status == EmailStatus.SENT

    page = _staff_client().get("/sandbox/mail/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Reliable connectivity" in body
    assert lead.email in body
    # The HTML part is shown as text, never rendered into the page.
    assert "&lt;a href=" in body
    policy_of(page)


@pytest.mark.django_db
def test_the_sandbox_mail_inbox_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mail_backend, "KEPT_EMAILS", 2)
    for n in range(3):
        EmailMultiAlternatives(subject=f"n{n}", body="x", to=["a@example.com"]).send()
    assert list(SandboxEmail.objects.values_list("subject", flat=True)) == ["n2", "n1"]


@pytest.mark.django_db
def test_the_sandbox_mail_inbox_is_for_staff_and_off_without_the_sandbox(settings: Any) -> None:
    anonymous = Client().get("/sandbox/mail/")
    assert anonymous.status_code == 302
    not_staff = Client()
    not_staff.force_login(make_user(is_staff=False))
    assert not_staff.get("/sandbox/mail/").status_code == 302
    assert _staff_client().post("/sandbox/mail/").status_code == 405
    settings.LEADGATE_SANDBOX = False
    assert _staff_client().get("/sandbox/mail/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_content_email_into_the_sandbox_inbox(
    celery_worker_process: CeleryWorkerProcess, settings: Any
) -> None:
    # The worker runs with no EMAIL_HOST, as the demo does: mail lands in /sandbox/mail/.
    settings.LEADGATE_SUBMIT_LIMIT_PER_IP = 1000
    gate = make_gate(title="Reliable connectivity", headline="Keep your business online")
    email = random_email()
    response = Client().post(
        f"/api/v1/public/gates/{gate.slug}/submissions",
        data=json.dumps({"name": "Ada", "email": email, "website": ""}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    stored = wait_for(
        lambda: SandboxEmail.objects.filter(to=[email]).first(),
        timeout=20,
        message=lambda: celery_worker_process.log_tail(),
    )
    assert stored is not None
    assert response.json()["content_url"] in stored.text
    assert "Keep your business online" in stored.html
    assert stored.headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
    row = wait_for(lambda: OutboundEmail.objects.filter(to=email, status=EmailStatus.SENT).first())
    assert row is not None
    assert row.attempts == 1
    page = _staff_client().get("/sandbox/mail/")
    assert email in page.content.decode()


# --- unsubscribe ------------------------------------------------------------------------------


@pytest.fixture
def subscribed() -> Lead:
    return make_lead(subscribed=True, consent_text="We'll email you this content.")


@pytest.mark.django_db
def test_one_click_post_without_cookies_unsubscribes(subscribed: Lead) -> None:
    # A mail client's RFC 8058 POST: no cookies, no CSRF token, the form body only.
    client = Client(enforce_csrf_checks=True)
    path = f"/u/{unsubscribe_token_make(lead_id=subscribed.pk)}"
    response = client.post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert not response.cookies
    subscribed.refresh_from_db()
    assert subscribed.subscribed is False
    # Again (a client retrying): still 200, still unsubscribed.
    again = client.post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert again.status_code == 200


@pytest.mark.django_db
def test_opening_the_link_shows_a_confirm_page_and_changes_nothing(subscribed: Lead) -> None:
    path = f"/u/{unsubscribe_token_make(lead_id=subscribed.pk)}"
    page = Client().get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<form method="post">' in html
    assert 'name="List-Unsubscribe" value="One-Click"' in html
    assert "<button" in html
    subscribed.refresh_from_db()
    assert subscribed.subscribed is True
    # CSP applies: no inline script or style on the page.
    policy_of(page)
    markup = markup_of(html)
    assert markup.inline_scripts == []
    assert markup.style_attributes == []
    assert markup.style_elements == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "token",
    [
        "forged",
        "0b4f6d0e8c2a4e6f9d1b3a5c7e9f1a2b:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        # A real signature, made for another purpose (salt): refused here.
        "other-salt",
    ],
)
def test_a_forged_token_is_refused(subscribed: Lead, token: str) -> None:
    if token == "other-salt":
        token = signing.Signer(salt="leadgate.something-else").sign(subscribed.pk.hex)
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/u/{token}")
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    subscribed.refresh_from_db()
    assert subscribed.subscribed is True


@pytest.mark.django_db
def test_a_token_for_a_lead_that_is_gone_is_404() -> None:
    response = Client().post(f"/u/{unsubscribe_token_make(lead_id=uuid.uuid4())}")
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_header_link_is_the_one_that_unsubscribes(subscribed: Lead) -> None:
    url = unsubscribe_url(lead_id=subscribed.pk, base="https://leads.example-fibre.com")
    path = url.removeprefix("https://leads.example-fibre.com")
    assert Client().post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    subscribed.refresh_from_db()
    assert subscribed.subscribed is False
