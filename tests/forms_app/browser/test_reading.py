"""Attention, not visibility: the tracker's reading time in a real browser, on a fake clock.

Playwright's clock drives the page's Date and timers (nothing here waits for real time):
the tests pause it once the tracker runs, then advance it by exact amounts while moving
the mouse or scrolling like a reader, and check what reaches PostgreSQL: the
`section_view` reports per section and the sum of their `duration_ms`.

Headless Chromium keeps every page visible and focused (a second page brought to the
front, a minimised window or a frozen lifecycle change nothing: tried), so a background
tab is made the way the browser itself would tell the page: `document.hidden` and
`visibilityState` say so and `visibilitychange` fires; `hide` and `show` check that the
page sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from profiling.models import Event
from tests.forms_app.browser.conftest import HostSite
from tests.support.factories import make_gate
from tests.support.reading_clock import (
    EventPosts,
    drain,
    hide,
    pause_when_tracking,
    scroll_to,
    show,
    spend,
    stored_reading,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECTIONS = ["s1", "s2", "s3", "s4", "s5", "s6"]
IDLE_MS = 30_000
MIN_DWELL_MS = 5000
PARAGRAPH = "Fibre to the home brings symmetric gigabit service to every street. " * 12


def _host_page(script_src: str, slug: str, *, section_height: int) -> str:
    sections = "".join(
        f'<section data-leadgate-section="{key}" style="height:{section_height}px;margin:0">'
        f"<h2>{key}</h2><p>Text of {key}.</p></section>"
        for key in SECTIONS
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Blog</title>
<style>body{{margin:0;font:16px sans-serif}} h1{{height:120px;margin:0}}</style></head>
<body><h1>Acme Fibre blog</h1>{sections}<footer style="height:2000px">footer</footer>
<script src="{script_src}" data-gate="{slug}" async></script></body></html>"""


