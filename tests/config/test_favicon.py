"""The favicon: /favicon.ico answers (browsers ask for it on every page), and every page
family links the static icons and names the app in its tab."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.support.factories import make_gate, make_marketer, random_slug

pytestmark = pytest.mark.django_db


def test_favicon_ico_is_served_publicly(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    body = response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # ICO header: reserved 0, type 1 (icon)
    assert int.from_bytes(body[4:6], "little") >= 1
    assert "public" in response["Cache-Control"]
    assert client.post("/favicon.ico").status_code == 405


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match, html[:300]
    return match.group(1).strip()


def _pages(client: Client) -> dict[str, str]:
    gate = make_gate()
    marketer = make_marketer()
    logged_in = Client()
    logged_in.force_login(marketer.user)
    superuser = get_user_model().objects.create_superuser(
        username=f"s-{random_slug()}", email="s@example.com", password="pw-not-used-123"
    )
    staff = Client()
    staff.force_login(superuser)
    return {
        "home": client.get("/").content.decode(),
        "hosted gate": client.get(f"/g/{gate.slug}").content.decode(),
        "embed": client.get(f"/g/{gate.slug}/embed").content.decode(),
        "login": client.get("/app/login/").content.decode(),
        "workspace": logged_in.get("/app/").content.decode(),
        "api docs": client.get("/api/docs/").content.decode(),
        "admin": staff.get("/admin/").content.decode(),
    }


def test_every_page_family_links_the_icon_and_names_the_app(client: Client) -> None:
    for name, html in _pages(client).items():
        assert re.search(r'<link rel="icon" href="[^"]*favicon[^"]*\.svg"', html), name
        assert re.search(r'<link rel="icon" href="[^"]*favicon[^"]*\.png"', html), name
        title = _title(html)
        assert "leadgate" in title, (name, title)
        assert title.count("leadgate") == 1, (name, title)


def test_a_gate_tab_reads_its_title_then_the_app(client: Client) -> None:
    gate = make_gate()
    assert _title(client.get(f"/g/{gate.slug}").content.decode()) == f"{gate.title} · leadgate"
