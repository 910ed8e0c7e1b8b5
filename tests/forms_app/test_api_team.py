"""The team API: invitations (list, create, revoke) and members (list, change role,
remove), marketers only, errors in the contract's shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from forms_app.models import Invitation
from forms_app.selectors import role_of
from forms_app.services.team import invitation_accept, invitation_create
from profiling.models import EmailKind, OutboundEmail
from tests.support.api import assert_error
from tests.support.factories import Marketer, add_role, make_marketer, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase"
User = get_user_model()


@pytest.fixture
def boss() -> Marketer:
    return make_marketer(username="boss")


def _call(api: Client, who: Marketer, method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body) if body is not None else ""
    return api.generic(
        method, url, data, content_type="application/json", HTTP_AUTHORIZATION=f"Token {who.token}"
    )


def _sales() -> Marketer:
    user = add_role(make_user(is_staff=False), "sales")
    return Marketer(user=user, token=Token.objects.create(user=user).key)


def test_invite_list_and_revoke(api: Client, boss: Marketer) -> None:
    created = _call(
        api, boss, "POST", "/api/v1/team/invitations", {"email": "Kim@Example.com", "role": "sales"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["email"] == "kim@example.com"
    assert body["role"] == "sales"
    assert body["invited_by"] == "boss"
    assert set(body) == {"id", "email", "role", "invited_by", "created_at", "expires_at"}
    assert OutboundEmail.objects.get().kind == EmailKind.TEAM_INVITATION

    listed = _call(api, boss, "GET", "/api/v1/team/invitations")
    assert [i["id"] for i in listed.json()["results"]] == [body["id"]]

    gone = _call(api, boss, "DELETE", f"/api/v1/team/invitations/{body['id']}")
    assert gone.status_code == 204
    assert Invitation.objects.get().revoked_at is not None
    assert _call(api, boss, "GET", "/api/v1/team/invitations").json()["results"] == []
    assert _call(api, boss, "DELETE", f"/api/v1/team/invitations/{body['id']}").status_code == 204
    assert_error(_call(api, boss, "DELETE", "/api/v1/team/invitations/999999"), 404)


def test_revoking_an_accepted_invitation_is_400(api: Client, boss: Marketer) -> None:
    invitation, token = invitation_create(
        invited_by=boss.user, email="lee@example.com", role="sales", base="http://testserver"
    )
    invitation_accept(token=token, name="Lee", password=PASSWORD)
    errors = assert_error(
        _call(api, boss, "DELETE", f"/api/v1/team/invitations/{invitation.pk}"), 400, "__all__"
    )
    assert "already accepted" in errors["__all__"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nope", "role": "sales"}, "email"),
        ({"email": "kim@example.com", "role": "owner"}, "role"),
        ({"email": "a" * 150 + "@example.com", "role": "sales"}, "email"),
        ({"role": "sales"}, "email"),
    ],
)
def test_bad_invitations_are_400(api: Client, boss: Marketer, body: Any, field: str) -> None:
    assert_error(_call(api, boss, "POST", "/api/v1/team/invitations", body), 400, field)
    assert not Invitation.objects.exists()


def test_a_member_in_that_role_is_400(api: Client, boss: Marketer) -> None:
    sales = _sales()
    errors = assert_error(
        _call(
            api,
            boss,
            "POST",
            "/api/v1/team/invitations",
            {"email": sales.user.email, "role": "sales"},
        ),
        400,
        "email",
    )
    assert errors["email"] == [f"{sales.user.email} is already on the team as sales."]


def test_members_list_change_and_remove(api: Client, boss: Marketer) -> None:
    sales = _sales()
    listed = _call(api, boss, "GET", "/api/v1/team/members").json()
    roles = {m["id"]: (m["role"], m["is_admin"]) for m in listed}
    assert roles == {boss.user.pk: ("marketer", False), sales.user.pk: ("sales", False)}

    changed = _call(
        api, boss, "PATCH", f"/api/v1/team/members/{sales.user.pk}", {"role": "marketer"}
    )
    assert changed.status_code == 200
    assert changed.json()["role"] == "marketer"
    assert role_of(sales.user) == "marketer"
    assert_error(
        _call(api, boss, "PATCH", f"/api/v1/team/members/{sales.user.pk}", {"role": "x"}),
        400,
        "role",
    )

    removed = _call(api, boss, "DELETE", f"/api/v1/team/members/{sales.user.pk}")
    assert removed.status_code == 204
    assert not User.objects.get(pk=sales.user.pk).is_active
    # The removed member's API key no longer works.
    assert _call(api, sales, "GET", "/api/v1/leads/").status_code == 401
    assert_error(_call(api, boss, "DELETE", f"/api/v1/team/members/{sales.user.pk}"), 404)


def test_the_team_rules_answer_400(api: Client, boss: Marketer) -> None:
    me = f"/api/v1/team/members/{boss.user.pk}"
    errors = assert_error(_call(api, boss, "DELETE", me), 400, "__all__")
    assert errors["__all__"] == ["You cannot remove yourself: ask another marketer."]
    assert_error(_call(api, boss, "PATCH", me, {"role": "sales"}), 400, "__all__")
    admin = make_user(is_staff=True)
    assert_error(_call(api, boss, "DELETE", f"/api/v1/team/members/{admin.pk}"), 400, "__all__")
    assert User.objects.get(pk=boss.user.pk).is_active
    assert User.objects.get(pk=admin.pk).is_active


def test_sales_get_403_everywhere(api: Client, boss: Marketer) -> None:
    sales = _sales()
    for method, url, body in (
        ("GET", "/api/v1/team/invitations", None),
        ("POST", "/api/v1/team/invitations", {"email": "x@example.com", "role": "marketer"}),
        ("GET", "/api/v1/team/members", None),
        ("PATCH", f"/api/v1/team/members/{sales.user.pk}", {"role": "marketer"}),
        ("DELETE", f"/api/v1/team/members/{boss.user.pk}", None),
    ):
        assert_error(_call(api, sales, method, url, body), 403)
    assert not Invitation.objects.exists()
    assert role_of(sales.user) == "sales"
    assert User.objects.get(pk=boss.user.pk).is_active
