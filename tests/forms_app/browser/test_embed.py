"""The embed script in a real browser: a host site on one port, leadgate on another.

Each test opens a marketer's page (with hostile CSS) that embeds `static/leadgate.js`
and checks what reaches PostgreSQL: leads, submissions, events and their durations.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from forms_app.models import Submission
from profiling.models import Event, Lead
from tests.forms_app.browser.conftest import SCREENSHOTS, HostSite
from tests.forms_app.browser.pages import host_page
from tests.forms_app.browser.test_hosted_gate import A11Y_AUDIT
from tests.support.factories import make_gate
from tests.support.waiting import wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.form_token,  # the script must fetch and send a real signed form token
    pytest.mark.django_db(transaction=True),
]

SECTIONS = ["why-fiber", "coverage", "pricing-model"]
DWELL_MS = 400


def _gate(host: HostSite, **fields: Any) -> Any:
    fields.setdefault("min_dwell_ms", DWELL_MS)
    return make_gate(
        sections=SECTIONS,
        files=("network-map",),
        allowed_origins=[host.origin],
        **{"title": "The fibre network e-book", **fields},
    )


def _open(
    chromium: Any,
    url: str,
    *,
    viewport: dict[str, int] | None = None,
    init_script: str | None = None,
) -> tuple[Any, Any, list[str]]:
    context = chromium.new_context(viewport=viewport or {"width": 1200, "height": 800})
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    return context, page, errors


def _shadow_form(page: Any) -> Any:
    # Playwright's CSS engine pierces open shadow roots; the form exists only there.
    page.wait_for_selector("#lg form", timeout=10_000)
    return page


def _fill_and_submit(page: Any, *, name: str, email: str, subscribe: bool = True) -> None:
    page.fill("#lg input[name=name]", name)
    page.fill("#lg input[name=email]", email)
    if subscribe:
        page.check("#lg input[name=subscribe]")
    page.click("#lg button[type=submit]")


def _computed(page: Any, selector_js: str, prop: str) -> str:
    return str(
        page.evaluate(
            f"""() => {{
              const el = document.getElementById('lg').shadowRoot.querySelector({json.dumps(selector_js)});
              return getComputedStyle(el).getPropertyValue({json.dumps(prop)});
            }}"""
        )
    )


def _storage_vid(page: Any) -> str:
    return str(page.evaluate("() => localStorage.getItem('lg_vid') || ''"))


def test_form_renders_in_shadow_root_with_hostile_css_and_submitting_creates_the_lead(
    chromium: Any, live_server: Any, host_site: HostSite
) -> None:
    # The marketer's own notice: shown by the submit button and stored with the submission.
    gate = _gate(host_site, consent_text="Acme notes what you read here to tailor follow-ups.")
    url = host_site.page(
        "/blog",
        host_page(script_src=f"{live_server.url}/static/leadgate.js", slug=gate.slug),
    )
    context, page, errors = _open(chromium, url)
    try:
        _shadow_form(page)
        # The form lives in the shadow root, not in the host's DOM.
        assert page.evaluate("() => document.querySelectorAll('form').length") == 0
        assert (
            page.evaluate(
                "() => document.getElementById('lg').shadowRoot.querySelectorAll('input[name=email]').length"
            )
            == 1
        )
        # The host's `input {display:none !important}` and `* {font-size:9px}` rules
        # cannot reach it ...
        assert _computed(page, "input[name=email]", "display") != "none"
        assert _computed(page, "input[name=email]", "font-size") == "16px"
        assert _computed(page, "label", "color") != "rgb(255, 0, 255)"
        assert _computed(page, "label", "letter-spacing") in {"normal", "0px"}
        assert _computed(page, "button", "text-transform") == "none"
        email_box = page.locator("#lg input[name=email]").bounding_box()
        assert email_box is not None
        assert email_box["height"] >= 44
        assert email_box["width"] > 200
        # ... and leadgate adds nothing to the host page's own styles or DOM outside #lg.
        assert page.evaluate("() => document.querySelectorAll('style, link').length") == 1
        assert (
            page.evaluate("() => getComputedStyle(document.getElementById('host-title')).color")
            == "rgb(255, 0, 255)"
        )
        # The notice shown by the submit button is the gate's, and the button refers to it.
        notice_id = page.get_attribute("#lg button[type=submit]", "aria-describedby")
        assert page.inner_text(f"#lg #{notice_id}") == gate.consent_text
        assert "Acme notes what you read" in gate.consent_text
        # Correct input types and autocomplete hints.
        assert page.get_attribute("#lg input[name=email]", "type") == "email"
        assert page.get_attribute("#lg input[name=email]", "autocomplete") == "email"
        assert page.get_attribute("#lg input[name=name]", "autocomplete") == "name"
        # The same accessibility audit as the hosted page, inside the shadow root.
        assert page.evaluate(A11Y_AUDIT, "#lg") == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "embed-hostile-host.png"))

        vid = _storage_vid(page)
        _fill_and_submit(page, name="  Jo Fibre  ", email="jo@acme-telecom.example")
        page.wait_for_selector("#lg a[href*='/g/']", timeout=10_000)
        lead = wait_for(lambda: Lead.objects.filter(email="jo@acme-telecom.example").first())
        assert lead is not None
        assert lead.name == "Jo Fibre"  # trimmed
        assert lead.subscribed is True
        submission = Submission.objects.get(lead=lead)
        assert submission.gate_id == gate.id
        assert str(submission.visitor_id) == vid
        assert submission.consent_text == gate.consent_text
        assert submission.page_url == url
        # The host page hears about it (to reveal its own gated content, for example).
        detail = page.evaluate("() => window.hostSubmitted")
        assert detail["lead_id"] == str(lead.id)
        assert detail["content_url"].startswith(f"{live_server.url}/g/{gate.slug}?t=")
        # page_view and form_view were sent for this visitor, and now belong to the lead.
        wait_for(
            lambda: (
                set(Event.objects.filter(visitor_id=vid, lead=lead).values_list("type", flat=True))
                >= {"page_view", "form_view"}
            ),
            message=lambda: str(list(Event.objects.values_list("type", "visitor_id"))),
        )
        assert errors == []
        assert page.evaluate("() => window.hostErrors") == []
    finally:
        context.close()


def test_submitting_at_a_phone_sized_viewport_creates_the_lead(
    chromium: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _gate(host_site)
    url = host_site.page(
        "/m", host_page(script_src=f"{live_server.url}/static/leadgate.js", slug=gate.slug)
    )
    context, page, errors = _open(chromium, url, viewport={"width": 360, "height": 740})
    try:
        _shadow_form(page)
        # No horizontal scrolling, and every control is a comfortable tap target.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
        for selector in ("input[name=name]", "input[name=email]", "button[type=submit]"):
            box = page.locator(f"#lg {selector}").bounding_box()
            assert box is not None
            assert box["height"] >= 44, selector
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= 360, selector
        label_box = page.locator("#lg .c label").bounding_box()
        assert label_box is not None
        assert label_box["height"] >= 44  # the opt-in's label is its tap target
        page.screenshot(path=str(SCREENSHOTS / "embed-hostile-host-360.png"), full_page=False)
        # Tapping the label toggles the opt-in.
        page.click("#lg .c label")
        assert page.is_checked("#lg input[name=subscribe]")
        _fill_and_submit(page, name="Sam Mobile", email="sam@metro-isp.example", subscribe=False)
        page.wait_for_selector("#lg a[href*='/g/']", timeout=10_000)
        lead = wait_for(lambda: Lead.objects.filter(email="sam@metro-isp.example").first())
        assert lead is not None
        assert lead.subscribed is True
        assert Submission.objects.filter(lead=lead, gate=gate).count() == 1
        assert errors == []
    finally:
        context.close()


def test_a_double_opt_in_gate_s_embed_says_to_confirm_from_the_email(
    chromium: Any, live_server: Any, host_site: HostSite
) -> None:
    """The embed, like the hosted page, tells the visitor that the opt-in waits for the
    emailed confirmation; the lead stays unsubscribed until then."""
    gate = _gate(host_site, double_opt_in=True)
    url = host_site.page(
        "/doi", host_page(script_src=f"{live_server.url}/static/leadgate.js", slug=gate.slug)
    )
    context, page, errors = _open(chromium, url)
    try:
        _shadow_form(page)
        _fill_and_submit(page, name="Dora Optin", email="dora@metro-isp.example")
        page.wait_for_selector("#lg a[href*='/g/']", timeout=10_000)
        thanks = page.inner_text("#lg p.s")
        assert "confirm your subscription from the email we are sending you" in thanks
        lead = wait_for(lambda: Lead.objects.filter(email="dora@metro-isp.example").first())
        assert lead is not None
        assert lead.subscribed is False
        assert errors == []
    finally:
        context.close()
    # Without the opt-in ticked there is nothing to confirm, and nothing is said.
    context, page, errors = _open(chromium, url)
    try:
        _shadow_form(page)
        _fill_and_submit(page, name="Nora", email="nora@metro-isp.example", subscribe=False)
        page.wait_for_selector("#lg a[href*='/g/']", timeout=10_000)
        assert "confirm" not in page.inner_text("#lg p.s")
    finally:
        context.close()


def test_errors_are_shown_next_to_the_field_and_announced(
    chromium: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _gate(host_site)
    url = host_site.page(
        "/e", host_page(script_src=f"{live_server.url}/static/leadgate.js", slug=gate.slug)
    )
    context, page, _errors = _open(chromium, url)
    try:
        _shadow_form(page)
        # Client-side: an empty name.
        page.fill("#lg input[name=email]", "jo@acme-telecom.example")
        page.click("#lg button[type=submit]")
        page.wait_for_selector("#lg #e-name")
        assert page.get_attribute("#lg input[name=name]", "aria-invalid") == "true"
        assert page.get_attribute("#lg input[name=name]", "aria-describedby") == "e-name"
        assert page.inner_text("#lg #e-name") == "Enter your name."
        assert (
            page.evaluate("() => document.getElementById('lg').shadowRoot.activeElement.name")
            == "name"
        )
        # The live region says what is wrong, in words.
        assert page.inner_text("#lg [role=status]") == (
            "Please check the form: " + page.inner_text("#lg #e-name")
        )
        # Server-side: an address the browser check lets through, email-validator refuses.
        page.fill("#lg input[name=name]", "Jo")
        page.fill("#lg input[name=email]", "jo@exa_mple.com")
        page.click("#lg button[type=submit]")
        page.wait_for_selector("#lg #e-email", timeout=10_000)
        assert page.get_attribute("#lg input[name=email]", "aria-describedby") == "e-email"
        # The server's message in plain words, not the validation library's.
        assert page.inner_text("#lg #e-email") == "Enter an email address like name@example.com."
        assert page.get_attribute("#lg input[name=name]", "aria-invalid") is None
        status = page.locator("#lg [role=status]")
        assert status.get_attribute("aria-live") == "polite"
        assert "check" in status.inner_text().lower()
        assert not Lead.objects.exists()
        page.locator("#lg form").screenshot(path=str(SCREENSHOTS / "embed-errors.png"))
    finally:
        context.close()


def test_a_german_gate_s_embed_speaks_german(
    chromium: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _gate(host_site, language="de", title="Das Glasfaser-E-Book")
    url = host_site.page(
        "/de", host_page(script_src=f"{live_server.url}/static/leadgate.js", slug=gate.slug)
    )
    context, page, errors = _open(chromium, url)
    try:
        _shadow_form(page)
        assert page.inner_text("#lg label[for=f-email]") == "Geschäftliche E-Mail"
        assert page.inner_text("#lg button[type=submit]") == "Inhalte erhalten"
        assert page.inner_text("#lg #n").startswith("Wir senden Ihnen diese Inhalte per E-Mail.")
        # The script's own words: a client-side error...
        page.fill("#lg input[name=email]", "jo@acme-telecom.example")
        page.click("#lg button[type=submit]")
        page.wait_for_selector("#lg #e-name")
        assert page.inner_text("#lg #e-name") == "Bitte geben Sie Ihren Namen ein."
        assert page.inner_text("#lg [role=status]").startswith("Bitte prüfen Sie das Formular:")
        # ...one from the server...
        page.fill("#lg input[name=name]", "Jo")
        page.fill("#lg input[name=email]", "jo@exa_mple.com")
        page.click("#lg button[type=submit]")
        page.wait_for_selector("#lg #e-email", timeout=10_000)
        assert page.inner_text("#lg #e-email").startswith(
            "Bitte geben Sie eine E-Mail-Adresse wie name@example.com ein"
        )
        # ...and the thanks after a submission.
        page.fill("#lg input[name=email]", "jo@acme-telecom.example")
        page.click("#lg button[type=submit]")
        page.wait_for_selector("#lg a[target=_top]", timeout=10_000)
        assert page.inner_text("#lg [role=status]") == "Vielen Dank! Das Glasfaser-E-Book öffnen"
        wait_for(lambda: Lead.objects.filter(email="jo@acme-telecom.example").exists())
        assert not errors
    finally:
        context.close()


def test_scrolled_sections_record_section_views_with_durations(
    chromium: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _gate(host_site)
    url = host_site.page(
        "/read",
        host_page(
            script_src=f"{live_server.url}/static/leadgate.js", slug=gate.slug, sections=SECTIONS
        ),
    )
    context, page, errors = _open(chromium, url)
    try:
        _shadow_form(page)
        vid = _storage_vid(page)
        assert vid
        # Read the first two sections, each for well over the dwell time; skip the third.
        for key in SECTIONS[:2]:
            page.evaluate(
                f"() => document.querySelector('[data-leadgate-section=\"{key}\"]').scrollIntoView()"
            )
            page.wait_for_timeout(DWELL_MS + 300)
        page.evaluate("() => window.scrollTo(0, 0)")

        def reported() -> dict[str, list[Any]] | None:
            by_section: dict[str, list[Any]] = {}
            for event in Event.objects.filter(visitor_id=vid, type="section_view").order_by(
                "occurred_at"
            ):
                by_section.setdefault(event.section_key, []).append(event)
            return by_section if set(SECTIONS[:2]) <= set(by_section) else None

        views = wait_for(
            reported,
            message=lambda: str(list(Event.objects.values_list("type", "section_key"))),
        )
        assert views is not None
        # Reading time comes in reports (the first when the section reaches the gate's
        # minimum dwell, then heartbeats: tests/forms_app/browser/test_reading.py).
        assert set(views) == set(SECTIONS[:2])
        for reports in views.values():
            assert all(e.gate_id == gate.id and e.duration_ms is not None for e in reports)
            assert reports[0].duration_ms >= DWELL_MS
            assert sum(e.duration_ms for e in reports) < 60_000
        # A section only glimpsed is not counted.
        assert not Event.objects.filter(section_key=SECTIONS[2]).exists()
        assert errors == []
    finally:
        context.close()


def test_clicking_a_tracked_download_records_it(
    chromium: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _gate(host_site)
    host_site.page("/files/map.pdf", b"%PDF-1.4 fake map", content_type="application/pdf")
    url = host_site.page(
        "/dl",
        host_page(
            script_src=f"{live_server.url}/static/leadgate.js",
            slug=gate.slug,
            download="network-map",
        ),
    )
    context, page, errors = _open(chromium, url)
    try:
        _shadow_form(page)
        vid = _storage_vid(page)
        # The click navigates away at once: the event must still get out (keepalive).
        page.click("#dl")
        event = wait_for(
            lambda: Event.objects.filter(visitor_id=vid, type="download").first(),
            message=lambda: str(list(Event.objects.values_list("type", "file_key"))),
        )
        assert event is not None
        assert event.file_key == "network-map"
        assert event.gate_id == gate.id
        assert "/files/map.pdf" in host_site.hits
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize(
    "privacy_signal",
    [
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})",
        "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})",
    ],
    ids=["gpc", "dnt"],
)
def test_with_gpc_or_dnt_nothing_is_sent_before_the_visitor_submits(
    chromium: Any, live_server: Any, host_site: HostSite, privacy_signal: str
) -> None:
    gate = _gate(host_site)
    host_site.page("/files/map.pdf", b"%PDF-1.4", content_type="application/pdf")
    url = host_site.page(
        "/private",
        host_page(
            script_src=f"{live_server.url}/static/leadgate.js", slug=gate.slug, sections=SECTIONS
        ),
    )
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    context.add_init_script(privacy_signal)
    page = context.new_page()
    requests: list[tuple[str, str]] = []
    page.on(
        "request",
        lambda r: requests.append((r.method, r.url)) if r.url.startswith(live_server.url) else None,
    )
    try:
        page.goto(url)
        _shadow_form(page)
        for key in SECTIONS:
            page.evaluate(
                f"() => document.querySelector('[data-leadgate-section=\"{key}\"]').scrollIntoView()"
            )
            page.wait_for_timeout(DWELL_MS + 200)
        page.wait_for_timeout(1300)  # past the batching delay
        # Only the script and the form's config were fetched, with no visitor id.
        assert [m for m, u in requests if "/events" in u] == []
        config_urls = [u for m, u in requests if "/api/v1/public/gates/" in u]
        assert config_urls
        assert all("visitor_id" not in u for u in config_urls)
        assert not Event.objects.exists()
        # Nothing was kept in the browser either.
        assert _storage_vid(page) == ""
        assert "lg_vid" not in page.evaluate("() => document.cookie")

        _fill_and_submit(page, name="Pat Private", email="pat@private-fibre.example")
        page.wait_for_selector("#lg a[href*='/g/']", timeout=10_000)
        lead = wait_for(lambda: Lead.objects.filter(email="pat@private-fibre.example").first())
        assert lead is not None
        submission = Submission.objects.get(lead=lead)
        assert submission.consent_text == gate.consent_text
        # After submitting under the notice, tracking runs for the identified visitor.
        vid = _storage_vid(page)
        assert vid == str(submission.visitor_id)
        wait_for(
            lambda: Event.objects.filter(visitor_id=vid, lead=lead, type="page_view").exists(),
            message=lambda: str(list(Event.objects.values_list("type", "visitor_id"))),
        )
        # Nothing from before the submission was sent late.
        assert not Event.objects.filter(type="form_view").exists()
    finally:
        context.close()


def test_leadgate_down_leaves_the_host_page_working(
    chromium: Any, live_server: Any, host_site: HostSite, closed_port: int
) -> None:
    dead = f"http://127.0.0.1:{closed_port}"
    # 1. The script itself cannot be loaded (leadgate down, or blocked by an extension).
    url = host_site.page("/down", host_page(script_src=f"{dead}/static/leadgate.js", slug="x"))
    context, page, errors = _open(chromium, url)
    try:
        page.click("#host-button")
        assert page.get_attribute("#host-title", "data-clicked") == "yes"
        ticks = page.evaluate("() => window.hostTicks")
        page.wait_for_timeout(200)
        assert page.evaluate("() => window.hostTicks") > ticks
        assert errors == []
    finally:
        context.close()

    # 2. The script loads (a cached copy) but its API is down: the form slot offers the
    # hosted page, nothing is thrown into the host page, the host script keeps running.
    script = (live_server_static_js()).encode()
    host_site.page("/leadgate.js", script, content_type="application/javascript")
    url = host_site.page(
        "/api-down",
        host_page(
            script_src=host_site.url("/leadgate.js"),
            slug="network-vbook",
            sections=SECTIONS,
            download="network-map",
            extra_script_attrs=f'data-host="{dead}" data-min-dwell-ms="100"',
        ),
    )
    host_site.page("/files/map.pdf", b"%PDF-1.4", content_type="application/pdf")
    context, page, errors = _open(chromium, url)
    try:
        page.wait_for_selector("#lg a", timeout=10_000)
        assert page.get_attribute("#lg a", "href") == f"{dead}/g/network-vbook"
        page.evaluate(
            "() => document.querySelector('[data-leadgate-section=\"coverage\"]').scrollIntoView()"
        )
        page.wait_for_timeout(1500)  # a section view and a failed flush, then a retry
        page.click("#host-button")
        assert page.get_attribute("#host-title", "data-clicked") == "yes"
        ticks = page.evaluate("() => window.hostTicks")
        page.wait_for_timeout(200)
        assert page.evaluate("() => window.hostTicks") > ticks
        assert errors == []
        assert page.evaluate("() => window.hostErrors") == []
        # The unsent events wait in this site's storage for the next try.
        queued = json.loads(page.evaluate("() => localStorage.getItem('lg_q')") or "[]")
        assert {e["type"] for e in queued} >= {"page_view", "section_view"}
    finally:
        context.close()


@pytest.mark.parametrize(
    ("page_lang", "browser_locale", "said_in", "words", "link"),
    [
        ("de", "en-US", "de", "Das Formular konnte hier nicht geladen werden.", "Formular öffnen"),
        (
            "",
            "fr-FR",
            "fr",
            "Le formulaire n\u2019a pas pu se charger ici.",
            "Ouvrir le formulaire",
        ),
        ("ja", "es-MX", "es", "El formulario no se ha podido cargar aquí.", "Abrir el formulario"),
        ("ja", "ja-JP", "en", "The form could not load here.", "Open the form"),
    ],
)
def test_an_unreachable_config_is_said_in_the_host_page_s_language(
    chromium: Any,
    live_server: Any,
    host_site: HostSite,
    closed_port: int,
    page_lang: str,
    browser_locale: str,
    said_in: str,
    words: str,
    link: str,
) -> None:
    # The gate's own words come with its config; without it, the script's few words
    # follow the host page's <html lang>, else the browser's language, else English.
    dead = f"http://127.0.0.1:{closed_port}"
    url = host_site.page(
        f"/fallback-{page_lang or 'none'}-{browser_locale}",
        host_page(
            script_src=f"{live_server.url}/static/leadgate.js",
            slug="network-vbook",
            extra_script_attrs=f'data-host="{dead}"',
            lang=page_lang,
        ),
    )
    context = chromium.new_context(locale=browser_locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(url)
        page.wait_for_selector("#lg p a", timeout=10_000)
        assert page.inner_text("#lg p") == f"{words} {link}"
        assert page.inner_text("#lg p a") == link
        assert page.get_attribute("#lg p a", "href") == f"{dead}/g/network-vbook"
        # Marked in its language, which need not be the host page's.
        assert page.get_attribute("#lg p", "lang") == said_in
        assert errors == []
        assert page.evaluate("() => window.hostErrors") == []
    finally:
        context.close()


def live_server_static_js() -> str:
    from pathlib import Path

    return (Path(__file__).resolve().parents[3] / "static" / "leadgate.js").read_text()


def test_failed_batches_are_retried_with_the_same_event_ids(
    chromium: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _gate(host_site)
    url = host_site.page(
        "/retry", host_page(script_src=f"{live_server.url}/static/leadgate.js", slug=gate.slug)
    )
    context = chromium.new_context()
    page = context.new_page()
    bodies: list[dict[str, Any]] = []

    def events_route(route: Any) -> None:
        bodies.append(json.loads(route.request.post_data or "{}"))
        if len(bodies) == 1:
            route.fulfill(status=503, body="down for maintenance")
        elif len(bodies) == 2:
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route(f"{live_server.url}/api/v1/public/events", events_route)
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.method + " " + r.url))
    try:
        page.goto(url)
        _shadow_form(page)
        vid = _storage_vid(page)
        # Route handlers run only while Playwright has control: wait inside the page.
        for _ in range(150):
            if len(bodies) >= 3:
                break
            page.wait_for_timeout(100)
        assert len(bodies) >= 3, (bodies, seen)
        first_ids = [e["id"] for e in bodies[0]["events"]]
        assert first_ids
        assert [e["id"] for e in bodies[1]["events"]][: len(first_ids)] == first_ids
        assert [e["id"] for e in bodies[2]["events"]][: len(first_ids)] == first_ids
        for _ in range(50):
            stored = set(Event.objects.filter(visitor_id=vid).values_list("id", flat=True))
            if stored >= {uuid.UUID(i) for i in first_ids}:
                break
            page.wait_for_timeout(100)
        assert stored >= {uuid.UUID(i) for i in first_ids}
        # Stored once each: a retried id is a duplicate, not a second event.
        assert Event.objects.filter(id__in=first_ids).count() == len(first_ids)
        page.wait_for_timeout(300)
        assert json.loads(page.evaluate("() => localStorage.getItem('lg_q')") or "[]") == []
    finally:
        context.close()


def test_a_rate_limited_batch_is_kept_and_sent_after_retry_after(
    chromium: Any,
    live_server: Any,
    host_site: HostSite,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server's real 429 (one event a minute per visitor here): the tracker reads
    Retry-After across origins, sends nothing before it, then the same events. Both
    clocks are faked: the browser's by Playwright, the server's rate-limit windows here."""
    from types import SimpleNamespace

    from config import ratelimit

    settings.LEADGATE_EVENT_LIMIT_PER_VISITOR = 1
    settings.LEADGATE_EVENT_LIMIT_PER_IP = 0
    # 30 s into a window: Retry-After is 31 (the window's end and a second), not the
    # tracker's 60 s fallback when it cannot read the header.
    server_now = [(time.time() // 60 + 1) * 60 + 30]
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: server_now[0]))
    gate = _gate(host_site)
    url = host_site.page(
        "/limited", host_page(script_src=f"{live_server.url}/static/leadgate.js", slug=gate.slug)
    )
    events_url = f"{live_server.url}/api/v1/public/events"
    posts: list[Any] = []
    context = chromium.new_context()
    page = context.new_page()
    page.on("request", lambda r: posts.append(r) if r.url == events_url else None)
    page.clock.install()

    def sent(status: int) -> Any:
        return page.expect_response(lambda r: r.url == events_url and r.status == status)

    try:
        with sent(202):
            page.goto(url)  # the page_view: the visitor's one event of this minute
        _shadow_form(page)  # form_view queued, to be sent a second later
        with sent(429) as refused:
            page.clock.run_for(1_500)
        assert refused.value.headers["retry-after"] == "31"
        refused_ids = [e["id"] for e in json.loads(refused.value.request.post_data)["events"]]
        assert refused_ids
        assert not Event.objects.filter(id__in=refused_ids).exists()
        # Before Retry-After: nothing is sent (the old backoff retried after a second),
        # and the events wait in the page's queue.
        count = len(posts)
        page.clock.run_for(25_000)
        page.wait_for_timeout(300)
        assert len(posts) == count
        queued = json.loads(page.evaluate("() => localStorage.getItem('lg_q')") or "[]")
        assert [e["id"] for e in queued][: len(refused_ids)] == refused_ids
        # After it, in the server's next window: the same events are stored.
        server_now[0] += 30
        with sent(202) as accepted:
            page.clock.run_for(7_000)
        resent = [e["id"] for e in json.loads(accepted.value.request.post_data)["events"]]
        assert resent[: len(refused_ids)] == refused_ids
        assert Event.objects.filter(id__in=refused_ids).count() == len(refused_ids)
    finally:
        context.close()


