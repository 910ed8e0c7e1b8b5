"""Profiling endpoints: public event ingest and the marketer API for scoring, webhooks,
deliveries and leads. Thin views: input serializer -> one service/selector -> output."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.cors import cors_headers_add, origin_allowed
from config.errors import error_body
from config.parsers import json_loads_safe
from forms_app.models import Gate, GateFile, Section
from profiling.models import (
    Delivery,
    EventType,
    Grade,
    ScoringRule,
    WebhookEndpoint,
)
from profiling.selectors import (
    endpoint_deliveries,
    endpoint_list,
    lead_get,
    lead_list,
    lead_timeline,
    rule_list,
)
from profiling.services.delivery import UnsafeWebhookUrl, delivery_redeliver, webhook_url_check
from profiling.services.endpoints import webhook_endpoint_delete, webhook_endpoint_save
from profiling.services.ingest import events_ingest, events_parse
from profiling.services.leads import lead_erase
from profiling.services.rules import (
    scoring_rule_delete,
    scoring_rule_save,
    scoring_settings_update,
)
from profiling.services.scoring import scoring_settings_get


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


# --- public ingest -------------------------------------------------------------------


class PublicEventsApi(APIView):
    """POST /api/v1/public/events: durable before 202, duplicates counted, per-event errors.

    The body is read raw (not through DRF parsers) so that `text/plain` beacons
    (navigator.sendBeacon cannot send JSON content types without a preflight) work,
    and so the 64 KiB limit is checked before any parsing.
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kw: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kw)
        if response.status_code != status.HTTP_403_FORBIDDEN:
            cors_headers_add(response, request._request)
        return response

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        # The preflight cannot know the gates yet; the POST itself enforces the origin.
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={202: {"type": "object"}},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        raw_request: HttpRequest = request._request
        limit = settings.LEADGATE_EVENTS_MAX_BYTES
        declared = raw_request.META.get("CONTENT_LENGTH") or "0"
        # Refuse on the declared length before reading the body into memory.
        if declared.isdigit() and int(declared) > limit:
            return Response(error_body(f"The batch exceeds {limit} bytes."), status=413)
        body = raw_request.body
        if len(body) > limit:
            return Response(error_body(f"The batch exceeds {limit} bytes."), status=413)
        try:
            payload = json_loads_safe(body)
        except (ValueError, UnicodeDecodeError):
            return Response(error_body("The body is not valid JSON."), status=400)
        received = timezone.now()
        visitor_id, batch = events_parse(payload, received=received)
        for gate in batch.gates.values():
            if not origin_allowed(raw_request, gate.allowed_origins):
                return Response(
                    error_body(f"This website is not allowed to send events for {gate.slug}."),
                    status=403,
                )
        accepted = duplicates = 0
        if visitor_id is not None and batch.events:
            # Valid events are stored even when others in the batch are refused.
            result = events_ingest(visitor_id=visitor_id, events=batch.events, received=received)
            accepted, duplicates = result.accepted, result.duplicates
        if batch.errors:
            return Response(
                {"errors": batch.errors, "accepted": accepted, "duplicates": duplicates},
                status=400,
            )
        return Response({"accepted": accepted, "duplicates": duplicates}, status=202)


# --- scoring rules and settings ------------------------------------------------------


class ScoringRuleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    event_type = serializers.ChoiceField(choices=EventType.choices)
    gate = serializers.SlugRelatedField(
        slug_field="slug", queryset=Gate.objects.all(), allow_null=True, required=False
    )
    section = serializers.CharField(max_length=80, allow_null=True, required=False)
    file = serializers.CharField(max_length=80, allow_null=True, required=False)
    event_name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    points = serializers.IntegerField(min_value=-10_000, max_value=10_000)
    max_points = serializers.IntegerField(
        min_value=0, max_value=1_000_000, allow_null=True, required=False
    )
    min_duration_ms = serializers.IntegerField(
        min_value=0, max_value=86_400_000, allow_null=True, required=False
    )
    makes_hot = serializers.BooleanField(default=False)
    is_active = serializers.BooleanField(default=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        gate = attrs.get("gate")
        section, file_key = attrs.get("section"), attrs.get("file")
        etype = attrs.get("event_type")
        errors: dict[str, str] = {}
        if section and etype not in (None, EventType.SECTION_VIEW):
            errors["section"] = "Only section_view rules can name a section."
        if file_key and etype not in (None, EventType.DOWNLOAD):
            errors["file"] = "Only download rules can name a file."
        if (
            gate is not None
            and section
            and not Section.objects.filter(gate=gate, key=section).exists()
        ):
            errors["section"] = f"Gate {gate.slug!r} has no section {section!r}."
        if (
            gate is not None
            and file_key
            and not GateFile.objects.filter(gate=gate, key=file_key).exists()
        ):
            errors["file"] = f"Gate {gate.slug!r} has no file {file_key!r}."
        if attrs.get("event_name") and etype not in (None, EventType.TRACK):
            errors["event_name"] = "Only track rules match on an event name."
        if errors:
            raise serializers.ValidationError(errors)
        if "section" in attrs:
            attrs["section_key"] = attrs.pop("section") or ""
        if "file" in attrs:
            attrs["file_key"] = attrs.pop("file") or ""
        return attrs


class ScoringRuleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    event_type = serializers.CharField()
    gate = serializers.SerializerMethodField()
    section = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField()
    event_name = serializers.CharField()
    points = serializers.IntegerField()
    max_points = serializers.IntegerField(allow_null=True)
    min_duration_ms = serializers.IntegerField(allow_null=True)
    makes_hot = serializers.BooleanField()
    is_active = serializers.BooleanField()

    def get_gate(self, rule: ScoringRule) -> str | None:
        return rule.gate.slug if rule.gate else None

    def get_section(self, rule: ScoringRule) -> str | None:
        return rule.section_key or None

    def get_file(self, rule: ScoringRule) -> str | None:
        return rule.file_key or None


def _rule_or_404(pk: int) -> ScoringRule:
    rule = rule_list().filter(pk=pk).first()
    if rule is None:
        raise NotFound("No scoring rule with this id.")
    return rule


def _save_rule(rule: ScoringRule | None, data: dict[str, Any]) -> ScoringRule:
    try:
        return scoring_rule_save(rule=rule, data=data)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(_django_errors(exc)) from None


class ScoringRuleListCreateApi(APIView):
    @extend_schema(responses=ScoringRuleOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(ScoringRuleOutputSerializer(rule_list(), many=True).data)

    @extend_schema(request=ScoringRuleInputSerializer, responses={201: ScoringRuleOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = ScoringRuleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = _save_rule(None, dict(serializer.validated_data))
        return Response(ScoringRuleOutputSerializer(rule).data, status=201)


class ScoringRuleDetailApi(APIView):
    @extend_schema(responses=ScoringRuleOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        return Response(ScoringRuleOutputSerializer(_rule_or_404(int(pk))).data)

    def _update(self, request: Request, pk: str, partial: bool) -> Response:
        rule = _rule_or_404(int(pk))
        serializer = ScoringRuleInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        rule = _save_rule(rule, dict(serializer.validated_data))
        return Response(ScoringRuleOutputSerializer(rule).data)

    @extend_schema(request=ScoringRuleInputSerializer, responses=ScoringRuleOutputSerializer)
    def put(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(request=ScoringRuleInputSerializer, responses=ScoringRuleOutputSerializer)
    def patch(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=True)

    def delete(self, request: Request, pk: str) -> Response:
        scoring_rule_delete(rule=_rule_or_404(int(pk)))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScoringSettingsSerializer(serializers.Serializer):
    warm_threshold = serializers.IntegerField(min_value=1, max_value=1_000_000)
    hot_threshold = serializers.IntegerField(min_value=1, max_value=1_000_000)
    half_life_days = serializers.IntegerField(min_value=0, max_value=3650)


class ScoringSettingsApi(APIView):
    @extend_schema(responses=ScoringSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(ScoringSettingsSerializer(scoring_settings_get()).data)

    def _update(self, request: Request, partial: bool) -> Response:
        serializer = ScoringSettingsSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        current = scoring_settings_get()
        warm = serializer.validated_data.get("warm_threshold", current.warm_threshold)
        hot = serializer.validated_data.get("hot_threshold", current.hot_threshold)
        if warm >= hot:
            return Response(
                error_body({"warm_threshold": ["Must be lower than hot_threshold."]}), status=400
            )
        row = scoring_settings_update(data=dict(serializer.validated_data))
        return Response(ScoringSettingsSerializer(row).data)

    @extend_schema(request=ScoringSettingsSerializer, responses=ScoringSettingsSerializer)
    def put(self, request: Request) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=ScoringSettingsSerializer, responses=ScoringSettingsSerializer)
    def patch(self, request: Request) -> Response:
        return self._update(request, partial=True)


# --- webhooks and deliveries ----------------------------------------------------------


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=1000)
    secret = serializers.CharField(max_length=200, required=False, write_only=True)
    grades = serializers.ListField(
        child=serializers.ChoiceField(choices=Grade.choices),
        required=False,
        min_length=1,
        max_length=3,
    )
    is_active = serializers.BooleanField(required=False)

    def validate_url(self, value: str) -> str:
        try:
            webhook_url_check(value)
        except UnsafeWebhookUrl as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate_secret(self, value: str) -> str:
        import base64
        import binascii

        if not value.startswith("whsec_"):
            raise serializers.ValidationError('Must be "whsec_" followed by base64.')
        try:
            key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("The part after whsec_ is not base64.") from None
        if not 24 <= len(key) <= 64:
            raise serializers.ValidationError("The key must be 24 to 64 bytes (Standard Webhooks).")
        return value

    def validate_grades(self, value: list[str]) -> list[str]:
        order = [Grade.COLD, Grade.WARM, Grade.HOT]
        return [g for g in order if g in set(value)]


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    grades = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


def _endpoint_or_404(pk: str) -> WebhookEndpoint:
    endpoint = endpoint_list().filter(pk=int(pk)).first()
    if endpoint is None:
        raise NotFound("No webhook with this id.")
    return endpoint


class WebhookListCreateApi(APIView):
    @extend_schema(responses=WebhookOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(WebhookOutputSerializer(endpoint_list(), many=True).data)

    @extend_schema(request=WebhookInputSerializer, responses={201: WebhookOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = WebhookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_save(data=dict(serializer.validated_data))
        data = dict(WebhookOutputSerializer(endpoint).data)
        # Write-only everywhere else: shown once, on create, so the marketer can give it
        # to the CRM (the same practice as Svix and Stripe).
        data["secret"] = endpoint.secret
        return Response(data, status=201)


class WebhookDetailApi(APIView):
    @extend_schema(responses=WebhookOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        return Response(WebhookOutputSerializer(_endpoint_or_404(pk)).data)

    def _update(self, request: Request, pk: str, partial: bool) -> Response:
        endpoint = _endpoint_or_404(pk)
        serializer = WebhookInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_save(endpoint=endpoint, data=dict(serializer.validated_data))
        return Response(WebhookOutputSerializer(endpoint).data)

    @extend_schema(request=WebhookInputSerializer, responses=WebhookOutputSerializer)
    def put(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(request=WebhookInputSerializer, responses=WebhookOutputSerializer)
    def patch(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=True)

    def delete(self, request: Request, pk: str) -> Response:
        webhook_endpoint_delete(endpoint=_endpoint_or_404(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    webhook_id = serializers.SerializerMethodField()
    lead_id = serializers.UUIDField()
    grade = serializers.CharField(source="grade_change.grade")
    previous_grade = serializers.CharField(source="grade_change.previous_grade")
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_response_body = serializers.CharField()
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    triggered_at = serializers.DateTimeField(allow_null=True)

    def get_webhook_id(self, d: Delivery) -> str:
        return f"msg_{d.id.hex}"


class WebhookDeliveriesApi(APIView):
    @extend_schema(responses=DeliveryOutputSerializer(many=True))
    def get(self, request: Request, pk: str) -> Response:
        endpoint = _endpoint_or_404(pk)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(endpoint_deliveries(endpoint_id=endpoint.pk), request)
        return paginator.get_paginated_response(DeliveryOutputSerializer(page, many=True).data)


class DeliveryRedeliverApi(APIView):
    @extend_schema(request=None, responses={202: DeliveryOutputSerializer})
    def post(self, request: Request, pk: str) -> Response:
        try:
            delivery_id = uuid.UUID(pk)
        except ValueError:
            raise NotFound("No delivery with this id.") from None
        delivery = Delivery.objects.select_related("grade_change").filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound("No delivery with this id.")
        delivery = delivery_redeliver(delivery=delivery)
        return Response(DeliveryOutputSerializer(delivery).data, status=202)


# --- leads -----------------------------------------------------------------------------


class LeadFilterSerializer(serializers.Serializer):
    grade = serializers.ChoiceField(choices=Grade.choices, required=False)
    gate = serializers.CharField(max_length=80, required=False)
    since = serializers.CharField(max_length=64, required=False)

    def validate_since(self, value: str) -> Any:
        parsed = None
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is None:
            from django.utils.dateparse import parse_date

            try:
                day = parse_date(value)
            except ValueError:
                day = None
            if day is None:
                raise serializers.ValidationError("Use an ISO 8601 date or time.")
            from datetime import datetime, time

            parsed = datetime.combine(day, time.min)
        if parsed.tzinfo is None:
            parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
        return parsed


class LeadOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.CharField()
    subscribed = serializers.BooleanField()
    score = serializers.IntegerField()
    grade = serializers.CharField()
    company_domain = serializers.CharField()
    utm_source = serializers.CharField()
    created_at = serializers.DateTimeField()
    scored_at = serializers.DateTimeField(allow_null=True)


class LeadListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("grade", str, enum=[g.value for g in Grade]),
            OpenApiParameter("gate", str),
            OpenApiParameter("since", str, description="ISO 8601 date or time"),
        ],
        responses=LeadOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = LeadFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(lead_list(**filters.validated_data), request)
        return paginator.get_paginated_response(LeadOutputSerializer(page, many=True).data)


def _lead_or_404(pk: str) -> Any:
    try:
        lead_id = uuid.UUID(pk)
    except ValueError:
        raise NotFound("No lead with this id.") from None
    lead = lead_get(lead_id=lead_id)
    if lead is None:
        raise NotFound("No lead with this id.")
    return lead


class LeadDetailApi(APIView):
    class OutputSerializer(LeadOutputSerializer):
        reasons = serializers.ListField(child=serializers.CharField())
        do_not_contact = serializers.BooleanField()
        profile = serializers.SerializerMethodField()
        visitors = serializers.SerializerMethodField()
        timeline = serializers.SerializerMethodField()
        grade_changes = serializers.SerializerMethodField()

        def get_profile(self, lead: Any) -> dict[str, Any]:
            return {
                "company_domain": lead.company_domain or None,
                "is_disposable_email": lead.is_disposable_email,
                "first_touch": {
                    "utm_source": lead.utm_source,
                    "utm_medium": lead.utm_medium,
                    "utm_campaign": lead.utm_campaign,
                    "referrer": lead.referrer,
                    "landing_url": lead.landing_url,
                },
            }

        def get_visitors(self, lead: Any) -> list[str]:
            return [str(v) for v in lead.visitors.values_list("id", flat=True)]

        def get_timeline(self, lead: Any) -> list[dict[str, Any]]:
            return lead_timeline(lead_id=lead.id)

        def get_grade_changes(self, lead: Any) -> list[dict[str, Any]]:
            return [
                {
                    "at": c.created_at,
                    "previous_grade": c.previous_grade,
                    "grade": c.grade,
                    "score": c.score,
                    "reasons": c.reasons,
                }
                for c in lead.grade_changes.order_by("created_at")
            ]

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        return Response(self.OutputSerializer(_lead_or_404(pk)).data)

    def delete(self, request: Request, pk: str) -> Response:
        lead_erase(lead=_lead_or_404(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


CSV_COLUMNS = [
    "id",
    "name",
    "email",
    "subscribed",
    "score",
    "grade",
    "company_domain",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "referrer",
    "created_at",
]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """Neutralise spreadsheet formula injection (a name like =HYPERLINK(...))."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


class LeadExportApi(APIView):
    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = LeadFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        leads = lead_list(**filters.validated_data).values_list(*CSV_COLUMNS)
        writer = csv.writer(_Echo())

        def rows() -> Iterator[str]:
            yield writer.writerow(CSV_COLUMNS)
            for row in leads.iterator(chunk_size=2000):
                yield writer.writerow([csv_safe(v) for v in row])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="leads.csv"'
        return response
