"""Roles: anonymous users go to the login page, sales users read leads and reports
only (403 on every edit view, no edit controls), marketers do everything."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from forms_app.models import Gate
from tests.support.factories import (
    make_endpoint,
    make_event,
    make_gate,
    make_lead,
    make_rule,
    make_user,
    make_visitor,
)

pytestmark = pytest.mark.django_db

EDIT_GETS = [
    "/app/gates/",
    "/app/gates/new",
    "/app/scoring/",
    "/app/scoring/rules/new",
    "/app/webhooks/",
    "/app/sources/",
]
READ_GETS = ["/app/", "/app/leads/", "/app/leads/export.csv", "/app/dashboard.csv?table=funnel"]


def test_roles_migration_creates_both_groups_idempotently() -> None:
    # Transactional tests elsewhere flush the tables, so run the data migration's own
    # function rather than relying on what `migrate` left behind.
    import importlib

    from django.apps import apps

    migration = importlib.import_module("forms_app.migrations.0004_roles")
    Group.objects.filter(name__in=["marketer", "sales"]).delete()
    migration.create_roles(apps, None)
    migration.create_roles(apps, None)
    names = list(
        Group.objects.filter(name__in=["marketer", "sales"]).values_list("name", flat=True)
    )
    assert sorted(names) == ["marketer", "sales"]


@pytest.mark.parametrize("url", EDIT_GETS + READ_GETS)
def test_anonymous_is_sent_to_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/app/login/?next=")


def test_anonymous_post_changes_nothing(client: Client) -> None:
    response = client.post("/app/gates/new", {"title": "X", "slug": "x"})
    assert response.status_code == 302
    assert not Gate.objects.filter(slug="x").exists()


@pytest.mark.parametrize("url", EDIT_GETS)
def test_sales_cannot_open_edit_views(sclient: Client, url: str) -> None:
    response = sclient.get(url)
    assert response.status_code == 403
    assert "Only marketers" in response.content.decode()


def test_sales_cannot_post_anything(sclient: Client) -> None:
    gate = make_gate()
    rule = make_rule(gate=gate)
    endpoint = make_endpoint(url="https://crm.example.com/hook")
    posts = [
        ("/app/gates/new", {"title": "X", "slug": "sales-gate"}),
        (f"/app/gates/{gate.slug}/", {"title": "Changed", "slug": gate.slug}),
        (f"/app/gates/{gate.slug}/delete", {}),
        (
            "/app/scoring/",
            {"warm_threshold": 1, "hot_threshold": 2, "half_life_days": 0, "action": "save"},
        ),
        (f"/app/scoring/rules/{rule.pk}/", {"action": "delete", "confirm": "1"}),
        ("/app/webhooks/", {"url": "https://crm.example.com/x", "grades": ["hot"]}),
        (f"/app/webhooks/{endpoint.pk}/rotate", {}),
        ("/app/sources/", {"name": "S"}),
        (
            "/app/costs/",
            {
                "utm_source": "linkedin",
                "period_start": "2026-01-01",
                "period_end": "2026-01-31",
                "amount": "10",
                "currency": "EUR",
            },
        ),
    ]
    for url, data in posts:
        assert sclient.post(url, data).status_code == 403, url
    gate.refresh_from_db()
    assert gate.title != "Changed"
    assert Gate.objects.filter(slug="sales-gate").count() == 0
    rule.refresh_from_db()
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == ""


def test_sales_reads_dashboard_and_leads_without_edit_controls(sclient: Client) -> None:
    lead = make_lead(name="Grace Hopper")
    for url in ["/app/", "/app/leads/", f"/app/leads/{lead.pk}/"]:
        response = sclient.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "/app/gates/" not in html
        assert "/app/scoring/" not in html
        assert "Add cost" not in html
        assert "sales · read only" in html


def test_the_lead_page_shows_summed_reading_time(sclient: Client) -> None:
    gate = make_gate(sections=["why-fiber", "costs"], title="Network vBook")
    lead = make_lead(name="Grace Hopper")
    visitor = make_visitor(lead=lead)
    for ms in (5000, 10_000, 10_000, 165_000):  # heartbeats: 3 min 10 s
        make_event(visitor=visitor, gate=gate, section_key="why-fiber", duration_ms=ms)
    make_event(visitor=visitor, gate=gate, section_key="costs", duration_ms=2000)
    html = sclient.get(f"/app/leads/{lead.pk}/").content.decode()
    assert "Read “Why Fiber” in “Network vBook” (3 min 10 s)" in html
    assert html.count("Read “Why Fiber”") == 1  # one entry for the four reports
    reading = html[html.index('id="reading-title"') :]
    assert "3 min 10 s</td><td>read</td>" in reading
    assert "2 s</td><td>not yet</td>" in reading


def test_user_without_role_is_refused(no_role_user: Any) -> None:
    client = Client()
    client.force_login(no_role_user)
    response = client.get("/app/")
    assert response.status_code == 403
    assert "no role yet" in response.content.decode()


def test_staff_and_marketers_edit(mclient: Client) -> None:
    for url in EDIT_GETS + READ_GETS:
        assert mclient.get(url).status_code == 200, url
    staff = make_user(is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get("/app/gates/new").status_code == 200


def test_login_page_logs_in_and_returns(client: Client) -> None:
    user = make_user(is_staff=False)
    user.set_password("correct horse battery")
    user.save()
    user.groups.add(Group.objects.get_or_create(name="sales")[0])
    page = client.get("/app/login/?next=/app/leads/")
    assert page.status_code == 200
    assert "Log in to your workspace" in page.content.decode()
    bad = client.post(
        "/app/login/?next=/app/leads/",
        {"username": user.username, "password": "wrong", "next": "/app/leads/"},
    )
    assert bad.status_code == 200
    assert "do not match" in bad.content.decode()
    ok = client.post(
        "/app/login/",
        {"username": user.username, "password": "correct horse battery", "next": "/app/leads/"},
    )
    assert ok.status_code == 302
    assert ok["Location"] == "/app/leads/"
    # An open redirect is refused: `next` must stay on this site.
    client.logout()
    evil = client.post(
        "/app/login/",
        {
            "username": user.username,
            "password": "correct horse battery",
            "next": "https://evil.example/",
        },
    )
    assert evil["Location"] != "https://evil.example/"


def test_admin_still_works(client: Client) -> None:
    assert client.get("/admin/login/").status_code == 200
