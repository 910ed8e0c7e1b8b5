"""A sales user in the workspace, on a phone and a wide screen: reads the dashboard, the
leads and a lead's page, sees no control that would change anything, and every write
sent anyway (with the session and a valid CSRF token, so only the role can refuse it) is
answered 403 and changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from config.roles import MARKETERS_ONLY_MESSAGE, SALES
from forms_app.models import CampaignCost, Gate
from profiling.models import Delivery, Lead, ScoringRule, WebhookEndpoint
from tests.forms_app.browser.conftest import SCREENSHOTS
from tests.support.axe import assert_accessible
from tests.support.factories import (
    add_role,
    make_endpoint,
    make_gate,
    make_lead,
    make_rule,
    make_user,
)
from tests.support.layout import PHONE, WIDE, assert_no_sideways_scroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "sales colleague passphrase"
# The marketers' links in the workspace menu: none may show for sales.
MARKETER_LINKS = ("Quarantine", "Gates", "Scoring", "CRM webhooks", "Segment sources", "Team")


def _world() -> dict[str, Any]:
    gate = make_gate(slug="fibre-ebook", title="The fibre network e-book")
    rule = make_rule(gate=gate, points=10, name="Reads the e-book")
    endpoint = make_endpoint(url="https://crm.example-fibre.com/hooks/leadgate", name="CRM")
    hot = make_lead(
        email="jo@acme-telecom.example", name="Jo Fibre", grade="hot", score=90, subscribed=True
    )
    other = make_lead(email="sam@metro-isp.example", name="Sam Metro", grade="warm", score=40)
    delivery = Delivery.objects.create(
        endpoint=endpoint, lead=hot, event_type="lead.grade_changed", payload={}, status="failed"
    )
    user = add_role(make_user(username="sam.sales", is_staff=False), SALES)
    user.set_password(PASSWORD)
    user.save()
    return {
        "gate": gate,
        "rule": rule,
        "endpoint": endpoint,
        "hot": hot,
        "other": other,
        "delivery": delivery,
    }


def _edit_requests(w: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, form) of every workspace view that writes, with plausible data."""
    slug, lead, other = w["gate"].slug, w["hot"].pk, w["other"].pk
    return [
        ("POST", "/app/gates/new", {"title": "Sneaky", "slug": "sneaky", "stage": "interest"}),
        ("POST", f"/app/gates/{slug}/", {"title": "Renamed", "slug": slug}),
        ("POST", f"/app/gates/{slug}/delete", {}),
        ("POST", f"/app/gates/{slug}/origins", {"origin": "https://evil.example"}),
        ("POST", "/app/scoring/", {"warm_threshold": "1", "hot_threshold": "2", "action": "save"}),
        (
            "POST",
            "/app/scoring/rules/new",
            {"name": "x", "event_type": "page_view", "points": "99", "action": "save"},
        ),
        ("POST", f"/app/scoring/rules/{w['rule'].pk}/", {"action": "delete", "confirm": "1"}),
        ("POST", "/app/webhooks/", {"url": "https://evil.example/hook", "grades": "hot"}),
        (
            "POST",
            f"/app/webhooks/{w['endpoint'].pk}/",
            {"url": "https://evil.example/hook", "grades": "hot"},
        ),
        ("POST", f"/app/webhooks/{w['endpoint'].pk}/test", {}),
        ("POST", f"/app/webhooks/{w['endpoint'].pk}/delete", {}),
        ("POST", f"/app/deliveries/{w['delivery'].pk}/redeliver", {}),
        ("POST", "/app/sources/", {"name": "Sneaky source"}),
        (
            "POST",
            "/app/costs/",
            {
                "utm_source": "x",
                "period_start": "2026-01-01",
                "period_end": "2026-01-31",
                "amount": "1",
                "currency": "EUR",
            },
        ),
        ("POST", f"/app/leads/{lead}/contact", {"action": "do-not-contact"}),
        ("POST", f"/app/leads/{lead}/erase", {"confirm": "erase"}),
        ("POST", f"/app/leads/{lead}/merge", {"other": str(other), "confirm": "1"}),
        ("POST", "/app/team/", {"email": "eve@example-fibre.com", "role": "marketer"}),
        # The edit pages themselves, read: refused too (they are where edits start).
        ("GET", "/app/gates/new", {}),
        ("GET", f"/app/gates/{slug}/", {}),
        ("GET", "/app/scoring/rules/new", {}),
        ("GET", "/app/webhooks/", {}),
        ("GET", f"/app/leads/{lead}/erase", {}),
        ("GET", f"/app/leads/{lead}/merge", {}),
        ("GET", f"/app/leads/{lead}/export.json", {}),
    ]


def _links(page: Any, base: str) -> set[str]:
    """The workspace links on the page as shown, to follow later."""
    hrefs = page.locator("a[href]").evaluate_all("(links) => links.map((a) => a.href)")
    return {h.split("#")[0] for h in hrefs if h.startswith(base + "/app/")}


