"""The hosted gate page (`/g/{slug}`), its iframe variant, and the tracked download.

Everything goes through Django's test client as a browser without JavaScript would.
"""

from __future__ import annotations

import re
import secrets
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.base import ContentFile

from config import ratelimit
from forms_app.access import access_token_make
from forms_app.models import (
    FormField,
    Gate,
    GateFile,
    QuarantinedSubmission,
    Section,
    Stage,
    Submission,
)
from forms_app.selectors import spam_tally_totals
from profiling.models import Event, Lead, ScoringRule, ScoringSettings, Visitor

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _gate(stage: str = Stage.INTEREST, **fields: Any) -> Gate:
    gate = Gate.objects.create(
        slug=fields.pop("slug", f"vbook-{secrets.token_hex(3)}"),
        title=fields.pop("title", "Reliable connectivity"),
        stage=stage,
        headline="Keep your business online",
        description="Six short chapters.",
        **fields,
    )
    for position, key in enumerate(["why-fiber", "outages-cost", "redundancy"]):
        Section.objects.create(
            gate=gate,
            key=key,
            title=f"Chapter {key}",
            body=f"First paragraph of {key}.\n\nSecond <b>paragraph</b>.",
            position=position,
        )
    map_file = GateFile(gate=gate, key="network-map", title="Network map (PDF)")
    map_file.upload.save("network-map.pdf", ContentFile(PDF_BYTES), save=False)
    map_file.save()
    GateFile.objects.create(
        gate=gate, key="price-list", title="Price list", url="https://cdn.example.com/p.pdf"
    )
    return gate


@pytest.fixture
def gate() -> Gate:
    return _gate()


def _post(client: Any, gate: Gate, query: str = "", **data: Any) -> Any:
    payload = {"name": "Ada Lovelace", "email": "ada@example-fibre.com", "website": ""}
    payload.update(data)
    return client.post(f"/g/{gate.slug}{query}", payload)


def _token_for(gate: Gate) -> tuple[str, Lead, uuid.UUID]:
    lead = Lead.objects.create(email=f"p-{secrets.token_hex(3)}@example.com", name="P")
    visitor_id = uuid.uuid4()
    Visitor.objects.create(id=visitor_id, lead=lead)
    return (
        access_token_make(lead_id=lead.id, visitor_id=visitor_id, gate_slug=gate.slug),
        lead,
        visitor_id,
    )


# --- the page ------------------------------------------------------------------------------


def test_interest_gate_renders_the_minimal_accessible_form(client: Any, gate: Gate) -> None:
    response = client.get(f"/g/{gate.slug}")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<form method="post"' in html
    assert "csrfmiddlewaretoken" in html
    assert '<label for="id_name">Name</label>' in html
    assert re.search(r'<input id="id_name" name="name"[^>]*autocomplete="name"', html)
    assert re.search(
        r'<input id="id_email" name="email"[^>]*type="email"[^>]*autocomplete="email"', html
    )
    assert f'<label for="id_subscribe">{gate.subscribe_label}</label>' in html
    # The notice sits next to the submit button and describes it.
    assert 'aria-describedby="lg-consent"' in html
    assert 'id="lg-consent">We&#x27;ll email you this content.' in html
    # Honeypot: hidden from people and assistive technology, not focusable.
    assert re.search(r'<div class="lg-hp" aria-hidden="true">', html)
    assert re.search(r'name="website"[^>]*tabindex="-1"[^>]*autocomplete="off"', html)
    # Nothing banned is asked.
    for banned in ("phone", "company", "budget", "address", "job"):
        assert f'name="{banned}' not in html
    # The content itself is not on the page before the form.
    assert "data-leadgate-section" not in html
    assert "First paragraph of why-fiber" not in html
    assert "/files/network-map" not in html
    # But the visitor sees what is inside, and the tracker is loaded.
    assert "Chapter why-fiber" in html
    assert f'data-gate="{gate.slug}"' in html
    assert f'data-min-dwell-ms="{gate.min_dwell_ms}"' in html
    assert f'data-idle-ms="{gate.idle_timeout_ms}"' in html
    assert response["Cache-Control"].startswith("private") or "private" in response["Cache-Control"]


