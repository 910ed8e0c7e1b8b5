"""Every workspace page on phones (360 and 390 px) and a wide screen (1440 px).

On each page: no sideways scrolling of the page itself (wide tables scroll inside their
own box), no serious or critical axe-core violation, and on phones the navigation is a
collapsible menu (a button with aria-expanded, usable from the keyboard) whose links and
the page's buttons are at least 44 px tall. Keyboard-only: the login form is filled and
sent with Tab and Enter alone, with a visible focus ring on the way.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from forms_app.models import Gate
from profiling.models import Lead, ScoringRule, WebhookEndpoint
from tests.forms_app.browser.conftest import SCREENSHOTS
from tests.forms_app.workspace.seed import seed_activity
from tests.support.axe import assert_accessible
from tests.support.factories import make_user
from tests.support.layout import (
    PHONE,
    SMALL_PHONE,
    WIDE,
    assert_no_sideways_scroll,
    small_targets,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a long enough passphrase"


# What a thumb must hit in the workspace (links inside sentences are exempt, WCAG 2.5.8).
PHONE_TARGETS = (
    "main .ws-button, main button, main .ws-csv, main .ws-tabs a, main .ws-pager a, "
    ".ws-filterbar-actions a, .ws-actions > a, main select, "
    # A checkbox's label toggles it: the label is the target.
    "main .ws-check label, main .ws-choices > div label, "
    "main input:not([type=hidden]):not([type=checkbox]):not([type=radio])"
)


@pytest.fixture
def world(live_server: Any, settings: Any, tmp_path: Any) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path  # the demo's uploaded map must not land in the repo
    call_command("demo", base_url=live_server.url, no_history=True, stdout=io.StringIO())
    gate = Gate.objects.get(slug="network-vbook")
    endpoint = WebhookEndpoint.objects.get()
    seed_activity(gate=gate, endpoint=endpoint)
    user = make_user(username="marketer-user", is_staff=False)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get_or_create(name="marketer")[0])
    return {"gate": gate, "endpoint": endpoint}


def workspace_paths(world: dict[str, Any]) -> list[str]:
    """Every page of forms_app/workspace/urls.py that answers a GET with HTML."""
    gate = world["gate"]
    lead = Lead.objects.filter(grade="hot").order_by("created_at").first()
    assert lead is not None
    rule = ScoringRule.objects.order_by("pk").first()
    assert rule is not None
    return [
        "/app/",
        "/app/gates/",
        "/app/gates/new",
        f"/app/gates/{gate.slug}/",
        f"/app/gates/{gate.slug}/preview/page",
        f"/app/gates/{gate.slug}/preview/embed",
        f"/app/gates/{gate.slug}/preview/content",
        f"/app/gates/{gate.slug}/content",
        "/app/scoring/",
        "/app/scoring/rules/new",
        f"/app/scoring/rules/{rule.pk}/",
        "/app/webhooks/",
        f"/app/webhooks/{world['endpoint'].pk}/",
        "/app/sources/",
        "/app/quarantine/",
        "/app/leads/",
        f"/app/leads/{lead.pk}/",
        f"/app/leads/{lead.pk}/erase",
    ]


def _login(page: Any, base: str) -> None:
    page.goto(base + "/app/login/")
    page.fill("#id_username", "marketer-user")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/app/$"))


@pytest.mark.parametrize("viewport", [SMALL_PHONE, PHONE, WIDE], ids=["360px", "390px", "1440px"])
def test_every_workspace_page_fits_and_passes_axe(
    chromium: Any, live_server: Any, world: dict[str, Any], viewport: dict[str, int]
) -> None:
    base = live_server.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(base + "/app/login/")
    assert_no_sideways_scroll(page, "login")
    assert_accessible(page, where=f"login at {viewport['width']} px")
    _login(page, base)

    for path in workspace_paths(world):
        response = page.goto(base + path)
        assert response is not None, path
        assert response.status == 200, path
        where = f"{path} at {viewport['width']} px"
        assert_no_sideways_scroll(page, where)
        assert_accessible(page, where=where)
        if viewport["width"] < 800 and "/preview/" not in path:
            name = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "lead", path.strip("/"))
            name = re.sub(r"[^a-z0-9]+", "-", name).removeprefix("app-") or "dashboard"
            page.screenshot(
                path=str(SCREENSHOTS / f"workspace-{viewport['width']}-{name}.png"),
                full_page=False,
            )
            toggle = page.locator(".ws-menu-button")
            assert toggle.is_visible(), where
            assert toggle.get_attribute("aria-expanded") == "false", where
            assert not page.locator("#ws-menu").is_visible(), where
            small = small_targets(page, PHONE_TARGETS)
            assert not small, f"{where}: buttons under 44 px: {small}"
            assert not small_targets(page, ".ws-menu-button"), where
    assert not errors, errors
    context.close()


def test_phone_menu_opens_and_closes_from_the_keyboard(
    chromium: Any, live_server: Any, world: dict[str, Any]
) -> None:
    base = live_server.url
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    _login(page, base)
    toggle = page.locator(".ws-menu-button")
    menu = page.locator("#ws-menu")
    assert toggle.get_attribute("aria-controls") == "ws-menu"
    assert not menu.is_visible()
    # Keyboard only: Tab from the top reaches the menu button (after the skip link and
    # the brand).
    focused: list[str] = []
    for _ in range(4):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.className"))
        if "ws-menu-button" in focused[-1]:
            break
    assert "ws-menu-button" in focused[-1], focused
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), "no visible focus ring on the menu button"
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert menu.is_visible()
    small = small_targets(page, "#ws-menu a, #ws-menu button")
    assert not small, f"menu targets under 44 px: {small}"
    assert_no_sideways_scroll(page, "open menu")
    assert_accessible(page, where="open phone menu")
    page.screenshot(path=str(SCREENSHOTS / "workspace-390-menu.png"), full_page=False)
    # Tab into the menu and follow a link with Enter.
    page.keyboard.press("Tab")
    for _ in range(10):
        if page.evaluate("document.activeElement.textContent.trim()") == "Leads":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/app/leads/$"))
    assert page.locator(".ws-menu-button").get_attribute("aria-expanded") == "false"
    # Escape closes an open menu and gives the focus back to its button.
    page.locator(".ws-menu-button").focus()
    page.keyboard.press("Space")
    assert page.locator("#ws-menu").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#ws-menu").is_visible()
    assert "ws-menu-button" in page.evaluate("document.activeElement.className")
    context.close()


def test_wide_screen_shows_the_sidebar_without_a_menu_button(
    chromium: Any, live_server: Any, world: dict[str, Any]
) -> None:
    context = chromium.new_context(viewport=WIDE)
    page = context.new_page()
    _login(page, live_server.url)
    assert not page.locator(".ws-menu-button").is_visible()
    assert page.locator("#ws-menu").is_visible()
    nav_box = page.locator("nav.ws-nav").bounding_box()
    main_box = page.locator("main").bounding_box()
    assert nav_box is not None
    assert main_box is not None
    assert nav_box["x"] + nav_box["width"] <= main_box["x"] + 1  # side by side
    context.close()


def test_login_with_the_keyboard_only(
    chromium: Any, live_server: Any, world: dict[str, Any]
) -> None:
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/app/login/")
    # The username field takes the focus on load (autofocus); else Tab reaches it.
    seen = [page.evaluate("document.activeElement.id || document.activeElement.tagName")]
    for _ in range(6):
        if seen[-1] == "id_username":
            break
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    assert seen[-1] == "id_username", seen
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert ring not in ("", "none"), "no visible focus ring on the username field"
    page.keyboard.type("marketer-user")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/app/$"))
    assert page.locator("h1").first.inner_text() in {"Dashboard", "Welcome to leadgate"}
    context.close()
