"""The hosted gate page and its iframe variant in a real browser: accessibility checks
(an axe-style set of assertions), keyboard-only use, phones, and the spam token."""

from __future__ import annotations

from typing import Any

import pytest

from forms_app.models import QuarantinedSubmission, Submission
from profiling.models import Lead
from tests.forms_app.browser.conftest import SCREENSHOTS, HostSite
from tests.support.factories import make_gate
from tests.support.waiting import wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.form_token,
    pytest.mark.django_db(transaction=True),
]

# Axe-style rules, evaluated in the page. Each finding is a string; the test expects none.
A11Y_AUDIT = r"""
(host) => {
  // `host`: a selector of a shadow host to audit its shadow root instead of the page.
  const root = host ? document.querySelector(host).shadowRoot : document;
  const problems = [];
  const visible = (el) => {
    if (el.closest('[aria-hidden="true"]')) return false;
    const s = getComputedStyle(el);
    return s.display !== 'none' && s.visibility !== 'hidden' && el.type !== 'hidden';
  };
  const text = (el) => (el.innerText || el.textContent || el.getAttribute('aria-label') || '').trim();
  if (!host) {
    if (!document.documentElement.lang) problems.push('html has no lang');
    if (!document.title.trim()) problems.push('page has no title');
    if (!document.querySelector('main')) problems.push('no main landmark');
    if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
  }
  let last = 0;
  for (const h of root.querySelectorAll('h1,h2,h3,h4,h5,h6')) {
    const level = +h.tagName[1];
    if (!host && last && level > last + 1) problems.push('heading level skipped at ' + text(h));
    last = level;
  }
  const ids = {};
  for (const el of root.querySelectorAll('[id]')) {
    if (ids[el.id]) problems.push('duplicate id ' + el.id);
    ids[el.id] = true;
  }
  for (const el of root.querySelectorAll('[aria-describedby],[aria-labelledby]')) {
    for (const attr of ['aria-describedby', 'aria-labelledby']) {
      for (const id of (el.getAttribute(attr) || '').split(/\s+/).filter(Boolean)) {
        if (!root.getElementById(id)) problems.push(attr + ' points to missing #' + id);
      }
    }
  }
  for (const el of root.querySelectorAll('input,select,textarea')) {
    if (!visible(el)) {
      if (el.type !== 'hidden' && el.tabIndex >= 0) problems.push('hidden field is focusable: ' + el.name);
      continue;
    }
    const labels = [...(el.labels || [])].map(text).filter(Boolean);
    if (!labels.length && !el.getAttribute('aria-label')) problems.push('no label for ' + el.name);
  }
  for (const el of root.querySelectorAll('a[href],button')) {
    if (visible(el) && !text(el)) problems.push('control without text: ' + el.outerHTML.slice(0, 80));
  }
  for (const img of root.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push('img without alt');
  }
  // Contrast (WCAG AA 4.5:1) of the form's text against its effective background.
  const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  for (const el of root.querySelectorAll('label, button, .lg-consent, h1, h2, p, a')) {
    if (!visible(el) || !text(el)) continue;
    const fg = rgb(getComputedStyle(el).color).slice(0, 3);
    const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) problems.push('contrast ' + ratio.toFixed(2) + ' for ' + text(el).slice(0, 40));
  }
  return problems;
}
"""

TAP_TARGETS = r"""
() => [...document.querySelectorAll('form input:not([type=hidden]), form select, form button, .lg-check label')]
  .filter((el) => !el.closest('[aria-hidden="true"]'))
  .map((el) => {
    const r = (el.type === 'checkbox' && el.labels[0] ? el.labels[0] : el).getBoundingClientRect();
    return [el.name || el.htmlFor || el.tagName, Math.round(r.width), Math.round(r.height)];
  })
"""


def _context(chromium: Any, width: int, height: int = 900) -> Any:
    return chromium.new_context(viewport={"width": width, "height": height})