def test_epiphany_gate_has_no_form_and_shows_content(client: Any) -> None:
    gate = _gate(Stage.EPIPHANY)
    response = client.get(f"/g/{gate.slug}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<form" not in html
    assert 'data-leadgate-section="why-fiber"' in html
    assert f'href="/g/{gate.slug}/files/network-map"' in html


def test_unknown_or_inactive_gate_is_404(client: Any) -> None:
    assert client.get("/g/no-such-gate").status_code == 404
    gate = _gate(is_active=False)
    response = client.get(f"/g/{gate.slug}")
    assert response.status_code == 404
    assert b"not available" in response.content
    assert client.get(f"/g/{gate.slug}/embed").status_code == 404


def test_utm_and_referrer_are_carried_as_hidden_inputs(client: Any, gate: Gate) -> None:
    response = client.get(
        f"/g/{gate.slug}?utm_source=linkedin&utm_medium=social&utm_campaign=q4",
        HTTP_REFERER="https://www.linkedin.com/feed/",
    )
    html = response.content.decode()
    assert '<input type="hidden" name="utm_source" value="linkedin">' in html
    assert '<input type="hidden" name="utm_medium" value="social">' in html
    assert '<input type="hidden" name="utm_campaign" value="q4">' in html
    assert '<input type="hidden" name="referrer" value="https://www.linkedin.com/feed/">' in html
    # Search engines list the gate under one address, without the campaign's parameters.
    assert f'<link rel="canonical" href="http://testserver/g/{gate.slug}">' in html


# --- the no-JavaScript submission ----------------------------------------------------------


def test_post_creates_lead_and_submission_sets_cookies_and_redirects(client: Any) -> None:
    gate = _gate()
    response = _post(
        client,
        gate,
        "?utm_source=linkedin&utm_campaign=q4",
        name="  Ada Lovelace  ",
        email="Ada@Example-Fibre.com",
        subscribe="1",
        utm_source="linkedin",
        utm_campaign="q4",
        referrer="https://www.linkedin.com/feed/",
    )
    assert response.status_code == 303
    location = response["Location"]
    assert location.startswith(f"/g/{gate.slug}?t=")

    lead = Lead.objects.get(email="ada@example-fibre.com")
    assert lead.name == "Ada Lovelace"
    assert lead.subscribed is True
    assert lead.utm_source == "linkedin"
    assert lead.referrer == "https://www.linkedin.com/feed/"
    submission = Submission.objects.get(gate=gate)
    assert submission.lead_id == lead.id
    assert submission.consent_text == gate.consent_text
    assert submission.subscribed is True
    assert submission.utm_campaign == "q4"
    assert submission.page_url.endswith(f"/g/{gate.slug}?utm_source=linkedin&utm_campaign=q4")

    vid_cookie = response.cookies["lg_vid"]
    visitor_id = uuid.UUID(vid_cookie.value)
    assert vid_cookie["samesite"] == "Lax"
    assert int(vid_cookie["max-age"]) == 365 * 24 * 3600
    assert Visitor.objects.get(id=visitor_id).lead_id == lead.id
    access_cookie = response.cookies[f"lg_access_{gate.slug}"]
    assert access_cookie["httponly"]
    assert access_cookie["samesite"] == "Lax"
    assert location.endswith(access_cookie.value.replace(":", "%3A"))

    # Following the redirect shows the content.
    page = client.get(location)
    html = page.content.decode()
    assert page.status_code == 200
    assert "<form" not in html
    assert 'role="status"' in html
    assert (
        '<section class="lg-section" data-leadgate-section="why-fiber" id="section-why-fiber"'
        in html
    )
    # Bodies are escaped text in paragraphs.
    assert "<p>First paragraph of why-fiber.</p>" in html
    assert "Second &lt;b&gt;paragraph&lt;/b&gt;." in html
    assert f"/g/{gate.slug}/files/network-map?t=" in html


def test_post_reuses_the_visitor_cookie(client: Any, gate: Gate) -> None:
    visitor_id = uuid.uuid4()
    client.cookies["lg_vid"] = str(visitor_id)
    response = _post(client, gate)
    assert response.status_code == 303
    assert response.cookies["lg_vid"].value == str(visitor_id)
    lead = Lead.objects.get(email="ada@example-fibre.com")
    assert Visitor.objects.get(id=visitor_id).lead_id == lead.id


def test_post_needs_the_csrf_token(client: Any, gate: Gate) -> None:
    client.handler.enforce_csrf_checks = True
    response = _post(client, gate)
    assert response.status_code == 403
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        # Plain words, never the validation library's ("The part after the @-sign...").
        ({"email": "not-an-email"}, "email", "Enter an email address like name@example.com."),
        ({"email": "ada@"}, "email", "Enter an email address like name@example.com."),
        ({"email": "jo@exa_mple.com"}, "email", "Enter an email address like name@example.com."),
        ({"email": ""}, "email", "Enter your email address, like name@example.com."),
        ({"email": "a" * 250 + "@x.io"}, "email", "Enter an email address of at most 254"),
        ({"name": "   "}, "name", "Enter your name."),
        ({"name": "x" * 201}, "name", "Enter a name of at most 200 characters."),
    ],
)
def test_invalid_input_shows_linked_errors(
    client: Any, gate: Gate, data: dict[str, str], field: str, message: str
) -> None:
    response = _post(client, gate, **data)
    assert response.status_code == 400
    html = response.content.decode()
    error_id = f"id_{field}-error"
    assert re.search(
        rf'<input id="id_{field}"[^>]*aria-invalid="true" aria-describedby="{error_id}"', html
    )
    error = re.search(rf'<p class="lg-error" id="{error_id}">([^<]*)</p>', html)
    assert error is not None
    assert message in error.group(1).lower() or message in error.group(1)
    # The error summary links to the field; the other values are kept.
    assert f'<a href="#id_{field}">' in html
    assert not Lead.objects.exists()
    assert not Submission.objects.exists()


