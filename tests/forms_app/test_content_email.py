"""The content-link email after a submission, sent over a real SMTP server (aiosmtpd).

The submission only writes an outbox row (same transaction); the task sends it after
commit, once, and a mail server that is down or refuses never fails the submission.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from forms_app.models import (
    DEFAULT_CONSENT_TEXT,
    DEFAULT_CONSENT_TEXT_NO_EMAIL,
    Gate,
    QuarantineReason,
    QuarantineVia,
    Submission,
)
from forms_app.services.quarantine import quarantine_hold, quarantine_release
from forms_app.services.submissions import SubmissionInput, submission_create
from profiling.models import EmailKind, EmailStatus, Lead, OutboundEmail, SandboxEmail
from profiling.services.leads import lead_erase
from profiling.services.mail import email_attempt, emails_sweep
from profiling.services.mail.attempt import MAX_ATTEMPTS
from profiling.tasks import send_email
from tests.support.factories import make_gate, make_marketer, random_email, random_slug
from tests.support.net import free_port
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.django_db

BASE = "https://leads.example-fibre.com"
FROM = "Acme Fibre <hello@example-fibre.com>"


@pytest.fixture(autouse=True)
def _mail_settings(settings: Any) -> None:
    settings.LEADGATE_SUBMIT_LIMIT_PER_IP = 1000
    settings.LEADGATE_SUBMIT_LIMIT_PER_GATE = 1000
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.LEADGATE_BASE_URL = BASE
    settings.DEFAULT_FROM_EMAIL = FROM
    # pytest-django swaps in the locmem backend: these tests talk SMTP for real.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens unless a test starts a server
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        settings.EMAIL_PORT = server.port
        yield server


@pytest.fixture
def gate() -> Gate:
    return make_gate(
        slug=random_slug("vbook"),
        title="Reliable connectivity",
        headline="Keep your business online",
    )


def _submit(client: Client, gate: Gate, **overrides: Any) -> Any:
    body = {
        "name": "Ada Lovelace",
        "email": random_email(),
        "subscribe": True,
        "visitor_id": str(uuid.uuid4()),
        "website": "",
    }
    body.update(overrides)
    return client.post(
        f"/api/v1/public/gates/{gate.slug}/submissions",
        data=json.dumps(body),
        content_type="application/json",
    )


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None, message.as_string()
    assert html is not None, message.as_string()
    return str(text.get_content()), str(html.get_content())


def test_a_submission_queues_exactly_one_email_in_its_transaction(
    client: Client, gate: Gate, django_capture_on_commit_callbacks: Any
) -> None:
    email = random_email()
    with django_capture_on_commit_callbacks(execute=False):
        response = _submit(client, gate, email=email)
    assert response.status_code == 201, response.content
    row = OutboundEmail.objects.get()
    assert row.kind == EmailKind.CONTENT_LINK
    assert row.to == email
    assert row.lead_id == uuid.UUID(response.json()["lead_id"])
    assert row.status == EmailStatus.PENDING
    assert row.attempts == 0
    assert row.subject == gate.title
    assert response.json()["content_url"] in row.text


def test_a_rolled_back_submission_leaves_no_email(gate: Gate) -> None:
    class Boom(Exception):
        pass

    def submit_then_fail() -> None:
        with transaction.atomic():
            submission_create(
                gate=gate,
                data=SubmissionInput(name="Ada", email=random_email()),
                base_url=BASE,
            )
            assert OutboundEmail.objects.count() == 1  # written inside the transaction...
            raise Boom

    with pytest.raises(Boom):
        submit_then_fail()
    assert not OutboundEmail.objects.exists()  # ...and gone with it
    assert not Submission.objects.exists()


def test_the_task_sends_it_once_over_smtp(
    client: Client, gate: Gate, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    email = random_email()
    with django_capture_on_commit_callbacks(execute=True):
        response = _submit(client, gate, email=email, name="Ada Lovelace")
    assert response.status_code == 201, response.content
    content_url = response.json()["content_url"]
    assert content_url.startswith(f"{BASE}/g/{gate.slug}?t=")

    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["From"] == FROM
    assert message["To"] == email
    assert smtp.envelopes[0][1] == [email]
    assert message["Subject"] == "Reliable connectivity"
    text, html = _parts(message)
    for part in (text, html):
        assert content_url in part
        assert "Keep your business online" in part
        assert "Ada Lovelace" in part
    # No tracking pixels, no remote anything: no images at all.
    assert "<img" not in html.lower()
    assert "src=" not in html.lower()
    unsubscribe = str(message["List-Unsubscribe"]).strip()  # may be folded onto a new line
    assert unsubscribe.startswith(f"<{BASE}/u/")
    assert unsubscribe.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    row = OutboundEmail.objects.get()
    assert row.status == EmailStatus.SENT
    assert row.sent_at is not None
    assert row.attempts == 1

    # A duplicate task (a redelivered broker message) and the sweep send nothing more.
    assert send_email(str(row.pk)) == "not-due"
    assert emails_sweep() == 0
    assert len(smtp.messages) == 1


def test_the_hosted_form_sends_the_email_too(
    client: Client, gate: Gate, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    email = random_email()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/g/{gate.slug}", {"name": "Grace Hopper", "email": email, "website": ""}
        )
    assert response.status_code == 303
    assert [m["To"] for m in smtp.messages] == [email]
    text, _ = _parts(smtp.messages[0])
    assert f"{BASE}/g/{gate.slug}?t=" in text


def test_smtp_down_never_fails_the_submission_and_the_email_is_retried(
    client: Client, gate: Gate, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # EMAIL_PORT points at a port where nothing listens: the server is down.
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = _submit(client, gate)
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.content
    assert elapsed < 3, f"the submission waited {elapsed:.1f} s for the mail server"
    row = OutboundEmail.objects.get()
    assert row.status == EmailStatus.PENDING
    assert row.attempts == 1
    assert row.last_error
    assert row.next_attempt_at is not None
    assert row.next_attempt_at > timezone.now()
    assert emails_sweep() == 0  # not due yet: backoff

    # The server comes back; when the retry is due, beat's sweep sends it.
    with SmtpServer(port=settings.EMAIL_PORT) as smtp:
        OutboundEmail.objects.filter(pk=row.pk).update(
            next_attempt_at=timezone.now() - timedelta(minutes=1)
        )
        assert emails_sweep() == 1
    assert len(smtp.messages) == 1
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert row.attempts == 2


def test_a_refusing_server_is_retried_then_given_up(
    client: Client, gate: Gate, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    smtp.refuse = True
    with django_capture_on_commit_callbacks(execute=True):
        assert _submit(client, gate).status_code == 201
    row = OutboundEmail.objects.get()
    assert row.status == EmailStatus.PENDING
    assert "554" in row.last_error
    for _ in range(MAX_ATTEMPTS - 1):
        OutboundEmail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        send_email(str(row.pk))
    row.refresh_from_db()
    assert row.status == EmailStatus.FAILED
    assert row.attempts == MAX_ATTEMPTS
    assert row.next_attempt_at is None
    assert smtp.messages == []


def test_no_email_to_a_lead_who_asked_not_to_be_contacted(
    client: Client, gate: Gate, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        response = _submit(client, gate)
    Lead.objects.filter(pk=response.json()["lead_id"]).update(do_not_contact=True)
    row = OutboundEmail.objects.get()
    assert send_email(str(row.pk)) == "skipped"
    assert smtp.messages == []
    row.refresh_from_db()
    assert row.status == EmailStatus.SKIPPED


# --- the gate setting ---------------------------------------------------------------------


def test_email_content_off_sends_nothing_and_the_notice_promises_nothing(
    client: Client, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    marketer = make_marketer()
    slug = random_slug()
    created = client.post(
        "/api/v1/gates/",
        data=json.dumps({"slug": slug, "title": "No mail", "email_content": False}),
        content_type="application/json",
        headers=marketer.auth_header,
    )
    assert created.status_code == 201, created.content
    assert created.json()["email_content"] is False
    assert created.json()["consent_text"] == DEFAULT_CONSENT_TEXT_NO_EMAIL
    assert "email" not in created.json()["consent_text"].lower()
    public = client.get(f"/api/v1/public/gates/{slug}").json()
    assert "email" not in public["consent_text"].lower()
    page = client.get(f"/g/{slug}")
    assert "email you" not in page.content.decode().lower()

    gate = Gate.objects.get(slug=slug)
    with django_capture_on_commit_callbacks(execute=True):
        response = _submit(client, gate)
    assert response.status_code == 201
    assert not OutboundEmail.objects.exists()
    assert smtp.messages == []
    assert "email" not in Submission.objects.get().consent_text.lower()

    # Turned back on, the default notice promises the email again; own wording is kept.
    patched = client.patch(
        f"/api/v1/gates/{slug}",
        data=json.dumps({"email_content": True}),
        content_type="application/json",
        headers=marketer.auth_header,
    )
    assert patched.json()["consent_text"] == DEFAULT_CONSENT_TEXT
    own = "We send you the guide by email."
    patched = client.patch(
        f"/api/v1/gates/{slug}",
        data=json.dumps({"email_content": False, "consent_text": own}),
        content_type="application/json",
        headers=marketer.auth_header,
    )
    assert patched.json()["consent_text"] == own


def test_the_workspace_gate_form_has_the_setting(client: Client, gate: Gate) -> None:
    marketer = make_marketer()
    client.force_login(marketer.user)
    page = client.get(f"/app/gates/{gate.slug}/")
    assert page.status_code == 200
    assert 'name="email_content"' in page.content.decode()


def test_a_released_held_submission_gets_its_content_email(
    gate: Gate, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    email = random_email()
    held = quarantine_hold(
        gate=gate,
        data=SubmissionInput(name="Ada", email=email),
        reason=QuarantineReason.TOO_FAST,
        via=QuarantineVia.API,
        submitted_at=None,
    )
    assert held is not None
    assert not OutboundEmail.objects.exists()  # held: no lead, no email
    with django_capture_on_commit_callbacks(execute=True):
        quarantine_release(item_id=held.pk, base_url=BASE)
    assert [m["To"] for m in smtp.messages] == [email]


def test_erasing_the_lead_erases_its_emails(
    client: Client, gate: Gate, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "profiling.mail_backend.SandboxEmailBackend"
    email = random_email()
    with django_capture_on_commit_callbacks(execute=True):
        response = _submit(client, gate, email=email)
    assert OutboundEmail.objects.filter(to=email).exists()
    assert SandboxEmail.objects.filter(to=[email]).exists()
    lead_erase(lead=Lead.objects.get(pk=response.json()["lead_id"]))
    assert not OutboundEmail.objects.exists()
    assert not SandboxEmail.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_racing_workers_send_an_email_once(smtp: SmtpServer) -> None:
    row = OutboundEmail.objects.create(
        kind=EmailKind.CONTENT_LINK,
        to=random_email(),
        subject="Once",
        text="Once only.",
        next_attempt_at=timezone.now(),
    )

    def attempt() -> str:
        try:
            return email_attempt(email_id=row.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(lambda _: attempt(), range(4)))
    assert outcomes == ["not-due", "not-due", "not-due", "sent"]
    assert len(smtp.messages) == 1
    row.refresh_from_db()
    assert row.attempts == 1
