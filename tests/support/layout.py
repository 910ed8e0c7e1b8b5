"""Layout checks for the browser tests: the viewports every page must work in, no
sideways scrolling of the page, touch targets of at least 44 px."""

from __future__ import annotations

from typing import Any

SMALL_PHONE = {"width": 360, "height": 740}
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1440, "height": 900}
MIN_TARGET_PX = 44


def assert_no_sideways_scroll(page: Any, where: str) -> None:
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], f"{where}: page is {widths} px wide"


def small_targets(page: Any, selector: str) -> list[str]:
    """Visible elements matching `selector` less than 44 px tall (or wide)."""
    return list(
        page.evaluate(
            """([selector, min]) => Array.from(document.querySelectorAll(selector))
                .filter((el) => el.getClientRects().length > 0)
                .map((el) => [el, el.getBoundingClientRect()])
                .filter(([el, r]) => r.height < min || r.width < min)
                .map(([el, r]) => `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}" ${Math.round(r.width)}x${Math.round(r.height)}`)""",
            [selector, MIN_TARGET_PX],
        )
    )