def test_valid_fields_are_kept_after_an_error(client: Any, gate: Gate) -> None:
    response = _post(client, gate, email="nope", subscribe="1")
    html = response.content.decode()
    assert 'value="Ada Lovelace"' in html
    assert re.search(r'id="id_subscribe" name="subscribe" value="1" checked', html)
    assert 'aria-invalid="true"' not in html.split('id="id_name"')[1].split(">")[0]


def test_honeypot_looks_like_success_and_is_only_counted(client: Any, gate: Gate) -> None:
    response = _post(client, gate, website="http://spam.example")
    assert response.status_code == 303
    assert response["Location"].startswith(f"/g/{gate.slug}?t=")
    assert not Lead.objects.exists()
    assert not Submission.objects.exists()
    assert not Visitor.objects.exists()
    assert not QuarantinedSubmission.objects.exists()
    assert spam_tally_totals(gate=gate)["honeypot"] == 1
    # The fake token grants nothing.
    page = client.get(response["Location"])
    assert "data-leadgate-section" not in page.content.decode()


def test_decision_gate_asks_one_question_progressively(client: Any) -> None:
    gate = _gate(Stage.DECISION)
    FormField.objects.create(
        gate=gate, name="links", type="choice", label="How many sites?", choices=["1", "2-5", "6+"]
    )
    FormField.objects.create(
        gate=gate, name="provider", label="Who connects you today?", position=1
    )
    html = client.get(f"/g/{gate.slug}").content.decode()
    assert '<select id="id_q_links" name="q_links"' in html
    assert "q_provider" not in html
    response = _post(client, gate, q_links="2-5")
    assert response.status_code == 303
    assert Submission.objects.get(gate=gate).answers == {"links": "2-5"}
    # Next visit of the same browser: the next question, never the answered one.
    client.cookies.pop(f"lg_access_{gate.slug}")
    html = client.get(f"/g/{gate.slug}").content.decode()
    assert "q_links" not in html
    assert 'name="q_provider"' in html


# --- access ----------------------------------------------------------------------------------


def test_content_hidden_without_token_and_shown_with_one(client: Any, gate: Gate) -> None:
    token, _, _ = _token_for(gate)
    assert "data-leadgate-section" not in client.get(f"/g/{gate.slug}").content.decode()
    assert "data-leadgate-section" not in client.get(f"/g/{gate.slug}?t=forged").content.decode()
    other = _gate()
    other_token, _, _ = _token_for(other)
    assert (
        "data-leadgate-section"
        not in client.get(f"/g/{gate.slug}?t={other_token}").content.decode()
    )

    response = client.get(f"/g/{gate.slug}", {"t": token})
    assert response.status_code == 200
    assert 'data-leadgate-section="redundancy"' in response.content.decode()
    # A lead's personal link points search engines at the public gate.
    canonical = f'<link rel="canonical" href="http://testserver/g/{gate.slug}">'
    assert canonical in response.content.decode()
    assert canonical in client.get(f"/g/{gate.slug}/embed", {"t": token}).content.decode()
    # The token link also unlocks later visits through the cookie.
    assert response.cookies[f"lg_access_{gate.slug}"].value == token
    again = client.get(f"/g/{gate.slug}")
    assert 'data-leadgate-section="redundancy"' in again.content.decode()


