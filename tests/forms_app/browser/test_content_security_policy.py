"""The Content-Security-Policy in Chromium: leadgate's pages run within their own policy.

Every page and frame reports each violation it meets (a `securitypolicyviolation`
listener added before any page script runs, in every frame), and every request the
browser makes is recorded: the hosted gate, the embed inside a customer's page, the
workspace with the gate builder's live preview, the admin login and the API reader must
cause no violation and load nothing from another host.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group

from forms_app.models import Gate
from profiling.models import Lead
from tests.forms_app.browser.conftest import HostSite
from tests.support.factories import make_gate, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.form_token,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a long enough passphrase"
# Runs in every frame before the page's own scripts (Playwright's init script, which no
# CSP governs). console.error carries a frame's report up to the page's console event.
COLLECT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " +
                (e.blockedURI || "inline") + " on " + e.documentURI);
});
"""


@dataclass
class Watched:
    """A browser page with what it reported: CSP violations, errors and requests."""

    page: Any
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def foreign_requests(self, *origins: str) -> list[str]:
        """Requests to anything but `origins` (data: and blob: URLs are the page's own)."""
        allowed = {urlsplit(o)[:2] for o in origins}
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in {"data", "blob"} and urlsplit(url)[:2] not in allowed
        ]


@pytest.fixture
def watched(chromium: Any) -> Iterator[Watched]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(COLLECT_VIOLATIONS)
    page = context.new_page()
    seen = Watched(page=page)

    def on_console(message: Any) -> None:
        text = message.text
        if "CSP violation" in text or "Content Security Policy" in text:
            seen.violations.append(text)
        elif message.type == "error" and not message.location.get("url", "").endswith(
            "/favicon.ico"  # leadgate has no icon: the browser's guess is a 404
        ):
            seen.errors.append(text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("request", lambda request: seen.requests.append(request.url))
    try:
        yield seen
    finally:
        context.close()


def test_the_collector_sees_a_violation(live_server: Any, watched: Watched) -> None:
    """The checks below are only worth something if a violation is seen at all."""
    gate = make_gate()
    page = watched.page
    page.goto(f"{live_server.url}/g/{gate.slug}")
    page.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.injected = true";
          document.body.appendChild(s);
          document.body.setAttribute("style", "color: red");
        }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.injected === undefined")
    assert any("script-src" in v for v in watched.violations), watched.violations
    assert any("style-src" in v for v in watched.violations), watched.violations


def test_the_hosted_gate_from_form_to_content(live_server: Any, watched: Watched) -> None:
    gate = make_gate()
    page = watched.page
    page.goto(f"{live_server.url}/g/{gate.slug}")
    page.fill("#id_name", "Ada Policy")
    page.fill("#id_email", "ada@policy-fibre.example")
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_selector(".lg-notice[role=status]", timeout=10_000)
    page.wait_for_load_state("networkidle")
    assert Lead.objects.filter(email="ada@policy-fibre.example").exists()
    # The tracker ran (a script from /static/) and its beacon went to leadgate.
    assert any("/api/v1/public/events" in url for url in watched.requests), watched.requests
    assert watched.violations == []
    assert watched.errors == []
    assert watched.foreign_requests(live_server.url) == []


def test_the_embed_inside_an_allowed_site(
    live_server: Any, host_site: HostSite, watched: Watched
) -> None:
    allowed = make_gate(allowed_origins=[host_site.origin])
    refused = make_gate(allowed_origins=["https://www.someone-else.example"])
    frame_page = """<!doctype html><html lang="en"><head><title>Host</title></head><body>
      <iframe id="lgf" title="Get the e-book" src="{src}"></iframe></body></html>"""
    page = watched.page
    page.goto(
        host_site.page("/ok", frame_page.format(src=f"{live_server.url}/g/{allowed.slug}/embed"))
    )
    frame = page.frame_locator("#lgf")
    frame.locator("#id_name").fill("Ira Frame")
    frame.locator("#id_email").fill("ira@policy-frame.example")
    frame.locator("button[type=submit]").click()
    frame.locator(".lg-notice").wait_for(timeout=10_000)
    page.wait_for_load_state("networkidle")
    assert watched.violations == []
    assert watched.errors == []
    assert watched.foreign_requests(live_server.url, host_site.origin) == []

    # A site the gate does not list cannot show it: the browser refuses to frame it.
    page.goto(
        host_site.page("/no", frame_page.format(src=f"{live_server.url}/g/{refused.slug}/embed"))
    )
    page.wait_for_load_state("networkidle")
    embedded = next(f for f in page.frames if f != page.main_frame)
    assert embedded.locator("form").count() == 0
    assert refused.title not in embedded.content()
    assert any("frame-ancestors" in v for v in watched.violations), watched.violations


