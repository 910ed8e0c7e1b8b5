"""The Content-Security-Policy (django-csp, config/settings.py) on every kind of page:
everything from leadgate itself, no inline script without the request's nonce, no inline
styles, and no framing except the embed (by its gate's allowed origins) and the
workspace's live preview (by the workspace itself).

Each page's HTML is checked against its own header, so a template that gains an inline
script, an event-handler attribute, a style attribute or a third-party asset fails here
before a browser refuses it (tests/forms_app/browser/test_content_security_policy.py then
loads the pages in Chromium and collects the violations it reports).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from forms_app.access import access_token_make
from forms_app.models import Gate
from tests.support.csp import markup_of, nonce_of, policy_of
from tests.support.factories import make_gate, make_lead, make_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIRS = [
    ROOT / "forms_app" / "templates",
    ROOT / "profiling" / "templates",
    ROOT / "config" / "templates",
]
SITE_WIDE = {
    "default-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
}


@pytest.fixture
def gate() -> Gate:
    return make_gate(
        allowed_origins=["https://www.brightline-fibre.example", "http://localhost:8080"]
    )


@pytest.fixture
def marketer_client() -> Client:
    user = make_user(is_staff=False)
    user.groups.add(Group.objects.get_or_create(name="marketer")[0])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client_() -> Client:
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


# Pages that show section bodies (the hosted gate, its embed, the builder and its
# previews) may also show the marketer's Markdown images by https URL; nothing else.
SECTION_IMAGES = ["'self'", "data:", "https:"]


def assert_page_keeps_its_policy(
    response: Any, *, section_images: bool = False
) -> dict[str, list[str]]:
    """The site-wide policy (frame-ancestors aside), and HTML that lives within it."""
    policy = policy_of(response)
    expected = dict(SITE_WIDE, **({"img-src": SECTION_IMAGES} if section_images else {}))
    for directive, sources in expected.items():
        assert policy[directive] == sources, (directive, policy[directive])
    nonce = nonce_of(policy)
    assert policy["script-src"] == ["'self'"] + ([f"'nonce-{nonce}'"] if nonce else [])
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert "worker-src" not in policy
    if response["Content-Type"].startswith("text/html"):
        assert_markup_within(response, nonce)
    return policy


def assert_markup_within(response: Any, nonce: str | None) -> None:
    """No inline script without the nonce, no inline styles, nothing from another host."""
    markup = markup_of(response.content.decode())
    for script in markup.inline_scripts:
        assert nonce, f"inline script on a page without a nonce: {script}"
        assert script.get("nonce") == nonce, f"inline script without the nonce: {script}"
    assert not markup.handlers, markup.handlers
    assert not markup.style_attributes, markup.style_attributes
    assert markup.style_elements == 0
    for url in markup.urls:
        parts = urlsplit(url)
        assert not parts.scheme, f"loads from another host: {url}"
        assert not parts.netloc, f"loads from another host: {url}"


# --- pages that nobody may frame ---------------------------------------------------------


def test_the_hosted_gate_form_and_content(client: Client, gate: Gate) -> None:
    form = client.get(f"/g/{gate.slug}")
    assert form.status_code == 200
    assert assert_page_keeps_its_policy(form, section_images=True)["frame-ancestors"] == ["'none'"]
    assert form["X-Frame-Options"] == "DENY"
    lead = make_lead()
    token = access_token_make(lead_id=lead.pk, visitor_id=uuid.uuid4(), gate_slug=gate.slug)
    content = client.get(f"/g/{gate.slug}", {"t": token})
    assert content.status_code == 200
    assert 'data-leadgate-section="' in content.content.decode()
    assert assert_page_keeps_its_policy(content, section_images=True)["frame-ancestors"] == [
        "'none'"
    ]


@pytest.mark.parametrize("path", ["/", "/g/no-such-gate", "/app/login/", "/admin/login/"])
def test_public_pages(client: Client, gate: Gate, path: str) -> None:
    response = client.get(path)
    assert response.status_code in {200, 404}
    policy = assert_page_keeps_its_policy(response, section_images=path.startswith("/g/"))
    assert policy["frame-ancestors"] == ["'none'"]


def test_api_answers_carry_it_too(client: Client, gate: Gate) -> None:
    response = client.get(f"/api/v1/public/gates/{gate.slug}")
    assert response.status_code == 200
    assert assert_page_keeps_its_policy(response)["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize(
    "path",
    [
        "/app/",
        "/app/gates/",
        "/app/gates/new",
        "/app/gates/{slug}/",
        "/app/gates/{slug}/content",
        "/app/leads/",
        "/app/scoring/",
        "/app/webhooks/",
        "/app/sources/",
        "/app/team/",
    ],
)
def test_workspace_pages(marketer_client: Client, gate: Gate, path: str) -> None:
    response = marketer_client.get(path.format(slug=gate.slug))
    assert response.status_code == 200
    builder = path in ("/app/gates/new", "/app/gates/{slug}/")
    policy = assert_page_keeps_its_policy(response, section_images=builder)
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/forms_app/gate/", "/admin/forms_app/gate/{pk}/change/"]
)
def test_admin_pages(admin_client_: Client, gate: Gate, path: str) -> None:
    response = admin_client_.get(path.format(pk=gate.pk))
    assert response.status_code == 200
    assert assert_page_keeps_its_policy(response)["frame-ancestors"] == ["'none'"]


# --- the embed: framed by its gate's sites only ------------------------------------------


def test_the_embed_may_be_framed_by_its_gates_origins_only(client: Client, gate: Gate) -> None:
    response = client.get(f"/g/{gate.slug}/embed")
    assert response.status_code == 200
    policy = assert_page_keeps_its_policy(response, section_images=True)
    assert sorted(policy["frame-ancestors"]) == [
        "http://localhost:8080",
        "https://www.brightline-fibre.example",
    ]
    # X-Frame-Options has no allow-list: DENY or SAMEORIGIN would override nothing in
    # today's browsers but break old ones, so the embed sends none.
    assert "X-Frame-Options" not in response
    other = make_gate(allowed_origins=["https://other.example"])
    assert policy_of(client.get(f"/g/{other.slug}/embed"))["frame-ancestors"] == [
        "https://other.example"
    ]


def test_an_embed_with_no_allowed_origins_may_be_framed_by_no_one(client: Client) -> None:
    gate = make_gate(allowed_origins=[])
    assert policy_of(client.get(f"/g/{gate.slug}/embed"))["frame-ancestors"] == ["'none'"]
    assert policy_of(client.get("/g/no-such-gate/embed"))["frame-ancestors"] == ["'none'"]


def test_the_embeds_redirect_after_the_form_keeps_the_gates_origins(
    client: Client, gate: Gate
) -> None:
    response = client.post(
        f"/g/{gate.slug}/embed", {"name": "Ada", "email": "ada@brightline-fibre.example"}
    )
    assert response.status_code == 303
    assert "https://www.brightline-fibre.example" in policy_of(response)["frame-ancestors"]


def test_origins_edited_in_the_admin_cannot_rewrite_the_policy(client: Client) -> None:
    gate = make_gate()
    # The admin stores the JSON list as typed, without the API's validation.
    Gate.objects.filter(pk=gate.pk).update(
        allowed_origins=[
            "https://ok.example",
            "https://evil.example; script-src *",
            "https://evil.example 'unsafe-inline'",
            "*",
            "https://*.example",
            "javascript:alert(1)",
            42,
        ]
    )
    header = client.get(f"/g/{gate.slug}/embed")["Content-Security-Policy"]
    policy = policy_of(client.get(f"/g/{gate.slug}/embed"))
    assert policy["frame-ancestors"] == ["https://ok.example"]
    assert policy["script-src"] == ["'self'"]
    assert "evil" not in header
    assert "*" not in header


# --- the workspace's live preview: framed by the workspace --------------------------------


@pytest.mark.parametrize("mode", ["page", "embed", "content"])
def test_the_gate_builders_preview_may_be_framed_by_the_workspace(
    marketer_client: Client, gate: Gate, mode: str
) -> None:
    response = marketer_client.get(f"/app/gates/{gate.slug}/preview/{mode}")
    assert response.status_code == 200
    policy = assert_page_keeps_its_policy(response, section_images=True)
    assert policy["frame-ancestors"] == ["'self'"]
    assert response["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.parametrize("mode", ["page", "embed", "content"])
def test_the_builders_live_preview_keeps_the_policy(
    marketer_client: Client, gate: Gate, mode: str
) -> None:
    # Shown in the builder's frame as srcdoc, under the builder page's own policy.
    response = marketer_client.post(
        f"/app/gates/preview?mode={mode}",
        {
            "title": "Draft",
            "slug": gate.slug,
            "stage": "interest",
            "sections-TOTAL_FORMS": "1",
            "sections-0-key": "a",
            "sections-0-title": "A",
            "sections-0-body": "**Hi**",
        },
    )
    assert response.status_code == 200
    assert assert_page_keeps_its_policy(response, section_images=True)


# --- the API reader -------------------------------------------------------------------------


def test_the_api_reader_gets_only_what_redoc_needs(client: Client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = policy_of(response)
    # Redoc's bundle inserts <style> elements and sets style attributes (no nonce can
    # reach them); its search runs in a blob: worker. Scripts stay 'self' only.
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert policy["script-src"] == ["'self'"]
    for directive, sources in SITE_WIDE.items():
        if directive != "style-src":
            assert policy[directive] == sources, (directive, policy[directive])
    assert policy["frame-ancestors"] == ["'none'"]
    assert_markup_within(response, None)


def test_other_pages_do_not_get_the_api_readers_allowances(client: Client, gate: Gate) -> None:
    policy = policy_of(client.get(f"/g/{gate.slug}"))
    assert "worker-src" not in policy
    assert policy["style-src"] == ["'self'"]
    assert policy_of(client.get("/api/schema/"))["style-src"] == ["'self'"]


# --- templates ------------------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)


def test_no_template_has_inline_script_without_a_nonce_or_inline_styles() -> None:
    """Pages the tests above do not render (the sandbox inbox, error pages) too."""
    templates = [p for d in TEMPLATE_DIRS for p in d.rglob("*.html")]
    assert len(templates) > 20
    problems = []
    for path in templates:
        text = path.read_text()
        for match in INLINE_SCRIPT.finditer(text):
            if "nonce=" not in match.group(0):
                problems.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
        problems += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in HANDLER.finditer(text)]
        problems += [
            f"{path.relative_to(ROOT)}: {m.group(0)}" for m in STYLE_ATTRIBUTE.finditer(text)
        ]
    assert not problems, "\n".join(problems)


def test_the_template_scan_finds_what_it_looks_for() -> None:
    bad = '<script>x()</script><form onsubmit="return confirm()"><i style="color:red">'
    assert INLINE_SCRIPT.search(bad)
    assert HANDLER.search(bad)
    assert STYLE_ATTRIBUTE.search(bad)
    good = '<script src="/static/a.js" defer></script><script nonce="{{ n }}">x()</script>'
    assert [m.group(0) for m in INLINE_SCRIPT.finditer(good)] == ['<script nonce="{{ n }}">']
