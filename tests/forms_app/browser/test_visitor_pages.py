"""Every page a visitor sees, on phones (360, 390 px) and a wide screen (1440 px): no
sideways scrolling and no serious or critical axe-core violation. And the iframe variant
sizes itself to its content on the host page (no e-book scrolling in a fixed frame).

To check a new visitor page, add one entry to VISITOR_PAGES: a name and a function that
makes what the page needs and returns its path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from forms_app.access import access_token_make
from forms_app.models import Gate, GateFile, Submission
from forms_app.services.confirmation import confirmation_token_make
from forms_app.services.pdf import gate_file_pdf_attach
from profiling.models import Lead, Visitor
from profiling.services.mail.unsubscribe import unsubscribe_token_make
from tests.forms_app.browser.conftest import SCREENSHOTS, HostSite
from tests.forms_app.browser.pages import host_page
from tests.support.axe import assert_accessible
from tests.support.factories import make_gate
from tests.support.layout import (
    PHONE,
    SMALL_PHONE,
    WIDE,
    assert_no_sideways_scroll,
    small_targets,
)
from tests.support.pdfs import pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_BODY = "\n\n".join(
    "Fibre keeps a business online when the street is dug up: two paths, one ring, "
    "traffic rerouted in milliseconds. " * 6
    for _ in range(4)
)


def _gate(host: HostSite | None = None) -> Gate:
    gate = make_gate(
        title="Reliable connectivity: the e-book",
        headline="Your business runs on its network.",
        allowed_origins=[host.origin] if host else [],
    )
    for section in gate.sections.all():
        section.body = LONG_BODY
        section.save(update_fields=["body"])
    return gate


def _access(gate: Gate) -> str:
    import uuid

    lead = Lead.objects.create(email="ada@example-fibre.com", name="Ada Lovelace")
    visitor = Visitor.objects.create(id=uuid.uuid4(), lead=lead)
    return access_token_make(lead_id=lead.id, visitor_id=visitor.id, gate_slug=gate.slug)


def _hosted_form() -> str:
    return f"/g/{_gate().slug}"


def _hosted_content() -> str:
    gate = _gate()
    return f"/g/{gate.slug}?t={_access(gate)}"


def _iframe_form() -> str:
    return f"/g/{_gate().slug}/embed"


def _iframe_content() -> str:
    gate = _gate()
    return f"/g/{gate.slug}/embed?t={_access(gate)}"


def _unsubscribe() -> str:
    lead = Lead.objects.create(email="una@example-fibre.com", name="Una Subscribe")
    return f"/u/{unsubscribe_token_make(lead_id=lead.id)}"


def _confirm() -> str:
    gate = _gate()
    lead = Lead.objects.create(email="cora@example-fibre.com", name="Cora Confirm")
    claim = Submission.objects.create(gate=gate, lead=lead, claimed_name="Cora", subscribed=True)
    return f"/confirm/{confirmation_token_make(submission_id=claim.pk)}"


def _pdf_reader() -> str:
    gate = _gate()
    gate_file = GateFile.objects.get(gate=gate, key="network-map")
    # Autocommit (a transactional test): the page images are rendered at commit.
    gate_file_pdf_attach(
        gate_file=gate_file,
        data=pdf_bytes(3, chapters=[("Coverage", 1), ("Pricing", 3)]),
        name="map.pdf",
        read_inline=True,
    )
    return f"/g/{gate.slug}/read/network-map?t={_access(gate)}"


def _unknown_gate() -> str:
    return "/g/no-such-gate"


def _home() -> str:
    _gate()
    return "/"


# What a thumb must hit on a phone (links inside sentences are exempt, as in WCAG 2.5.8).
TARGETS = (
    "main button, main .lg-button, .lg-file, .lg-toc a, "
    'form input:not([type=hidden]):not([type=checkbox]):not([tabindex="-1"]), form select'
)

# name -> what the page needs, returning its path on leadgate. A new visitor page belongs
# here too: one line.
VISITOR_PAGES: dict[str, Callable[[], str]] = {
    "home": _home,
    "hosted-form": _hosted_form,
    "hosted-content": _hosted_content,
    "iframe-form": _iframe_form,
    "iframe-content": _iframe_content,
    "unsubscribe": _unsubscribe,
    "email-confirmation": _confirm,
    "pdf-reader": _pdf_reader,
    "not-found": _unknown_gate,
}


@pytest.mark.parametrize("viewport", [SMALL_PHONE, PHONE, WIDE], ids=["360px", "390px", "1440px"])
@pytest.mark.parametrize("name", sorted(VISITOR_PAGES))
def test_visitor_page_fits_and_passes_axe(
    chromium: Any, live_server: Any, name: str, viewport: dict[str, int]
) -> None:
    path = VISITOR_PAGES[name]()
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(live_server.url + path)
        where = f"{name} ({path}) at {viewport['width']} px"
        assert_no_sideways_scroll(page, where)
        assert_accessible(page, where=where)
        title = page.title()
        assert title.endswith(" · leadgate") or title == "leadgate", title
        assert "leadgate · leadgate" not in title
        if viewport["width"] < 800:
            small = small_targets(page, TARGETS)
            assert not small, f"{where}: touch targets under 44 px: {small}"
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["390px", "1440px"])
def test_embedded_form_on_a_host_page_passes_axe(
    chromium: Any, live_server: Any, host_site: HostSite, viewport: dict[str, int]
) -> None:
    gate = _gate(host_site)
    url = host_site.page(
        "/blog",
        host_page(script_src=f"{live_server.url}/static/leadgate.js", slug=gate.slug, css=""),
    )
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_function(
            "() => { const r = document.getElementById('lg').shadowRoot; "
            "return r && r.querySelector('form'); }"
        )
        where = f"embedded form at {viewport['width']} px"
        assert_no_sideways_scroll(page, where)
        # The form only: the host page's own markup is the host's business.
        assert_accessible(page, where=where, context={"include": [["#lg"]]})
        # Errors shown next to their fields are accessible too.
        page.click("#lg button[type=submit]")
        page.wait_for_selector("#lg #e-name")
        assert_accessible(page, where=where + " with errors", context={"include": [["#lg"]]})
    finally:
        context.close()


def _frame_height(page: Any, frame_id: str = "lgf") -> float:
    return float(
        page.evaluate(
            "(id) => document.getElementById(id).getBoundingClientRect().height", frame_id
        )
    )


def _inside(frame: Any) -> dict[str, float]:
    return dict(
        frame.evaluate(
            """() => ({
                content: Math.ceil(document.documentElement.getBoundingClientRect().height),
                scroll: document.scrollingElement.scrollHeight,
                view: window.innerHeight,
            })"""
        )
    )


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["390px", "1440px"])
def test_the_iframe_takes_the_height_of_its_content(
    chromium: Any, live_server: Any, host_site: HostSite, viewport: dict[str, int]
) -> None:
    gate = _gate(host_site)
    url = host_site.page(
        "/iframe",
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Host</title></head><body>
        <h1>Our site runs no third-party form script</h1>
        <iframe id="lgf" title="Get the e-book" src="{live_server.url}/g/{gate.slug}/embed"></iframe>
        <script src="{live_server.url}/static/leadgate-frame.js" async></script>
        <p id="after">After the frame.</p>
        </body></html>""",
    )
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    try:
        page.goto(url)
        frame = page.frame(url=f"{live_server.url}/g/{gate.slug}/embed")
        assert frame is not None
        # The form: the frame grows from the browser's 150 px default to its content.
        page.wait_for_function(
            "() => document.getElementById('lgf').getBoundingClientRect().height > 300"
        )
        inside = _inside(frame)
        assert inside["scroll"] <= inside["view"], f"the form scrolls inside its frame: {inside}"
        assert abs(_frame_height(page) - inside["content"]) <= 1
        width = page.evaluate("() => document.getElementById('lgf').getBoundingClientRect().width")
        assert width >= viewport["width"] - 40  # spans its column
        assert_no_sideways_scroll(page, "host page with the iframe")

        # Submitted: the e-book opens in the frame, and the frame grows with it.
        frame.fill("#id_name", "Ira Frame")
        frame.fill("#id_email", "ira@frame-fibre.example")
        frame.click("button[type=submit]")
        frame.wait_for_selector(".lg-notice", timeout=10_000)
        page.wait_for_function(
            "() => document.getElementById('lgf').getBoundingClientRect().height > 2000"
        )
        # The same Frame object follows the frame's navigation to the content.
        page.wait_for_function(
            """(expected) => Math.abs(
                document.getElementById('lgf').getBoundingClientRect().height - expected) <= 1""",
            arg=_inside(frame)["content"],
        )
        inside = _inside(frame)
        assert inside["scroll"] <= inside["view"], f"the e-book scrolls inside its frame: {inside}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"iframe-autosize-{viewport['width']}.png"))
    finally:
        context.close()


