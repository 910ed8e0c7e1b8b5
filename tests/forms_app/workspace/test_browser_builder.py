"""The gate builder in headless Chromium: one screen, form left and live preview right.

Typing updates the preview after the debounce (Playwright's clock, no sleeps); sections
move with the buttons and the order is saved; the embed snippet with its copy button sits
next to the allowed origins; at 1440 px two columns with a sticky preview, at 390 px
stacked without horizontal scrolling; no CSP violation or script error anywhere.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group

from forms_app.models import Section
from forms_app.services.gates import SectionInput, gate_save
from tests.forms_app.browser.conftest import SCREENSHOTS
from tests.support.factories import make_gate, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a long enough passphrase"
ERRORS = ("Uncaught", "TypeError", "ReferenceError", "Content Security Policy", "Refused")


def _marketer() -> Any:
    user = make_user(username="builder-marketer", is_staff=False)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get_or_create(name="marketer")[0])
    return user


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


def _open_builder(chromium: Any, base: str, slug: str) -> tuple[Any, Any, list[str]]:
    """The builder of gate `slug` at 1440 px, logged in as the marketer: the browser
    context (to close), the page and the list its console errors go to."""
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    page.clock.install()
    page.goto(base + "/app/login/")
    page.fill("#id_username", "builder-marketer")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*/app/$"))
    page.goto(f"{base}/app/gates/{slug}/")
    return context, page, console


def test_builder_live_preview_reorder_snippet_and_layout(chromium: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    _marketer()
    gate = make_gate(sections=0, title="The fibre e-book")
    gate_save(
        gate=gate,
        data={},
        sections=[
            SectionInput(key="intro", title="Intro", body="Why fibre."),
            SectionInput(key="pricing", title="Pricing", body="What it costs."),
            SectionInput(key="faq", title="FAQ", body="Questions."),
        ],
    )
    base = live_server.url
    context, page, console = _open_builder(chromium, base, gate.slug)
    frame = page.frame_locator("#preview-frame")
    expect(frame.locator("h1")).to_contain_text("The fibre e-book")

    # --- typing updates the preview once the debounce has passed -----------------------
    page.fill("#id_title", "Fibre, explained")
    page.clock.run_for(100)
    expect(frame.locator("h1")).to_contain_text("The fibre e-book")  # not yet: debounced
    page.clock.run_for(500)
    expect(frame.locator("h1")).to_contain_text("Fibre, explained")
    page.click("button[data-mode='content']")
    expect(frame.locator(".lg-reading")).to_contain_text("Why fibre.")
    page.fill("#id_sections-0-body", "## Fresh heading\n\nTyped **just now**.")
    page.clock.run_for(500)
    expect(frame.locator(".lg-reading h4")).to_have_text("Fresh heading")
    expect(frame.locator(".lg-reading strong")).to_have_text("just now")

    # --- embed snippet next to the allowed origins -----------------------------------------
    copy = page.locator("#block-embed button[data-copy='embed-snippet']")
    expect(copy).to_be_visible()
    snippet, origins = _box(page, "#embed-snippet"), _box(page, "#id_allowed_origins")
    assert origins["x"] > snippet["x"] + snippet["width"] - 1  # side by side
    assert abs(origins["y"] - snippet["y"]) < 60

    # --- two columns at 1440 px, the preview sticky ------------------------------------------
    page.evaluate("window.scrollTo(0, 0)")
    main, preview = _box(page, ".ws-builder-main"), _box(page, ".ws-preview")
    assert preview["x"] >= main["x"] + main["width"] - 1
    assert abs(preview["y"] - main["y"]) < 5
    page.screenshot(path=str(SCREENSHOTS / "workspace-builder-live.png"))

    # --- reorder with the buttons (keyboard-reachable buttons, no round trip) --------------
    first_down = page.locator("#block-sections [data-row]").first.locator("[data-move='down']")
    first_down.focus()
    page.keyboard.press("Enter")
    keys = page.locator("#block-sections [data-row] input[name$='-key']")
    expect(keys.nth(0)).to_have_value("pricing")
    expect(keys.nth(1)).to_have_value("intro")
    page.locator("#block-sections [data-row]").nth(2).locator("[data-move='up']").click()
    expect(keys.nth(1)).to_have_value("faq")
    page.clock.run_for(500)
    expect(frame.locator(".lg-reading h2").first).to_have_text("Pricing")
    # Drag and drop: the last section (Intro) dragged onto the top of the first.
    rows = page.locator("#block-sections [data-row]")
    page.set_viewport_size({"width": 1440, "height": 2600})  # both rows in view: no scroll mid-drag
    rows.nth(0).scroll_into_view_if_needed()
    rows.nth(2).locator("[data-drag]").drag_to(rows.nth(0), target_position={"x": 40, "y": 5})
    expect(keys.nth(0)).to_have_value("intro")
    expect(page.locator("#block-sections input[name$='-ORDER']").nth(0)).to_have_value("1")
    page.set_viewport_size({"width": 1440, "height": 900})
    # ... and back down with the buttons, as the marketer wanted it.
    rows.nth(0).locator("[data-move='down']").click()
    rows.nth(1).locator("[data-move='down']").click()
    expect(keys.nth(2)).to_have_value("intro")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    sticky = _box(page, ".ws-preview")
    assert 0 <= sticky["y"] < 900  # still in view at the bottom of the long form
    page.click("button:has-text('Save changes')")
    page.wait_for_url(re.compile(rf".*/app/gates/{gate.slug}/$"))
    expect(page.locator(".ws-flash")).to_contain_text("Saved")
    assert [s.key for s in Section.objects.filter(gate=gate).order_by("position")] == [
        "pricing",
        "faq",
        "intro",
    ]
    assert Section.objects.get(gate=gate, key="intro").body_html.startswith("<h4>Fresh heading")

    # --- stacked at 390 px, no horizontal scroll ---------------------------------------------
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(0)
    main, preview = _box(page, ".ws-builder-main"), _box(page, ".ws-preview")
    assert preview["y"] >= main["y"] + main["height"] - 1
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    page.screenshot(path=str(SCREENSHOTS / "workspace-builder-phone.png"), full_page=True)

    # --- a new gate has its live preview too, before anything is saved ------------------------
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{base}/app/gates/new")
    expect(frame.locator("input[name=email]")).to_be_visible()
    page.fill("#id_title", "Not saved yet")
    page.clock.run_for(500)
    expect(frame.locator("h1")).to_have_text("Not saved yet")
    assert not [c for c in console if any(e in c for e in ERRORS)], console
    context.close()


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def test_an_uploaded_image_is_inserted_into_the_section_body(
    chromium: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    from forms_app.models import SectionImage

    _marketer()
    gate = make_gate(sections=0, title="The fibre e-book")
    gate_save(
        gate=gate, data={}, sections=[SectionInput(key="intro", title="Intro", body="Why fibre.")]
    )
    base = live_server.url
    context, page, console = _open_builder(chromium, base, gate.slug)
    row = page.locator("[data-rows='sections'] [data-row]").first
    status = row.locator("[data-image-status]")
    picture = {"name": "map.png", "mimeType": "image/png", "buffer": _png()}

    # No description: no file is asked for, nothing is uploaded, the description is.
    row.locator("[data-image-pick]").click()
    expect(status).to_have_text("Describe the image first, for people who cannot see it.")
    expect(row.locator("[data-image-alt]")).to_be_focused()
    row.locator("[data-image-file]").set_input_files(picture)
    expect(status).to_have_text("Describe the image first, for people who cannot see it.")
    assert not SectionImage.objects.exists()

    # Not an image: the API's message, nothing inserted.
    row.locator("[data-image-alt]").fill("Coverage map")
    row.locator("[data-image-file]").set_input_files(
        {"name": "map.png", "mimeType": "image/png", "buffer": b"<html>not a picture</html>"}
    )
    expect(status).to_have_text("This file is not a PNG, JPEG, WebP or GIF image.")
    assert page.input_value("#id_sections-0-body") == "Why fibre."

    # An image: uploaded, its Markdown on a line of its own after the cursor.
    page.locator("#id_sections-0-body").evaluate(
        "a => a.setSelectionRange(a.value.length, a.value.length)"
    )
    row.locator("[data-image-file]").set_input_files(picture)
    expect(status).to_have_text("Image inserted.")
    image = SectionImage.objects.get(gate=gate)
    url = f"/images/{image.pk}.png"
    assert page.input_value("#id_sections-0-body") == f"Why fibre.\n\n![Coverage map]({url})"

    # The preview shows it, served by leadgate; saved, the visitor's page shows it too.
    page.clock.run_for(500)
    page.click("button[data-mode='content']")
    frame = page.frame_locator("#preview-frame")
    expect(frame.locator(f"img[src='{url}']")).to_have_attribute("alt", "Coverage map")
    page.click("button:has-text('Save changes')")
    page.wait_for_url(re.compile(rf".*/app/gates/{gate.slug}/$"))
    expect(page.locator(".ws-flash")).to_contain_text("Saved")
    assert f'<img src="{url}" alt="Coverage map"' in Section.objects.get(gate=gate).body_html
    served = page.request.get(base + url)
    assert served.status == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    # A section added on the page has the control too.
    page.click("[data-add='sections']")
    expect(
        page.locator("[data-rows='sections'] [data-row]").nth(1).locator("[data-image-pick]")
    ).to_be_visible()
    assert not [c for c in console if any(e in c for e in ERRORS)], console
    context.close()