def test_embed_is_frameable_and_the_page_is_not(client: Any, gate: Gate) -> None:
    page = client.get(f"/g/{gate.slug}")
    assert page["X-Frame-Options"] == "DENY"
    embed = client.get(f"/g/{gate.slug}/embed")
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed
    html = embed.content.decode()
    assert "lg-embed" in html
    assert "lg-footer" not in html
    assert '<form method="post"' in html


def test_embed_post_works_without_csrf_cookie_and_stays_in_the_frame(
    client: Any, gate: Gate
) -> None:
    client.handler.enforce_csrf_checks = True
    response = client.post(
        f"/g/{gate.slug}/embed",
        {"name": "Grace", "email": "grace@example-fibre.com", "website": ""},
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 303
    assert response["Location"].startswith(f"/g/{gate.slug}/embed?t=")
    assert Lead.objects.filter(email="grace@example-fibre.com").exists()
    foreign = client.post(
        f"/g/{gate.slug}/embed",
        {"name": "Eve", "email": "eve@example-fibre.com", "website": ""},
        HTTP_ORIGIN="https://evil.example",
    )
    assert foreign.status_code == 403
    assert not Lead.objects.filter(email="eve@example-fibre.com").exists()


# --- the tracked download -------------------------------------------------------------------


def test_download_without_token_is_403_on_gated_stage(client: Any, gate: Gate) -> None:
    response = client.get(f"/g/{gate.slug}/files/network-map")
    assert response.status_code == 403
    assert f'href="/g/{gate.slug}"' in response.content.decode()
    assert client.get(f"/g/{gate.slug}/files/network-map?t=forged").status_code == 403
    assert not Event.objects.exists()


def test_download_unknown_file_or_gate_is_404(client: Any, gate: Gate) -> None:
    token, _, _ = _token_for(gate)
    assert client.get(f"/g/{gate.slug}/files/nope?t={token}").status_code == 404
    assert client.get(f"/g/nope/files/network-map?t={token}").status_code == 404


def test_download_with_token_records_server_event_and_serves_file(
    client: Any, gate: Gate, django_capture_on_commit_callbacks: Any
) -> None:
    token, lead, visitor_id = _token_for(gate)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/g/{gate.slug}/files/network-map", {"t": token})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" not in response.get("Content-Disposition", "")
    assert b"".join(response.streaming_content) == PDF_BYTES
    event = Event.objects.get()
    assert event.type == "download"
    assert event.source == "server"
    assert event.gate_id == gate.id
    assert event.file_key == "network-map"
    assert event.visitor_id == visitor_id
    assert event.lead_id == lead.id
    assert event.url == f"http://testserver/g/{gate.slug}/files/network-map"  # no token


def test_download_by_cookie_and_url_file_redirects(client: Any, gate: Gate) -> None:
    token, _, _ = _token_for(gate)
    client.cookies[f"lg_access_{gate.slug}"] = token
    response = client.get(f"/g/{gate.slug}/files/price-list")
    assert response.status_code == 302
    assert response["Location"] == "https://cdn.example.com/p.pdf"
    assert Event.objects.get().file_key == "price-list"


def test_epiphany_download_is_open_and_tracked_by_visitor_cookie(client: Any) -> None:
    gate = _gate(Stage.EPIPHANY)
    visitor_id = uuid.uuid4()
    client.cookies["lg_vid"] = str(visitor_id)
    response = client.get(f"/g/{gate.slug}/files/network-map")
    assert response.status_code == 200
    event = Event.objects.get()
    assert event.visitor_id == visitor_id
    assert event.lead_id is None
    # Without a cookie, a new visitor is made and remembered.
    client.cookies.pop("lg_vid")
    response = client.get(f"/g/{gate.slug}/files/network-map")
    new_vid = uuid.UUID(response.cookies["lg_vid"].value)
    assert Event.objects.filter(visitor_id=new_vid).count() == 1


def test_form_then_map_download_makes_the_lead_hot(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The model case without JavaScript: submit, download the map, the lead is hot."""
    gate = _gate()
    ScoringSettings.objects.update_or_create(
        pk=1, defaults={"warm_threshold": 30, "hot_threshold": 80}
    )
    ScoringRule.objects.create(
        name="Map",
        event_type="download",
        gate=gate,
        file_key="network-map",
        points=50,
        makes_hot=True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        location = _post(client, gate)["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            client.get(
                location.replace(f"/g/{gate.slug}?", f"/g/{gate.slug}/files/network-map?")
            ).status_code
            == 200
        )
    lead = Lead.objects.get(email="ada@example-fibre.com")
    assert lead.grade == "hot"


def test_home_lists_active_gates(client: Any, gate: Gate, settings: Any) -> None:
    hidden = _gate(is_active=False, title="Hidden gate")
    html = client.get("/").content.decode()
    assert f'href="/g/{gate.slug}"' in html
    assert f'href="/g/{hidden.slug}"' not in html
    for link in ("/admin/", "/api/docs/"):
        assert f'href="{link}"' in html
    # The sandbox inbox is linked only when it exists (LEADGATE_SANDBOX).
    assert 'href="/sandbox/crm/"' not in html
    settings.LEADGATE_SANDBOX = True
    assert 'href="/sandbox/crm/"' in client.get("/").content.decode()


def test_home_leads_marketers_to_the_workspace(client: Any, settings: Any) -> None:
    """The root page's "For marketers" list starts with the workspace (/app/); the admin
    is a footnote for administrators, not a marketer's way in."""
    settings.LEADGATE_SANDBOX = True
    html = client.get("/").content.decode()
    marketers = html.split('id="tools-title"', 1)[1].split("</ul>", 1)[0]
    links = re.findall(r'href="([^"]+)"', marketers)
    assert links[0] == "/app/"
    assert "/admin/" not in links
    assert 'href="/admin/"' in html  # still reachable, below the list
    assert client.get(links[0]).status_code == 302  # the workspace's sign-in


def test_token_link_in_a_new_browser_adopts_the_leads_visitor(client: Any, gate: Gate) -> None:
    token, _, visitor_id = _token_for(gate)
    response = client.get(f"/g/{gate.slug}", {"t": token})
    assert response.cookies["lg_vid"].value == str(visitor_id)
    # A browser with its own visitor keeps it: a forwarded link merges nobody.
    own = uuid.uuid4()
    client.cookies["lg_vid"] = str(own)
    response = client.get(f"/g/{gate.slug}", {"t": token})
    assert "lg_vid" not in response.cookies


def test_too_many_submissions_from_one_ip_is_429(
    client: Any, gate: Gate, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.LEADGATE_SUBMIT_LIMIT_PER_IP = 2
    # One fixed window for all three posts: on a busy machine they could straddle a
    # minute boundary, and a new window starts counting afresh.
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_010.0))
    for n in range(2):
        assert _post(client, gate, email=f"p{n}@example-fibre.com").status_code == 303
    response = _post(client, gate, email="p3@example-fibre.com")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    html = response.content.decode()
    assert "Too many submissions" in html
    assert 'value="p3@example-fibre.com"' in html
    assert not Lead.objects.filter(email="p3@example-fibre.com").exists()


# --- spam: the signed render-time form token (no-JavaScript form) -------------------------


def _rendered_token(html: str) -> str:
    match = re.search(r'<input type="hidden" name="form_token" value="([^"]+)">', html)
    assert match, "the form has no form_token"
    return match.group(1)


def _aged_token(gate: Gate, seconds_ago: float = 10) -> str:
    import time

    from forms_app.spam import form_token_make

    return form_token_make(
        gate_slug=gate.slug, issued_at_ms=int((time.time() - seconds_ago) * 1000)
    )


@pytest.mark.form_token
def test_the_form_carries_a_signed_token_for_its_gate(client: Any, gate: Gate) -> None:
    from forms_app.spam import TokenVerdict, form_token_check

    token = _rendered_token(client.get(f"/g/{gate.slug}").content.decode())
    assert form_token_check(token, gate_slug=gate.slug) is TokenVerdict.OK
    # The iframe variant too.
    embed_token = _rendered_token(client.get(f"/g/{gate.slug}/embed").content.decode())
    assert form_token_check(embed_token, gate_slug=gate.slug) is TokenVerdict.OK


@pytest.mark.form_token
def test_a_person_with_the_rendered_token_gets_the_content(
    client: Any, gate: Gate, settings: Any
) -> None:
    settings.LEADGATE_FORM_MIN_FILL_MS = 0
    token = _rendered_token(client.get(f"/g/{gate.slug}").content.decode())
    response = _post(client, gate, form_token=token)
    assert response.status_code == 303
    assert Lead.objects.filter(email="ada@example-fibre.com").exists()


@pytest.mark.form_token
@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("missing", "missing"),
        ("forged", "forged"),
        ("too-fast", "too_fast"),
        ("other-gate", "forged"),
    ],
)
def test_suspect_posts_are_redirected_like_a_success_and_held(
    client: Any, gate: Gate, settings: Any, kind: str, reason: str
) -> None:
    from forms_app.spam import form_token_make

    settings.LEADGATE_FORM_MIN_FILL_MS = 3000
    visitor_id = uuid.uuid4()
    data: dict[str, str] = {"visitor_id": str(visitor_id), "subscribe": "1"}
    if kind == "forged":
        data["form_token"] = _aged_token(gate)[:-2] + "xx"
    elif kind == "too-fast":
        data["form_token"] = form_token_make(gate_slug=gate.slug)
    elif kind == "other-gate":
        data["form_token"] = _aged_token(_gate())
    response = _post(client, gate, query="?utm_source=newsletter", **data)
    assert "lg_vid" not in response.cookies  # as before: a success's shape, no cookies
    real = _post(client, gate, email="real@example-fibre.com", form_token=_aged_token(gate))
    assert response.status_code == real.status_code == 303
    assert response["Location"].startswith(f"/g/{gate.slug}?t=")
    assert not Lead.objects.filter(email="ada@example-fibre.com").exists()
    assert not Visitor.objects.filter(pk=visitor_id).exists()
    assert Submission.objects.count() == 1
    held = QuarantinedSubmission.objects.get()
    assert (held.gate_id, held.reason, held.via) == (gate.id, reason, "form")
    assert (held.name, held.email, held.subscribed) == (
        "Ada Lovelace",
        "ada@example-fibre.com",
        True,
    )
    assert held.visitor_id == visitor_id
    assert held.page_url == f"http://testserver/g/{gate.slug}?utm_source=newsletter"
    # The fake token unlocks nothing.
    page = client.get(response["Location"])
    client.cookies.clear()
    assert "data-leadgate-section" not in client.get(response["Location"]).content.decode()
    assert page.status_code == 200


