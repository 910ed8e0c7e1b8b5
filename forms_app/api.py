"""Gate endpoints: the public config and submissions, and the marketer's gate CRUD.

Views are thin: parse with an input serializer, call one service or selector, answer
with an output serializer. Errors go through config.errors (the contract's shape).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.http import HttpRequest
from django.utils.text import get_valid_filename
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.cors import cors_headers_add, origin_allowed
from config.errors import error_body
from config.validators import email_problem, origin_problem
from forms_app.friction import banned_topic, friction_message
from forms_app.models import FieldType, Gate, Stage
from forms_app.selectors import gate_get, gate_get_active, gate_list, lead_id_for_visitor
from forms_app.services.gates import FieldInput, FileInput, SectionInput, gate_delete, gate_save
from forms_app.services.submissions import SubmissionInput, submission_create
from forms_app.stage_policy import fields_for
from forms_app.throttle import submission_wait_seconds

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def base_url(request: HttpRequest) -> str:
    return settings.LEADGATE_BASE_URL or f"{request.scheme}://{request.get_host()}"


def django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("__all__" if k == "__all__" else k): [str(m) for e in v for m in e.messages]
            for k, v in exc.error_dict.items()
        }
    return {"__all__": [str(m) for m in exc.messages]}


class PublicApi(APIView):
    """Public endpoints: no auth, no cookies, per-gate CORS."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code != status.HTTP_403_FORBIDDEN:
            cors_headers_add(response, request._request)
        return response

    def gate_or_error(self, request: Request, slug: str) -> Gate | Response:
        gate = gate_get_active(slug=slug)
        if gate is None:
            return Response(error_body("Unknown or inactive gate."), status=404)
        if not origin_allowed(request._request, gate.allowed_origins):
            return Response(
                error_body("This website is not allowed to use this gate (origin not listed)."),
                status=403,
            )
        return gate

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        gate = self.gate_or_error(request, kwargs["slug"])
        if isinstance(gate, Response):
            return gate
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- public --------------------------------------------------------------------------


def submission_rate_limited(request: HttpRequest, gate: Gate) -> Response | None:
    """429 with Retry-After when one IP, or the gate as a whole, submits too often."""
    wait = submission_wait_seconds(request, gate.pk)
    if wait is None:
        return None
    response = Response(
        error_body(f"Too many submissions; try again in {wait} seconds."), status=429
    )
    response["Retry-After"] = str(wait)
    return response


class PublicGateApi(PublicApi):
    class OutputSerializer(serializers.Serializer):
        slug = serializers.CharField()
        title = serializers.CharField()
        stage = serializers.CharField()
        headline = serializers.CharField()
        description = serializers.CharField()
        subscribe_label = serializers.CharField()
        submit_label = serializers.CharField()
        consent_text = serializers.CharField()
        min_dwell_ms = serializers.IntegerField()
        fields = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]
        sections = serializers.ListField(child=serializers.DictField())
        files = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer, auth=[])
    def get(self, request: Request, slug: str) -> Response:
        gate = self.gate_or_error(request, slug)
        if isinstance(gate, Response):
            return gate
        raw_visitor = request.query_params.get("visitor_id", "")
        try:
            visitor_id = uuid.UUID(raw_visitor) if raw_visitor else None
        except ValueError:
            return Response(error_body({"visitor_id": ["Must be a UUID."]}), status=400)
        fields = fields_for(gate, lead_id_for_visitor(visitor_id))
        data = {
            "slug": gate.slug,
            "title": gate.title,
            "stage": gate.stage,
            "headline": gate.headline,
            "description": gate.description,
            "subscribe_label": gate.subscribe_label,
            "submit_label": gate.submit_label,
            "consent_text": gate.consent_text,
            "min_dwell_ms": gate.min_dwell_ms,
            "fields": [f.as_public() for f in fields],
            "sections": [{"key": s.key, "title": s.title} for s in gate.sections.all()],
            "files": [{"key": f.key, "title": f.title} for f in gate.files.all()],
        }
        return Response(self.OutputSerializer(data).data)