def test_height_messages_from_other_origins_are_ignored(
    chromium: Any, live_server: Any, host_site: HostSite
) -> None:
    """A frame from another origin (here the host site's own) cannot resize itself
    through leadgate-frame.js: only leadgate's origin is listened to."""
    gate = _gate(host_site)
    host_site.page(
        "/other-frame",
        """<!doctype html><html lang="en"><head><title>Other</title></head><body><script>
        parent.postMessage({type: "leadgate:frame-height", height: 5000}, "*");
        parent.postMessage({type: "probe"}, "*");
        </script></body></html>""",
    )
    url = host_site.page(
        "/iframe",
        f"""<!doctype html><html lang="en"><head><title>Host</title></head><body>
        <script>
          window.probes = 0;
          window.addEventListener("message", (e) => {{ if (e.data.type === "probe") window.probes++; }});
        </script>
        <iframe id="lgf" title="Get the e-book" src="{live_server.url}/g/{gate.slug}/embed"></iframe>
        <script src="{live_server.url}/static/leadgate-frame.js"></script>
        <iframe id="other" title="Other" src="/other-frame"></iframe>
        </body></html>""",
    )
    context = chromium.new_context(viewport=WIDE)
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_function(
            "() => document.getElementById('lgf').getBoundingClientRect().height > 300"
        )
        # The probe comes after the forged height from the same frame: once it has
        # arrived, the forged message has been handled (and ignored).
        page.wait_for_function("() => window.probes === 1")
        assert _frame_height(page, "other") < 200  # the browser's default, 150 px + borders
        assert _frame_height(page) < 5000
    finally:
        context.close()


def test_unsubscribing_with_the_keyboard_only(chromium: Any, live_server: Any) -> None:
    path = _unsubscribe()
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(live_server.url + path)
        for _ in range(5):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.type") == "submit":
                break
        assert page.evaluate("document.activeElement.textContent.trim()") == "Unsubscribe"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == "You are unsubscribed"
        assert_accessible(page, where="unsubscribed")
        assert Lead.objects.get(email="una@example-fibre.com").subscribed is False
    finally:
        context.close()
