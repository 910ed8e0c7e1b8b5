"""Driving the tracker's reading time on Playwright's clock (nothing waits for real time).

The tests pause the page's clock once the tracker runs, then advance it by exact amounts
while moving the mouse or scrolling like a reader, and read what reached PostgreSQL.
Headless Chromium keeps every page visible and focused, so a background tab is made the
way the browser itself would tell the page: `document.hidden` and `visibilityState` say
so and `visibilitychange` fires (`hide`, `show`).
"""

from __future__ import annotations

import time
from typing import Any

from django.db.models import Count, Sum

from profiling.models import Event


class EventPosts:
    """The tracker's event requests in flight (from the page and its frames)."""

    def __init__(self, page: Any) -> None:
        self.started = 0
        self.in_flight = 0
        page.on("request", self._start)
        page.on("requestfinished", self._end)
        page.on("requestfailed", self._end)

    @staticmethod
    def _ours(request: Any) -> bool:
        return request.method == "POST" and request.url.endswith("/api/v1/public/events")

    def _start(self, request: Any) -> None:
        if self._ours(request):
            self.started += 1
            self.in_flight += 1

    def _end(self, request: Any) -> None:
        if self._ours(request):
            self.in_flight -= 1


def pause_when_tracking(page: Any, frame: Any = None) -> None:
    """Stop the page's clock once the tracker has started: from here on, time moves only
    when the test says (page.clock.run_for)."""
    target = frame or page
    target.wait_for_function("() => !!window.leadgate", timeout=10_000)
    # The page_view is queued: the tracker has started, and so has its section watcher.
    now_ms = target.evaluate("() => Date.now()")
    page.clock.pause_at((now_ms + 2000) / 1000)  # Python's clock takes seconds


def drain(page: Any, frame: Any = None) -> None:
    """Sends what the tracker has queued and waits (in real time, the page's clock
    standing still) until leadgate has answered: the queue's own flush timer would need
    the page's time to move, and reading time with it."""
    posts: EventPosts = page.posts

    def answered() -> None:
        # Playwright hands over its network events while it runs a call: wait through it.
        deadline = time.monotonic() + 10
        page.wait_for_timeout(50)  # a request the flush started is seen by then
        while posts.in_flight:
            assert time.monotonic() < deadline, "leadgate did not answer"
            page.wait_for_timeout(20)

    for _ in range(20):
        before = posts.started
        (frame or page).evaluate("() => window.leadgate.flush()")
        answered()
        if posts.started == before:
            return
    raise AssertionError("the tracker kept sending")


def scroll_to(target: Any, selector: str) -> None:
    """Scrolls the section to the top of the window and returns once the page (and so
    the tracker) has heard the browser's scroll event."""
    target.evaluate(
        """selector => new Promise(resolve => {
          addEventListener("scroll", () => resolve(), { once: true, capture: true });
          // Instant: the hosted page's smooth scrolling would pass the sections between.
          document.querySelector(selector).scrollIntoView({ behavior: "instant" });
        })""",
        selector,
    )


def spend(page: Any, ms: int, *, step: int = 5000, alive: bool = True, frame: Any = None) -> None:
    """`ms` of page time; a reader moves the mouse a little every `step` (signs of life).
    What the tracker reports meanwhile is sent as it would be in real time."""
    x = 600
    while ms > 0:
        if alive:
            x = 601 if x == 600 else 600
            page.mouse.move(x, 400)
        page.clock.run_for(min(step, ms))
        ms -= step
        drain(page, frame)


def stored_reading(visitor_id: str) -> dict[str, tuple[int, int]]:
    """Stored per section: (number of reports, summed active ms)."""
    rows = (
        Event.objects.filter(visitor_id=visitor_id, type="section_view")
        .values("section_key")
        .annotate(reports=Count("id"), active=Sum("duration_ms"))
    )
    return {r["section_key"]: (r["reports"], r["active"]) for r in rows}


def hide(target: Any) -> None:
    """The tab goes to the background (see the module docstring)."""
    target.evaluate(
        """() => {
          Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
          Object.defineProperty(document, "visibilityState",
            { configurable: true, get: () => "hidden" });
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    assert target.evaluate("() => document.hidden && document.visibilityState") == "hidden"


def show(target: Any) -> None:
    target.evaluate(
        """() => {
          delete document.hidden;
          delete document.visibilityState;
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    assert target.evaluate("() => document.visibilityState") == "visible"
