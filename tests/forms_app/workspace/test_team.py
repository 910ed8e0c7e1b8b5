"""The team page (marketers only) and the invited colleague's accept page: permissions,
forms and their errors, the invitation email over real SMTP, and what a colleague who
accepted as sales may do."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from forms_app.models import Invitation
from forms_app.selectors import role_of
from forms_app.services.team import invitation_accept, invitation_create, invitation_revoke
from forms_app.workspace import team as team_views
from profiling.models import EmailKind, EmailStatus, OutboundEmail
from tests.support.factories import add_role, make_gate, make_lead, make_user
from tests.support.net import free_port
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase"
FROM = "Acme Fibre <hello@example-fibre.com>"
User = get_user_model()


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _invite(marketer: Any, email: str = "sam@example-fibre.com", role: str = "sales") -> str:
    _, token = invitation_create(
        invited_by=marketer, email=email, role=role, base="http://testserver"
    )
    return token


def _html(response: Any) -> str:
    return str(response.content.decode())


# --- who sees the team page ----------------------------------------------------------------


def test_the_team_page_is_for_marketers(
    client: Client, sclient: Client, no_role_user: Any, mclient: Client
) -> None:
    assert client.get("/app/team/")["Location"] == "/app/login/?next=/app/team/"
    refused = sclient.get("/app/team/")
    assert refused.status_code == 403
    assert "Only marketers can change this" in _html(refused)
    nobody = Client()
    nobody.force_login(no_role_user)
    assert nobody.get("/app/team/").status_code == 403
    assert mclient.get("/app/team/").status_code == 200


def test_the_nav_shows_team_to_marketers_only(mclient: Client, sclient: Client) -> None:
    assert 'href="/app/team/"' in _html(mclient.get("/app/"))
    assert 'href="/app/team/"' not in _html(sclient.get("/app/"))


def test_the_page_lists_members_and_pending_invitations(
    mclient: Client, marketer_user: Any, sales_user: Any
) -> None:
    sales_user.first_name, sales_user.last_name = "Sam", "Sales"
    sales_user.last_login = timezone.now() - timedelta(days=1)
    sales_user.save()
    _invite(marketer_user, email="kim@example-fibre.com", role="marketer")
    html = _html(mclient.get("/app/team/"))
    members = html[html.index('id="members"') : html.index('id="invitations"')]
    assert "Sam Sales" in members
    assert sales_user.email in members
    assert '<option value="sales" selected>sales</option>' in members
    assert (sales_user.last_login.strftime("%-d %b %Y")) in members
    assert f'href="/app/team/members/{sales_user.pk}/remove"' in members
    # One's own row has no role control and no remove link.
    assert f'href="/app/team/members/{marketer_user.pk}/remove"' not in members
    assert f'action="/app/team/members/{marketer_user.pk}/role"' not in members
    invitations = html[html.index('id="invitations"') :]
    assert "kim@example-fibre.com" in invitations
    revoke = Invitation.objects.get().pk
    assert f'action="/app/team/invitations/{revoke}/revoke"' in invitations
    assert 'name="email"' in html
    assert 'name="role"' in html
    assert "<script>" not in html  # CSP: no inline script


# --- inviting, revoking, roles, removal ---------------------------------------------------


def test_inviting_from_the_page(mclient: Client, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = mclient.post(
            "/app/team/", {"email": "Kim@Example-Fibre.com", "role": "sales"}, follow=True
        )
    assert response.redirect_chain == [("/app/team/", 302)]
    assert "Invitation sent to kim@example-fibre.com as sales" in _html(response)
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role) == ("kim@example-fibre.com", "sales")
    email = OutboundEmail.objects.get()
    assert email.kind == EmailKind.TEAM_INVITATION
    # The link is to this server (no LEADGATE_BASE_URL in tests): the request's own host.
    assert re.search(r"http://testserver/app/invite/[A-Za-z0-9_-]{40,}", email.text)
    assert len(queued) == 1  # the send, after commit


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": "not an address", "role": "sales"}, "Enter a valid email address."),
        ({"email": "kim@example-fibre.com", "role": "owner"}, "Select a valid choice."),
        ({"email": "", "role": "sales"}, "This field is required."),
    ],
)
def test_a_bad_invitation_shows_its_error(
    mclient: Client, body: dict[str, str], message: str
) -> None:
    response = mclient.post("/app/team/", body)
    assert response.status_code == 400
    assert message in _html(response)
    assert not Invitation.objects.exists()


def test_inviting_a_member_in_their_role_says_so(mclient: Client, sales_user: Any) -> None:
    response = mclient.post("/app/team/", {"email": sales_user.email, "role": "sales"})
    assert response.status_code == 400
    assert f"{sales_user.email} is already on the team as sales." in _html(response)


def test_revoking_from_the_page(mclient: Client, marketer_user: Any) -> None:
    token = _invite(marketer_user)
    invitation = Invitation.objects.get()
    response = mclient.post(f"/app/team/invitations/{invitation.pk}/revoke", follow=True)
    assert "Invitation to sam@example-fibre.com withdrawn" in _html(response)
    assert "No pending invitations." in _html(response)
    assert Client().get(f"/app/invite/{token}").status_code == 410
    assert mclient.post("/app/team/invitations/999999/revoke").status_code == 404


def test_changing_a_role_from_the_page(
    mclient: Client, marketer_user: Any, sales_user: Any
) -> None:
    response = mclient.post(
        f"/app/team/members/{sales_user.pk}/role", {"role": "marketer"}, follow=True
    )
    assert "is now marketer" in _html(response)
    assert role_of(sales_user) == "marketer"
    response = mclient.post(
        f"/app/team/members/{sales_user.pk}/role", {"role": "boss"}, follow=True
    )
    assert "Choose marketer or sales." in _html(response)
    assert role_of(sales_user) == "marketer"
    # Oneself: refused with the reason, shown on the team page.
    response = mclient.post(
        f"/app/team/members/{marketer_user.pk}/role", {"role": "sales"}, follow=True
    )
    assert "You cannot change the role of yourself: ask another marketer." in _html(response)
    assert role_of(marketer_user) == "marketer"
    assert mclient.post("/app/team/members/999999/role", {"role": "sales"}).status_code == 404


def test_removing_asks_first_then_locks_the_member_out(
    mclient: Client, sclient: Client, sales_user: Any
) -> None:
    url = f"/app/team/members/{sales_user.pk}/remove"
    confirm = mclient.get(url)
    assert confirm.status_code == 200
    assert "can no longer log in" in _html(confirm)
    assert sclient.get("/app/leads/").status_code == 200
    unconfirmed = mclient.post(url, {})
    assert unconfirmed.status_code == 400
    assert "Confirm the removal" in _html(unconfirmed)
    assert User.objects.get(pk=sales_user.pk).is_active
    done = mclient.post(url, {"confirm": "remove"}, follow=True)
    assert "was removed from the team" in _html(done)
    assert not User.objects.get(pk=sales_user.pk).is_active
    # Their open session stops working at once.
    assert sclient.get("/app/leads/")["Location"].startswith("/app/login/")
    assert mclient.get(url).status_code == 404  # no longer a member


def test_no_one_removes_themself_from_the_page(mclient: Client, marketer_user: Any) -> None:
    response = mclient.post(
        f"/app/team/members/{marketer_user.pk}/remove", {"confirm": "remove"}, follow=True
    )
    assert "You cannot remove yourself: ask another marketer." in _html(response)
    assert User.objects.get(pk=marketer_user.pk).is_active


def test_sales_users_cannot_change_the_team(
    sclient: Client, marketer_user: Any, sales_user: Any
) -> None:
    _invite(marketer_user)
    invitation = Invitation.objects.get()
    assert (
        sclient.post("/app/team/", {"email": "x@example.com", "role": "sales"}).status_code == 403
    )
    assert sclient.post(f"/app/team/invitations/{invitation.pk}/revoke").status_code == 403
    url = f"/app/team/members/{marketer_user.pk}"
    assert sclient.post(f"{url}/role", {"role": "sales"}).status_code == 403
    assert sclient.post(f"{url}/remove", {"confirm": "remove"}).status_code == 403
    assert Invitation.objects.count() == 1
    assert Invitation.objects.get().revoked_at is None
    assert role_of(marketer_user) == "marketer"
    assert User.objects.get(pk=marketer_user.pk).is_active


# --- the accept page -------------------------------------------------------------------------


def test_accepting_logs_in_as_sales_who_reads_but_cannot_edit(marketer_user: Any) -> None:
    lead = make_lead(name="Ada Lovelace")
    gate = make_gate()
    token = _invite(marketer_user)
    colleague = Client()
    form = colleague.get(f"/app/invite/{token}")
    assert form.status_code == 200
    html = _html(form)
    assert "sam@example-fibre.com" in html
    assert "You were invited as <strong>sales</strong>" in html
    assert 'name="password2"' in html
    response = colleague.post(
        f"/app/invite/{token}",
        {"name": "Sam Sales", "password": PASSWORD, "password2": PASSWORD},
        follow=True,
    )
    assert response.redirect_chain == [("/app/", 302)]
    assert "Welcome to the team. You log in with sam@example-fibre.com." in _html(response)
    user = User.objects.get(username="sam@example-fibre.com")
    assert colleague.session["_auth_user_id"] == str(user.pk)
    # Sales: sees leads...
    leads = colleague.get("/app/leads/")
    assert leads.status_code == 200
    assert "Ada Lovelace" in _html(leads)
    assert colleague.get(f"/app/leads/{lead.pk}/").status_code == 200
    # ...and edits nothing.
    assert colleague.get(f"/app/gates/{gate.slug}/").status_code == 403
    assert colleague.post(f"/app/leads/{lead.pk}/erase", {"confirm": "erase"}).status_code == 403
    assert colleague.get("/app/team/").status_code == 403
    # The password they chose is theirs: a fresh login works.
    fresh = Client().post(
        "/app/login/", {"username": "sam@example-fibre.com", "password": PASSWORD}
    )
    assert fresh["Location"] == "/app/"
    # The link worked once.
    again = Client().get(f"/app/invite/{token}")
    assert again.status_code == 410
    assert "already accepted" in _html(again)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"name": "Sam", "password": PASSWORD, "password2": PASSWORD + "!"},
            "The two passwords differ.",
        ),
        ({"name": "Sam", "password": "short", "password2": "short"}, "This password is too short."),
        ({"name": "", "password": PASSWORD, "password2": PASSWORD}, "This field is required."),
        ({"name": "Sam", "password": "x" * 300, "password2": "x"}, "at most 256 characters"),
    ],
)
def test_accept_form_errors(marketer_user: Any, body: dict[str, str], message: str) -> None:
    token = _invite(marketer_user)
    response = Client().post(f"/app/invite/{token}", body)
    assert response.status_code == 400
    assert message in _html(response)
    assert Invitation.objects.get().accepted_at is None
    assert not User.objects.filter(username="sam@example-fibre.com").exists()


def test_unusable_links_get_a_clear_page(marketer_user: Any) -> None:
    unknown = Client().get("/app/invite/not-a-token")
    assert unknown.status_code == 404
    assert "This invitation link is not valid" in _html(unknown)

    token = _invite(marketer_user)
    invitation = Invitation.objects.get()
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    expired = Client().get(f"/app/invite/{token}")
    assert expired.status_code == 410
    assert "This invitation has expired" in _html(expired)
    assert Client().post(f"/app/invite/{token}", {}).status_code == 410

    token = _invite(marketer_user, email="kim@example-fibre.com")
    invitation_revoke(
        actor=marketer_user, invitation=Invitation.objects.get(email="kim@example-fibre.com")
    )
    revoked = Client().get(f"/app/invite/{token}")
    assert revoked.status_code == 410
    assert "This invitation was withdrawn" in _html(revoked)

    token = _invite(marketer_user, email="lee@example-fibre.com")
    invitation_accept(token=token, name="Lee", password=PASSWORD)
    used = Client().post(
        f"/app/invite/{token}", {"name": "Eve", "password": PASSWORD, "password2": PASSWORD}
    )
    assert used.status_code == 410
    assert "already accepted" in _html(used)
    assert User.objects.get(username="lee@example-fibre.com").first_name == "Lee"


def test_an_existing_account_accepts_with_its_password(marketer_user: Any) -> None:
    kim = add_role(make_user(username="kim", is_staff=False), "sales")
    kim.email = "kim@example-fibre.com"
    kim.set_password(PASSWORD)
    kim.save()
    token = _invite(marketer_user, email="kim@example-fibre.com", role="marketer")
    page = Client().get(f"/app/invite/{token}")
    assert "You already have a leadgate account" in _html(page)
    assert 'name="name"' not in _html(page)
    wrong = Client().post(f"/app/invite/{token}", {"password": "not it at all"})
    assert wrong.status_code == 400
    assert "Enter the password of your existing leadgate account." in _html(wrong)
    client = Client()
    assert client.post(f"/app/invite/{token}", {"password": PASSWORD})["Location"] == "/app/"
    assert client.session["_auth_user_id"] == str(kim.pk)
    assert role_of(kim) == "marketer"


def test_the_accept_page_is_rate_limited_per_address(
    marketer_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(team_views, "ACCEPT_LIMIT_PER_IP", 3)
    token = _invite(marketer_user)
    body = {"name": "Sam", "password": "short", "password2": "short"}
    for _ in range(3):
        assert (
            Client(REMOTE_ADDR="203.0.113.7").post(f"/app/invite/{token}", body).status_code == 400
        )
    good = {"name": "Sam", "password": PASSWORD, "password2": PASSWORD}
    limited = Client(REMOTE_ADDR="203.0.113.7").post(f"/app/invite/{token}", good)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert "Too many tries from your address" in _html(limited)
    assert Invitation.objects.get().accepted_at is None
    # Another address is not held back.
    assert Client(REMOTE_ADDR="198.51.100.9").post(f"/app/invite/{token}", good).status_code == 302


# --- the invitation email, over real SMTP -------------------------------------------------


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpServer]:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DEFAULT_FROM_EMAIL = FROM
    # pytest-django swaps in the locmem backend: this test talks SMTP for real.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    with SmtpServer() as server:
        settings.EMAIL_PORT = server.port
        yield server


def test_the_invitation_arrives_by_smtp_and_its_link_lets_the_colleague_in(
    mclient: Client, smtp: SmtpServer, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.LEADGATE_BASE_URL = "https://leads.example-fibre.com"
    with django_capture_on_commit_callbacks(execute=True):
        response = mclient.post("/app/team/", {"email": "sam@example-fibre.com", "role": "sales"})
    assert response.status_code == 302
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "sam@example-fibre.com"
    assert message["From"] == FROM
    assert "invited you to leadgate" in message["Subject"]
    assert message["List-Unsubscribe"] is None  # a colleague's one-off, not marketing
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    link = re.search(
        r"^https://leads\.example-fibre\.com(/app/invite/[A-Za-z0-9_-]{40,})\s*$",
        str(text.get_content()),
        re.MULTILINE,
    )
    assert link is not None, text.get_content()
    assert f'href="https://leads.example-fibre.com{link.group(1)}"' in str(html.get_content())
    assert OutboundEmail.objects.get().status == EmailStatus.SENT

    colleague = Client()
    answer = colleague.post(
        link.group(1), {"name": "Sam Sales", "password": PASSWORD, "password2": PASSWORD}
    )
    assert answer["Location"] == "/app/"
    assert colleague.get("/app/leads/").status_code == 200
