"""The content analytics page in headless Chromium: a sales user goes from the dashboard
to the gate's content page; the drop-off charts, the tables and what hot leads read are
there, the CSV downloads, and the page raises no console error (a CSP violation is one)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.forms_app.browser.conftest import SCREENSHOTS
from tests.forms_app.workspace.test_browser_workspace import (  # noqa: F401 (a fixture)
    _expect_text,
    _login,
    workspace_world,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sales_user_reads_the_content_analytics(
    chromium: Any,
    live_server: Any,
    workspace_world: dict[str, Any],  # noqa: F811 (the fixture imported above)
) -> None:
    base = live_server.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    _login(page, base, "sales-user")

    page.click("#content-links >> text=Reliable connectivity: the e-book")
    page.wait_for_url(re.compile(r".*/app/gates/network-vbook/content\?start=.*"))
    _expect_text(page.locator("h1"), "Content: Reliable connectivity")
    chart = page.locator("#sections svg.ws-chart")
    assert chart.get_attribute("role") == "img"
    assert "1. Why fibre, why now:" in (chart.get_attribute("aria-label") or "")
    rows = page.locator("#sections tbody tr")
    assert rows.count() == 6
    first_readers = int(rows.nth(0).locator("td").nth(0).inner_text())
    last_readers = int(rows.nth(5).locator("td").nth(0).inner_text())
    assert first_readers > last_readers > 0
    hot = page.locator("#hot tbody tr")
    assert hot.count() >= 3
    _expect_text(hot.nth(0).locator("td").nth(0), "1")

    csv_href = page.locator("#sections a.ws-csv").get_attribute("href")
    assert csv_href is not None
    download = page.request.get(base + csv_href)
    assert download.ok
    assert download.headers["content-type"].startswith("text/csv")
    assert download.text().splitlines()[0].startswith("kind,file,key,title,readers,reach")

    page.screenshot(path=str(SCREENSHOTS / "workspace-content.png"), full_page=True)
    assert console == [], console
    context.close()