class PublicSubmissionApi(PublicApi):
    KNOWN_FIELDS = frozenset(
        [
            "name",
            "email",
            "subscribe",
            "visitor_id",
            "website",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "referrer",
            "page_url",
            "answers",
        ]
    )

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, trim_whitespace=True)
        email = serializers.CharField(max_length=254, trim_whitespace=True)
        subscribe = serializers.BooleanField(default=False)
        visitor_id = serializers.UUIDField(required=False, allow_null=True)
        website = serializers.CharField(required=False, allow_blank=True, max_length=500)
        utm_source = serializers.CharField(required=False, allow_blank=True, max_length=200)
        utm_medium = serializers.CharField(required=False, allow_blank=True, max_length=200)
        utm_campaign = serializers.CharField(required=False, allow_blank=True, max_length=200)
        referrer = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        page_url = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        answers = serializers.DictField(
            child=serializers.CharField(max_length=500, allow_blank=True), required=False
        )

        def validate_email(self, value: str) -> str:
            problem = email_problem(value)
            if problem:
                raise serializers.ValidationError(problem)
            return value

    class OutputSerializer(serializers.Serializer):
        lead_id = serializers.UUIDField()
        access_token = serializers.CharField()
        content_url = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, auth=[])
    def post(self, request: Request, slug: str) -> Response:
        gate = self.gate_or_error(request, slug)
        if isinstance(gate, Response):
            return gate
        if gate.stage == Stage.EPIPHANY:
            return Response(
                error_body("This gate is open content: it has no form to submit."), status=400
            )
        limited = submission_rate_limited(request._request, gate)
        if limited is not None:
            return limited
        if not isinstance(request.data, dict):
            return Response(error_body("Expected a JSON object."), status=400)
        unknown = sorted(set(request.data) - self.KNOWN_FIELDS)
        if unknown:
            errors: dict[str, list[str]] = {}
            for key in unknown[:20]:
                banned = banned_topic(str(key))
                errors[str(key)[:80]] = [
                    friction_message(banned)
                    if banned
                    else "Unknown field: this form does not ask it."
                ]
            return Response(error_body(errors), status=400)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("website"):
            # Honeypot filled: a bot. Answer exactly like a success so it learns nothing,
            # and store nothing.
            fake = uuid.uuid4()
            return Response(
                {
                    "lead_id": str(fake),
                    "access_token": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode(),
                    "content_url": f"{base_url(request)}/g/{gate.slug}",
                },
                status=201,
            )
        result = submission_create(
            gate=gate,
            data=SubmissionInput(
                name=data["name"],
                email=data["email"],
                subscribe=data["subscribe"],
                visitor_id=data.get("visitor_id"),
                answers=data.get("answers") or {},
                utm_source=data.get("utm_source", ""),
                utm_medium=data.get("utm_medium", ""),
                utm_campaign=data.get("utm_campaign", ""),
                referrer=data.get("referrer", ""),
                page_url=data.get("page_url", ""),
            ),
        )
        out = {
            "lead_id": result.lead_id,
            "access_token": result.access_token,
            "content_url": f"{base_url(request)}/g/{gate.slug}?t={result.access_token}",
        }
        return Response(self.OutputSerializer(out).data, status=201)


# --- marketer ------------------------------------------------------------------------


class SectionSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=80)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=100_000)
    topics = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, default=list, max_length=20
    )


class FileSerializer(serializers.Serializer):
    class UploadSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        content_base64 = serializers.CharField()

    key = serializers.CharField(max_length=80)
    title = serializers.CharField(max_length=200)
    url = serializers.URLField(required=False, allow_blank=True, default="", max_length=1000)
    upload = UploadSerializer(required=False, write_only=True)

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
                raise serializers.ValidationError({"upload": "Files are limited to 10 MB."})
            # Only the last path component, reduced to safe characters: the name is the
            # client's, and must not steer where the file is stored.
            name = get_valid_filename(upload["name"].replace("\\", "/").rsplit("/", 1)[-1])
            if name in {"", ".", ".."}:
                name = "upload"
            attrs["upload"] = ContentFile(content, name=name)
        return attrs


class FieldSerializer(serializers.Serializer):
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
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False, max_length=50
    )
    min_dwell_ms = serializers.IntegerField(min_value=0, max_value=600_000, required=False)
    is_active = serializers.BooleanField(required=False)
    # max_length on many=True bounds the list (DRF ListSerializer kwarg; stubs lag).
    sections = SectionSerializer(many=True, required=False, max_length=200)  # type: ignore[call-arg]
    files = FileSerializer(many=True, required=False, max_length=50)  # type: ignore[call-arg]
    fields = FieldSerializer(many=True, required=False, max_length=10)  # type: ignore[call-arg,assignment]

    def validate_allowed_origins(self, value: list[str]) -> list[str]:
        problems = {str(i): [p] for i, o in enumerate(value) if (p := origin_problem(o))}
        if problems:
            raise serializers.ValidationError(problems)
        return sorted({o.strip().rstrip("/").lower() for o in value})


class GateOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    stage = serializers.CharField()
    headline = serializers.CharField()
    description = serializers.CharField()
    subscribe_label = serializers.CharField()
    submit_label = serializers.CharField()
    consent_text = serializers.CharField()
    allowed_origins = serializers.ListField(child=serializers.CharField())
    min_dwell_ms = serializers.IntegerField()
    is_active = serializers.BooleanField()
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
            }
            for f in gate.files.all()
        ]

    def get_custom_fields(self, gate: Gate) -> list[dict[str, Any]]:
        return [
            {"name": f.name, "type": f.type, "label": f.label, "choices": f.choices}
            for f in gate.fields.all()
        ]

    def get_hosted_url(self, gate: Gate) -> str:
        return f"{self._base()}/g/{gate.slug}"

    def get_embed_snippet(self, gate: Gate) -> str:
        base = self._base()
        return (
            f'<script src="{base}/static/leadgate.js" data-gate="{gate.slug}" async></script>\n'
            f'<div data-leadgate-form="{gate.slug}"></div>'
        )


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
        raise serializers.ValidationError(django_errors(exc)) from None


class GateListCreateApi(APIView):
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

    def delete(self, request: Request, slug: str) -> Response:
        gate_delete(gate=self._gate(slug))
        return Response(status=status.HTTP_204_NO_CONTENT)