def _marketer() -> Any:
    user = make_user(username="policy-marketer", is_staff=False)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get_or_create(name="marketer")[0])
    return user


def _log_in(page: Any, base: str) -> None:
    _marketer()
    page.goto(f"{base}/app/")  # to the login page, and back here after it
    page.fill("#id_username", "policy-marketer")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*/app/$"))


def test_the_workspace_and_the_gate_builders_preview(live_server: Any, watched: Watched) -> None:
    gate = make_gate(title="Fibre for clinics")
    page = watched.page
    _log_in(page, live_server.url)
    for path in ("/app/", "/app/leads/", "/app/scoring/", "/app/webhooks/", "/app/sources/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/app/gates/{gate.slug}/")
    preview = page.frame_locator("#preview-frame")
    preview.locator("h1").wait_for(timeout=10_000)
    assert "Fibre for clinics" in preview.locator("h1").inner_text()
    # The preview's other renderings, switched by workspace.js (a static script).
    page.click("[data-preview$='/preview/content']")
    preview.locator(".lg-reading").first.wait_for(timeout=10_000)
    page.wait_for_load_state("networkidle")
    assert watched.violations == []
    assert watched.errors == []
    assert watched.foreign_requests(live_server.url) == []


def test_destructive_forms_still_ask_first(live_server: Any, watched: Watched) -> None:
    """The confirmation was an inline onsubmit handler; now workspace.js asks."""
    gate = make_gate()
    page = watched.page
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/app/gates/{gate.slug}/")
    asked: list[str] = []

    def answer(accept: bool) -> Any:
        def handle(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    page.once("dialog", answer(False))
    page.click("button:has-text('Delete this gate')")
    page.wait_for_timeout(500)
    assert asked == ["Delete this gate, its sections, files and submissions?"]
    assert Gate.objects.filter(pk=gate.pk).exists()
    page.once("dialog", answer(True))
    with page.expect_navigation():
        page.click("button:has-text('Delete this gate')")
    assert len(asked) == 2
    assert not Gate.objects.filter(pk=gate.pk).exists()
    assert watched.violations == []
    assert watched.errors == []


def test_the_admin_login(live_server: Any, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{live_server.url}/admin/login/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#id_username").is_visible()
    assert watched.violations == []
    assert watched.foreign_requests(live_server.url) == []


def test_the_api_reader_renders_from_leadgate_alone(live_server: Any, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{live_server.url}/api/docs/")
    heading = page.locator("h1", has_text="leadgate API")
    heading.wait_for(timeout=30_000)
    # An operation from the schema, rendered: Redoc read /api/schema/ and laid it out.
    page.get_by_text("/api/v1/public/events").first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path="/tmp/harden-api-docs.png")
    assert any(url.endswith("/api/schema/") for url in watched.requests), watched.requests
    assert watched.violations == []
    assert watched.errors == []
    assert watched.foreign_requests(live_server.url) == []


def test_the_pdf_reader(live_server: Any, watched: Watched) -> None:
    from forms_app.models import GateFile
    from forms_app.services.pdf import gate_file_pdf_attach
    from tests.support.pdfs import pdf_bytes

    gate = make_gate(stage="epiphany")
    gate_file = GateFile.objects.get(gate=gate, key="network-map")
    gate_file_pdf_attach(
        gate_file=gate_file,
        data=pdf_bytes(3, chapters=[("One", 1)]),
        name="m.pdf",
        read_inline=True,
    )
    page = watched.page
    page.goto(f"{live_server.url}/g/{gate.slug}/read/network-map")
    page.locator("#page-3 img").scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => [...document.images].every((i) => i.complete && i.naturalWidth)")
    assert watched.violations == []
    assert watched.errors == []
    assert watched.foreign_requests(live_server.url) == []