@pytest.fixture
def open_page(chromium: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def opener(url: str, *, width: int = 1200, height: int = 800) -> Any:
        context = chromium.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.posts = EventPosts(page)
        # From the real time on (leadgate refuses events dated far from it); paused later.
        page.clock.install()
        page.goto(url)
        return page

    yield opener
    for context in contexts:
        context.close()


def _embed_gate(host: HostSite, **fields: Any) -> Any:
    fields.setdefault("min_dwell_ms", MIN_DWELL_MS)
    fields.setdefault("idle_timeout_ms", IDLE_MS)
    return make_gate(sections=SECTIONS, allowed_origins=[host.origin], **fields)


def _visitor(target: Any) -> str:
    vid = str(target.evaluate("() => window.leadgate.visitorId"))
    assert vid
    return vid


def _open_tracked(
    open_page: Any,
    url: str,
    *,
    width: int = 1200,
    height: int = 800,
    after_load: str | None = None,
) -> tuple[Any, str]:
    """Open a page carrying the tracker, wait until it tracks (then the clock is
    paused) and return the page with its visitor id."""
    page = open_page(url, width=width, height=height)
    if after_load:
        page.wait_for_selector(after_load, timeout=10_000)
    pause_when_tracking(page)
    return page, _visitor(page)


def _embedded(live_server: Any, host: HostSite, path: str, slug: str, *, height: int) -> str:
    """A page on the host site carrying leadgate.js and six sections of `height` px."""
    return host.page(
        path, _host_page(f"{live_server.url}/static/leadgate.js", slug, section_height=height)
    )


def test_an_idle_visitor_on_a_large_screen_gets_one_sections_time_up_to_the_idle_cut_off(
    open_page: Any, live_server: Any, host_site: HostSite
) -> None:
    # Six short sections, all on a 2560x1440 screen at once: before, each got the minimum
    # dwell and the visitor "read 6 of 6 sections" by doing nothing.
    gate = _embed_gate(host_site)
    url = _embedded(live_server, host_site, "/idle", gate.slug, height=180)
    page, vid = _open_tracked(open_page, url, width=2560, height=1440)
    assert page.evaluate(
        "() => [...document.querySelectorAll('[data-leadgate-section]')]"
        ".every(s => s.getBoundingClientRect().bottom <= innerHeight)"
    )
    spend(page, 90_000, alive=False)
    reading = stored_reading(vid)
    # One section only (the one at the reading line), and no more than the cut-off.
    assert len(reading) == 1, reading
    ((_, active),) = reading.values()
    assert IDLE_MS - 2000 <= active <= IDLE_MS, reading
    # Minutes more of an idle screen add nothing.
    spend(page, 120_000, alive=False)
    assert stored_reading(vid) == reading


def test_a_reader_who_stays_on_a_section_gets_the_time_spent_in_heartbeats(
    open_page: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _embed_gate(host_site)
    url = _embedded(live_server, host_site, "/read", gate.slug, height=1400)
    page, vid = _open_tracked(open_page, url)
    # Scroll to the third section (the browser's own scroll: the tracker hears it).
    scroll_to(page, "[data-leadgate-section=s3]")
    spend(page, 120_000)
    page.clock.run_for(3000)  # 3 s past the last heartbeat
    # A report when the section reached the minimum dwell, then heartbeats every 10 s.
    before_leaving = stored_reading(vid)
    reports, active = before_leaving["s3"]
    assert reports >= 12
    assert 110_000 <= active <= 120_000
    ids = Event.objects.filter(visitor_id=vid, section_key="s3").values_list("id", flat=True)
    assert len(set(ids)) == len(ids)
    # Leaving the page flushes the time read since the last heartbeat.
    page.goto("about:blank")

    def flushed() -> dict[str, tuple[int, int]] | None:
        now = stored_reading(vid)
        return now if now["s3"][0] > reports else None

    after = wait_for(flushed, message=lambda: str(stored_reading(vid)))
    assert after is not None
    spent = 123_000
    assert abs(after["s3"][1] - spent) <= spent * 0.10, after
    assert abs(after["s3"][1] - spent) <= 1000, after  # in fact within a tick
    # The other sections: nothing but the moment before the scroll (the test's pause).
    assert all(ms <= 2500 for key, (_, ms) in after.items() if key != "s3"), after


def test_a_background_tab_gets_nothing_and_hiding_flushes(
    open_page: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _embed_gate(host_site)
    url = _embedded(live_server, host_site, "/tabs", gate.slug, height=1400)
    page, vid = _open_tracked(open_page, url)
    scroll_to(page, "[data-leadgate-section=s2]")
    spend(page, 8000)
    # Hidden 8 s after the scroll: the 8 s are sent at once (a flush, no heartbeat yet
    # beyond the minimum dwell's report).
    assert stored_reading(vid)["s2"] == (1, MIN_DWELL_MS)  # the report at the minimum dwell
    hide(page)
    drain(page)
    hidden_at = stored_reading(vid)
    assert hidden_at["s2"] == (2, 8000), hidden_at  # the rest, flushed as the page hid
    # Ten minutes in the background, with the tracker's timers running: nothing accrues.
    spend(page, 600_000, alive=False)
    assert stored_reading(vid) == hidden_at
    # Even with the mouse moving over it, a hidden page gets nothing.
    spend(page, 20_000)
    assert stored_reading(vid) == hidden_at
    # Back in front: time accrues again.
    show(page)
    spend(page, 20_000)
    back = stored_reading(vid)
    assert back["s2"][1] - hidden_at["s2"][1] == 20_000, back


def test_a_window_that_lost_the_focus_gets_nothing_until_the_reader_is_back(
    open_page: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _embed_gate(host_site)
    url = _embedded(live_server, host_site, "/blur", gate.slug, height=1400)
    page, vid = _open_tracked(open_page, url)
    scroll_to(page, "[data-leadgate-section=s4]")
    spend(page, 10_000)
    page.evaluate("() => window.dispatchEvent(new Event('blur'))")
    spend(page, 60_000, alive=False)
    reading = stored_reading(vid)
    assert reading["s4"][1] == 10_000, reading


def test_the_idle_cut_off_is_the_gates_setting(
    open_page: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _embed_gate(host_site, idle_timeout_ms=12_000)
    url = host_site.page(
        "/cutoff",
        _host_page(f"{live_server.url}/static/leadgate.js", gate.slug, section_height=1400)
        # The gate's config reaches the tracker through the form's config request.
        .replace("<h1>", f'<div data-leadgate-form="{gate.slug}"></div><h1>'),
    )
    page, vid = _open_tracked(open_page, url, after_load="[data-leadgate-form] form")
    scroll_to(page, "[data-leadgate-section=s2]")
    spend(page, 60_000, alive=False)
    reading = stored_reading(vid)
    assert reading["s2"][1] == 12_000, reading


def _hosted_gate(**fields: Any) -> Any:
    gate = make_gate(
        **fields,
        stage="epiphany",
        sections=SECTIONS,
        min_dwell_ms=MIN_DWELL_MS,
        idle_timeout_ms=IDLE_MS,
    )
    for section in gate.sections.all():
        section.body = "\n\n".join([PARAGRAPH] * 16)
        section.save()
    return gate


def test_the_hosted_page_counts_attention_the_same_way(open_page: Any, live_server: Any) -> None:
    gate = _hosted_gate()
    page, vid = _open_tracked(
        open_page, f"{live_server.url}/g/{gate.slug}", width=2560, height=1440
    )
    # Idle: one section, up to the cut-off.
    spend(page, 90_000, alive=False)
    idle = stored_reading(vid)
    assert len(idle) == 1, idle
    assert IDLE_MS - 2000 <= next(iter(idle.values()))[1] <= IDLE_MS, idle
    # Reading the third section for 40 s.
    scroll_to(page, "#section-s3")
    spend(page, 40_000)
    hide(page)
    drain(page)
    read = stored_reading(vid)
    assert read.get("s3", (0, 0))[1] == 40_000, read


def test_the_iframe_variant_counts_attention_the_same_way(
    open_page: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _hosted_gate(allowed_origins=[host_site.origin])
    url = host_site.page(
        "/frame",
        f"""<!doctype html><html lang="en"><head><title>Host</title></head><body>
        <h1>Our site forbids third-party scripts</h1>
        <iframe id="lgf" title="The e-book" style="width:1000px;height:700px;border:0"
          src="{live_server.url}/g/{gate.slug}/embed"></iframe></body></html>""",
    )
    page = open_page(url)
    frame = page.frame_locator("#lgf")
    frame.locator("#section-s1").wait_for(timeout=10_000)
    inner = page.frame(url=f"{live_server.url}/g/{gate.slug}/embed")
    assert inner is not None
    pause_when_tracking(page, inner)
    vid = _visitor(inner)
    # The reader scrolls inside the frame to the fourth section and stays 40 s, the mouse
    # over the frame (pointer events reach the frame's document).
    scroll_to(inner, "#section-s4")
    spend(page, 40_000, frame=inner)
    hide(inner)
    drain(page, inner)
    read = stored_reading(vid)
    assert read.get("s4", (0, 0))[1] == 40_000, read
    # In the background: nothing more.
    spend(page, 120_000, alive=False, frame=inner)
    assert stored_reading(vid) == read
