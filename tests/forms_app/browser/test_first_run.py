"""A new marketer's first run, end to end through the workspace, on a phone and a wide screen.

The marketer logs in to an empty workspace and follows the first-run checklist: creates a
gate in the builder (allowing their own website's origin there), takes the embed snippet
from the builder and pastes it into their website (a host site on another origin), sees
the tracker's first event turn the step done, connects their CRM's webhook and sends a
test event, and writes the rule that makes a lead hot. A visitor then opts in on the
marketer's website and downloads the network map; the marketer watches the lead go hot
in the workspace while the CRM receives the signed delivery. Scoring and delivery run in
a real Celery worker, the CRM is a real HTTP server on 127.0.0.1, and every checklist
step is checked to read "Done" once it is.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from standardwebhooks import Webhook

from config.roles import MARKETER
from forms_app.models import Gate
from profiling.models import Delivery, Event, Lead
from tests.forms_app.browser.conftest import SCREENSHOTS, HostSite
from tests.support.axe import assert_accessible
from tests.support.celery_worker import CeleryWorkerProcess
from tests.support.crm import CrmReceiver
from tests.support.factories import add_role, make_user
from tests.support.layout import PHONE, WIDE, assert_no_sideways_scroll, small_targets

pytestmark = [
    pytest.mark.browser,
    pytest.mark.form_token,  # the embed script fetches and sends a real signed form token
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a long enough passphrase"
SLUG = "fibre-ebook"
FILE_KEY = "network-map"
TIMEOUT_S = 15.0


def marketer_site(snippet: str) -> str:
    """The marketer's own blog post with leadgate's snippet pasted in, as copied."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Fibre blog</title></head>
<body><main>
<h1>Why fibre pays for itself</h1>
<p>Our new e-book explains the economics of a fibre network, region by region.</p>
{snippet}
</main></body></html>"""


class Steps:
    """Screenshots of every step, named in order, at this viewport."""

    def __init__(self, page: Any, width: int) -> None:
        self.page = page
        self.width = width
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str, *, page: Any = None, check: bool = True) -> None:
        self.count += 1
        target = page or self.page
        where = f"{name} at {self.width} px"
        if check:
            assert_no_sideways_scroll(target, where)
        target.screenshot(
            path=str(SCREENSHOTS / f"first-run-{self.width}-{self.count:02d}-{name}.png"),
            full_page=False,
        )


def go_to(page: Any, link: str) -> None:
    """Follow a workspace navigation link as a person would: through the menu on a phone."""
    toggle = page.locator(".ws-menu-button")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false":
        toggle.click()
    page.locator("#ws-menu").get_by_role("link", name=link, exact=True).click()


def checklist_state(page: Any) -> dict[str, str]:
    items = page.locator("#first-run li[data-step]")
    return {
        items.nth(i).get_attribute("data-step"): items.nth(i)
        .locator(".ws-step-state")
        .text_content()
        .strip()
        for i in range(items.count())
    }


def shown_whole(page: Any, selector: str) -> bool:
    """A read-only box shows all it holds, with no scrolling inside it."""
    return bool(page.locator(selector).evaluate("(el) => el.scrollHeight <= el.clientHeight + 1"))


def fits_on_screen(page: Any, selector: str) -> bool:
    """The element lies within the viewport's width (not cut off by a scrolling box)."""
    box = page.locator(selector).bounding_box()
    return (
        box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    )