def test_decision_gate_asks_one_new_question_per_visit(
    chromium: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = _gate(
        host_site,
        stage="decision",
        questions=[("challenge", "Biggest network challenge?"), ("sites", "How many sites?")],
    )
    url = host_site.page(
        "/decide", host_page(script_src=f"{live_server.url}/static/leadgate.js", slug=gate.slug)
    )
    context, page, errors = _open(chromium, url)
    try:
        _shadow_form(page)
        names = page.eval_on_selector_all("#lg input, #lg select", "els => els.map(e => e.name)")
        assert [n for n in names if n not in {"website"}] == [
            "name",
            "email",
            "subscribe",
            "challenge",
        ]
        page.fill("#lg input[name=challenge]", "Rural coverage")
        _fill_and_submit(page, name="Dee Cision", email="dee@decide-fibre.example")
        page.wait_for_selector("#lg a[href*='/g/']", timeout=10_000)
        lead = wait_for(lambda: Lead.objects.filter(email="dee@decide-fibre.example").first())
        assert lead is not None
        assert Submission.objects.get(lead=lead).answers == {"challenge": "Rural coverage"}

        # The next visit from this browser asks the other question, never the answered one.
        page.reload()
        _shadow_form(page)
        names = page.eval_on_selector_all("#lg input, #lg select", "els => els.map(e => e.name)")
        assert "challenge" not in names
        assert "sites" in names
        assert errors == []
    finally:
        context.close()
