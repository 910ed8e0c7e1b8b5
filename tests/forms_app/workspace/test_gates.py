"""The gate builder: create and edit through gate_save, the friction guard's message
inline, nothing stored on bad input, a preview without tracking, the embed snippet."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from forms_app.models import FormField, Gate, GateFile, Section
from profiling.models import Event
from tests.support.factories import make_gate

pytestmark = pytest.mark.django_db


def gate_post(
    *,
    slug: str = "fibre-guide",
    stage: str = "interest",
    sections: list[dict[str, str]] | None = None,
    files: list[dict[str, Any]] | None = None,
    questions: list[dict[str, str]] | None = None,
    initial: tuple[int, int, int] = (0, 0, 0),
    **main: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "The fibre guide",
        "slug": slug,
        "stage": stage,
        "headline": "Everything about fibre",
        "description": "",
        "submit_label": "Read it",
        "subscribe_label": "Send me more",
        "consent_text": "",
        "allowed_origins": "https://www.example-fibre.com\n",
        "min_dwell_s": "5",
        "is_active": "on",
        **main,
    }
    for prefix, rows, start in (
        ("sections", sections or [], initial[0]),
        ("files", files or [], initial[1]),
        ("fields", questions or [], initial[2]),
    ):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = str(start)
        data[f"{prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
        for i, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{i}-{key}"] = value
    return data


SECTIONS = [
    {"key": "why-fibre", "title": "Why fibre", "body": "Because.", "topics": "fibre, speed"},
    {"key": "costs", "title": "What it costs", "body": "Less than you think.", "topics": "costs"},
]


def test_builder_page_renders_for_new_gate(mclient: Client) -> None:
    html = mclient.get("/app/gates/new").content.decode()
    assert "Create gate" in html
    assert 'id="empty-sections"' in html  # the "Add section" template row


def test_create_gate_with_sections_file_url_and_upload(
    mclient: Client, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    data = gate_post(
        sections=SECTIONS,
        files=[
            {
                "key": "network-map",
                "title": "Network map",
                "url": "https://files.example-fibre.com/map.pdf",
            },
            {
                "key": "price-list",
                "title": "Price list",
                "upload": SimpleUploadedFile(
                    "../../etc/prices.pdf", b"%PDF-1.4 x", "application/pdf"
                ),
            },
        ],
    )
    response = mclient.post("/app/gates/new", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/app/gates/fibre-guide/"
    gate = Gate.objects.get(slug="fibre-guide")
    assert gate.allowed_origins == ["https://www.example-fibre.com"]
    assert gate.min_dwell_ms == 5000
    assert [(s.key, s.topics) for s in gate.sections.all()] == [
        ("why-fibre", ["fibre", "speed"]),
        ("costs", ["costs"]),
    ]
    files = {f.key: f for f in gate.files.all()}
    assert files["network-map"].url.endswith("map.pdf")
    upload_name = str(files["price-list"].upload.name)
    assert upload_name.startswith("gate-files/")
    assert ".." not in upload_name
    page = mclient.get(response["Location"]).content.decode()
    assert "Saved “The fibre guide”" in page
    # The snippet from the API's serializer, ready to copy.
    assert "data-gate=&quot;fibre-guide&quot;" in page
    assert "data-leadgate-form=&quot;fibre-guide&quot;" in page
    assert 'data-copy="embed-snippet"' in page


def test_friction_guard_message_is_shown_inline_and_nothing_is_stored(mclient: Client) -> None:
    data = gate_post(
        stage="decision",
        sections=SECTIONS,
        questions=[
            {
                "name": "main-issue",
                "label": "What is your main network issue?",
                "type": "text",
                "choices": "",
            },
            {"name": "tel", "label": "Your phone number", "type": "text", "choices": ""},
        ],
    )
    response = mclient.post("/app/gates/new", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved" in html
    assert "leadgate does not ask for phone" in html
    # Inline: on the question's own row, after the field that is fine.
    assert html.index("What is your main network issue?") < html.index(
        "leadgate does not ask for phone"
    )
    assert not Gate.objects.filter(slug="fibre-guide").exists()
    assert not Section.objects.filter(key="why-fibre").exists()


def test_questions_only_on_decision_gates_and_at_most_two(mclient: Client) -> None:
    q = {"name": "issue", "label": "Main issue?", "type": "text", "choices": ""}
    response = mclient.post("/app/gates/new", gate_post(stage="interest", questions=[q]))
    assert response.status_code == 400
    assert "custom questions are for decision-stage gates" in response.content.decode()
    three = [dict(q, name=f"q{i}", label=f"Question {i}?") for i in range(3)]
    response = mclient.post("/app/gates/new", gate_post(stage="decision", questions=three))
    assert response.status_code == 400
    assert "At most 2 custom questions" in response.content.decode()
    assert Gate.objects.count() == 0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"slug": "Not A Slug!"}, "lower-case letters"),
        ({"allowed_origins": "https://ok.example.com\nhttps://bad.example.com/path"}, "has a path"),
        ({"title": ""}, "This field is required"),
        ({"min_dwell_s": "-1"}, "greater than or equal to 0"),
        ({"idle_timeout_s": "2"}, "greater than or equal to 5"),
        ({"idle_timeout_s": "3601"}, "less than or equal to 3600"),
        ({"stage": "nirvana"}, "Select a valid choice"),
        ({"title": "x" * 201}, "at most 200 characters"),
    ],
)
def test_bad_gate_fields_are_refused_inline(
    mclient: Client, override: dict[str, Any], message: str
) -> None:
    response = mclient.post("/app/gates/new", gate_post(sections=SECTIONS, **override))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Gate.objects.count() == 0


def test_the_idle_cut_off_is_set_in_seconds_and_kept_when_left_empty(mclient: Client) -> None:
    response = mclient.post("/app/gates/new", gate_post(sections=SECTIONS, idle_timeout_s="45"))
    assert response.status_code == 302, response.content.decode()[:2000]
    gate = Gate.objects.get(slug="fibre-guide")
    assert gate.idle_timeout_ms == 45_000
    page = mclient.get("/app/gates/fibre-guide/").content.decode()
    assert 'name="idle_timeout_s"' in page
    assert 'value="45"' in page
    edited = gate_post(sections=SECTIONS, initial=(2, 0, 0), title="Renamed")
    assert mclient.post("/app/gates/fibre-guide/", edited).status_code == 302
    gate.refresh_from_db()
    assert (gate.title, gate.idle_timeout_ms) == ("Renamed", 45_000)


def test_duplicate_section_keys_and_files_without_source(mclient: Client) -> None:
    dup = [SECTIONS[0], dict(SECTIONS[1], key="why-fibre")]
    response = mclient.post("/app/gates/new", gate_post(sections=dup))
    assert response.status_code == 400
    assert "Duplicate key" in response.content.decode()
    response = mclient.post(
        "/app/gates/new", gate_post(files=[{"key": "map", "title": "Map", "url": ""}])
    )
    assert response.status_code == 400
    assert "Give a url or an upload" in response.content.decode()
    assert Gate.objects.count() == 0


def test_duplicate_slug_is_refused(mclient: Client) -> None:
    make_gate(slug="taken")
    response = mclient.post("/app/gates/new", gate_post(slug="taken"))
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert Gate.objects.filter(slug="taken").count() == 1


def test_hostile_post_is_bounded(mclient: Client) -> None:
    data = gate_post(sections=SECTIONS)
    data["sections-TOTAL_FORMS"] = "100000"  # a forged count builds at most 200 rows
    response = mclient.post("/app/gates/new", data)
    assert response.status_code == 400
    assert "Please submit at most 200 forms" in response.content.decode()
    assert Gate.objects.count() == 0
    data = gate_post(sections=[{"key": "<script>alert(1)</script>", "title": "t"}])
    response = mclient.post("/app/gates/new", data)
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_edit_keeps_ids_and_removes_deleted_rows(mclient: Client) -> None:
    gate = make_gate(slug="edit-me", sections=["a", "b"], files=["map"])
    a = Section.objects.get(gate=gate, key="a")
    page = mclient.get("/app/gates/edit-me/").content.decode()
    assert 'value="a"' in page
    data = gate_post(
        slug="edit-me",
        sections=[
            {"key": "a", "title": "A renamed", "body": "", "topics": ""},
            {"key": "b", "title": "B", "body": "", "topics": "", "DELETE": "on"},
        ],
        files=[{"key": "map", "title": "Map", "url": ""}],  # an existing file keeps its source
        initial=(2, 1, 0),
    )
    response = mclient.post("/app/gates/edit-me/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(Section.objects.filter(gate=gate).values_list("id", "title")) == [
        (a.id, "A renamed")
    ]
    assert GateFile.objects.filter(gate=gate, key="map").exists()


def test_unknown_gate_is_404(mclient: Client) -> None:
    assert mclient.get("/app/gates/nope/").status_code == 404
    assert mclient.get("/app/gates/nope/preview/page").status_code == 404


def test_preview_renders_the_visitor_page_without_tracking(mclient: Client) -> None:
    gate = make_gate(
        slug="preview-me",
        stage="decision",
        questions=[("issue", "What is your main network issue?")],
        is_active=False,
    )
    for mode in ("page", "embed"):
        response = mclient.get(f"/app/gates/preview-me/preview/{mode}")
        assert response.status_code == 200
        assert response["X-Frame-Options"] == "SAMEORIGIN"
        html = response.content.decode()
        assert gate.title in html
        assert 'name="email"' in html
        assert "What is your main network issue?" in html  # decision gate: first question
        assert "leadgate.js" not in html  # the tracker never runs in a preview
    content = mclient.get("/app/gates/preview-me/preview/content").content.decode()
    assert "Section 1" in content
    assert "Network Map" in content
    assert mclient.get("/app/gates/preview-me/preview/other").status_code == 404
    assert Event.objects.count() == 0
    # The builder embeds it sandboxed: no scripts, no form submission.
    builder = mclient.get("/app/gates/preview-me/").content.decode()
    assert 'sandbox="allow-same-origin"' in builder
    assert "/app/gates/preview-me/preview/page" in builder
    assert "Draft:" in builder


def test_delete_gate(mclient: Client) -> None:
    make_gate(slug="bye")
    assert mclient.get("/app/gates/bye/delete").status_code == 405
    response = mclient.post("/app/gates/bye/delete")
    assert response.status_code == 302
    assert not Gate.objects.filter(slug="bye").exists()


def test_gate_list_shows_gates(mclient: Client) -> None:
    make_gate(slug="listed", title="Listed guide")
    html = mclient.get("/app/gates/").content.decode()
    assert "Listed guide" in html
    assert "/g/listed" in html
    assert FormField.objects.count() == 0


def test_the_builder_sets_double_opt_in_off_by_default(mclient: Client) -> None:
    page = mclient.get("/app/gates/new").content.decode()
    assert 'name="double_opt_in"' in page
    assert "Double opt-in" in page
    assert mclient.post("/app/gates/new", gate_post(slug="doi-off")).status_code == 302
    assert Gate.objects.get(slug="doi-off").double_opt_in is False
    response = mclient.post("/app/gates/doi-off/", gate_post(slug="doi-off", double_opt_in="on"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Gate.objects.get(slug="doi-off").double_opt_in is True
    # Django renders a ticked box as `<input type="checkbox" name="double_opt_in" ... checked>`.
    page = mclient.get("/app/gates/doi-off/").content.decode()
    box = re.search(r'<input[^>]*name="double_opt_in"[^>]*>', page)
    assert box is not None
    assert "checked" in box.group(0)


def test_the_builder_sets_the_language_and_previews_in_it(mclient: Client) -> None:
    page = mclient.get("/app/gates/new").content.decode()
    assert '<select name="language"' in page
    assert "Deutsch" in page
    assert mclient.post("/app/gates/new", gate_post(slug="lang-en")).status_code == 302
    assert Gate.objects.get(slug="lang-en").language == "en"  # not sent: English
    response = mclient.post("/app/gates/new", gate_post(slug="lang-de", language="de"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Gate.objects.get(slug="lang-de").language == "de"
    # An edit that leaves the language alone keeps it.
    assert mclient.post("/app/gates/lang-de/", gate_post(slug="lang-de")).status_code == 302
    assert Gate.objects.get(slug="lang-de").language == "de"
    bad = mclient.post("/app/gates/new", gate_post(slug="lang-xx", language="xx"))
    assert bad.status_code == 400
    assert not Gate.objects.filter(slug="lang-xx").exists()
    # The preview shows what a German visitor reads; the builder itself stays English.
    preview = mclient.get("/app/gates/lang-de/preview/page").content.decode()
    assert "Jetzt kostenlos lesen" in preview
    assert "Geschäftliche E-Mail" in preview
    draft = mclient.post(
        "/app/gates/preview?mode=page", gate_post(slug="lang-draft", language="fr")
    ).content.decode()
    assert "Lisez-le maintenant, gratuitement" in draft
    assert "The gate" in mclient.get("/app/gates/lang-de/").content.decode()
