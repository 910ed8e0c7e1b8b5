"""The tracked download: a gate's file, recorded server-side as a download event."""

from __future__ import annotations

import mimetypes
import os
import uuid

from django.http import FileResponse, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_http_methods

from forms_app.models import Gate, GateFile
from forms_app.selectors import gate_get_active
from forms_app.views.common import (
    _base,
    _not_found,
    _private,
    _set_visitor_cookie,
    access_for,
    visitor_id_from,
)
from profiling.services.ingest import NewEvent, events_ingest


@require_http_methods(["GET", "HEAD"])
def gate_file(request: HttpRequest, slug: str, key: str) -> HttpResponseBase:
    gate = gate_get_active(slug=slug)
    if gate is None:
        return _not_found(request)
    with translation.override(gate.language):
        return _gate_file_answer(request, gate, key)


def _gate_file_answer(request: HttpRequest, gate: Gate, key: str) -> HttpResponseBase:
    gate_file_row: GateFile | None = next((f for f in gate.files.all() if f.key == key), None)
    if gate_file_row is None:
        return _not_found(request)
    access, _token = access_for(request, gate)
    if gate.is_gated and access is None:
        response = render(
            request,
            "forms_app/file_forbidden.html",
            {"gate": gate, "file": gate_file_row, "base_template": _base(False)},
            status=403,
        )
        return _private(response)

    # Open the file before recording the download: a missing upload is a 404, not a
    # download that never happened.
    served: HttpResponseBase
    if gate_file_row.upload:
        try:
            handle = gate_file_row.upload.open("rb")
        except FileNotFoundError:
            return _not_found(request)
        filename = os.path.basename(gate_file_row.upload.name or "") or f"{key}.bin"
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        served = FileResponse(
            handle, as_attachment=False, filename=filename, content_type=content_type
        )
    elif gate_file_row.url:
        served = HttpResponseRedirect(gate_file_row.url)
    else:
        return _not_found(request)

    new_visitor = False
    if access is not None:
        visitor_id = access.visitor_id
    else:
        cookie_vid = visitor_id_from(request)
        new_visitor = cookie_vid is None
        visitor_id = cookie_vid or uuid.uuid4()
    if request.method == "GET":
        # Server-side, so it counts even when the tracker is blocked. The token is left
        # out of the recorded URL: it grants access and must not sit in event rows.
        events_ingest(
            visitor_id=visitor_id,
            events=[
                NewEvent(
                    id=uuid.uuid4(),
                    type="download",
                    gate_id=gate.id,
                    file_key=gate_file_row.key,
                    url=request.build_absolute_uri(request.path),
                )
            ],
            source="server",
        )
    if new_visitor:
        _set_visitor_cookie(served, request, visitor_id)
    return _private(served)
