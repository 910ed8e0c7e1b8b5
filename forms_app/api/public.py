"""Public gate endpoints: the gate config and submissions (per-gate CORS, no auth)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.cors import cors_headers_add, origin_allowed, request_origin
from config.errors import error_body
from config.openapi import errors
from config.validators import email_problem
from forms_app import visitor_messages as say
from forms_app.friction import banned_topic, friction_message
from forms_app.links import base_url
from forms_app.models import Gate, QuarantineReason, QuarantineVia, SpamTallyKind, Stage
from forms_app.selectors import gate_get_active, lead_id_for_visitor
from forms_app.services.quarantine import quarantine_hold, spam_tally_add
from forms_app.services.submissions import SubmissionInput, submission_create
from forms_app.spam import TokenVerdict, form_token_check, form_token_make, token_suspect
from forms_app.stage_policy import base_fields, fields_for
from forms_app.throttle import submission_wait_seconds
from profiling.refusals import INACTIVE, Refusal, refusals_record, refusals_record_origin


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
            # The builder's diagnostics: a site still calling a gate that is not live.
            draft = Gate.objects.filter(slug=slug, is_active=False).values_list("id", flat=True)
            origin = request_origin(request._request) or ""
            refusals_record(Refusal(gate_id=g, reason=INACTIVE, origin=origin) for g in draft)
            return Response(error_body("Unknown or inactive gate."), status=404)
        if not origin_allowed(request._request, gate.allowed_origins):
            refusals_record_origin(request_origin(request._request) or "", [gate.pk])
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
    message = gettext("Too many submissions; try again in %(wait)s seconds.") % {"wait": wait}
    response = Response(error_body(message), status=429)
    response["Retry-After"] = str(wait)
    return response


def _fake_success(request: Request, gate: Gate) -> dict[str, str]:
    """The shape of a real 201 (random lead id, token-looking string) that grants nothing."""
    token = "." + base64.urlsafe_b64encode(uuid.uuid4().bytes * 3).decode().rstrip("=")
    return {
        "lead_id": str(uuid.uuid4()),
        "access_token": token,
        "content_url": f"{base_url(request)}/g/{gate.slug}?t={token}",
    }


def embed_labels(gate: Gate) -> dict[str, str]:
    """The words gate-form.js shows around the gate's own texts, in the active language
    (the script ships none of its own). `too_many` keeps "{seconds}" for the script."""
    return {
        "optional": gettext("(optional)"),
        "choose": gettext("Choose one"),
        "leave_empty": gettext("Leave this field empty"),
        "check_form": gettext("Please check the form:"),
        "name_required": str(say.NAME_REQUIRED),
        "email_invalid": str(say.EMAIL_INVALID),
        "too_many": gettext("Too many tries from here; please wait {seconds} seconds."),
        "failed": gettext("Something went wrong; please try again."),
        "unreachable": gettext("We could not reach the server; please try again."),
        "thanks": gettext("Thanks!"),
        "open": gettext("Open %(title)s") % {"title": gate.title},
        # Shown after an opt-in on a double_opt_in gate (the hosted page's words).
        "confirm": gettext(
            "To receive new content by email, confirm your subscription from the email we "
            "are sending you."
        ),
    }


class PublicGateApi(PublicApi):
    class PublicGateOutputSerializer(serializers.Serializer):
        slug = serializers.CharField()
        title = serializers.CharField()
        stage = serializers.CharField()
        headline = serializers.CharField()
        description = serializers.CharField()
        subscribe_label = serializers.CharField()
        submit_label = serializers.CharField()
        consent_text = serializers.CharField()
        min_dwell_ms = serializers.IntegerField()
        # The language of every text below and of the gate's pages and emails.
        language = serializers.CharField()
        # The embed's own words, in `language` (the script ships no strings of its own).
        labels = serializers.DictField(child=serializers.CharField())
        # An opt-in on this gate counts once confirmed from the email (say so after it).
        double_opt_in = serializers.BooleanField()
        idle_timeout_ms = serializers.IntegerField()
        # Extension: the signed render-time token the submission must send back (spam.py).
        form_token = serializers.CharField()
        fields = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]
        sections = serializers.ListField(child=serializers.DictField())
        files = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "visitor_id",
                OpenApiTypes.UUID,
                description="The tracker's visitor id: questions already answered are not "
                "asked again.",
            )
        ],
        responses={
            200: PublicGateOutputSerializer,
            **errors((403, "This website is not allowed to use this gate (Origin).")),
        },
        auth=[],
    )
    def get(self, request: Request, slug: str) -> Response:
        gate = self.gate_or_error(request, slug)
        if isinstance(gate, Response):
            return gate
        raw_visitor = request.query_params.get("visitor_id", "")
        try:
            visitor_id = uuid.UUID(raw_visitor) if raw_visitor else None
        except ValueError:
            return Response(error_body({"visitor_id": ["Must be a UUID."]}), status=400)
        with translation.override(gate.language):
            fields = fields_for(gate, lead_id_for_visitor(visitor_id))
            labels = embed_labels(gate)
            subscribe_label = gate.visitor_subscribe_label
            submit_label = gate.visitor_submit_label
            consent_text = gate.visitor_consent_text
        data = {
            "slug": gate.slug,
            "title": gate.title,
            "stage": gate.stage,
            "headline": gate.headline,
            "description": gate.description,
            "subscribe_label": subscribe_label,
            "submit_label": submit_label,
            "consent_text": consent_text,
            "min_dwell_ms": gate.min_dwell_ms,
            "language": gate.language,
            "labels": labels,
            "double_opt_in": gate.double_opt_in,
            "idle_timeout_ms": gate.idle_timeout_ms,
            "form_token": form_token_make(gate_slug=gate.slug),
            "fields": [f.as_public() for f in fields],
            "sections": [{"key": s.key, "title": s.title} for s in gate.sections.all()],
            "files": [{"key": f.key, "title": f.title} for f in gate.files.all()],
        }
        return Response(self.PublicGateOutputSerializer(data).data)


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
            "form_token",
        ]
    )

    class SubmissionInputSerializer(serializers.Serializer):
        # Visitors read these messages next to the embedded form's fields: plain words.
        name = serializers.CharField(
            max_length=say.NAME_MAX,
            trim_whitespace=True,
            error_messages={
                "required": say.NAME_REQUIRED,
                "blank": say.NAME_REQUIRED,
                "null": say.NAME_REQUIRED,
                "max_length": say.NAME_TOO_LONG,
            },
        )
        email = serializers.CharField(
            max_length=say.EMAIL_MAX,
            trim_whitespace=True,
            error_messages={
                "required": say.EMAIL_REQUIRED,
                "blank": say.EMAIL_REQUIRED,
                "null": say.EMAIL_REQUIRED,
                "max_length": say.EMAIL_TOO_LONG,
            },
        )
        subscribe = serializers.BooleanField(default=False)
        visitor_id = serializers.UUIDField(required=False, allow_null=True)
        website = serializers.CharField(required=False, allow_blank=True, max_length=500)
        utm_source = serializers.CharField(required=False, allow_blank=True, max_length=200)
        utm_medium = serializers.CharField(required=False, allow_blank=True, max_length=200)
        utm_campaign = serializers.CharField(required=False, allow_blank=True, max_length=200)
        referrer = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        page_url = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        answers = serializers.DictField(
            child=serializers.CharField(
                max_length=say.ANSWER_MAX,
                allow_blank=True,
                error_messages={"max_length": say.ANSWER_TOO_LONG},
            ),
            required=False,
        )
        form_token = serializers.CharField(
            required=False, allow_blank=True, max_length=300, trim_whitespace=True
        )

        def validate_name(self, value: str) -> str:
            # Same rule as the hosted form: a name is shown in the CRM and in exports, and
            # control characters (newlines, escapes) only serve to forge lines there.
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
                raise serializers.ValidationError(say.NAME_CHARACTERS)
            return value

        def validate_email(self, value: str) -> str:
            # email-validator's own reason is written for developers.
            if email_problem(value):
                raise serializers.ValidationError(say.EMAIL_INVALID)
            return value

    class SubmissionOutputSerializer(serializers.Serializer):
        lead_id = serializers.UUIDField()
        access_token = serializers.CharField()
        content_url = serializers.CharField()

    @extend_schema(
        request=SubmissionInputSerializer,
        description=(
            "Identifies the visitor as the lead with this email (made if new). An email "
            "proves nothing: for an existing lead, the name and opt-in sent change it only "
            "if this `visitor_id` has proven the address before; otherwise they are kept "
            "on the submission and the address is emailed a confirmation link, which "
            "applies them. On a `double_opt_in` gate an opt-in always waits for that "
            "confirmation."
        ),
        responses={
            201: SubmissionOutputSerializer,
            **errors((403, "This website is not allowed to use this gate (Origin)."), 429),
        },
        auth=[],
    )
    def post(self, request: Request, slug: str) -> Response:
        gate = self.gate_or_error(request, slug)
        if isinstance(gate, Response):
            return gate
        # The embed shows these errors to the visitor: in the gate's language.
        with translation.override(gate.language):
            return self._post(request, gate)

    def _post(self, request: Request, gate: Gate) -> Response:
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
                    else gettext("Unknown field: this form does not ask it.")
                ]
            return Response(error_body(errors), status=400)
        serializer = self.SubmissionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        consent_required = any(f.name == "subscribe" and f.required for f in base_fields(gate))
        if consent_required and not data["subscribe"]:
            return Response(error_body({"subscribe": [str(say.CONSENT_REQUIRED)]}), status=400)
        verdict = form_token_check(data.get("form_token"), gate_slug=gate.slug)
        submission = SubmissionInput(
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
        )
        if data.get("website") or token_suspect(verdict):
            # Honeypot filled (a bot: only counted), or a missing, forged or too-fast
            # form token (maybe a person whose browser autofilled: held for a marketer
            # to release). Either way answer exactly like a success, so a bot learns
            # nothing, and make no lead.
            if data.get("website"):
                spam_tally_add(gate=gate, kind=SpamTallyKind.HONEYPOT)
            else:
                quarantine_hold(
                    gate=gate,
                    data=submission,
                    reason=QuarantineReason(verdict.value),
                    via=QuarantineVia.API,
                )
            return Response(
                self.SubmissionOutputSerializer(_fake_success(request, gate)).data, status=201
            )
        if verdict is TokenVerdict.EXPIRED:
            # A person who left the form open for days: say so (the embed script fetches
            # a fresh token and submits again).
            return Response(
                error_body(
                    {"form_token": [gettext("This form has expired; please reload the page.")]}
                ),
                status=400,
            )
        result = submission_create(gate=gate, data=submission, base_url=base_url(request))
        out = {
            "lead_id": result.lead_id,
            "access_token": result.access_token,
            "content_url": f"{base_url(request)}/g/{gate.slug}?t={result.access_token}",
        }
        return Response(self.SubmissionOutputSerializer(out).data, status=201)