def _tab_to(page: Any, selector: str, limit: int = 30) -> list[str]:
    """Press Tab until `selector` has focus; the names of what got focus on the way."""
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate(
                "() => { const e = document.activeElement; return e.name || e.id || e.tagName; }"
            )
        )
        if page.evaluate(f"() => document.activeElement.matches({selector!r})"):
            return seen
    raise AssertionError(f"never reached {selector} by keyboard; focus went {seen}")


@pytest.mark.parametrize(
    ("width", "shot"), [(1280, "hosted-gate-desktop"), (360, "hosted-gate-360")]
)
def test_hosted_gate_passes_the_accessibility_audit_and_works_by_keyboard(
    chromium: Any, live_server: Any, settings: Any, width: int, shot: str
) -> None:
    # A real minimum fill time: the keyboard user below takes longer than this.
    settings.LEADGATE_FORM_MIN_FILL_MS = 300
    gate = make_gate(title="The fibre network e-book", headline="Plan a fibre roll-out")
    context = _context(chromium, width)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live_server.url}/g/{gate.slug}")
        assert page.evaluate(A11Y_AUDIT, None) == []
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        for name, w, h in page.evaluate(TAP_TARGETS):
            assert h >= 44, f"{name} is {w}x{h}"
            assert w >= 44, f"{name} is {w}x{h}"
        assert page.get_attribute("#id_email", "type") == "email"
        assert page.get_attribute("#id_email", "autocomplete") == "email"
        assert page.get_attribute("#id_name", "autocomplete") == "name"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"), full_page=True)

        # Keyboard only: focus order is skip link, name, email, opt-in, submit, and
        # the focus is visible.
        order = _tab_to(page, "button[type=submit]")
        fields = [n for n in order if n in {"name", "email", "subscribe"}]
        assert fields == ["name", "email", "subscribe"], order
        assert "website" not in order  # the honeypot is never reachable
        outline = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement); "
            "return [s.outlineStyle, s.outlineWidth]; }"
        )
        assert outline[0] != "none"
        assert outline[1] != "0px"

        # Submitting empty shows errors linked to their fields and announced.
        page.keyboard.press("Enter")
        page.wait_for_selector("[role=alert]")
        assert page.get_attribute("#id_name", "aria-invalid") == "true"
        described = page.get_attribute("#id_name", "aria-describedby")
        assert described
        assert "name" in page.inner_text(f"#{described}").lower()
        assert page.evaluate(A11Y_AUDIT, None) == []

        page.focus("#id_name")
        page.keyboard.type("Kim Keys")
        page.keyboard.press("Tab")
        page.keyboard.type("kim@fibre-keys.example")
        page.keyboard.press("Tab")
        page.keyboard.press("Space")
        page.wait_for_timeout(350)  # a person is never as fast as the minimum fill time
        page.keyboard.press("Enter")
        page.wait_for_selector(".lg-notice[role=status]", timeout=10_000)
        lead = Lead.objects.get(email="kim@fibre-keys.example")
        assert lead.subscribed is True
        assert Submission.objects.get(lead=lead).gate_id == gate.id
        assert page.locator("[data-leadgate-section]").count() == 6
        assert errors == []
    finally:
        context.close()


def test_a_submission_faster_than_a_person_looks_sent_and_is_held_for_review(
    chromium: Any, live_server: Any, settings: Any
) -> None:
    settings.LEADGATE_FORM_MIN_FILL_MS = 5000
    gate = make_gate()
    context = _context(chromium, 1280)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/g/{gate.slug}")
        page.fill("#id_name", "Speedy Bot")
        page.fill("#id_email", "bot@spam-fibre.example")
        with page.expect_navigation():
            page.click("button[type=submit]")
        # It looks like it went through (a redirect to the content URL with a token) ...
        assert "?t=" in page.url
        # ... but no lead was made and the fake token unlocks nothing: the submission
        # waits in the quarantine for a marketer (a person with autofill is not lost).
        assert not Lead.objects.exists()
        assert page.locator("form.lg-form").count() == 1
        held = QuarantinedSubmission.objects.get()
        assert (held.email, held.reason, held.via) == ("bot@spam-fibre.example", "too_fast", "form")
    finally:
        context.close()


