"""Login throttling (django-axes; config/lockout.py): wrong passwords lock one username
and address pair on the workspace login, the admin login and the token endpoint; others
behind the same address, and the same user elsewhere, still log in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.support.api import assert_error
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

OFFICE = "203.0.113.7"  # one NAT address for the whole office
HOME = "198.51.100.9"
PASSWORD = "correct horse battery staple"
TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    # Dozens of password checks per test: the default hasher's work factor is not tested.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _person(name: str) -> Any:
    user = make_user(username=name, is_staff=True)  # staff: the admin login accepts them
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get_or_create(name="marketer")[0])
    return user


@pytest.fixture
def alice(db: None) -> Any:
    return _person("alice")


@pytest.fixture
def bob(db: None) -> Any:
    return _person("bob")


def _login(url: str, username: str, password: str, ip: str) -> tuple[Any, Client]:
    client = Client(REMOTE_ADDR=ip)
    return client.post(url, {"username": username, "password": password}), client


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", ["/app/login/", "/admin/login/"])
def test_wrong_passwords_lock_the_pair_only(url: str, alice: Any, bob: Any, settings: Any) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        response, client = _login(url, "alice", "wrong", OFFICE)
        assert response.status_code == 200
        assert not _logged_in(client)
    # The fifth wrong password sets the lock, and says so.
    response, _ = _login(url, "alice", "wrong", OFFICE)
    assert response.status_code == 429
    # Now even the right password is refused, on the login page with the reason.
    response, client = _login(url, "alice", PASSWORD, OFFICE)
    assert response.status_code == 429
    assert not _logged_in(client)
    html = response.content.decode()
    assert "Too many failed logins for this username" in html
    assert "locked for 15 minutes" in html
    assert 'role="alert"' in html
    assert 'name="password"' in html  # the login page itself, not a bare error text
    assert 'value="alice"' in html
    assert response["Retry-After"] == "900"
    # A colleague behind the same address logs in.
    response, client = _login(url, "bob", PASSWORD, OFFICE)
    assert response.status_code == 302
    assert _logged_in(client)
    # Alice from another address logs in.
    response, client = _login(url, "alice", PASSWORD, HOME)
    assert response.status_code == 302
    assert _logged_in(client)


def test_the_lock_ends_after_the_cool_off(alice: Any) -> None:
    for _ in range(5):
        _login("/app/login/", "alice", "wrong", OFFICE)
    assert _login("/app/login/", "alice", PASSWORD, OFFICE)[0].status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    response, client = _login("/app/login/", "alice", PASSWORD, OFFICE)
    assert response.status_code == 302
    assert _logged_in(client)


def test_a_good_login_clears_earlier_failures(alice: Any) -> None:
    for _ in range(4):
        _login("/app/login/", "alice", "wrong", OFFICE)
    assert _login("/app/login/", "alice", PASSWORD, OFFICE)[0].status_code == 302
    for _ in range(4):
        assert _login("/app/login/", "alice", "wrong", OFFICE)[0].status_code == 200
    assert _login("/app/login/", "alice", PASSWORD, OFFICE)[0].status_code == 302


def test_login_without_next_lands_in_the_workspace(alice: Any) -> None:
    response, client = _login("/app/login/", "alice", PASSWORD, OFFICE)
    assert response.status_code == 302
    assert response["Location"] == "/app/"
    assert client.get("/app/").status_code == 200


# --- the token endpoint -----------------------------------------------------------------


def _token(username: str, password: str, ip: str = OFFICE, **extra: Any) -> Any:
    return Client(REMOTE_ADDR=ip).post(
        TOKEN_URL,
        {"username": username, "password": password, **extra},
        content_type="application/json",
    )


def test_token_for_username_and_password(alice: Any) -> None:
    response = _token("alice", PASSWORD)
    assert response.status_code == 200
    token = response.json()["token"]
    assert token == Token.objects.get(user=alice).key
    # The same token again (one per user), and it opens the marketer API.
    assert _token("alice", PASSWORD).json() == {"token": token}
    assert Client().get("/api/v1/gates/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "username"),
        ({"username": "alice"}, "password"),
        ({"username": "x" * 151, "password": "pw"}, "username"),
        ({"username": "alice", "password": "p" * 1025}, "password"),
        ({"username": ["alice"], "password": "pw"}, "username"),
    ],
)
def test_token_input_is_checked(alice: Any, body: dict[str, Any], field: str) -> None:
    response = Client().post(TOKEN_URL, body, content_type="application/json")
    assert_error(response, 400, field)


def test_token_wrong_password_and_inactive_user_are_400(alice: Any) -> None:
    assert_error(_token("alice", "wrong"), 400, "__all__")
    assert_error(_token("nobody", PASSWORD), 400, "__all__")
    alice.is_active = False
    alice.save()
    assert_error(_token("alice", PASSWORD), 400, "__all__")
    assert not Token.objects.exists()


def test_token_only_by_post(alice: Any) -> None:
    assert_error(Client().get(TOKEN_URL), 405)


def test_token_endpoint_locks_the_pair_only(alice: Any, bob: Any) -> None:
    for _ in range(4):
        assert_error(_token("alice", "wrong"), 400, "__all__")
    assert _token("alice", "wrong").status_code == 429
    response = _token("alice", PASSWORD)
    errors = assert_error(response, 429, "__all__")
    assert "Too many failed logins" in errors["__all__"][0]
    assert response["Retry-After"] == "900"
    assert not Token.objects.filter(user=alice).exists()
    assert _token("bob", PASSWORD).status_code == 200
    assert _token("alice", PASSWORD, ip=HOME).status_code == 200


def test_one_count_across_the_three_doors(alice: Any) -> None:
    # The pair is one: failures on the workspace, the admin and the API add up.
    _login("/app/login/", "alice", "wrong", OFFICE)
    _login("/app/login/", "alice", "wrong", OFFICE)
    _login("/admin/login/", "alice", "wrong", OFFICE)
    _token("alice", "wrong")
    _token("alice", "wrong")
    assert _token("alice", PASSWORD).status_code == 429
    assert _login("/app/login/", "alice", PASSWORD, OFFICE)[0].status_code == 429
