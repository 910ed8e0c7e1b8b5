"""The team services: invitations (create, accept, revoke), roles, removal, and the rules
that keep a workspace with at least one marketer."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.authtoken.models import Token

from config.roles import can_edit, can_view
from forms_app.models import Invitation
from forms_app.selectors import invitations_pending, role_of, team_members
from forms_app.services.team import (
    INVITATIONS_PER_HOUR,
    InvitationUnusable,
    invitation_accept,
    invitation_create,
    invitation_revoke,
    member_remove,
    member_role_set,
)
from profiling.models import EmailKind, OutboundEmail
from tests.support.factories import add_role, make_user, random_email

pytestmark = pytest.mark.django_db

BASE = "https://leads.example-fibre.com"
PASSWORD = "a long enough passphrase"
User = get_user_model()


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _in(role: str | None, email: str = "", **extra: Any) -> Any:
    user = make_user(is_staff=False, **extra)
    if email:
        user.email = email
        user.save(update_fields=["email"])
    return add_role(user, role) if role else user


@pytest.fixture
def marketer() -> Any:
    return _in("marketer", first_name="Mara", last_name="Keting")


def _invite(marketer: Any, email: str = "", role: str = "sales") -> tuple[Invitation, str]:
    return invitation_create(
        invited_by=marketer, email=email or random_email(), role=role, base=BASE
    )


# --- invitations -------------------------------------------------------------------------


def test_an_invitation_stores_a_hash_and_queues_one_email_with_the_link(marketer: Any) -> None:
    invitation, token = _invite(marketer, email="  Sam.Sales@Example-Fibre.com ")
    assert invitation.email == "sam.sales@example-fibre.com"
    assert invitation.role == "sales"
    assert invitation.invited_by == marketer
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # The raw token is nowhere in the row: a database read hands out no working link.
    assert token not in repr(Invitation.objects.filter(pk=invitation.pk).values().get())
    lifetime = invitation.expires_at - invitation.created_at
    assert timedelta(days=7) - timedelta(seconds=5) < lifetime <= timedelta(days=7)

    email = OutboundEmail.objects.get()
    assert email.kind == EmailKind.TEAM_INVITATION
    assert email.lead_id is None  # a colleague, not a lead
    assert email.to == "sam.sales@example-fibre.com"
    assert email.subject == "Mara Keting invited you to leadgate"
    assert f"{BASE}/app/invite/{token}" in email.text
    assert f"{BASE}/app/invite/{token}" in email.html
    assert "List-Unsubscribe" not in email.headers
    assert list(invitations_pending()) == [invitation]


@pytest.mark.parametrize("role", ["sales", None])
def test_only_marketers_invite(role: str | None) -> None:
    with pytest.raises(PermissionDenied):
        invitation_create(invited_by=_in(role), email=random_email(), role="sales", base=BASE)
    assert not Invitation.objects.exists()
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize(
    ("email", "role", "field", "message"),
    [
        ("not-an-address", "sales", "email", "Enter a valid email address."),
        ("", "sales", "email", "Enter your colleague's email address."),
        ("a" * 140 + "@example.com", "sales", "email", "at most 150 characters"),
        ("kim@example.com", "admin", "role", "Choose marketer or sales."),
    ],
)
def test_bad_invitations_are_refused_per_field(
    marketer: Any, email: str, role: str, field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        invitation_create(invited_by=marketer, email=email, role=role, base=BASE)
    assert message in " ".join(caught.value.message_dict[field])
    assert not Invitation.objects.exists()


def test_a_member_in_the_same_role_is_not_invited_again(marketer: Any) -> None:
    _in("sales", email="sam@example-fibre.com")
    with pytest.raises(ValidationError) as caught:
        _invite(marketer, email="SAM@example-fibre.com", role="sales")
    assert caught.value.message_dict["email"] == [
        "sam@example-fibre.com is already on the team as sales."
    ]
    # Another role is a change of role, by invitation: allowed.
    _invite(marketer, email="sam@example-fibre.com", role="marketer")


def test_a_new_invitation_replaces_the_pending_one(marketer: Any) -> None:
    _, first_token = _invite(marketer, email="kim@example-fibre.com")
    second, second_token = _invite(marketer, email="kim@example-fibre.com", role="marketer")
    assert list(invitations_pending()) == [second]
    with pytest.raises(InvitationUnusable) as caught:
        invitation_accept(token=first_token, name="Kim", password=PASSWORD)
    assert caught.value.reason == "revoked"
    user = invitation_accept(token=second_token, name="Kim", password=PASSWORD)
    assert role_of(user) == "marketer"


def test_invitations_per_marketer_are_limited(marketer: Any) -> None:
    for _ in range(INVITATIONS_PER_HOUR):
        _invite(marketer)
    with pytest.raises(ValidationError, match="invitations this hour"):
        _invite(marketer)
    assert Invitation.objects.count() == INVITATIONS_PER_HOUR


# --- accepting ---------------------------------------------------------------------------


def test_accepting_makes_the_account_in_the_invited_role(marketer: Any) -> None:
    invitation, token = _invite(marketer, email="sam@example-fibre.com", role="sales")
    user = invitation_accept(token=token, name="  Sam   Sales ", password=PASSWORD)
    assert user.username == user.email == "sam@example-fibre.com"
    assert (user.first_name, user.last_name) == ("Sam", "Sales")
    assert user.check_password(PASSWORD)
    assert user.is_active
    assert not user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["sales"]
    fresh = User.objects.get(pk=user.pk)
    assert can_view(fresh)
    assert not can_edit(fresh)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert invitation.accepted_by == user
    assert not invitations_pending().exists()


def test_a_marketer_invitation_makes_a_marketer(marketer: Any) -> None:
    _, token = _invite(marketer, role="marketer")
    user = invitation_accept(token=token, name="Max", password=PASSWORD)
    assert can_edit(User.objects.get(pk=user.pk))


def test_a_token_works_once(marketer: Any) -> None:
    _, token = _invite(marketer)
    user = invitation_accept(token=token, name="Sam", password=PASSWORD)
    with pytest.raises(InvitationUnusable) as caught:
        invitation_accept(token=token, name="Mallory", password="another long passphrase")
    assert caught.value.reason == "used"
    assert "already accepted" in str(caught.value)
    user.refresh_from_db()
    assert user.first_name == "Sam"
    assert user.check_password(PASSWORD)
    assert User.objects.count() == 2


def test_expired_revoked_and_unknown_tokens_are_refused(marketer: Any) -> None:
    invitation, token = _invite(marketer)
    later = invitation.expires_at + timedelta(seconds=1)
    with pytest.raises(InvitationUnusable) as caught:
        invitation_accept(token=token, name="Sam", password=PASSWORD, now=later)
    assert caught.value.reason == "expired"
    assert "expired" in str(caught.value)

    invitation_revoke(actor=marketer, invitation=invitation)
    with pytest.raises(InvitationUnusable) as caught:
        invitation_accept(token=token, name="Sam", password=PASSWORD)
    assert caught.value.reason == "revoked"

    for unknown in ("", "x" * 500, token[:-2] + "zz"):
        with pytest.raises(InvitationUnusable) as caught:
            invitation_accept(token=unknown, name="Sam", password=PASSWORD)
        assert caught.value.reason == "unknown"
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "password", "field", "message"),
    [
        ("Sam", "short", "password", "too short"),
        ("Sam", "password123", "password", "too common"),
        ("", PASSWORD, "name", "Enter your name."),
        ("S" * 151, PASSWORD, "name", "at most 150"),
    ],
)
def test_a_refused_accept_leaves_the_link_working(
    marketer: Any, name: str, password: str, field: str, message: str
) -> None:
    invitation, token = _invite(marketer)
    with pytest.raises(ValidationError) as caught:
        invitation_accept(token=token, name=name, password=password)
    assert message in " ".join(caught.value.message_dict[field])
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert User.objects.count() == 1
    invitation_accept(token=token, name="Sam", password=PASSWORD)


def test_an_existing_account_joins_with_its_own_password(marketer: Any) -> None:
    existing = _in("sales", username="kim", email="kim@example-fibre.com")
    existing.set_password(PASSWORD)
    existing.save()
    _, token = _invite(marketer, email="kim@example-fibre.com", role="marketer")
    with pytest.raises(ValidationError) as caught:
        invitation_accept(token=token, password="not my password")
    assert caught.value.message_dict["password"] == [
        "Enter the password of your existing leadgate account."
    ]
    assert role_of(existing) == "sales"
    user = invitation_accept(token=token, password=PASSWORD)
    assert user.pk == existing.pk
    assert list(user.groups.values_list("name", flat=True)) == ["marketer"]
    assert User.objects.count() == 2


def test_a_removed_member_comes_back_by_invitation(marketer: Any) -> None:
    sam = _in("sales", username="sam@example-fibre.com", email="sam@example-fibre.com")
    member_remove(actor=marketer, member=sam)
    _, token = _invite(marketer, email="sam@example-fibre.com", role="sales")
    user = invitation_accept(token=token, name="Sam Again", password=PASSWORD)
    assert user.pk == sam.pk
    user.refresh_from_db()
    assert user.is_active
    assert user.check_password(PASSWORD)
    assert role_of(user) == "sales"


# --- revoking ------------------------------------------------------------------------------


def test_revoking(marketer: Any) -> None:
    invitation, token = _invite(marketer)
    with pytest.raises(PermissionDenied):
        invitation_revoke(actor=_in("sales"), invitation=invitation)
    invitation_revoke(actor=marketer, invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    invitation_revoke(actor=marketer, invitation=invitation)  # again: nothing to do

    accepted, token = _invite(marketer)
    invitation_accept(token=token, name="Sam", password=PASSWORD)
    with pytest.raises(ValidationError, match="remove them from the team instead"):
        invitation_revoke(actor=marketer, invitation=accepted)


# --- roles and removal ----------------------------------------------------------------------


def test_a_marketer_changes_a_role(marketer: Any) -> None:
    sam = _in("sales")
    member_role_set(actor=marketer, member=sam, role="marketer")
    assert list(sam.groups.values_list("name", flat=True)) == ["marketer"]
    member_role_set(actor=marketer, member=sam, role="sales")
    assert list(sam.groups.values_list("name", flat=True)) == ["sales"]
    with pytest.raises(ValidationError):
        member_role_set(actor=marketer, member=sam, role="owner")


def test_a_marketer_removes_a_member(marketer: Any) -> None:
    sam = _in("sales")
    Token.objects.create(user=sam)
    member_remove(actor=marketer, member=sam)
    sam.refresh_from_db()
    assert not sam.is_active
    assert not sam.groups.exists()
    assert not Token.objects.filter(user=sam).exists()
    assert sam not in [m.user for m in team_members()]


def test_sales_users_change_no_one(marketer: Any) -> None:
    sales = _in("sales")
    with pytest.raises(PermissionDenied):
        member_role_set(actor=sales, member=marketer, role="sales")
    with pytest.raises(PermissionDenied):
        member_remove(actor=sales, member=marketer)
    assert role_of(marketer) == "marketer"
    assert User.objects.get(pk=marketer.pk).is_active


def test_no_one_removes_or_demotes_themself(marketer: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        member_remove(actor=marketer, member=marketer)
    assert caught.value.messages == ["You cannot remove yourself: ask another marketer."]
    with pytest.raises(ValidationError, match="ask another marketer"):
        member_role_set(actor=marketer, member=marketer, role="sales")
    assert User.objects.get(pk=marketer.pk).is_active
    assert role_of(marketer) == "marketer"


def test_the_last_marketer_stays(marketer: Any) -> None:
    """Two marketers each taking the other off at the same moment: the requests were let
    in as marketers, and the second one finds the first's change (the team lock) and
    must not leave the workspace with no marketer."""
    other = _in("marketer", first_name="Olga", last_name="Other")
    assert can_edit(other)  # her request was let in as a marketer...
    member_role_set(actor=marketer, member=other, role="sales")  # ...and she is demoted
    with pytest.raises(ValidationError) as caught:
        member_role_set(actor=other, member=marketer, role="sales")
    assert caught.value.messages == [
        "Mara Keting is the last marketer: make someone else a marketer first."
    ]
    with pytest.raises(ValidationError, match="is the last marketer"):
        member_remove(actor=other, member=marketer)
    assert role_of(marketer) == "marketer"
    assert User.objects.get(pk=marketer.pk).is_active


def test_admin_accounts_are_left_to_the_admin(marketer: Any) -> None:
    admin = make_user(is_staff=True)
    with pytest.raises(ValidationError, match="admin account"):
        member_remove(actor=marketer, member=admin)
    with pytest.raises(ValidationError, match="admin account"):
        member_role_set(actor=marketer, member=admin, role="sales")
    assert User.objects.get(pk=admin.pk).is_active


def test_the_member_list_shows_roles(marketer: Any) -> None:
    sales = _in("sales")
    nobody = _in(None)
    admin = make_user(is_staff=True)
    gone = _in("sales")
    member_remove(actor=marketer, member=gone)
    roles = {m.user.pk: (m.role, m.is_admin) for m in team_members()}
    assert roles == {
        marketer.pk: ("marketer", False),
        sales.pk: ("sales", False),
        nobody.pk: ("", False),
        admin.pk: ("marketer", True),
    }


# --- races, with real concurrent database connections (threads) ---------------------------


def _race(*calls: Any) -> tuple[list[Any], list[BaseException]]:
    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(call: Any) -> None:
        try:
            barrier.wait(5)
            results.append(call())
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_four_accepts_of_one_token_at_once_make_one_account() -> None:
    marketer = _in("marketer")
    _, token = _invite(marketer, email="sam@example-fibre.com")
    results, errors = _race(
        *[
            lambda n=n: invitation_accept(token=token, name=f"Sam {n}", password=PASSWORD)
            for n in range(4)
        ]
    )
    assert len(results) == 1
    assert len(errors) == 3
    assert all(isinstance(e, InvitationUnusable) and e.reason == "used" for e in errors), errors
    (user,) = User.objects.filter(username="sam@example-fibre.com")
    assert user.pk == results[0].pk
    assert Invitation.objects.get().accepted_by_id == user.pk


@pytest.mark.django_db(transaction=True)
def test_two_marketers_removing_each_other_at_once_leave_one() -> None:
    ann = _in("marketer")
    bob = _in("marketer")
    assert can_edit(ann)
    assert can_edit(bob)
    _, errors = _race(
        lambda: member_remove(actor=ann, member=bob),
        lambda: member_remove(actor=bob, member=ann),
    )
    assert len(errors) == 1
    assert isinstance(errors[0], ValidationError)
    assert "is the last marketer" in errors[0].messages[0]
    assert User.objects.filter(pk__in=[ann.pk, bob.pk], is_active=True).count() == 1
