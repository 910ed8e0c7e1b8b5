"""Browser fixtures for the analytics SDK tests: the embed tests' Chromium and host site
(tests/forms_app/browser/conftest.py), and the SDKs' browser bundles from node_modules.

The bundles come from the npm registry through the repository's package-lock.json
(`npm ci`, which scripts/test.sh runs); the host site serves them itself, as a site that
installs an SDK with npm does: no CDN is ever asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.forms_app.browser.conftest import HostSite, chromium, closed_port, host_site
from tests.support.ci import IN_CI

__all__ = ["chromium", "closed_port", "host_site"]

ROOT = Path(__file__).resolve().parents[3]
NODE_MODULES = ROOT / "node_modules"
# analytics-next's UMD build: `index.js` defines `AnalyticsNext`; it loads its chunks from
# beside the page, so the whole folder is served.
SEGMENT_UMD = NODE_MODULES / "@segment" / "analytics-next" / "dist" / "umd"
# RudderStack's "bundled" build (the package's `@rudderstack/analytics-js/bundled`
# export): its plugins are inside, where the default build fetches them from a CDN. The
# UMD defines `rudderanalytics.RudderAnalytics`.
RUDDERSTACK_UMD = (
    NODE_MODULES / "@rudderstack" / "analytics-js" / "dist" / "npm" / "modern" / "bundled"
)


@dataclass(frozen=True)
class SdkBundles:
    segment: str  # URL of analytics-next's index.js on the host site
    rudderstack: str  # URL of RudderStack's bundled UMD on the host site


def _missing(path: Path) -> None:
    message = f"{path} is missing: run `npm ci` at the repository root (scripts/test.sh does)"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def sdk_bundles(host_site: HostSite) -> SdkBundles:
    """The two SDKs' browser bundles, served by the host site under /vendor/."""
    segment_index = SEGMENT_UMD / "index.js"
    rudderstack_index = RUDDERSTACK_UMD / "umd" / "index.js"
    for path in (segment_index, rudderstack_index):
        if not path.is_file():
            _missing(path)
    for chunk in SEGMENT_UMD.glob("*.js"):
        host_site.page(
            f"/vendor/analytics-next/{chunk.name}", chunk.read_bytes(), "text/javascript"
        )
    host_site.page(
        "/vendor/rudderstack/analytics.js", rudderstack_index.read_bytes(), "text/javascript"
    )
    return SdkBundles(
        segment=host_site.url("/vendor/analytics-next/index.js"),
        rudderstack=host_site.url("/vendor/rudderstack/analytics.js"),
    )
