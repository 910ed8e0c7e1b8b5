"""Workspace fixtures: users in the two roles, logged-in clients."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tests.support.factories import make_user


def _user_in(group: str | None, **extra: Any) -> Any:
    user = make_user(is_staff=False, **extra)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def marketer_user(db: None) -> Any:
    return _user_in("marketer")


@pytest.fixture
def sales_user(db: None) -> Any:
    return _user_in("sales")


@pytest.fixture
def no_role_user(db: None) -> Any:
    return _user_in(None)


@pytest.fixture
def mclient(marketer_user: Any) -> Client:
    client = Client()
    client.force_login(marketer_user)
    return client


@pytest.fixture
def sclient(sales_user: Any) -> Client:
    client = Client()
    client.force_login(sales_user)
    return client


# Headless Chromium from the browser tests' conftest (system Chromium, never downloaded).
from tests.forms_app.browser.conftest import chromium  # noqa: E402, F401
