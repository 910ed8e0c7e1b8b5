"""The PDF reader in a real browser: a lead opens the map, scrolls, and the pages read
arrive as section_view events of the file (file_key and "p<N>"), scored by a rule on
pages of the map. The browser's clock is Playwright's: no sleeping for the dwell time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from forms_app.access import access_token_make
from forms_app.models import GateFile, PdfStatus
from forms_app.services.pdf import gate_file_pdf_attach
from profiling.models import Event
from tests.forms_app.browser.conftest import SCREENSHOTS
from tests.support.factories import make_gate, make_lead, make_rule, make_visitor
from tests.support.pdfs import pdf_bytes
from tests.support.reading_clock import (
    EventPosts,
    drain,
    hide,
    pause_when_tracking,
    scroll_to,
    spend,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

A11Y = r"""
() => {
  const problems = [];
  if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
  for (const img of document.querySelectorAll('img')) {
    if (!img.getAttribute('alt')) problems.push('img without alt');
    if (!img.getAttribute('width') || !img.getAttribute('height')) problems.push('img without size');
  }
  for (const s of document.querySelectorAll('[data-leadgate-section]')) {
    if (!s.closest('[data-leadgate-file]')) problems.push('page outside its file');
  }
  return problems;
}
"""


def test_reading_pages_sends_section_views_of_the_file(chromium: Any, live_server: Any) -> None:
    gate = make_gate(files=("network-map",), min_dwell_ms=1000)
    gate_file = GateFile.objects.get(gate=gate, key="network-map")
    # Autocommit (a transactional test): the render tasks run eagerly at commit.
    gate_file_pdf_attach(
        gate_file=gate_file,
        data=pdf_bytes(6, chapters=[("Coverage", 1), ("Pricing", 5)]),
        name="map.pdf",
        read_inline=True,
    )
    gate_file.refresh_from_db()
    assert gate_file.pdf_status == PdfStatus.READY
    make_rule(gate=gate, file_key="network-map", points=10, max_points=30, name="map pages")
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    token = access_token_make(gate_slug=gate.slug, lead_id=lead.id, visitor_id=visitor.id)

    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    posted: list[dict[str, Any]] = []

    def record(request: Any) -> None:
        if request.url.endswith("/api/v1/public/events") and request.method == "POST":
            posted.extend(json.loads(request.post_data)["events"])

    page.posts = EventPosts(page)
    page.on("request", record)
    page.clock.install()
    try:
        page.goto(f"{live_server.url}/g/{gate.slug}/read/network-map?t={token}")
        # From here the page's time moves only when the test says: a busy machine's real
        # time (loading the page images, the smooth jump) counts as no one's reading.
        pause_when_tracking(page)
        assert page.evaluate(A11Y) == []
        assert page.locator("[data-leadgate-section]").count() == 6
        # The chapters link to their first pages.
        page.click("nav a:has-text('Pricing')")
        page.wait_for_function("() => location.hash === '#page-5'")
        page.wait_for_function("() => document.querySelector('#page-5 img').complete")
        landed = "(id) => Math.abs(document.getElementById(id).getBoundingClientRect().top) < 40"
        page.wait_for_function(landed, arg="page-5")
        # Page 5 fills the window for longer than the dwell, then page 2 does; hiding the
        # page sends the time read since the last report.
        spend(page, 4_000, step=2_000)
        scroll_to(page, "#page-2")
        spend(page, 4_000, step=2_000)
        hide(page)
        drain(page)
        page.screenshot(path=str(SCREENSHOTS / "pdf-reader.png"))

        def page_views() -> list[Event]:
            return list(Event.objects.filter(visitor_id=visitor.id, type="section_view"))

        for _ in range(100):
            if {e.section_key for e in page_views()} >= {"p2", "p5"}:
                break
            page.wait_for_timeout(100)
        views = page_views()
        assert {e.section_key for e in views} >= {"p2", "p5"}, [
            (e["section"], e.get("duration_ms")) for e in posted if e["type"] == "section_view"
        ]
        assert all(e.file_key == "network-map" for e in views)
        # A page's reports (the first at the dwell, then heartbeats) add up to its time.
        active: dict[str, int] = {}
        for e in views:
            active[e.section_key] = active.get(e.section_key, 0) + (e.duration_ms or 0)
        assert active["p2"] >= 1000, active
        assert active["p5"] >= 1000, active
        sent = [e for e in posted if e["type"] == "section_view"]
        assert sent
        assert all(e["file"] == "network-map" for e in sent)
        # The lead's score counts the pages read (score_lead ran eagerly on ingest).
        lead.refresh_from_db()
        assert lead.score >= 20
        assert any("pages of network-map" in r for r in lead.reasons), lead.reasons
    finally:
        context.close()


def test_the_reader_works_without_javascript(chromium: Any, live_server: Any) -> None:
    gate = make_gate(stage="epiphany", files=("network-map",))
    gate_file = GateFile.objects.get(gate=gate, key="network-map")
    gate_file_pdf_attach(gate_file=gate_file, data=pdf_bytes(3), name="m.pdf", read_inline=True)
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/g/{gate.slug}/read/network-map")
        images = page.locator("img.lg-pdf-image")
        assert images.count() == 3
        first = images.first
        first.wait_for()
        # The 44rem column at one device pixel per CSS pixel: the lighter copy (srcset).
        # (naturalWidth is the srcset's density-corrected width: the column's, either way.)
        assert page.evaluate("() => document.querySelector('img').currentSrc").endswith("&w=720")
        page.click("summary:has-text('Text of page 1')")
        assert page.locator("details[open]").inner_text().count("Fibre ring page 1") == 1
    finally:
        context.close()
    # A denser screen gets the full width.
    context = chromium.new_context(java_script_enabled=False, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/g/{gate.slug}/read/network-map")
        page.locator("img.lg-pdf-image").first.wait_for()
        page.wait_for_function("() => document.querySelector('img').complete")
        version = GateFile.objects.get(pk=gate_file.pk).pdf_version
        assert page.evaluate("() => document.querySelector('img').currentSrc").endswith(
            f"?v={version}"
        )
    finally:
        context.close()