@pytest.mark.form_token
def test_a_suspect_post_with_invalid_fields_looks_the_same_and_is_only_counted(
    client: Any, gate: Gate, settings: Any
) -> None:
    from forms_app.spam import form_token_make

    settings.LEADGATE_FORM_MIN_FILL_MS = 3000
    response = _post(
        client, gate, email="not-an-email", form_token=form_token_make(gate_slug=gate.slug)
    )
    # No field errors: they would tell a bot its token passed.
    assert response.status_code == 303
    assert response["Location"].startswith(f"/g/{gate.slug}?t=")
    assert not QuarantinedSubmission.objects.exists()
    assert not Lead.objects.exists()
    assert spam_tally_totals(gate=gate) == {"honeypot": 0, "discarded": 1}


@pytest.mark.form_token
def test_an_expired_form_asks_again_with_a_fresh_token(
    client: Any, gate: Gate, settings: Any
) -> None:
    from forms_app.spam import TokenVerdict, form_token_check

    settings.LEADGATE_FORM_TOKEN_MAX_AGE_S = 60
    settings.LEADGATE_FORM_MIN_FILL_MS = 0
    response = _post(client, gate, form_token=_aged_token(gate, seconds_ago=120))
    assert response.status_code == 400
    html = response.content.decode()
    assert "open too long" in html
    assert 'value="Ada Lovelace"' in html  # what the visitor typed is kept
    assert form_token_check(_rendered_token(html), gate_slug=gate.slug) is TokenVerdict.OK
    assert not Lead.objects.exists()


