"""The PDF reader: a gate file's PDF page by page on the gate, and its page images.

Each page is a tracked section (`data-leadgate-section="p3"` inside the file's
`data-leadgate-file` container), so the tracker reports reading a page as a
section_view of that file. The page's extracted text is in the HTML for search engines
and screen readers; images load lazily, and pages still being rendered show a
placeholder of the right shape. No JavaScript is needed to read.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from forms_app.links import base_url
from forms_app.models import Gate, GateFile, PdfStatus
from forms_app.pdf import PAGE_IMAGE_SMALL_WIDTH
from forms_app.selectors import gate_file_get, gate_get_active, pdf_page_get, pdf_pages
from forms_app.views.common import (
    _not_found,
    _private,
    _set_access_cookie,
    _set_visitor_cookie,
    access_for,
    visitor_id_from,
)

# Versioned image URLs never change their bytes: the browser may keep them for a year.
IMAGE_MAX_AGE_S = 365 * 86400
SMALL = PAGE_IMAGE_SMALL_WIDTH


def _inline_file(gate: Gate, key: str) -> GateFile | None:
    found = next((f for f in gate.files.all() if f.key == key), None)
    return found if found is not None and found.readable_inline else None


def _forbidden(request: HttpRequest, gate: Gate, gate_file: GateFile) -> HttpResponseBase:
    response = render(
        request,
        "forms_app/file_forbidden.html",
        {"gate": gate, "file": gate_file, "base_template": "forms_app/base.html"},
        status=403,
    )
    return _private(response)


@require_GET
def pdf_reader(request: HttpRequest, slug: str, key: str) -> HttpResponseBase:
    gate = gate_get_active(slug=slug)
    gate_file = _inline_file(gate, key) if gate is not None else None
    if gate is None or gate_file is None:
        return _not_found(request)
    with translation.override(gate.language):
        return _pdf_reader_answer(request, gate, gate_file)


def _pdf_reader_answer(request: HttpRequest, gate: Gate, gate_file: GateFile) -> HttpResponseBase:
    slug, key = gate.slug, gate_file.key
    access, token = access_for(request, gate)
    if gate.is_gated and access is None:
        return _forbidden(request, gate, gate_file)
    image_base = reverse("pdf-reader", kwargs={"slug": slug, "key": key}) + "/pages"
    version = gate_file.pdf_version
    pages: list[dict[str, Any]] = [
        {
            "number": p.number,
            "section": p.section_key,
            "src": f"{image_base}/{p.number}?v={version}" if p.image else "",
            # The browser picks the lighter copy where it is sharp enough (phones, the
            # column on a laptop) and the full width on denser screens.
            "srcset": (
                f"{image_base}/{p.number}?v={version}&w={SMALL} {SMALL}w, "
                f"{image_base}/{p.number}?v={version} {p.width}w"
                if p.image and p.image_small
                else ""
            ),
            "width": p.width,
            "height": p.height,
            "text": p.text,
            "chapter": p.chapter_key,
        }
        for p in pdf_pages(gate_file=gate_file)
    ]
    query = f"?t={token}" if token and request.GET.get("t") == token else ""
    gate_url = reverse("gate-page", kwargs={"slug": slug})
    # The URL search engines should list instead of this one, which may carry a lead's
    # personal token: the reader's own address when anyone may read it, else the gate's.
    canonical = (
        gate_url if gate.is_gated else reverse("pdf-reader", kwargs={"slug": slug, "key": key})
    )
    response = render(
        request,
        "forms_app/pdf_reader.html",
        {
            "gate": gate,
            "file": gate_file,
            "pages": pages,
            "chapters": list(gate_file.pdf_chapters.all()),
            "pending": gate_file.pdf_status == PdfStatus.PENDING,
            "gate_href": gate_url + query,
            "canonical_url": base_url(request) + canonical,
            "download_href": reverse("gate-file", kwargs={"slug": slug, "key": key}) + query,
            "base_template": "forms_app/base.html",
            # The visitor gave their name and email under the form's notice (see
            # _render_content in forms_app/views/gate_render.py): the tracker may run with
            # GPC or DNT on.
            "identified": access is not None,
        },
    )
    if access is not None and request.GET.get("t") == token:
        _set_access_cookie(response, request, gate.slug, token)
    if access is not None and visitor_id_from(request) is None:
        _set_visitor_cookie(response, request, access.visitor_id)
    return _private(response)


@require_GET
def pdf_page_image(request: HttpRequest, slug: str, key: str, number: int) -> HttpResponseBase:
    # The file and its gate in one query (not the gate with all its children): a reader
    # asks for several pages at once.
    gate_file = gate_file_get(gate_slug=slug, key=key, active_only=True)
    if gate_file is None or not gate_file.readable_inline:
        return HttpResponse("Not found", status=404, content_type="text/plain")
    gate = gate_file.gate
    access, _token = access_for(request, gate)
    if gate.is_gated and access is None:
        return _private(HttpResponse("Forbidden", status=403, content_type="text/plain"))
    page = pdf_page_get(gate_file=gate_file, number=number)
    if page is None or not page.image:
        return HttpResponse("Not found", status=404, content_type="text/plain")
    # `w`: the lighter copy (the srcset's); a page without one answers with the full width.
    name = (
        page.image_small if request.GET.get("w") == str(SMALL) and page.image_small else page.image
    )
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        return HttpResponse("Not found", status=404, content_type="text/plain")
    response = FileResponse(handle, content_type="image/webp")
    if request.GET.get("v") == str(gate_file.pdf_version):
        # Private: the page of a gated file is the lead's, never a shared cache's.
        patch_cache_control(response, private=True, max_age=IMAGE_MAX_AGE_S, immutable=True)
    else:
        patch_cache_control(response, private=True, no_cache=True)
    return response