def dashboard_checklist(page: Any) -> dict[str, str]:
    go_to(page, "Dashboard")
    page.wait_for_url(re.compile(r".*/app/(\?.*)?$"))
    return checklist_state(page)


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["390px", "1440px"])
def test_a_new_marketer_goes_from_an_empty_workspace_to_a_hot_lead_in_their_crm(
    chromium: Any,
    live_server: Any,
    host_site: HostSite,
    crm_receiver: CrmReceiver,
    celery_worker_process: CeleryWorkerProcess,
    viewport: dict[str, int],
) -> None:
    user = add_role(make_user(username="new-marketer", is_staff=False), MARKETER)
    user.set_password(PASSWORD)
    user.save()
    base = live_server.url
    width = viewport["width"]
    host_site.page("/files/network-map.pdf", b"%PDF-1.4 the network map", "application/pdf")

    marketer_context = chromium.new_context(
        viewport=viewport, permissions=["clipboard-read", "clipboard-write"]
    )
    page = marketer_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"workspace: {e}"))
    steps = Steps(page, width)

    # --- 1. log in: the empty workspace greets with the checklist, nothing done -----------
    page.goto(base + "/app/")
    page.wait_for_url(re.compile(r".*/app/login/"))
    page.fill("#id_username", "new-marketer")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/app/$"))
    expect(page.locator("#first-run")).to_be_visible()
    expect(page.get_by_test_id("first-run-progress")).to_have_text("0 of 4 done")
    assert checklist_state(page) == {
        "gate": "To do",
        "snippet": "To do",
        "webhook": "To do",
        "warm": "To do",
    }
    # axe only where the workspace walk (test_workspace_walk.py) does not go: the
    # checklist and a new webhook's one-time secret.
    assert_accessible(page, where=f"first-run dashboard at {width} px")
    steps.shot("checklist-empty")

    # --- 2. create a gate in the builder, allowing the marketer's website -----------------
    page.locator("#first-run").get_by_role("link", name="Create a gate").click()
    page.wait_for_url(re.compile(r".*/app/gates/new$"))
    page.fill("#id_title", "The fibre network e-book")
    page.fill("#id_slug", SLUG)
    page.fill("#id_headline", "How a fibre network pays for itself")
    page.fill("#id_sections-0-key", "why-fibre")
    page.fill("#id_sections-0-title", "Why fibre")
    page.click("button[data-add=files]")
    page.fill("#id_files-0-key", FILE_KEY)
    page.fill("#id_files-0-title", "Network map")
    page.fill("#id_files-0-url", host_site.url("/files/network-map.pdf"))
    page.fill("#id_allowed_origins", host_site.origin)
    steps.shot("builder-filled")
    page.get_by_role("button", name="Create gate").click()
    page.wait_for_url(re.compile(rf".*/app/gates/{SLUG}/$"))
    expect(page.locator(".ws-flash--success")).to_contain_text("Saved")
    gate = Gate.objects.get(slug=SLUG)
    assert gate.allowed_origins == [host_site.origin]
    assert [f.key for f in gate.files.all()] == [FILE_KEY]

    # --- 3. copy the embed snippet the builder shows, and paste it into the website -------
    snippet_box = page.locator("#embed-snippet")
    snippet_box.scroll_into_view_if_needed()
    expect(snippet_box).to_be_visible()
    snippet = snippet_box.input_value()
    assert f'data-gate="{SLUG}"' in snippet
    assert snippet.startswith(f'<script src="{base}/static/leadgate.js"'), snippet
    assert shown_whole(page, "#embed-snippet"), "the embed snippet is cut off"
    page.get_by_role("button", name="Copy snippet").click()
    expect(page.locator("#copied")).to_have_text("Copied")
    # What the marketer pastes is what the button put on the clipboard.
    assert page.evaluate("navigator.clipboard.readText()") == snippet
    steps.shot("builder-snippet")
    blog = host_site.page("/blog/fibre-economics", marketer_site(snippet))

    assert dashboard_checklist(page)["gate"] == "Done"
    expect(page.get_by_test_id("first-run-progress")).to_have_text("1 of 4 done")

    # --- 4. open the website: the tracker's first event arrives, the step turns done ------
    visitor_context = chromium.new_context(viewport=viewport)
    visitor = visitor_context.new_page()
    visitor.on("pageerror", lambda e: errors.append(f"host page: {e}"))
    visitor.goto(blog)
    visitor.wait_for_selector("[data-leadgate-form] form", timeout=10_000)
    wait(
        lambda: Event.objects.filter(gate=gate, source="tracker", type="page_view").exists(),
        "the tracker's page view never arrived",
    )
    page.reload()
    state = checklist_state(page)
    assert state["snippet"] == "Done", state
    expect(page.get_by_test_id("first-run-progress")).to_have_text("2 of 4 done")
    steps.shot("checklist-event-seen")

    # --- 5. connect the CRM's webhook and send a test event -------------------------------
    page.locator("#first-run").get_by_role("link", name="Connect a webhook").click()
    page.wait_for_url(re.compile(r".*/app/webhooks/$"))
    expect(page.locator(".ws-empty")).to_have_text("No webhook yet: add your CRM's URL below.")
    assert fits_on_screen(page, ".ws-empty"), "the empty list's message is cut off"
    page.fill("#id_name", "Our CRM: hot leads")
    page.fill("#id_url", crm_receiver.url)
    # The grades it pushes: one question with a box per grade, each box tickable by its
    # label (a thumb-sized one on a phone).
    grades = page.get_by_role("group", name="Push leads that become")
    expect(grades.get_by_role("checkbox", name="Hot")).to_be_checked()
    grades.get_by_text("Warm", exact=True).click()
    expect(grades.get_by_role("checkbox", name="Warm")).to_be_checked()
    if width < 800:
        assert not small_targets(page, ".ws-choices label")
    steps.shot("webhook-form")
    page.get_by_role("button", name="Add webhook").click()
    page.wait_for_url(re.compile(r".*/app/webhooks/\d+/$"))
    secret = page.locator("#secret").input_value()
    assert secret.startswith("whsec_"), secret
    assert shown_whole(page, "#secret"), "the signing secret is cut off"
    assert_accessible(page, where=f"new webhook at {width} px")
    steps.shot("webhook-secret")
    page.get_by_role("button", name="Send test event").click()
    expect(page.locator(".ws-flash--success")).to_contain_text("Test event delivered")
    test_event = crm_receiver.wait_for_requests(1, TIMEOUT_S)[0]
    assert Webhook(secret).verify(test_event.body, test_event.headers)["type"] == "webhook.test"
    steps.shot("webhook-tested")
    state = dashboard_checklist(page)
    assert state["webhook"] == "Done", state
    expect(page.get_by_test_id("first-run-progress")).to_have_text("3 of 4 done")

    # --- 6. the rule that makes a lead hot: downloading the network map -------------------
    go_to(page, "Scoring")
    page.get_by_role("link", name="New rule", exact=True).click()
    page.wait_for_url(re.compile(r".*/app/scoring/rules/new$"))
    page.fill("#id_name", "Downloads the network map")
    page.select_option("#id_event_type", "download")
    page.select_option("#id_gate", SLUG)
    page.fill("#id_file", FILE_KEY)
    page.fill("#id_points", "50")
    page.check("#id_makes_hot")
    expect(page.locator("#rule-sentence")).to_contain_text("hot")
    steps.shot("hot-rule")
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url(re.compile(r".*/app/scoring/$"))
    expect(page.locator(".ws-flash--success")).to_contain_text("Downloads the network map")

    # --- 7. a visitor opts in on the website and downloads the map ------------------------
    visitor.reload()
    visitor.wait_for_selector("[data-leadgate-form] form", timeout=10_000)
    visitor.fill("[data-leadgate-form] input[name=name]", "Jo Fibre")
    visitor.fill("[data-leadgate-form] input[name=email]", "jo@acme-telecom.example")
    visitor.check("[data-leadgate-form] input[name=subscribe]")
    steps.shot("visitor-form", page=visitor)
    visitor.click("[data-leadgate-form] button[type=submit]")
    content_link = visitor.locator("[data-leadgate-form] a[href*='/g/']")
    expect(content_link).to_be_visible(timeout=10_000)
    content_link.click()
    visitor.wait_for_url(re.compile(rf".*/g/{SLUG}\?t=.*"))
    steps.shot("visitor-content", page=visitor)
    visitor.get_by_role("link", name=re.compile("Network map")).click()
    # leadgate records the download, then sends the visitor on to the file itself.
    wait(lambda: "/files/network-map.pdf" in host_site.hits, "the map was never fetched")

    # --- 8. the lead goes hot in the workspace, and the CRM gets the signed delivery ------
    lead = wait(
        lambda: Lead.objects.filter(email="jo@acme-telecom.example", grade="hot").first(),
        "the lead never turned hot",
        worker=celery_worker_process,
    )
    delivery = crm_receiver.wait_for_delivery(TIMEOUT_S, lead_id=lead.pk, grade="hot")
    payload = Webhook(secret).verify(delivery.body, delivery.headers)
    assert payload["type"] == "lead.grade_changed"
    assert payload["data"]["lead"]["email"] == "jo@acme-telecom.example"
    assert payload["data"]["grade"] == "hot"

    go_to(page, "Leads")
    page.wait_for_url(re.compile(r".*/app/leads/$"))
    row = page.locator("#lead-list tbody tr", has_text="Jo Fibre")
    expect(row.locator(".ws-grade")).to_have_text("hot")
    steps.shot("leads-hot")
    row.get_by_role("link", name="Jo Fibre").click()
    page.wait_for_url(re.compile(rf".*/app/leads/{lead.pk}/$"))
    expect(page.locator("h1 .ws-grade")).to_have_text("hot")
    expect(page.locator(".ws-reasons")).to_contain_text("network map")
    steps.shot("lead-hot")

    # The webhook's delivery log shows the push, accepted by the CRM.
    wait(
        lambda: Delivery.objects.filter(lead=lead, status="succeeded").exists(),
        "the hot delivery was never marked delivered",
        worker=celery_worker_process,
    )
    go_to(page, "CRM webhooks")
    page.get_by_role("link", name="Our CRM: hot leads").click()
    pushed = page.locator("#delivery-log tbody tr", has_text="Jo Fibre")
    expect(pushed).to_contain_text("lead.grade_changed")
    expect(pushed.locator(".ws-status")).to_have_text("Succeeded")
    steps.shot("webhook-delivered")

    # Every step done: the checklist has done its job and makes way for the dashboard.
    go_to(page, "Dashboard")
    page.wait_for_url(re.compile(r".*/app/(\?.*)?$"))
    expect(page.locator("#first-run")).to_have_count(0)
    steps.shot("dashboard-done")

    assert errors == []
    visitor_context.close()
    marketer_context.close()