@pytest.mark.form_token
def test_a_form_with_errors_keeps_its_token_so_the_time_spent_counts(
    client: Any, gate: Gate, settings: Any
) -> None:
    settings.LEADGATE_FORM_MIN_FILL_MS = 5000
    token = _aged_token(gate, seconds_ago=6)
    response = _post(client, gate, email="not-an-email", form_token=token)
    assert response.status_code == 400
    assert _rendered_token(response.content.decode()) == token
    # Fixing the email at once is not "too fast": the form was rendered 6 s ago.
    assert _post(client, gate, form_token=token).status_code == 303
    assert Lead.objects.filter(email="ada@example-fibre.com").exists()


def test_the_embed_script_stays_within_its_budget() -> None:
    """Budget: under 6 KB gzipped as served (the built static/leadgate.js), no
    dependencies, no cookies sent to leadgate, no fingerprinting."""
    from bench.embed_size import BUDGET_GZIP_BYTES, SCRIPT, SOURCES, sizes

    measured = sizes()
    assert measured.gzip9 < BUDGET_GZIP_BYTES, measured
    assert measured.gzip6 < BUDGET_GZIP_BYTES, measured
    served = SCRIPT.read_text()
    sources = {path.name: path.read_text() for path in sorted(SOURCES.glob("*.js"))}
    assert "index.js" in sources
    # The sources import only each other; the bundle is one classic script.
    imports = {
        (name, imported)
        for name, text in sources.items()
        for imported in re.findall(r'\b(?:from|import)\s*"([^"]+)"', text)
    }
    assert ("index.js", "./gate-form.js") in imports
    outside = [(name, imported) for name, imported in imports if not imported.startswith("./")]
    assert outside == []
    assert not [name for name, text in sources.items() if "require(" in text]
    assert "import " not in served
    assert "require(" not in served
    # First-party storage only: no third-party cookies or fingerprinting APIs.
    for text in (served, *sources.values()):
        for forbidden in (
            "canvas",
            "getContext",
            "AudioContext",
            "navigator.plugins",
            "hardwareConcurrency",
        ):
            assert forbidden not in text, forbidden
    # Every request to leadgate leaves the host site's cookies behind.
    fetches = re.findall(r"\bfetch\(", served)
    assert len(fetches) == 3
    assert len(re.findall(r'credentials:"omit"', served)) == len(fetches)


