"""Proven identity through the public API and the hosted pages: a typed email takes no
one over, the emailed confirmation (one button, POST) applies a claim and proves the
browser, leads merge only when one browser proved both (or by hand), double opt-in.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from forms_app import confirm as confirm_view
from forms_app.models import Gate, Submission
from forms_app.services.confirmation import (
    MAX_CONFIRMATIONS_PER_HOUR,
    confirmation_token_make,
)
from profiling.models import (
    Consent,
    ConsentMethod,
    EmailKind,
    IdentityProof,
    Lead,
    OutboundEmail,
    Visitor,
)
from profiling.services.mail import unsubscribe_token_make
from tests.support.api import assert_error
from tests.support.csp import markup_of, policy_of
from tests.support.factories import make_gate, make_lead, make_visitor, random_email, random_slug
from tests.support.net import free_port
from tests.support.signing import signed_days_ago
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.django_db

BASE = "https://leads.example-fibre.com"
CONFIRM_LINK = re.compile(r"(https://leads\.example-fibre\.com(/confirm/[A-Za-z0-9_:-]+))")


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.LEADGATE_SUBMIT_LIMIT_PER_IP = 1000
    settings.LEADGATE_SUBMIT_LIMIT_PER_GATE = 1000
    settings.LEADGATE_BASE_URL = BASE


@pytest.fixture
def gate() -> Gate:
    return make_gate(slug=random_slug("vbook"), title="Reliable connectivity")


@pytest.fixture
def doi_gate() -> Gate:
    gate = make_gate(slug=random_slug("doi"), title="The fibre report")
    gate.double_opt_in = True
    gate.save(update_fields=["double_opt_in"])
    return gate


def _submit(client: Client, gate: Gate, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Ada Lovelace",
        "email": random_email(),
        "subscribe": False,
        "visitor_id": str(uuid.uuid4()),
        "website": "",
        **fields,
    }
    response = client.post(
        f"/api/v1/public/gates/{gate.slug}/submissions",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    data: dict[str, Any] = response.json()
    return data


def _confirmations(lead: Lead) -> list[OutboundEmail]:
    return list(
        OutboundEmail.objects.filter(lead=lead, kind=EmailKind.CONFIRMATION).order_by("created_at")
    )


def _confirm_path(email: OutboundEmail) -> str:
    found = CONFIRM_LINK.search(email.text)
    assert found is not None, email.text
    assert found.group(1) in email.html
    return found.group(2)


def _lead_api(client: Client, marketer: Any, lead_id: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/leads/{lead_id}", headers=marketer.auth_header)
    assert response.status_code == 200, response.content
    data: dict[str, Any] = response.json()
    return data


def _alice(*, subscribed: bool = True) -> Lead:
    """An older lead; subscribed by a form opt-in ten days ago unless asked otherwise."""
    given = timezone.now() - timedelta(days=10)
    notice = "The notice Alice agreed to."
    alice = make_lead(
        email=random_email(),
        name="Alice Archer",
        subscribed=subscribed,
        consent_text=notice if subscribed else "",
        consented_at=given if subscribed else None,
    )
    if subscribed:
        Consent.objects.create(lead=alice, text=notice, given_at=given, method=ConsentMethod.FORM)
    Lead.objects.filter(pk=alice.pk).update(created_at=timezone.now() - timedelta(days=30))
    make_visitor(lead=alice)
    return alice


# --- a typed email takes no one over -------------------------------------------------------


def test_a_known_email_from_another_browser_changes_nothing_of_the_lead(
    client: Client, gate: Gate
) -> None:
    alice = _alice()
    before = Lead.objects.values().get(pk=alice.pk)
    stranger = uuid.uuid4()
    answer = _submit(
        client,
        gate,
        name="Mallory",
        email=alice.email.upper(),
        subscribe=True,
        visitor_id=str(stranger),
    )
    assert answer["lead_id"] == str(alice.pk)
    after = Lead.objects.values().get(pk=alice.pk)
    for field in (
        "name",
        "subscribed",
        "consent_text",
        "consented_at",
        "email_verified_at",
        "merged_into_id",
    ):
        assert after[field] == before[field], field
    assert Consent.objects.filter(lead=alice).count() == 1
    assert alice.subscribed is True
    # What was claimed is on the submission, marked unverified.
    claim = Submission.objects.get(visitor_id=stranger)
    assert (claim.claimed_name, claim.subscribed, claim.verified, claim.confirmed_at) == (
        "Mallory",
        True,
        False,
        None,
    )
    # The new browser's behaviour counts for the lead (it belonged to no one).
    assert Visitor.objects.get(pk=stranger).lead_id == alice.pk
    # The address's owner is asked; the email greets the owner, not the claimant.
    (confirmation,) = _confirmations(alice)
    assert confirmation.to == alice.email.upper()
    assert confirmation.headers == {}  # the one email without List-Unsubscribe
    assert confirmation.text.startswith("Hello Alice Archer,")
    assert '"Mallory"' in confirmation.text
    content = OutboundEmail.objects.get(lead=alice, kind=EmailKind.CONTENT_LINK)
    assert "Mallory" not in content.text
    assert "List-Unsubscribe" in content.headers


def test_a_known_email_through_the_hosted_form_changes_nothing_either(
    client: Client, gate: Gate
) -> None:
    alice = _alice(subscribed=False)
    response = client.post(
        f"/g/{gate.slug}",
        {"name": "Mallory", "email": alice.email, "subscribe": "on", "website": ""},
    )
    assert response.status_code == 303
    alice.refresh_from_db()
    assert (alice.name, alice.subscribed) == ("Alice Archer", False)
    assert len(_confirmations(alice)) == 1


def test_the_same_browser_with_a_second_known_email_merges_nothing(
    client: Client, gate: Gate
) -> None:
    browser = str(uuid.uuid4())
    alice_id = _submit(client, gate, name="Alice", email=random_email(), visitor_id=browser)[
        "lead_id"
    ]
    bob = make_lead(name="Bob Baker")
    answer = _submit(client, gate, name="Not Bob", email=bob.email, visitor_id=browser)
    assert answer["lead_id"] == str(bob.pk)
    bob.refresh_from_db()
    alice = Lead.objects.get(pk=alice_id)
    assert (alice.merged_into_id, bob.merged_into_id) == (None, None)
    assert bob.name == "Bob Baker"
    # The browser stays with the lead it belonged to: its events keep counting there.
    assert Visitor.objects.get(pk=browser).lead_id == alice.pk
    # A third, new address from it makes a third lead, still merging nothing.
    carol_id = _submit(client, gate, name="Carol", email=random_email(), visitor_id=browser)[
        "lead_id"
    ]
    assert Lead.objects.filter(merged_into__isnull=False).count() == 0
    assert len({alice_id, str(bob.pk), carol_id}) == 3


# --- the confirmation link -------------------------------------------------------------------


def test_opening_the_link_confirms_nothing_and_the_button_confirms_once(
    client: Client, gate: Gate, marketer: Any
) -> None:
    grace = make_lead(name="Grace")
    browser = uuid.uuid4()
    _submit(client, gate, name="Grace Hopper", email=grace.email, visitor_id=str(browser))
    (email,) = _confirmations(grace)
    assert email.subject == "Please confirm it was you"
    path = _confirm_path(email)

    for method in ("get", "head"):
        page = getattr(Client(), method)(path)
        assert page.status_code == 200
    page = Client().get(path)
    html = page.content.decode()
    assert "<h1" in html
    assert "Confirm it was you" in html
    assert '<form method="post">' in html
    assert html.count("<button") == 1
    assert "Grace Hopper" in html
    assert "private" in page["Cache-Control"]
    policy_of(page)
    markup = markup_of(html)
    assert (markup.inline_scripts, markup.style_attributes, markup.style_elements) == ([], [], 0)
    grace.refresh_from_db()
    assert (grace.name, grace.email_verified_at) == ("Grace", None)
    assert not IdentityProof.objects.exists()
    assert Submission.objects.get(visitor_id=browser).confirmed_at is None

    # The button: a POST without cookies or CSRF token (the signed link authorises it).
    done = Client(enforce_csrf_checks=True).post(path)
    assert done.status_code == 200
    assert "Confirmed" in done.content.decode()
    grace.refresh_from_db()
    assert grace.name == "Grace Hopper"
    assert grace.email_verified_at is not None
    assert not Consent.objects.filter(lead=grace).exists()  # no opt-in was asked
    assert IdentityProof.objects.filter(visitor_id=browser, lead=grace).count() == 1
    claim = Submission.objects.get(visitor_id=browser)
    assert claim.verified
    assert claim.confirmed_at is not None

    # Pressed again (or a retried POST): the same page, nothing more.
    verified_at = grace.email_verified_at
    again = Client().post(path)
    assert again.status_code == 200
    grace.refresh_from_db()
    assert grace.email_verified_at == verified_at
    assert IdentityProof.objects.count() == 1
    assert Client().get(path).content.decode().count("Confirmed") >= 1

    # The browser has proven the address: its next claims apply at once, unasked.
    _submit(client, gate, name="Rear Admiral Hopper", email=grace.email, visitor_id=str(browser))
    grace.refresh_from_db()
    assert grace.name == "Rear Admiral Hopper"
    assert len(_confirmations(grace)) == 1
    assert Submission.objects.filter(visitor_id=browser, verified=True).count() == 2
    assert _lead_api(client, marketer, grace.pk)["email_verified"] is True


def test_a_confirmed_opt_in_on_a_known_lead_is_a_double_opt_in_consent(
    client: Client, gate: Gate, marketer: Any
) -> None:
    alice = _alice(subscribed=False)
    _submit(client, gate, name="Alice Archer", email=alice.email, subscribe=True)
    alice.refresh_from_db()
    assert alice.subscribed is False
    (email,) = _confirmations(alice)
    assert email.subject == "Please confirm your subscription"
    assert Client().post(_confirm_path(email)).status_code == 200
    alice.refresh_from_db()
    assert alice.subscribed is True
    assert alice.consent_text == gate.consent_text
    detail = _lead_api(client, marketer, alice.pk)
    assert detail["subscribed"] is True
    assert [(c["method"], c["gate"]) for c in detail["consents"]] == [("double_opt_in", gate.slug)]


def test_a_browser_that_proved_both_addresses_merges_their_leads(
    client: Client, gate: Gate, marketer: Any
) -> None:
    alice = _alice(subscribed=False)  # the older lead
    bob = make_lead(name="Alice at home")
    browser = str(uuid.uuid4())
    _submit(
        client, gate, name="Alice Archer", email=alice.email, subscribe=True, visitor_id=browser
    )
    assert Client().post(_confirm_path(_confirmations(alice)[0])).status_code == 200
    assert Visitor.objects.get(pk=browser).lead_id == alice.pk
    # The same browser claims the second address: nothing merges on a claim...
    _submit(client, gate, name="Alice Archer", email=bob.email, subscribe=True, visitor_id=browser)
    bob.refresh_from_db()
    assert bob.merged_into_id is None
    # ...only once that address's owner confirms too: one browser proved both.
    assert Client().post(_confirm_path(_confirmations(bob)[0])).status_code == 200
    bob.refresh_from_db()
    alice.refresh_from_db()
    assert bob.merged_into_id == alice.pk
    assert alice.merged_into_id is None
    assert _lead_api(client, marketer, bob.pk)["id"] == str(alice.pk)
    assert set(Visitor.objects.filter(lead=alice).values_list("id", flat=True)) >= {
        uuid.UUID(browser)
    }


def test_the_link_expires_is_refused_when_forged_and_says_when_the_data_is_gone(
    client: Client, gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = make_lead()
    claim = Submission.objects.create(gate=gate, lead=lead, claimed_name="X", subscribed=True)
    # Signed eight days ago: the link works for seven.
    old = signed_days_ago(lambda: confirmation_token_make(submission_id=claim.pk), monkeypatch, 8)
    expired = Client().get(f"/confirm/{old}")
    assert expired.status_code == 410
    assert "expired" in expired.content.decode()
    assert f'href="/g/{gate.slug}"' in expired.content.decode()
    assert Client().post(f"/confirm/{old}").status_code == 410
    lead.refresh_from_db()
    assert lead.email_verified_at is None

    other_purpose = unsubscribe_token_make(lead_id=lead.pk)
    for token in ("forged", f"{claim.pk}:abc:def", other_purpose):
        for method in ("get", "post"):
            response = getattr(Client(), method)(f"/confirm/{token}")
            assert response.status_code == 400, (token, method)
            assert "not valid" in response.content.decode()

    fresh = confirmation_token_make(submission_id=claim.pk)
    claim.delete()  # erased with its person
    assert Client().get(f"/confirm/{fresh}").status_code == 404
    assert Client().post(f"/confirm/{fresh}").status_code == 404
    assert Client().put(f"/confirm/{fresh}").status_code == 405


def test_the_confirmation_page_is_rate_limited(
    client: Client, gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(confirm_view, "CONFIRM_LIMIT_PER_IP", 2)
    path = f"/confirm/{confirmation_token_make(submission_id=1)}"
    assert [Client().get(path).status_code for _ in range(2)] == [404, 404]
    busy = Client().get(path)
    assert busy.status_code == 429
    assert int(busy["Retry-After"]) > 0


def test_confirmation_emails_to_one_address_are_capped(client: Client, gate: Gate) -> None:
    alice = _alice(subscribed=False)
    for n in range(MAX_CONFIRMATIONS_PER_HOUR + 2):
        _submit(client, gate, name=f"Spam {n}", email=alice.email, subscribe=True)
    assert len(_confirmations(alice)) == MAX_CONFIRMATIONS_PER_HOUR
    assert Submission.objects.filter(lead=alice).count() == MAX_CONFIRMATIONS_PER_HOUR + 2


def test_a_claim_that_changes_nothing_sends_no_confirmation(client: Client, gate: Gate) -> None:
    alice = _alice()
    _submit(client, gate, name="Alice Archer", email=alice.email, subscribe=False)
    assert _confirmations(alice) == []


# --- double opt-in ----------------------------------------------------------------------------


def test_double_opt_in_subscribes_only_after_the_confirmation(
    client: Client, doi_gate: Gate, marketer: Any
) -> None:
    email = random_email()
    lead_id = _submit(client, doi_gate, name="Dee", email=email, subscribe=True)["lead_id"]
    lead = Lead.objects.get(pk=lead_id)
    assert lead.name == "Dee"  # a new lead: nothing to take over
    detail = _lead_api(client, marketer, lead_id)
    assert (detail["subscribed"], detail["email_verified"], detail["do_not_contact"]) == (
        False,
        False,
        False,
    )
    assert detail["consents"] == []
    (confirmation,) = _confirmations(lead)
    assert confirmation.headers == {}
    assert "List-Unsubscribe" in OutboundEmail.objects.get(kind=EmailKind.CONTENT_LINK).headers

    assert Client().post(_confirm_path(confirmation)).status_code == 200
    detail = _lead_api(client, marketer, lead_id)
    assert (detail["subscribed"], detail["email_verified"]) == (True, True)
    (consent,) = detail["consents"]
    assert consent["method"] == "double_opt_in"
    assert consent["gate"] == doi_gate.slug
    assert consent["text"] == doi_gate.consent_text
    assert consent["given_at"]
    assert consent["withdrawn_at"] is None


def test_the_public_gate_config_says_whether_it_asks_for_double_opt_in(
    client: Client, gate: Gate, doi_gate: Gate
) -> None:
    for g, expected in ((gate, False), (doi_gate, True)):
        response = client.get(f"/api/v1/public/gates/{g.slug}")
        assert response.status_code == 200
        assert response.json()["double_opt_in"] is expected


def test_double_opt_in_without_the_box_ticked_sends_no_confirmation(
    client: Client, doi_gate: Gate
) -> None:
    lead_id = _submit(client, doi_gate, subscribe=False)["lead_id"]
    assert _confirmations(Lead.objects.get(pk=lead_id)) == []


def test_without_double_opt_in_a_new_lead_is_subscribed_by_form(
    client: Client, gate: Gate, marketer: Any
) -> None:
    lead_id = _submit(client, gate, subscribe=True)["lead_id"]
    detail = _lead_api(client, marketer, lead_id)
    assert (detail["subscribed"], detail["email_verified"]) == (True, False)
    assert [(c["method"], c["gate"]) for c in detail["consents"]] == [("form", gate.slug)]
    assert _confirmations(Lead.objects.get(pk=lead_id)) == []


def test_the_hosted_form_on_a_double_opt_in_gate_says_to_confirm(
    client: Client, doi_gate: Gate
) -> None:
    email = random_email()
    response = client.post(
        f"/g/{doi_gate.slug}",
        {"name": "Dee", "email": email, "subscribe": "on", "website": ""},
    )
    assert response.status_code == 303
    assert "confirm=1" in response["Location"]
    page = client.get(response["Location"])
    assert "confirm your subscription from the email" in page.content.decode()
    assert Lead.objects.get(email=email).subscribed is False


def test_the_gate_api_has_double_opt_in_off_by_default(client: Client, marketer: Any) -> None:
    auth = {"headers": marketer.auth_header}
    created = client.post(
        "/api/v1/gates/",
        {"slug": random_slug("g"), "title": "G", "stage": "interest"},
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201, created.content
    assert created.json()["double_opt_in"] is False
    slug = created.json()["slug"]
    changed = client.patch(
        f"/api/v1/gates/{slug}", {"double_opt_in": True}, content_type="application/json", **auth
    )
    assert changed.status_code == 200
    assert changed.json()["double_opt_in"] is True
    assert Gate.objects.get(slug=slug).double_opt_in is True
    bad = client.patch(
        f"/api/v1/gates/{slug}", {"double_opt_in": "maybe"}, content_type="application/json", **auth
    )
    assert_error(bad, 400, "double_opt_in")


# --- the emails over a real SMTP server ---------------------------------------------------------


def test_the_confirmation_arrives_without_list_unsubscribe_and_the_content_email_with_it(
    client: Client, doi_gate: Gate, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    settings.CELERY_TASK_ALWAYS_EAGER = True
    email = random_email()
    with SmtpServer(port=free_port()) as smtp:
        settings.EMAIL_PORT = smtp.port
        with django_capture_on_commit_callbacks(execute=True):
            _submit(client, doi_gate, name="Dee", email=email, subscribe=True)
        messages: list[EmailMessage] = list(smtp.messages)
    by_subject = {str(m["Subject"]): m for m in messages}
    assert set(by_subject) == {"The fibre report", "Please confirm your subscription"}
    content, confirmation = (
        by_subject["The fibre report"],
        by_subject["Please confirm your subscription"],
    )
    assert str(content["List-Unsubscribe"]).strip().startswith(f"<{BASE}/u/")
    assert content["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert confirmation["To"] == email
    assert confirmation["List-Unsubscribe"] is None
    assert confirmation["List-Unsubscribe-Post"] is None
    body = confirmation.get_body(preferencelist=("plain",))
    assert body is not None
    found = CONFIRM_LINK.search(str(body.get_content()))
    assert found is not None
    assert Client().post(found.group(2)).status_code == 200
    assert Lead.objects.get(email=email).subscribed is True


# --- merging by hand ------------------------------------------------------------------------------


def test_a_marketer_merges_two_leads_by_hand(client: Client, marketer: Any) -> None:
    auth = {"headers": marketer.auth_header}
    older, younger = _alice(), make_lead()
    response = client.post(
        f"/api/v1/leads/{older.pk}/merge",
        {"into": str(younger.pk)},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200, response.content
    # The lead named by `into` remains, though it is the younger one.
    assert response.json()["id"] == str(younger.pk)
    older.refresh_from_db()
    assert older.merged_into_id == younger.pk
    assert Visitor.objects.filter(lead=younger).count() == 1

    again = client.post(
        f"/api/v1/leads/{older.pk}/merge",
        {"into": str(younger.pk)},
        content_type="application/json",
        **auth,
    )
    assert_error(again, 400, "into")
    for body in ({}, {"into": "nope"}, {"into": str(uuid.uuid4())}):
        bad = client.post(
            f"/api/v1/leads/{younger.pk}/merge", body, content_type="application/json", **auth
        )
        assert_error(bad, 400, "into")
    missing = client.post(
        f"/api/v1/leads/{uuid.uuid4()}/merge",
        {"into": str(younger.pk)},
        content_type="application/json",
        **auth,
    )
    assert_error(missing, 404)
