"""The analytics SDKs sites already use, unmodified, in Chromium, with leadgate as their host.

A marketer's page (one loopback port) loads the SDK's own browser bundle from the npm
registry (served from node_modules by the page's site, never a CDN), set up as the SDK's
docs say for a self-hosted endpoint, and calls page(), track("Section Viewed") and
identify(). leadgate (pytest-django's live server, another port, so every call is a real
cross-origin request with its CORS preflight) must serve the settings the SDK asks for
first and store what it sends.

No request may leave 127.0.0.1: the browser context's proxy is a closed port, bypassed
for 127.0.0.1 only, so anything else fails at once, and every request the page makes is
recorded and checked. Playwright's request routing is deliberately not used: while a
route is active, Playwright answers every CORS preflight itself (allowing any header),
which would hide exactly the preflight refusals these tests are for.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from profiling.models import Event, EventType, Lead, Visitor
from profiling.services.segment import source_create
from tests.forms_app.browser.conftest import HostSite
from tests.profiling.browser.conftest import SdkBundles
from tests.support.factories import make_gate
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOOPBACK = "127.0.0.1"
SECTION = "coverage"
DURATION_MS = 1234

# Each SDK as its own docs set it up against a self-hosted endpoint. `CONFIG` is the
# test's JSON: {writeKey, leadgate (origin), apiHost (host:port/v1)}.
SETUPS = {
    # Segment's docs for a custom proxy: the CDN and the API host both leadgate.
    "analytics-next": """
      window.sdk = AnalyticsNext.AnalyticsBrowser.load(
        { writeKey: CONFIG.writeKey, cdnURL: CONFIG.leadgate },
        { integrations: { "Segment.io": { apiHost: CONFIG.apiHost, protocol: "http" } } }
      );
      window.sdkReady = window.sdk.then(() => true);
      window.sdkAnonymousId = async () => (await window.sdk.user()).anonymousId();
    """,
    # Only the CDN: the settings leadgate serves must send the events to leadgate too.
    "analytics-next-settings-only": """
      window.sdk = AnalyticsNext.AnalyticsBrowser.load(
        { writeKey: CONFIG.writeKey, cdnURL: CONFIG.leadgate }
      );
      window.sdkReady = window.sdk.then(() => true);
      window.sdkAnonymousId = async () => (await window.sdk.user()).anonymousId();
    """,
    # RudderStack's npm package, bundled build; its docs' load() with a self-hosted
    # control plane (`configUrl`) and data plane.
    "rudderstack": """
      window.sdk = new rudderanalytics.RudderAnalytics();
      window.sdk.load(CONFIG.writeKey, CONFIG.leadgate, {
        configUrl: CONFIG.leadgate, logLevel: "ERROR"
      });
      window.sdkReady = new Promise((resolve) => window.sdk.ready(() => resolve(true)));
      window.sdkAnonymousId = async () => window.sdk.getAnonymousId();
    """,
}
BUNDLE = {
    "analytics-next": "segment",
    "analytics-next-settings-only": "segment",
    "rudderstack": "rudderstack",
}
# What each SDK asks leadgate for first, and where it posts page/track/identify.
CONFIG_PATH = {"segment": "/v1/projects/{key}/settings", "rudderstack": "/sourceConfig/"}
INGEST_PATHS = {
    "segment": {"/v1/p", "/v1/t", "/v1/i"},
    "rudderstack": {"/v1/page", "/v1/track", "/v1/identify"},
}


@dataclass
class Traffic:
    """Every request the page made, and those that failed (CORS refusals included)."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)

    def outside(self) -> list[str]:
        return [url for _, url in self.requests if urlsplit(url).hostname != LOOPBACK]

    def paths(self, origin: str, method: str) -> set[str]:
        return {
            urlsplit(url).path
            for m, url in self.requests
            if m == method and url.startswith(origin + "/")
        }


def _guarded_context(chromium: Any, closed_port: int) -> tuple[Any, Traffic]:
    """A browser context whose requests to anything but 127.0.0.1 go to a proxy that is
    not there (so they fail at once, and nothing is resolved or sent), all recorded."""
    context = chromium.new_context(
        proxy={"server": f"http://{LOOPBACK}:{closed_port}", "bypass": LOOPBACK}
    )
    traffic = Traffic()
    context.on("request", lambda r: traffic.requests.append((r.method, r.url)))
    context.on("requestfailed", lambda r: traffic.failed.append((r.method, r.url, r.failure)))
    return context, traffic