def test_iframe_variant_works_inside_a_foreign_page(
    chromium: Any, live_server: Any, host_site: HostSite
) -> None:
    gate = make_gate(allowed_origins=[host_site.origin])
    url = host_site.page(
        "/iframe",
        f"""<!doctype html><html lang="en"><head><title>Host</title></head><body>
        <h1>Our site forbids third-party scripts</h1>
        <iframe id="lgf" title="Get the e-book" style="width:100%;height:700px;border:0"
          src="{live_server.url}/g/{gate.slug}/embed?utm_source=newsletter"></iframe>
        </body></html>""",
    )
    context = _context(chromium, 1000)
    page = context.new_page()
    try:
        page.goto(url)
        frame = page.frame_locator("#lgf")
        frame.locator("#id_name").fill("Ira Frame")
        frame.locator("#id_email").fill("ira@frame-fibre.example")
        frame.locator("button[type=submit]").click()
        frame.locator(".lg-notice").wait_for(timeout=10_000)
        lead = wait_for(lambda: Lead.objects.filter(email="ira@frame-fibre.example").first())
        submission = Submission.objects.get(lead=lead)
        assert submission.utm_source == "newsletter"
        assert submission.referrer.startswith(host_site.origin)
    finally:
        context.close()


def test_the_audit_finds_the_problems_it_looks_for(chromium: Any) -> None:
    """The audit above is only worth something if it fails on a bad page."""
    context = _context(chromium, 800)
    page = context.new_page()
    try:
        page.set_content(
            """<html><head><title>x</title></head><body><main><h1>a</h1><h3>skip</h3>
            <h1>two</h1><input name="nolabel"><p id="d" style="color:#ccc">faint text</p>
            <p id="d">dup</p><button aria-describedby="missing"></button>
            <img src="data:,"></main></body></html>"""
        )
        problems = "\n".join(page.evaluate(A11Y_AUDIT, None))
        for expected in (
            "html has no lang",
            "not exactly one h1",
            "heading level skipped",
            "duplicate id d",
            "no label for nolabel",
            "control without text",
            "points to missing #missing",
            "img without alt",
            "contrast",
        ):
            assert expected in problems, (expected, problems)
    finally:
        context.close()


def test_hosted_gate_with_gpc_tracks_only_after_the_form(chromium: Any, live_server: Any) -> None:
    from profiling.models import Event

    gate = make_gate(min_dwell_ms=300)
    context = _context(chromium, 1280)
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    )
    page = context.new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if "/events" in r.url else None)
    try:
        page.goto(f"{live_server.url}/g/{gate.slug}")
        page.wait_for_timeout(1300)  # past the tracker's batching delay
        assert posts == []
        assert not Event.objects.exists()
        page.fill("#id_name", "Gil Private")
        page.fill("#id_email", "gil@gpc-fibre.example")
        with page.expect_navigation():
            page.click("button[type=submit]")
        lead = Lead.objects.get(email="gil@gpc-fibre.example")
        # On the unlocked content the visitor has identified under the notice: tracked.
        event = wait_for_event(page, lambda: Event.objects.filter(lead=lead).first())
        assert event.type == "page_view"
        assert posts
    finally:
        context.close()


def wait_for_event(page: Any, find: Any, tries: int = 100) -> Any:
    """Poll the database while letting the page run (Playwright needs the thread)."""
    for _ in range(tries):
        found = find()
        if found is not None:
            return found
        page.wait_for_timeout(100)
    raise AssertionError("no event arrived")