def test_the_tracker_knows_when_the_visitor_has_identified(client: Any, gate: Gate) -> None:
    """With GPC/DNT on, leadgate.js tracks only identified visitors: the page says which."""
    form_page = client.get(f"/g/{gate.slug}").content.decode()
    assert "data-leadgate-hosted-form" in form_page
    assert 'data-identified="1"' not in form_page
    token, _lead, _vid = _token_for(gate)
    content_page = client.get(f"/g/{gate.slug}?t={token}").content.decode()
    assert re.search(r'<script [^>]*leadgate\.js[^>]*data-identified="1"', content_page)
    # Open content (epiphany) is anonymous: no such mark.
    open_page = client.get(f"/g/{_gate(Stage.EPIPHANY).slug}").content.decode()
    assert 'data-identified="1"' not in open_page


def test_a_required_opt_in_is_asked_for_in_plain_words() -> None:
    """No stage requires the opt-in today; a form whose spec did says so in plain words."""
    from forms_app.forms import GateForm
    from forms_app.stage_policy import FieldSpec

    specs = [
        FieldSpec("name", "text", "Name", True),
        FieldSpec("email", "email", "Work email", True),
        FieldSpec("subscribe", "checkbox", "I agree", True),
    ]
    form = GateForm({"name": "Ada", "email": "ada@example.com"}, specs=specs)
    assert not form.is_valid()
    assert form.errors["subscribe"] == ["Tick the box to agree before you continue."]
    ticked = GateForm({"name": "Ada", "email": "ada@example.com", "subscribe": "1"}, specs=specs)
    assert ticked.is_valid(), ticked.errors


def test_home_says_how_to_log_in_to_the_demo(client: Any, settings: Any) -> None:
    """The demo's root page leads to /app/ and names the marketer's demo login; a real
    install (sandbox off) never prints a password."""
    from forms_app.demo.logins import demo_logins_ensure, demo_password

    demo_logins_ensure()
    settings.LEADGATE_SANDBOX = True
    html = client.get("/").content.decode()
    start = html.split('id="start-title"', 1)[1].split("</section>", 1)[0]
    assert 'href="/app/"' in start
    assert (
        f"Demo login: user <strong>marketer</strong>, password "
        f"<strong>{demo_password('marketer')}</strong>"
    ) in start
    settings.LEADGATE_SANDBOX = False
    html = client.get("/").content.decode()
    assert 'href="/app/"' in html.split('id="start-title"', 1)[1]
    assert "Demo login" not in html
    assert demo_password("marketer") not in html
