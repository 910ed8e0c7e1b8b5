"""Marketer API: gates with their sections, files and custom questions."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.utils.text import get_valid_filename
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import django_validation_errors, error_body
from config.fields import WholeItemsListSerializer
from config.openapi import errors
from config.roles import MarketerOnly
from forms_app.links import base_url, gate_embed_snippet, gate_hosted_url
from forms_app.models import FieldType, Gate, Language, Stage
from forms_app.selectors import gate_get, gate_list
from forms_app.services.gates import (
    MAX_UPLOAD_BYTES,
    UPLOAD_TOO_LARGE,
    FieldInput,
    FileInput,
    SectionInput,
    gate_delete,
    gate_origins_clean,
    gate_save,
)
from profiling.refusals import CHANNELS as REFUSAL_CHANNELS
from profiling.refusals import REASONS as REFUSAL_REASONS
from profiling.refusals import WINDOW_HOURS as REFUSAL_WINDOW_HOURS
from profiling.refusals import gate_diagnostics

# --- marketer ------------------------------------------------------------------------


class SectionSerializer(serializers.Serializer):
    class Meta:
        list_serializer_class = WholeItemsListSerializer

    key = serializers.CharField(max_length=80)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=100_000)
    topics = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, default=list, max_length=20
    )


class FileSerializer(serializers.Serializer):
    class Meta:
        list_serializer_class = WholeItemsListSerializer

    class UploadSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        content_base64 = serializers.CharField()

    key = serializers.CharField(max_length=80)
    title = serializers.CharField(max_length=200)
    url = serializers.URLField(required=False, allow_blank=True, default="", max_length=1000)
    upload = UploadSerializer(required=False, write_only=True)
    read_inline = serializers.BooleanField(
        required=False,
        help_text=(
            "Let visitors read the file's PDF page by page on the gate (the upload, or the "
            "PDF posted to /files/{key}/pdf). Omitted: unchanged."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        upload = attrs.get("upload")
        if upload:
            try:
                content = base64.b64decode(upload["content_base64"], validate=True)
            except (binascii.Error, ValueError):
                raise serializers.ValidationError(
                    {"upload": "content_base64 is not base64."}
                ) from None
            if len(content) > MAX_UPLOAD_BYTES:
                raise serializers.ValidationError({"upload": UPLOAD_TOO_LARGE})
            # Only the last path component, reduced to safe characters: the name is the
            # client's, and must not steer where the file is stored.
            name = get_valid_filename(upload["name"].replace("\\", "/").rsplit("/", 1)[-1])
            if name in {"", ".", ".."}:
                name = "upload"
            attrs["upload"] = ContentFile(content, name=name)
        return attrs


class FieldSerializer(serializers.Serializer):
    class Meta:
        list_serializer_class = WholeItemsListSerializer

    name = serializers.CharField(max_length=60)
    type = serializers.ChoiceField(choices=FieldType.choices, default=FieldType.TEXT)
    label = serializers.CharField(max_length=200)  # type: ignore[assignment]
    choices = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=20
    )


class GateInputSerializer(serializers.Serializer):
    slug = serializers.CharField(max_length=80)
    title = serializers.CharField(max_length=200)
    stage = serializers.ChoiceField(choices=Stage.choices, default=Stage.INTEREST)
    headline = serializers.CharField(max_length=300, required=False, allow_blank=True)
    description = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    subscribe_label = serializers.CharField(max_length=200, required=False)
    submit_label = serializers.CharField(max_length=60, required=False)
    consent_text = serializers.CharField(max_length=2000, required=False)
    email_content = serializers.BooleanField(required=False)
    double_opt_in = serializers.BooleanField(
        required=False,
        help_text="An opt-in counts only once the person confirms it from an email.",
    )
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False, max_length=50
    )
    min_dwell_ms = serializers.IntegerField(min_value=0, max_value=600_000, required=False)
    # Below 5 s a pause to think is idleness; beyond an hour a walked-away reader counts.
    idle_timeout_ms = serializers.IntegerField(min_value=5_000, max_value=3_600_000, required=False)
    is_active = serializers.BooleanField(required=False)
    language = serializers.ChoiceField(
        choices=Language.choices,
        required=False,
        help_text="The language of everything visitors read: the form, its errors, the "
        "pages and the emails (default English).",
    )
    # max_length on many=True bounds the list (DRF ListSerializer kwarg; stubs lag).
    sections = SectionSerializer(many=True, required=False, max_length=200)  # type: ignore[call-arg]
    files = FileSerializer(many=True, required=False, max_length=50)  # type: ignore[call-arg]
    fields = FieldSerializer(many=True, required=False, max_length=10)  # type: ignore[call-arg,assignment]

    def validate_allowed_origins(self, value: list[str]) -> list[str]:
        try:
            return gate_origins_clean(value)
        except DjangoValidationError as exc:
            errors = django_validation_errors(exc)
            if "allowed_origins" in errors:
                raise serializers.ValidationError(errors["allowed_origins"]) from None
            # Per entry, under this field: "allowed_origins.<index>" in the error body.
            raise serializers.ValidationError(
                {k.removeprefix("allowed_origins."): v for k, v in errors.items()}
            ) from None


class GateOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    stage = serializers.CharField()
    headline = serializers.CharField()
    description = serializers.CharField()
    subscribe_label = serializers.CharField()
    submit_label = serializers.CharField()
    consent_text = serializers.CharField()
    email_content = serializers.BooleanField()
    double_opt_in = serializers.BooleanField()
    allowed_origins = serializers.ListField(child=serializers.CharField())
    min_dwell_ms = serializers.IntegerField()
    idle_timeout_ms = serializers.IntegerField()
    is_active = serializers.BooleanField()
    language = serializers.CharField()
    sections = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    # method_name: Serializer.get_fields() is DRF's own hook and must not be shadowed.
    fields = serializers.SerializerMethodField(method_name="get_custom_fields")  # type: ignore[assignment]
    hosted_url = serializers.SerializerMethodField()
    embed_snippet = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def _base(self) -> str:
        return base_url(self.context["request"])

    def get_sections(self, gate: Gate) -> list[dict[str, Any]]:
        return [
            {"key": s.key, "title": s.title, "body": s.body, "topics": s.topics}
            for s in gate.sections.all()
        ]

    def get_files(self, gate: Gate) -> list[dict[str, Any]]:
        return [
            {
                "key": f.key,
                "title": f.title,
                "url": f.url,
                "has_upload": bool(f.upload),
                "tracked_url": f"{self._base()}/g/{gate.slug}/files/{f.key}",
                "read_inline": f.read_inline,
                "pdf_status": f.pdf_status,
                "pdf_page_count": f.pdf_page_count,
            }
            for f in gate.files.all()
        ]

    def get_custom_fields(self, gate: Gate) -> list[dict[str, Any]]:
        return [
            {"name": f.name, "type": f.type, "label": f.label, "choices": f.choices}
            for f in gate.fields.all()
        ]

    def get_hosted_url(self, gate: Gate) -> str:
        return gate_hosted_url(gate, base=self._base())

    def get_embed_snippet(self, gate: Gate) -> str:
        return gate_embed_snippet(gate, base=self._base())


def _gate_write(gate: Gate | None, data: dict[str, Any]) -> Gate:
    scalars = {k: v for k, v in data.items() if k not in {"sections", "files", "fields"}}
    sections = data.get("sections")
    files = data.get("files")
    fields = data.get("fields")
    try:
        return gate_save(
            gate=gate,
            data=scalars,
            sections=None if sections is None else [SectionInput(**s) for s in sections],
            files=None if files is None else [FileInput(**f) for f in files],
            fields=None if fields is None else [FieldInput(**f) for f in fields],
        )
    except DjangoValidationError as exc:
        raise serializers.ValidationError(django_validation_errors(exc)) from None


class GateListCreateApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(responses=GateOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        gates = gate_list()
        return Response(GateOutputSerializer(gates, many=True, context={"request": request}).data)

    @extend_schema(request=GateInputSerializer, responses={201: GateOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = GateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if Gate.objects.filter(slug=serializer.validated_data["slug"]).exists():
            return Response(error_body({"slug": ["A gate with this slug exists."]}), status=400)
        gate = _gate_write(None, dict(serializer.validated_data))
        gate = gate_get(slug=gate.slug) or gate
        return Response(GateOutputSerializer(gate, context={"request": request}).data, status=201)


class GateDetailApi(APIView):
    permission_classes = [MarketerOnly]

    def _gate(self, slug: str) -> Gate:
        gate = gate_get(slug=slug)
        if gate is None:
            from rest_framework.exceptions import NotFound

            raise NotFound("No gate with this slug.")
        return gate

    @extend_schema(responses=GateOutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(GateOutputSerializer(self._gate(slug), context={"request": request}).data)

    def _update(self, request: Request, slug: str, *, partial: bool) -> Response:
        gate = self._gate(slug)
        serializer = GateInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        new_slug = serializer.validated_data.get("slug", gate.slug)
        if new_slug != gate.slug and Gate.objects.filter(slug=new_slug).exists():
            return Response(error_body({"slug": ["A gate with this slug exists."]}), status=400)
        gate = _gate_write(gate, dict(serializer.validated_data))
        gate = gate_get(slug=gate.slug) or gate
        return Response(GateOutputSerializer(gate, context={"request": request}).data)

    @extend_schema(request=GateInputSerializer, responses=GateOutputSerializer)
    def put(self, request: Request, slug: str) -> Response:
        return self._update(request, slug, partial=False)

    @extend_schema(request=GateInputSerializer, responses=GateOutputSerializer)
    def patch(self, request: Request, slug: str) -> Response:
        return self._update(request, slug, partial=True)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, slug: str) -> Response:
        gate_delete(gate=self._gate(slug))
        return Response(status=status.HTTP_204_NO_CONTENT)


class GateRefusalSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=list(REFUSAL_REASONS),
        help_text="origin: the site is not in allowed_origins; section, file: a key the "
        "gate does not have; inactive: the gate is not live; source: a Segment source that "
        "may not send events for this gate.",
    )
    channel = serializers.ChoiceField(
        choices=list(REFUSAL_CHANNELS),
        help_text="Where the refused requests came in: beacon (leadgate.js and the public "
        "gate endpoints) or segment (the Segment-compatible ingest).",
    )
    source_name = serializers.CharField(
        source="source",
        help_text="The name of the Segment source that sent them (else empty).",
    )
    origin = serializers.CharField(help_text="The Origin of the refused requests.")
    key = serializers.CharField(help_text="The section or file key sent (else empty).")
    count = serializers.IntegerField()
    last_seen = serializers.DateTimeField()
    suggestion = serializers.CharField(
        help_text="The origin to allow, or the key most likely meant (else empty)."
    )
    message = serializers.CharField()


class GateDiagnosticsSerializer(serializers.Serializer):
    window_hours = serializers.IntegerField()
    refusals = GateRefusalSerializer(many=True)


class GateDiagnosticsApi(APIView):
    """What was refused for a gate (events from the beacon and the Segment-compatible
    ingest, the public gate endpoints) over the last 24 hours, and what to do about each: the site owner otherwise sees it
    only in the browser's network tab."""

    permission_classes = [MarketerOnly]

    @extend_schema(
        responses={200: GateDiagnosticsSerializer, **errors((404, "No gate with this slug."))},
    )
    def get(self, request: Request, slug: str) -> Response:
        gate = gate_get(slug=slug)
        if gate is None:
            from rest_framework.exceptions import NotFound

            raise NotFound("No gate with this slug.")
        data = {"window_hours": REFUSAL_WINDOW_HOURS, "refusals": gate_diagnostics(gate)}
        return Response(GateDiagnosticsSerializer(data).data)
