"""Marketer API: a gate file's PDF, read inline page by page.

`POST /api/v1/gates/{slug}/files/{key}/pdf` (multipart: `file`, optional `read_inline`)
checks the PDF at once (a corrupt, password-protected, oversized or too long PDF is a
400 or 413 saying so) and renders its pages in the background; `GET` on the same URL
tells how far rendering is, with the chapters from the PDF's outline.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import error_body
from config.openapi import errors
from config.roles import MarketerOnly
from forms_app.links import base_url
from forms_app.models import GateFile
from forms_app.pdf import PdfRefused
from forms_app.selectors import gate_file_get
from forms_app.services.pdf import gate_file_pdf_attach, pdf_too_large_message

# Room for the multipart envelope and the other fields around the file itself.
MULTIPART_SLACK = 64 * 1024


class PdfUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="The PDF (at most LEADGATE_PDF_MAX_BYTES, 50 MB by default)."
    )
    read_inline = serializers.BooleanField(
        required=False, help_text="Show it page by page on the gate (default: true)."
    )


class PdfChapterSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    first_page = serializers.IntegerField()
    last_page = serializers.IntegerField()


class PdfStateSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    read_inline = serializers.BooleanField()
    status = serializers.CharField(source="pdf_status", help_text="pending, ready or failed")
    page_count = serializers.IntegerField(source="pdf_page_count")
    pages_ready = serializers.IntegerField(source="pdf_pages_ready")
    error = serializers.CharField(source="pdf_error")
    chapters = serializers.SerializerMethodField()
    viewer_url = serializers.SerializerMethodField()
    tracked_url = serializers.SerializerMethodField()

    def get_chapters(self, gate_file: GateFile) -> list[dict[str, Any]]:
        return [
            {"key": c.key, "title": c.title, "first_page": c.first_page, "last_page": c.last_page}
            for c in gate_file.pdf_chapters.all()
        ]

    def get_viewer_url(self, gate_file: GateFile) -> str:
        return f"{base_url(self.context['request'])}/g/{gate_file.gate.slug}/read/{gate_file.key}"

    def get_tracked_url(self, gate_file: GateFile) -> str:
        return f"{base_url(self.context['request'])}/g/{gate_file.gate.slug}/files/{gate_file.key}"


class GateFilePdfApi(APIView):
    permission_classes = [MarketerOnly]
    parser_classes = [MultiPartParser, FormParser]

    def _file(self, slug: str, key: str) -> GateFile:
        gate_file = gate_file_get(gate_slug=slug, key=key)
        if gate_file is None:
            raise NotFound("No file with this key on this gate.")
        return gate_file

    def _answer(self, request: Request, gate_file: GateFile, status: int = 200) -> Response:
        return Response(PdfStateSerializer(gate_file, context={"request": request}).data, status)

    @extend_schema(responses=PdfStateSerializer)
    def get(self, request: Request, slug: str, key: str) -> Response:
        return self._answer(request, self._file(slug, key))

    @extend_schema(
        request={"multipart/form-data": PdfUploadSerializer},
        responses={
            202: PdfStateSerializer,
            **errors(
                (400, "Not a readable PDF, password-protected, or too many pages."),
                (413, "The PDF is larger than LEADGATE_PDF_MAX_BYTES."),
            ),
        },
    )
    def post(self, request: Request, slug: str, key: str) -> Response:
        gate_file = self._file(slug, key)
        # Refused before the body is read: a 2 GB upload is not spooled to disk first.
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.LEADGATE_PDF_MAX_BYTES + MULTIPART_SLACK:
            return Response(error_body({"file": [pdf_too_large_message()]}), status=413)
        serializer = PdfUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if upload.size > settings.LEADGATE_PDF_MAX_BYTES:
            return Response(error_body({"file": [pdf_too_large_message()]}), status=413)
        try:
            gate_file = gate_file_pdf_attach(
                gate_file=gate_file,
                data=upload.read(),
                name=upload.name or f"{key}.pdf",
                # A form without the field means the default (a missing HTML checkbox
                # would otherwise read as false).
                read_inline=(
                    serializer.validated_data.get("read_inline", True)
                    if "read_inline" in request.data
                    else True
                ),
            )
        except PdfRefused as exc:
            return Response(error_body({"file": [str(exc)]}), status=400)
        return self._answer(request, self._file(slug, key), status=202)
