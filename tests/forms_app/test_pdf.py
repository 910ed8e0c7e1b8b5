"""PDFs read inline: checking uploads, rendering pages in the background (lazily, first
pages first), the reader page and its images, the upload API and the gate builder."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from forms_app.access import access_token_make
from forms_app.models import Gate, GateFile, PdfChapter, PdfPage, PdfStatus, Stage
from forms_app.pdf import NOT_A_PDF, PASSWORD_PROTECTED, PdfRefused, pdf_inspect
from forms_app.services.pdf import RENDER_CHUNK, gate_file_pdf_attach, pdf_render_next
from tests.support.api import assert_error
from tests.support.factories import make_gate, make_marketer
from tests.support.pdfs import pdf_bytes

pytestmark = pytest.mark.django_db

CHAPTERS = [("Coverage", 1), ("Buildings on net", 3), ("Pricing", 5)]


def _map_file(stage: str = Stage.INTEREST) -> GateFile:
    gate = make_gate(stage=stage, files=("network-map",))
    return GateFile.objects.get(gate=gate, key="network-map")


def _attach(gate_file: GateFile, data: bytes, capture: Any, *, render: bool = True) -> GateFile:
    """Attach and, with `render`, run the render tasks the commit enqueues (eagerly)."""
    with capture(execute=render):
        gate_file_pdf_attach(gate_file=gate_file, data=data, name="map.pdf", read_inline=True)
    gate_file.refresh_from_db()
    return gate_file


# --- checking an upload (cheap, in the request) ------------------------------------------


def test_inspect_reads_pages_and_outline_chapters() -> None:
    info = pdf_inspect(pdf_bytes(6, chapters=CHAPTERS), max_pages=100)
    assert [p.number for p in info.pages] == [1, 2, 3, 4, 5, 6]
    assert info.pages[0].width == 1200
    assert info.pages[0].height > 1600
    assert [(c.key, c.title, c.first_page, c.last_page) for c in info.chapters] == [
        ("coverage", "Coverage", 1, 2),
        ("buildings-on-net", "Buildings on net", 3, 4),
        ("pricing", "Pricing", 5, 6),
    ]


def test_inspect_without_outline_has_no_chapters() -> None:
    assert pdf_inspect(pdf_bytes(2), max_pages=100).chapters == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 a zip file, not a PDF", NOT_A_PDF),
        (b"%PDF-1.7\n" + b"\x00garbage" * 100, NOT_A_PDF),
        (pdf_bytes(3)[:400], NOT_A_PDF),  # truncated
        (pdf_bytes(2, password="s3cret"), PASSWORD_PROTECTED),
    ],
    ids=["not-pdf", "corrupt", "truncated", "password"],
)
def test_inspect_refuses_unreadable_pdfs(data: bytes, message: str) -> None:
    with pytest.raises(PdfRefused, match=re.escape(message)):
        pdf_inspect(data, max_pages=100)


def test_inspect_refuses_too_many_pages() -> None:
    with pytest.raises(PdfRefused, match="has 12 pages; at most 10"):
        pdf_inspect(pdf_bytes(12), max_pages=10)


# --- rendering in the background ----------------------------------------------------------


def test_attach_writes_pages_and_chapters_and_renders_nothing_in_the_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    gate_file = _attach(
        _map_file(),
        pdf_bytes(6, chapters=CHAPTERS),
        django_capture_on_commit_callbacks,
        render=False,
    )
    assert gate_file.read_inline
    assert gate_file.pdf_status == PdfStatus.PENDING
    assert gate_file.pdf_page_count == 6
    assert gate_file.pdf_pages_ready == 0
    pages = list(PdfPage.objects.filter(gate_file=gate_file))
    assert [p.number for p in pages] == [1, 2, 3, 4, 5, 6]
    assert all(p.image == "" for p in pages)
    assert [p.chapter_key for p in pages] == [
        "coverage", "coverage", "buildings-on-net", "buildings-on-net", "pricing", "pricing",
    ]  # fmt: skip
    assert list(PdfChapter.objects.filter(gate_file=gate_file).values_list("key", flat=True)) == [
        "coverage", "buildings-on-net", "pricing",
    ]  # fmt: skip
    with gate_file.upload.open("rb") as handle:
        assert handle.read(5) == b"%PDF-"


def test_render_task_renders_images_and_text(django_capture_on_commit_callbacks: Any) -> None:
    gate_file = _attach(
        _map_file(), pdf_bytes(3, words="Dual path ring"), django_capture_on_commit_callbacks
    )
    assert gate_file.pdf_status == PdfStatus.READY
    assert gate_file.pdf_pages_ready == 3
    for page in PdfPage.objects.filter(gate_file=gate_file):
        assert page.image.endswith(f"/p{page.number}.webp")
        with default_storage.open(page.image, "rb") as handle:
            head = handle.read(16)
        assert head[:4] == b"RIFF"
        assert head[8:12] == b"WEBP"
        assert page.width == 1200
        assert page.height > 1600
        # The lighter copy for phones and the reader's column, of the same shape.
        assert page.image_small.endswith(f"/p{page.number}-small.webp")
        with default_storage.open(page.image_small, "rb") as handle:
            small = Image.open(io.BytesIO(handle.read()))
        assert small.format == "WEBP"
        assert small.width == 720
        assert abs(small.height - page.height * 720 / 1200) <= 1
        assert f"Dual path ring {page.number}" in page.text
        assert page.words >= 4


def test_hundreds_of_pages_render_lazily_first_pages_first(
    django_capture_on_commit_callbacks: Any,
) -> None:
    gate_file = _attach(
        _map_file(), pdf_bytes(250), django_capture_on_commit_callbacks, render=False
    )
    # Each task renders one chunk, the first pages first, and enqueues the next one.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        remaining = pdf_render_next(gate_file_id=gate_file.pk, version=gate_file.pdf_version)
    assert remaining == 250 - RENDER_CHUNK
    assert len(queued) == 1  # the next chunk
    rendered = set(
        PdfPage.objects.filter(gate_file=gate_file)
        .exclude(image="")
        .values_list("number", flat=True)
    )
    assert rendered == set(range(1, RENDER_CHUNK + 1))
    pdf_render_next(gate_file_id=gate_file.pk, version=gate_file.pdf_version)
    gate_file.refresh_from_db()
    assert gate_file.pdf_status == PdfStatus.PENDING
    assert gate_file.pdf_pages_ready == 2 * RENDER_CHUNK
    # The reader already shows every page: images for the rendered ones, placeholders
    # of the right shape for the rest.
    html = _reader(gate_file).content.decode()
    assert html.count("data-leadgate-section=") == 250
    assert html.count('class="lg-pdf-image"') == 2 * RENDER_CHUNK
    assert html.count('class="lg-pdf-placeholder"') == 250 - 2 * RENDER_CHUNK
    assert "20 of 250 pages are ready" in html


def test_a_new_upload_stops_the_old_uploads_tasks(django_capture_on_commit_callbacks: Any) -> None:
    gate_file = _attach(
        _map_file(), pdf_bytes(30), django_capture_on_commit_callbacks, render=False
    )
    old_version = gate_file.pdf_version
    gate_file = _attach(gate_file, pdf_bytes(2), django_capture_on_commit_callbacks, render=False)
    assert pdf_render_next(gate_file_id=gate_file.pk, version=old_version) == 0
    assert not PdfPage.objects.filter(gate_file=gate_file).exclude(image="").exists()
    assert pdf_render_next(gate_file_id=gate_file.pk, version=gate_file.pdf_version) == 0
    gate_file.refresh_from_db()
    assert gate_file.pdf_status == PdfStatus.READY
    assert gate_file.pdf_page_count == 2


def test_rendering_again_is_idempotent(django_capture_on_commit_callbacks: Any) -> None:
    gate_file = _attach(_map_file(), pdf_bytes(2), django_capture_on_commit_callbacks)
    images = list(PdfPage.objects.filter(gate_file=gate_file).values_list("image", flat=True))
    # A redelivered task of a finished document changes nothing.
    assert pdf_render_next(gate_file_id=gate_file.pk, version=gate_file.pdf_version) == 0
    assert (
        list(PdfPage.objects.filter(gate_file=gate_file).values_list("image", flat=True)) == images
    )


def test_a_missing_upload_fails_with_a_message(django_capture_on_commit_callbacks: Any) -> None:
    gate_file = _attach(_map_file(), pdf_bytes(2), django_capture_on_commit_callbacks, render=False)
    default_storage.delete(str(gate_file.upload.name))
    pdf_render_next(gate_file_id=gate_file.pk, version=gate_file.pdf_version)
    gate_file.refresh_from_db()
    assert gate_file.pdf_status == PdfStatus.FAILED
    assert "could not be rendered" in gate_file.pdf_error


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_renders_the_pages(celery_worker_process: Any, wait: Any) -> None:
    gate_file = _map_file()
    gate_file_pdf_attach(
        gate_file=gate_file, data=pdf_bytes(25, chapters=CHAPTERS), name="map.pdf", read_inline=True
    )

    def done() -> bool:
        gate_file.refresh_from_db()
        return gate_file.pdf_status == PdfStatus.READY

    wait(done, timeout=60, message=lambda: f"{gate_file.pdf_pages_ready} of 25 pages ready")
    assert gate_file.pdf_pages_ready == 25
    pages = PdfPage.objects.filter(gate_file=gate_file)
    assert all(default_storage.exists(p.image) for p in pages)
    assert "Fibre ring page 25" in pages.get(number=25).text


# --- the reader and its images ------------------------------------------------------------


def _reader(gate_file: GateFile, client: Client | None = None, query: str = "") -> Any:
    client = client or _unlocked(gate_file)
    return client.get(f"/g/{gate_file.gate.slug}/read/{gate_file.key}{query}")


def _unlocked(gate_file: GateFile) -> Client:
    client = Client()
    token = access_token_make(
        gate_slug=gate_file.gate.slug, lead_id=uuid.uuid4(), visitor_id=uuid.uuid4()
    )
    client.cookies[f"lg_access_{gate_file.gate.slug}"] = token
    return client


def test_reader_page_has_tracked_pages_text_and_chapters(
    django_capture_on_commit_callbacks: Any,
) -> None:
    gate_file = _attach(
        _map_file(), pdf_bytes(6, chapters=CHAPTERS), django_capture_on_commit_callbacks
    )
    response = _reader(gate_file)
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    html = response.content.decode()
    assert f'data-leadgate-file="{gate_file.key}"' in html
    for n in range(1, 7):
        assert f'data-leadgate-section="p{n}"' in html
        assert f'id="page-{n}"' in html
        # The extracted text is in the HTML, for search engines and screen readers.
        assert f"Fibre ring page {n}" in html
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) == 6
    for img in images:
        assert re.search(r'width="1200" height="\d+"', img)
        assert 'alt="Page ' in img
        # The browser picks the copy its screen needs.
        assert re.search(r'srcset="[^"]+\?v=\d+&amp;w=720 720w, [^"]+\?v=\d+ 1200w"', img), img
        assert 'sizes="(min-width: 46rem) 44rem, calc(100vw - 2rem)"' in img
    assert 'loading="eager"' in images[0]
    assert all('loading="lazy"' in img for img in images[1:])
    # The outline's chapters, as a list of anchors to their first pages.
    nav = html[html.index('aria-labelledby="chapters-title"') :]
    assert '<a href="#page-1">Coverage <span class="lg-pdf-range">pp. 1\u20132</span></a>' in nav
    assert '<a href="#page-3">Buildings on net <span' in nav
    assert '<a href="#page-5">Pricing <span' in nav
    # The tracker runs there, from our own host; no inline script or style.
    assert re.search(r'<script src="/static/leadgate\.js" data-gate="[^"]+"', html)
    assert "<style" not in html
    assert "style=" not in html
    assert "<script>" not in html
    # Search engines are pointed at the gate, not at a URL that may carry a lead's token.
    assert f'<link rel="canonical" href="http://testserver/g/{gate_file.gate.slug}">' in html


def test_reader_of_a_german_gate_is_in_german(django_capture_on_commit_callbacks: Any) -> None:
    gate_file = _attach(_map_file(), pdf_bytes(2), django_capture_on_commit_callbacks)
    Gate.objects.filter(pk=gate_file.gate_id).update(language="de")
    html = _reader(gate_file).content.decode()
    assert '<html lang="de">' in html
    assert "2 Seiten" in html
    assert "PDF herunterladen" in html
    assert "Seite 1 von 2" in html
    forbidden = _reader(gate_file, Client())
    assert forbidden.status_code == 403
    assert "Tell us where" not in forbidden.content.decode()
    assert "Sagen Sie uns, wohin wir sie senden dürfen" in forbidden.content.decode()


def test_reader_of_a_gated_file_needs_access(django_capture_on_commit_callbacks: Any) -> None:
    gate_file = _attach(_map_file(), pdf_bytes(2), django_capture_on_commit_callbacks)
    response = _reader(gate_file, Client())
    assert response.status_code == 403
    assert b"Get access to" in response.content
    image = Client().get(f"/g/{gate_file.gate.slug}/read/{gate_file.key}/pages/1")
    assert image.status_code == 403


def test_reader_of_an_open_gate_needs_no_form(django_capture_on_commit_callbacks: Any) -> None:
    gate_file = _attach(
        _map_file(stage=Stage.EPIPHANY), pdf_bytes(2), django_capture_on_commit_callbacks
    )
    assert _reader(gate_file, Client()).status_code == 200


def test_reader_of_a_file_not_read_inline_is_not_found(
    django_capture_on_commit_callbacks: Any,
) -> None:
    gate_file = _attach(_map_file(), pdf_bytes(2), django_capture_on_commit_callbacks)
    GateFile.objects.filter(pk=gate_file.pk).update(read_inline=False)
    assert _reader(gate_file).status_code == 404


def test_page_images_are_served_and_cached_by_version(
    django_capture_on_commit_callbacks: Any,
) -> None:
    gate_file = _attach(_map_file(), pdf_bytes(2), django_capture_on_commit_callbacks)
    client = _unlocked(gate_file)
    base = f"/g/{gate_file.gate.slug}/read/{gate_file.key}/pages"
    response = client.get(f"{base}/2?v={gate_file.pdf_version}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    body = response.getvalue()
    assert body[8:12] == b"WEBP"
    assert "max-age=31536000" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert "immutable" in response["Cache-Control"]
    small = client.get(f"{base}/2?v={gate_file.pdf_version}&w=720")
    assert small.status_code == 200
    assert "immutable" in small["Cache-Control"]
    assert Image.open(io.BytesIO(small.getvalue())).width == 720
    assert Image.open(io.BytesIO(body)).width == 1200
    # Any other width is the full one: the URL names a copy, it does not resize.
    assert client.get(f"{base}/2?v={gate_file.pdf_version}&w=300").getvalue() == body
    stale = client.get(f"{base}/2?v=0")
    assert "no-cache" in stale["Cache-Control"]
    assert client.get(f"{base}/3").status_code == 404


def test_gate_content_links_the_reader(django_capture_on_commit_callbacks: Any) -> None:
    gate_file = _attach(_map_file(), pdf_bytes(2), django_capture_on_commit_callbacks)
    html = _unlocked(gate_file).get(f"/g/{gate_file.gate.slug}").content.decode()
    assert f'href="/g/{gate_file.gate.slug}/read/{gate_file.key}?t=' in html
    assert "Read it here" in html


# --- the upload API -----------------------------------------------------------------------


def _post(gate_file: GateFile, data: bytes, **extra: Any) -> Any:
    marketer = make_marketer()
    client = Client(HTTP_AUTHORIZATION=f"Token {marketer.token}")
    upload = SimpleUploadedFile("network map.pdf", data, content_type="application/pdf")
    return client.post(
        f"/api/v1/gates/{gate_file.gate.slug}/files/{gate_file.key}/pdf",
        {"file": upload, **extra},
    )


def test_api_upload_accepts_a_pdf_and_reports_progress(
    django_capture_on_commit_callbacks: Any,
) -> None:
    gate_file = _map_file()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(gate_file, pdf_bytes(6, chapters=CHAPTERS))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["page_count"] == 6
    assert body["read_inline"]
    assert body["chapters"][2] == {
        "key": "pricing",
        "title": "Pricing",
        "first_page": 5,
        "last_page": 6,
    }
    assert body["viewer_url"].endswith(f"/g/{gate_file.gate.slug}/read/network-map")
    marketer = make_marketer()
    state = Client(HTTP_AUTHORIZATION=f"Token {marketer.token}").get(
        f"/api/v1/gates/{gate_file.gate.slug}/files/network-map/pdf"
    )
    assert state.json()["status"] == "ready"
    assert state.json()["pages_ready"] == 6
    gate = Client(HTTP_AUTHORIZATION=f"Token {marketer.token}").get(
        f"/api/v1/gates/{gate_file.gate.slug}"
    )
    listed = gate.json()["files"][0]
    assert listed["read_inline"] is True
    assert listed["pdf_status"] == "ready"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"just some text, not a PDF at all", "This file is not a readable PDF."),
        (b"%PDF-1.4\n" + b"\xff\x00broken" * 50, "This file is not a readable PDF."),
        (pdf_bytes(2, password="s3cret"), "This PDF is password-protected"),
    ],
    ids=["not-pdf", "corrupt", "password"],
)
def test_api_upload_refuses_unreadable_pdfs(data: bytes, message: str) -> None:
    gate_file = _map_file()
    errors = assert_error(_post(gate_file, data), 400, "file")
    assert message in errors["file"][0]
    gate_file.refresh_from_db()
    assert gate_file.pdf_status == ""
    assert not gate_file.read_inline


def test_api_upload_refuses_an_oversized_pdf(settings: Any) -> None:
    settings.LEADGATE_PDF_MAX_BYTES = 2 * 1024 * 1024
    gate_file = _map_file()
    data = pdf_bytes(1) + b"%" + b"0" * (2 * 1024 * 1024)
    errors = assert_error(_post(gate_file, data), 413, "file")
    assert "larger than 2 MB" in errors["file"][0]
    # Far over the limit: refused from its Content-Length, before the body is read.
    errors = assert_error(_post(gate_file, data + b"0" * 200_000), 413, "file")
    assert "larger than 2 MB" in errors["file"][0]


def test_api_upload_refuses_too_many_pages(settings: Any) -> None:
    settings.LEADGATE_PDF_MAX_PAGES = 5
    errors = assert_error(_post(_map_file(), pdf_bytes(6)), 400, "file")
    assert "has 6 pages; at most 5" in errors["file"][0]


def test_api_upload_needs_a_file_and_a_known_file_key() -> None:
    gate_file = _map_file()
    marketer = make_marketer()
    client = Client(HTTP_AUTHORIZATION=f"Token {marketer.token}")
    assert_error(
        client.post(f"/api/v1/gates/{gate_file.gate.slug}/files/network-map/pdf", {}), 400, "file"
    )
    assert_error(client.get(f"/api/v1/gates/{gate_file.gate.slug}/files/nope/pdf"), 404)


# --- the gate builder ---------------------------------------------------------------------


def _builder_form(gate_file: GateFile, upload: Any, read_inline: bool = True) -> dict[str, Any]:
    gate = gate_file.gate
    data: dict[str, Any] = {
        "title": gate.title,
        "slug": gate.slug,
        "stage": gate.stage,
        "headline": gate.headline,
        "description": gate.description,
        "submit_label": gate.submit_label,
        "subscribe_label": gate.subscribe_label,
        "consent_text": gate.consent_text,
        "email_content": "on",
        "allowed_origins": "",
        "min_dwell_s": "5",
        "is_active": "on",
        "files-0-key": gate_file.key,
        "files-0-title": gate_file.title,
        "files-0-url": "",
        "files-0-upload": upload,
    }
    if read_inline:
        data["files-0-read_inline"] = "on"
    for prefix, total in (("sections", 0), ("files", 1), ("fields", 0)):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(total),
                f"{prefix}-INITIAL_FORMS": str(total),
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    return data


def _marketer_client() -> Client:
    client = Client()
    client.force_login(make_marketer().user)
    return client


def test_builder_uploads_a_pdf_read_inline(django_capture_on_commit_callbacks: Any) -> None:
    gate_file = _map_file()
    upload = SimpleUploadedFile("map.pdf", pdf_bytes(4, chapters=CHAPTERS[:2]))
    client = _marketer_client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/app/gates/{gate_file.gate.slug}/", _builder_form(gate_file, upload)
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    gate_file.refresh_from_db()
    assert gate_file.read_inline
    assert gate_file.pdf_status == PdfStatus.READY
    assert gate_file.pdf_page_count == 4
    page = client.get(f"/app/gates/{gate_file.gate.slug}/").content.decode()
    assert "PDF read inline: 4 pages, ready." in page
    assert f'href="/g/{gate_file.gate.slug}/read/{gate_file.key}"' in page


def test_builder_refuses_a_password_protected_pdf_on_its_row() -> None:
    gate_file = _map_file()
    upload = SimpleUploadedFile("map.pdf", pdf_bytes(2, password="s3cret"))
    response = _marketer_client().post(
        f"/app/gates/{gate_file.gate.slug}/", _builder_form(gate_file, upload)
    )
    assert response.status_code == 400
    assert "This PDF is password-protected" in response.content.decode()
    gate_file.refresh_from_db()
    assert gate_file.pdf_status == ""
    assert not gate_file.read_inline


def test_the_sweep_enqueues_stalled_renders_only(django_capture_on_commit_callbacks: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from forms_app.services.pdf import pdf_render_sweep

    stalled = _attach(_map_file(), pdf_bytes(2), django_capture_on_commit_callbacks, render=False)
    moving = _attach(_map_file(), pdf_bytes(2), django_capture_on_commit_callbacks, render=False)
    GateFile.objects.filter(pk=stalled.pk).update(
        pdf_progress_at=timezone.now() - timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert pdf_render_sweep() == 1
    assert len(queued) == 1
    stalled.refresh_from_db()
    moving.refresh_from_db()
    assert stalled.pdf_status == PdfStatus.READY
    assert moving.pdf_status == PdfStatus.PENDING


def test_builder_makes_an_uploaded_pdf_readable_inline(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.core.files.base import ContentFile

    gate_file = _map_file()
    gate_file.url = ""
    gate_file.upload.save("map.pdf", ContentFile(pdf_bytes(3)), save=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = _marketer_client().post(
            f"/app/gates/{gate_file.gate.slug}/", _builder_form(gate_file, "")
        )
    assert response.status_code == 302
    gate_file.refresh_from_db()
    assert gate_file.read_inline
    assert (gate_file.pdf_status, gate_file.pdf_page_count) == (PdfStatus.READY, 3)


def test_builder_needs_a_pdf_to_read_inline() -> None:
    gate_file = _map_file()  # a link only, no upload
    response = _marketer_client().post(
        f"/app/gates/{gate_file.gate.slug}/", _builder_form(gate_file, "")
    )
    assert response.status_code == 400
    assert "Upload a PDF to read it inline." in response.content.decode()


def test_api_gate_update_turns_reading_inline_off(django_capture_on_commit_callbacks: Any) -> None:
    gate_file = _attach(_map_file(), pdf_bytes(2), django_capture_on_commit_callbacks)
    marketer = make_marketer()
    client = Client(HTTP_AUTHORIZATION=f"Token {marketer.token}")
    body = {"files": [{"key": "network-map", "title": "Network map", "read_inline": False}]}
    response = client.patch(
        f"/api/v1/gates/{gate_file.gate.slug}", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["files"][0]["read_inline"] is False
    assert _reader(gate_file).status_code == 404
    # The download is as it was.
    gate_file.refresh_from_db()
    assert gate_file.upload


def test_page_images_go_with_their_pages(django_capture_on_commit_callbacks: Any) -> None:
    gate_file = _attach(_map_file(), pdf_bytes(2), django_capture_on_commit_callbacks)
    first = [
        name
        for pair in PdfPage.objects.filter(gate_file=gate_file).values_list("image", "image_small")
        for name in pair
    ]
    assert len(first) == 4
    assert all(default_storage.exists(name) for name in first)
    # A new upload: the old images are deleted once it commits.
    gate_file = _attach(gate_file, pdf_bytes(1), django_capture_on_commit_callbacks)
    assert not any(default_storage.exists(name) for name in first)
    page = PdfPage.objects.get(gate_file=gate_file)
    second = [page.image, page.image_small]
    assert all(default_storage.exists(name) for name in second)
    # Deleting the gate deletes its files' pages and their images.
    with django_capture_on_commit_callbacks(execute=True):
        gate_file.gate.delete()
    assert not any(default_storage.exists(name) for name in second)
