"""axe-core in the browser tests: `assert_accessible(page)` on any Playwright page.

axe-core comes from the npm registry through the repository's package-lock.json (`npm
ci`, which scripts/test.sh runs) and is read from node_modules, so no CDN is ever asked.
It is evaluated through the DevTools protocol rather than added as a script tag: the
pages' strict CSP (no inline script) refuses an inline tag, and the test must not relax
the CSP it is checking pages under. A serious or critical violation fails the test with the rule, the
elements and axe's advice; minor and moderate ones are left to review.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = frozenset({"serious", "critical"})


def axe_path() -> Path:
    """The axe-core bundle. A missing one fails the test, never skips it: an accessibility
    check that did not run must not read as one that passed."""
    if not AXE_JS.is_file():
        pytest.fail(
            f"{AXE_JS} is missing: run `npm ci` at the repository root (scripts/test.sh does)",
            pytrace=False,
        )
    return AXE_JS


@functools.cache
def _axe_source() -> str:
    return axe_path().read_text(encoding="utf-8")


def axe_violations(page: Any, *, context: Any = None) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (`context`: axe's include/exclude)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source() + "\n;undefined")
    result = page.evaluate(
        """async (context) => {
            const options = { resultTypes: ["violations"] };
            return context ? await axe.run(context, options) : await axe.run(document, options);
        }""",
        context,
    )
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:5]:
            target = " ".join(str(t) for t in node["target"])
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    {target}: {summary[:300]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def assert_accessible(page: Any, *, where: str = "", context: Any = None) -> None:
    """No serious or critical axe-core violation on the page (or in `context`)."""
    bad = [v for v in axe_violations(page, context=context) if v.get("impact") in FAILING_IMPACTS]
    label = where or page.url
    assert not bad, f"axe-core: serious or critical violations on {label}:\n{describe(bad)}"