def _page(bundle_url: str, config: dict[str, str], setup: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme Fibre: coverage</title></head>
<body>
<h1>Where the fibre goes</h1>
<section id="coverage"><p>Every street in town by spring.</p></section>
<script>
  window.hostErrors = [];
  window.addEventListener("error", (e) => window.hostErrors.push(String(e.message)));
  window.addEventListener("unhandledrejection", (e) => window.hostErrors.push(String(e.reason)));
</script>
<script src="{bundle_url}"></script>
<script>
  const CONFIG = {json.dumps(config)};
  {setup}
</script>
</body></html>"""


@pytest.mark.parametrize("sdk", list(SETUPS))
def test_sdk_page_track_identify_reach_leadgate(
    sdk: str,
    chromium: Any,
    host_site: HostSite,
    sdk_bundles: SdkBundles,
    live_server: Any,
    closed_port: int,
) -> None:
    # One origin for leadgate whatever pytest-django calls its host: the SDKs get an IP.
    leadgate = live_server.url.replace("localhost", LOOPBACK)
    assert urlsplit(leadgate).hostname == LOOPBACK
    assert urlsplit(host_site.origin).port != urlsplit(leadgate).port
    gate = make_gate(sections=["why-fiber", SECTION, "pricing-model"])
    source = source_create(name="Acme website", allowed_gates=[gate.slug])
    bundle = BUNDLE[sdk]
    config = {
        "writeKey": source.write_key,
        "leadgate": leadgate,
        "apiHost": f"{urlsplit(leadgate).netloc}/v1",
    }
    bundle_url = getattr(sdk_bundles, bundle)
    url = host_site.page(f"/{sdk}/coverage", _page(bundle_url, config, SETUPS[sdk]))
    email = f"ana.{uuid.uuid4().hex[:8]}@example-fibre.com"

    context, traffic = _guarded_context(chromium, closed_port)
    try:
        page = context.new_page()
        page.goto(url)
        assert page.evaluate("() => window.sdkReady") is True
        anonymous_id = page.evaluate("() => window.sdkAnonymousId()")
        page.evaluate(
            """async ([gate, section, duration, email]) => {
                 await window.sdk.page();
                 await window.sdk.track("Section Viewed",
                   { gate, section, duration_ms: duration });
                 await window.sdk.identify(email, { email, name: "Ana Costa" });
               }""",
            [gate.slug, SECTION, DURATION_MS, email],
        )

        visitor_id = uuid.UUID(anonymous_id)

        def stored() -> bool:
            # Playwright delivers the page's events (requests, failures) to this thread
            # only while it is inside a Playwright call: wait in the page, not in sleep().
            page.wait_for_timeout(100)
            events = Event.objects.filter(visitor_id=visitor_id)
            types = set(events.values_list("type", flat=True))
            identified = Visitor.objects.filter(id=visitor_id, lead__email=email).exists()
            return {EventType.PAGE_VIEW, EventType.SECTION_VIEW} <= types and identified

        wait_for(
            stored,
            timeout=15,
            interval=0,
            message=lambda: f"{traffic} host errors: {page.evaluate('hostErrors')}",
        )
        page.wait_for_timeout(200)  # the last responses' events, before they are checked
        section_view = Event.objects.get(visitor_id=visitor_id, type=EventType.SECTION_VIEW)
        assert section_view.gate_id == gate.id
        assert section_view.section_key == SECTION
        assert section_view.duration_ms == DURATION_MS
        page_view = Event.objects.get(visitor_id=visitor_id, type=EventType.PAGE_VIEW)
        assert page_view.url == url
        lead = Lead.objects.get(email=email)
        assert lead.name == "Ana Costa"

        # What the SDK asked for, where, and that nothing failed (a refused preflight
        # shows up here as a failed request).
        config_path = CONFIG_PATH[bundle].format(key=source.write_key)
        assert config_path in traffic.paths(leadgate, "GET"), traffic.requests
        assert INGEST_PATHS[bundle] <= traffic.paths(leadgate, "POST"), traffic.requests
        assert not traffic.failed, traffic.failed
        assert page.evaluate("() => window.hostErrors") == []
    finally:
        context.close()
    assert traffic.outside() == [], "requests that left 127.0.0.1"


def test_the_guard_records_and_stops_requests_to_other_hosts(
    chromium: Any, host_site: HostSite, closed_port: int
) -> None:
    """The check above can fail: a page asking a CDN is seen, and gets nothing."""
    url = host_site.page("/cdn", "<!doctype html><title>cdn</title><p>cdn</p>")
    context, traffic = _guarded_context(chromium, closed_port)
    try:
        page = context.new_page()
        page.goto(url)
        outcome = page.evaluate(
            """() => fetch("https://cdn.segment.com/v1/projects/wk/settings")
                       .then(() => "answered", () => "refused")"""
        )
        assert outcome == "refused"
        page.wait_for_timeout(100)
    finally:
        context.close()
    assert traffic.outside() == ["https://cdn.segment.com/v1/projects/wk/settings"]
    assert [url for _, url, _ in traffic.failed] == traffic.outside()