def wait(predicate: Any, what: str, *, worker: CeleryWorkerProcess | None = None) -> Any:
    from tests.support.waiting import wait_for

    return wait_for(
        predicate,
        TIMEOUT_S,
        message=lambda: what + ("\n" + worker.log_tail() if worker else ""),
    )


def test_a_marketer_who_forgot_their_origin_adds_it_from_the_builder_on_a_phone(
    chromium: Any,
    live_server: Any,
    host_site: HostSite,
) -> None:
    """The likeliest slip of a first run: the snippet pasted, the website's origin never
    allowed. The builder names the refused origin with an "Add it" button, and once it is
    added the website's next page view turns the checklist's step done."""
    user = add_role(make_user(username="new-marketer", is_staff=False), MARKETER)
    user.set_password(PASSWORD)
    user.save()
    base = live_server.url
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"workspace: {e}"))
    steps = Steps(page, PHONE["width"])
    page.goto(base + "/app/login/")
    page.fill("#id_username", "new-marketer")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/app/$"))
    page.locator("#first-run").get_by_role("link", name="Create a gate").click()
    page.fill("#id_title", "The fibre network e-book")
    page.fill("#id_slug", SLUG)
    page.fill("#id_sections-0-key", "why-fibre")
    page.fill("#id_sections-0-title", "Why fibre")
    page.get_by_role("button", name="Create gate").click()
    page.wait_for_url(re.compile(rf".*/app/gates/{SLUG}/$"))
    blog = host_site.page(
        "/blog/fibre-economics", marketer_site(page.locator("#embed-snippet").input_value())
    )

    # The website is not allowed yet: its visitors get a link to the hosted form instead,
    # and nothing it sends is recorded.
    visitor_context = chromium.new_context(viewport=PHONE)
    visitor = visitor_context.new_page()
    visitor.goto(blog)
    expect(visitor.locator("[data-leadgate-form] a", has_text="Open the form")).to_be_visible()
    assert not Event.objects.filter(source="tracker").exists()

    # The builder says which site was refused, and adds it in one tap.
    page.reload()
    diagnostics = page.get_by_test_id("diagnostics")
    expect(diagnostics).to_contain_text(host_site.origin)
    expect(diagnostics).to_contain_text("last just now")
    add = diagnostics.get_by_role("button", name="Add it")
    add.scroll_into_view_if_needed()
    assert not small_targets(page, "[data-testid=diagnostics] button")
    steps.shot("diagnostics-refused")
    add.click()
    expect(page.locator(".ws-flash--success")).to_contain_text(host_site.origin)
    assert Gate.objects.get(slug=SLUG).allowed_origins == [host_site.origin]
    expect(page.locator("#id_allowed_origins")).to_have_value(host_site.origin)
    assert_no_sideways_scroll(page, "builder after Add it")

    visitor.reload()
    visitor.wait_for_selector("[data-leadgate-form] form", timeout=10_000)
    wait(
        lambda: Event.objects.filter(source="tracker", type="page_view").exists(),
        "the tracker's page view never arrived",
    )
    state = dashboard_checklist(page)
    assert (state["gate"], state["snippet"]) == ("Done", "Done"), state
    assert errors == []
    visitor_context.close()
    context.close()
