"""The roles policy itself (config/roles.py): who is a marketer, what sales may do, the
messages a refused user reads, the admin's door and the OpenAPI document. Every URL is
walked for every role in tests/test_authorization_walk.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.test import Client
from rest_framework.authtoken.models import Token

from config.roles import (
    MARKETERS_ONLY_MESSAGE,
    NO_ROLE_MESSAGE,
    Access,
    allows,
    can_edit,
    can_view,
    may_use_admin,
)
from forms_app.models import Gate
from tests.support.api import assert_error
from tests.support.factories import make_gate

pytestmark = pytest.mark.django_db


def _user(*groups: str, **fields: Any) -> Any:
    user = User.objects.create(username=f"u-{User.objects.count()}-{'-'.join(groups)}", **fields)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def _token(user: Any) -> dict[str, str]:
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


@pytest.mark.parametrize(
    ("fields", "groups", "edits", "views"),
    [
        ({}, ("marketer",), True, True),
        ({"is_staff": True}, (), True, True),
        ({"is_superuser": True}, (), True, True),
        ({"is_staff": True}, ("sales",), True, True),  # staff count as marketers
        ({}, ("marketer", "sales"), True, True),
        ({}, ("sales",), False, True),
        ({}, (), False, False),
        ({}, ("marketers",), False, False),  # a near miss is no role
        ({"is_active": False}, ("marketer",), False, False),
        ({"is_active": False, "is_superuser": True}, (), False, False),
    ],
)
def test_who_edits_and_who_views(
    fields: dict[str, Any], groups: tuple[str, ...], edits: bool, views: bool
) -> None:
    user = _user(*groups, **fields)
    assert can_edit(user) is edits
    assert can_view(user) is views
    for method in ("GET", "HEAD", "OPTIONS"):
        assert allows(Access.SALES_READS, user, method) is views
        assert allows(Access.MARKETER, user, method) is edits
    for method in ("POST", "PUT", "PATCH", "DELETE", "post", "PROPFIND"):
        assert allows(Access.SALES_READS, user, method) is edits
        assert allows(Access.MARKETER, user, method) is edits


@pytest.mark.parametrize("user", [None, AnonymousUser()])
def test_no_one_logged_in_may_do_anything(user: Any) -> None:
    assert not can_edit(user)
    assert not can_view(user)
    assert not allows(Access.SALES_READS, user, "GET")
    assert not may_use_admin(user)


def test_admin_door_is_staff_marketers() -> None:
    assert may_use_admin(_user(is_staff=True))
    assert may_use_admin(_user("sales", is_staff=True))
    assert may_use_admin(_user(is_superuser=True, is_staff=True))
    assert not may_use_admin(_user("marketer"))  # Django's admin is for staff
    assert not may_use_admin(_user("marketer", is_staff=True, is_active=False))
    assert not may_use_admin(_user("sales"))


def test_groups_are_read_once_per_request_user(django_assert_num_queries: Any) -> None:
    user = User.objects.get(pk=_user("sales").pk)
    with django_assert_num_queries(1):
        for _ in range(5):
            assert can_view(user)
            assert not can_edit(user)


def test_api_refusals_say_why() -> None:
    gate = make_gate()
    client = Client()
    no_role = assert_error(client.get("/api/v1/leads/", headers=_token(_user())), 403)
    assert no_role["__all__"] == [NO_ROLE_MESSAGE]
    sales = _token(_user("sales"))
    assert client.get("/api/v1/leads/", headers=sales).status_code == 200
    refused = assert_error(
        client.patch(
            f"/api/v1/gates/{gate.slug}",
            json.dumps({"title": "Sales was here"}),
            content_type="application/json",
            headers=sales,
        ),
        403,
    )
    assert refused["__all__"] == [MARKETERS_ONLY_MESSAGE]
    assert Gate.objects.get(pk=gate.pk).title == gate.title


def test_session_users_get_the_same_policy_as_tokens() -> None:
    client = Client()
    client.force_login(_user("sales"))
    assert client.get("/api/v1/leads/").status_code == 200
    assert_error(client.get("/api/v1/webhooks/"), 403)
    assert_error(
        client.post("/api/v1/sources/", json.dumps({"name": "x"}), content_type="application/json"),
        403,
    )


def test_workspace_refusals_say_why() -> None:
    client = Client()
    client.force_login(_user())
    assert NO_ROLE_MESSAGE in client.get("/app/leads/").content.decode()
    client.force_login(_user("sales"))
    response = client.post("/app/sources/", {"name": "x"})
    assert response.status_code == 403
    assert MARKETERS_ONLY_MESSAGE in response.content.decode()


def test_a_marketer_who_is_not_staff_uses_the_workspace_but_not_the_admin() -> None:
    client = Client()
    client.force_login(_user("marketer"))
    assert client.get("/app/gates/").status_code == 200
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_openapi_document_says_who_may_call_each_operation() -> None:
    schema = Client().get("/api/schema/?format=json").json()
    paths = schema["paths"]

    def who(path: str, method: str) -> str:
        return paths[path][method].get("description", "")

    assert who("/api/v1/leads/", "get").startswith("**Roles:** marketers and sales users")
    assert who("/api/v1/leads/{id}", "get").startswith("**Roles:** marketers and sales users")
    assert who("/api/v1/leads/{id}", "delete").startswith("**Roles:** marketers only")
    assert who("/api/v1/webhooks/{id}/deliveries", "get").startswith("**Roles:** marketers and")
    assert who("/api/v1/webhooks/{id}", "get").startswith("**Roles:** marketers only")
    assert who("/api/v1/gates/", "post").startswith("**Roles:** marketers only")
    # A view's own description is kept after the roles line.
    assert "Changes nothing." in who("/api/v1/scoring-rules/what-if", "post")
    assert "Roles" not in who("/api/v1/public/events", "post")
    for path, item in paths.items():
        for method, operation in item.items():
            if not path.startswith("/api/v1/public/"):
                assert operation.get("description", "").startswith("**Roles:**"), (method, path)
