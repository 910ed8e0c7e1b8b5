"""The sandbox's demo logins: a `marketer` and a `sales` user, one per workspace role.

Only with LEADGATE_SANDBOX=1 (scripts/demo.sh sets it): `manage.py demo` makes them, and
the workspace's login page names them. Neither is a superuser or staff, so the demo
shows the workspace as each role sees it, not as the admin does.

Their passwords are not written anywhere: each is derived from the server's secret key
(the demo's own, kept in .demo-secret-key), so every installation has its own and the
demo can print them again on every run. A password changed since is never shown: the
login page names only the accounts whose password is still the derived one.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils.crypto import salted_hmac

from config.roles import MARKETER, SALES

PASSWORD_SALT = "leadgate.demo.sandbox-login"
CHECK_CACHE_S = 24 * 3600


@dataclass(frozen=True)
class DemoLogin:
    username: str
    group: str
    does: str  # what the role may do, in a few words

    @property
    def password(self) -> str:
        return demo_password(self.username)


DEMO_LOGINS = (
    DemoLogin("marketer", MARKETER, "builds gates, tunes scoring, connects the CRM"),
    DemoLogin("sales", SALES, "reads leads and reports, changes nothing"),
)


def demo_password(username: str) -> str:
    """Twelve letters and digits in three groups, from the secret key and the username."""
    digest = salted_hmac(PASSWORD_SALT, username, algorithm="sha256").digest()
    text = base64.b32encode(digest).decode().lower()[:12]
    return "-".join(text[i : i + 4] for i in range(0, 12, 4))


@dataclass(frozen=True)
class EnsuredLogin:
    login: DemoLogin
    created: bool
    password_is_demo: bool  # False: changed since, so not to be printed


def demo_logins_ensure() -> list[EnsuredLogin]:
    """Make the missing demo users, each in its role's group. An existing user is left
    as it is (its password, its groups): it may be the marketer's own by now."""
    user_model = get_user_model()
    out: list[EnsuredLogin] = []
    for login in DEMO_LOGINS:
        user = user_model.objects.filter(username=login.username).first()
        created = user is None
        if user is None:
            user = user_model.objects.create_user(
                username=login.username,
                email=f"{login.username}@demo.invalid",
                password=login.password,
            )
            group, _ = Group.objects.get_or_create(name=login.group)
            user.groups.add(group)
        out.append(EnsuredLogin(login, created, user.check_password(login.password)))
    return out


def _still_demo_password(user: Any, login: DemoLogin) -> bool:
    # A password check is deliberately slow (hundreds of milliseconds); the answer is
    # cached for this stored hash, which changes whenever the password does.
    key = "demo-login:" + hashlib.sha256(f"{user.password}\0{login.password}".encode()).hexdigest()
    known: bool | None = cache.get(key)
    if known is None:
        known = bool(user.check_password(login.password))
        cache.set(key, known, CHECK_CACHE_S)
    return known


def demo_logins_shown() -> list[DemoLogin]:
    """The demo logins the login page may name: only in the sandbox, only accounts that
    exist, are active and still have the demo password."""
    if not settings.LEADGATE_SANDBOX:
        return []
    users = {
        u.username: u
        for u in get_user_model().objects.filter(
            username__in=[login.username for login in DEMO_LOGINS], is_active=True
        )
    }
    return [
        login
        for login in DEMO_LOGINS
        if login.username in users and _still_demo_password(users[login.username], login)
    ]