def _no_write_controls(page: Any, where: str) -> None:
    """Nothing in the page's content posts anything (the menu's log-out form aside)."""
    posts = page.locator("main form[method=post]")
    assert posts.count() == 0, f"{where}: {posts.count()} posting form(s) shown to sales"
    for name in ("Erase…", "Merge…", "Do not contact", "Unsubscribe", "Save", "Delete", "Add"):
        assert page.locator("main").get_by_role("button", name=re.compile(name)).count() == 0, (
            f"{where}: button {name!r}"
        )
        assert page.locator("main").get_by_role("link", name=re.compile(f"^{name}")).count() == 0, (
            f"{where}: link {name!r}"
        )


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["390px", "1440px"])
def test_a_sales_user_reads_leads_and_cannot_edit_anything(
    chromium: Any, live_server: Any, viewport: dict[str, int]
) -> None:
    w = _world()
    base = live_server.url
    width = viewport["width"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(base + "/app/login/")
    page.fill("#id_username", "sam.sales")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/app/$"))

    shown: set[str] = set()

    # --- the dashboard: reports, no first-run checklist, no cost form ---------------------
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#first-run")).to_have_count(0)
    expect(page.locator(".ws-role")).to_have_text("sales · read only")
    _no_write_controls(page, f"dashboard at {width} px")
    shown |= _links(page, base)
    assert_no_sideways_scroll(page, f"dashboard at {width} px")
    assert_accessible(page, where=f"sales dashboard at {width} px")

    # --- the menu: Leads, none of the marketers' set-up pages -----------------------------
    toggle = page.locator(".ws-menu-button")
    if width < 800:
        expect(toggle).to_be_visible()
        toggle.click()
    menu = page.locator("#ws-menu")
    expect(menu.get_by_role("link", name="Leads")).to_be_visible()
    for hidden in MARKETER_LINKS:
        expect(menu.get_by_role("link", name=hidden, exact=True)).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / f"sales-{width}-menu.png"))
    menu.get_by_role("link", name="Leads").click()

    # --- the leads list, then a lead's page -----------------------------------------------
    page.wait_for_url(re.compile(r".*/app/leads/$"))
    rows = page.locator("#lead-list tbody tr")
    expect(rows).to_have_count(2)
    row = rows.filter(has_text="Jo Fibre")
    expect(row.locator(".ws-grade")).to_have_text("hot")
    _no_write_controls(page, f"leads at {width} px")
    shown |= _links(page, base)
    assert_no_sideways_scroll(page, f"leads at {width} px")
    page.screenshot(path=str(SCREENSHOTS / f"sales-{width}-leads.png"), full_page=True)
    row.get_by_role("link", name="Jo Fibre").click()
    page.wait_for_url(re.compile(rf".*/app/leads/{w['hot'].pk}/$"))
    expect(page.locator("h1")).to_contain_text("Jo Fibre")
    expect(page.locator("h1 .ws-grade")).to_have_text("hot")
    expect(page.locator("#lead-actions")).to_have_count(0)
    _no_write_controls(page, f"lead page at {width} px")
    shown |= _links(page, base)
    assert_no_sideways_scroll(page, f"lead page at {width} px")
    assert_accessible(page, where=f"sales lead page at {width} px")
    page.screenshot(path=str(SCREENSHOTS / f"sales-{width}-lead.png"), full_page=True)

    # Every link sales is shown leads to a page sales may read: none ends in "Not allowed".
    dead = []
    for url in sorted(shown):
        status = page.request.get(url, max_redirects=0).status
        if status != 200:
            dead.append(f"{url.removeprefix(base)} -> {status}")
    assert not dead, f"links shown to sales that do not open: {dead}"
    assert len(shown) >= 5, shown

    # --- every edit, sent anyway with the session and a valid CSRF token: 403 -------------
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    refused: list[str] = []
    for method, path, form in _edit_requests(w):
        if method == "POST":
            response = page.request.post(
                base + path,
                form=form,
                headers={"X-CSRFToken": csrf, "Referer": base + "/app/"},
                max_redirects=0,
            )
        else:
            response = page.request.get(base + path, max_redirects=0)
        if response.status != 403 or MARKETERS_ONLY_MESSAGE not in response.text():
            refused.append(f"{method} {path} -> {response.status}")
    assert not refused, f"sales could reach edit views: {refused}"

    # The 403 page a sales user meets on an old bookmark: says why, fits the screen.
    response = page.goto(f"{base}/app/gates/{w['gate'].slug}/")
    assert response is not None
    assert response.status == 403
    expect(page.locator("main")).to_contain_text(MARKETERS_ONLY_MESSAGE)
    assert_no_sideways_scroll(page, f"403 page at {width} px")
    assert_accessible(page, where=f"sales 403 page at {width} px")
    page.screenshot(path=str(SCREENSHOTS / f"sales-{width}-forbidden.png"))

    # Nothing changed.
    gate = Gate.objects.get(pk=w["gate"].pk)
    assert (gate.title, gate.allowed_origins) == (
        "The fibre network e-book",
        w["gate"].allowed_origins,
    )
    assert not Gate.objects.filter(slug="sneaky").exists()
    assert list(ScoringRule.objects.values_list("pk", "points")) == [(w["rule"].pk, 10)]
    assert list(WebhookEndpoint.objects.values_list("url", flat=True)) == [w["endpoint"].url]
    assert Delivery.objects.count() == 1
    assert CampaignCost.objects.count() == 0
    hot = Lead.objects.get(pk=w["hot"].pk)
    assert (hot.do_not_contact, hot.erased_at, hot.subscribed) == (False, None, True)
    assert Lead.objects.filter(pk=w["other"].pk, merged_into=None, erased_at=None).exists()
    assert errors == []
    context.close()
