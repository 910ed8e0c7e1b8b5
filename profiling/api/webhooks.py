"""Marketer API: webhook endpoints, secret rotation, test events, deliveries, stats."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import django_validation_errors
from config.openapi import errors
from config.pagination import Pagination
from config.roles import MarketerOnly, SalesMayRead
from profiling.models import Delivery, DeliveryStatus, Grade, WebhookEndpoint
from profiling.selectors import endpoint_deliveries, endpoint_delivery_stats, endpoint_list
from profiling.services.delivery import delivery_redeliver, delivery_send_test, schema_text
from profiling.services.endpoints import (
    webhook_endpoint_delete,
    webhook_endpoint_save,
    webhook_secret_problem,
    webhook_secret_retire_previous,
    webhook_secret_rotate,
)


def _secret_check(value: str) -> str:
    if problem := webhook_secret_problem(value):
        raise serializers.ValidationError(problem)
    return value


class WebhookInputSerializer(serializers.Serializer):
    """The request's shape; what an endpoint may be is webhook_endpoint_save's to check
    (the SSRF guard on the URL included), for the workspace too."""

    # Optional: what the marketer calls the endpoint; blank, lists show the URL's host.
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    url = serializers.URLField(max_length=1000)
    secret = serializers.CharField(max_length=200, required=False, write_only=True)
    grades = serializers.ListField(
        child=serializers.ChoiceField(choices=Grade.choices),
        required=False,
        min_length=1,
        max_length=3,
    )
    is_active = serializers.BooleanField(required=False)

    def validate_secret(self, value: str) -> str:
        return _secret_check(value)


def _endpoint_save(endpoint: WebhookEndpoint | None, data: dict[str, Any]) -> WebhookEndpoint:
    try:
        return webhook_endpoint_save(endpoint=endpoint, data=data)
    except DjangoValidationError as exc:
        raise ValidationError(django_validation_errors(exc)) from None


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    grades = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    failing_since = serializers.DateTimeField(allow_null=True)
    # True while a rotation is under way: the old secret still signs every request.
    rotating = serializers.SerializerMethodField()
    secret_rotated_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_rotating(self, endpoint: WebhookEndpoint) -> bool:
        return bool(endpoint.previous_secret)


class SpeedSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)
    max = serializers.IntegerField(allow_null=True)


class WebhookStatsSerializer(serializers.Serializer):
    speed_to_lead_ms = SpeedSerializer()
    deliveries = serializers.DictField(child=serializers.IntegerField())


class WebhookDetailOutputSerializer(WebhookOutputSerializer):
    speed_to_lead_ms = serializers.SerializerMethodField()

    @extend_schema_field(SpeedSerializer)
    def get_speed_to_lead_ms(self, endpoint: WebhookEndpoint) -> dict[str, Any]:
        speed: dict[str, Any] = endpoint_delivery_stats(endpoint_id=endpoint.pk)["speed_to_lead_ms"]
        return speed


def _endpoint_or_404(pk: str) -> WebhookEndpoint:
    # The URL pattern admits digits only; a number past any id simply finds nothing.
    endpoint = endpoint_list().filter(pk=int(pk)).first() if len(pk) <= 18 else None
    if endpoint is None:
        raise NotFound("No webhook with this id.")
    return endpoint


class WebhookListCreateApi(APIView):
    # Marketers only, reading too: an endpoint's URL can carry the CRM's credentials.
    permission_classes = [MarketerOnly]

    @extend_schema(responses=WebhookOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(WebhookOutputSerializer(endpoint_list(), many=True).data)

    @extend_schema(request=WebhookInputSerializer, responses={201: WebhookOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = WebhookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = _endpoint_save(None, dict(serializer.validated_data))
        data = dict(WebhookOutputSerializer(endpoint).data)
        # Write-only everywhere else: shown once, on create, so the marketer can give it
        # to the CRM (the same practice as Svix and Stripe).
        data["secret"] = endpoint.secret
        return Response(data, status=201)


class WebhookDetailApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(responses=WebhookDetailOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        return Response(WebhookDetailOutputSerializer(_endpoint_or_404(pk)).data)

    def _update(self, request: Request, pk: str, partial: bool) -> Response:
        endpoint = _endpoint_or_404(pk)
        serializer = WebhookInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        endpoint = _endpoint_save(endpoint, dict(serializer.validated_data))
        return Response(WebhookOutputSerializer(endpoint).data)

    @extend_schema(request=WebhookInputSerializer, responses=WebhookOutputSerializer)
    def put(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(request=WebhookInputSerializer, responses=WebhookOutputSerializer)
    def patch(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=True)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        webhook_endpoint_delete(endpoint=_endpoint_or_404(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SecretRotateInputSerializer(serializers.Serializer):
    # Optional: bring your own (e.g. one the CRM generated); else one is made for you.
    secret = serializers.CharField(max_length=200, required=False)

    def validate_secret(self, value: str) -> str:
        return _secret_check(value)


class SecretRotateOutputSerializer(WebhookOutputSerializer):
    secret = serializers.CharField()


class WebhookSecretRotateApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(request=SecretRotateInputSerializer, responses=SecretRotateOutputSerializer)
    def post(self, request: Request, pk: str) -> Response:
        endpoint = _endpoint_or_404(pk)
        serializer = SecretRotateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = webhook_secret_rotate(
                endpoint_id=endpoint.pk, secret=serializer.validated_data.get("secret")
            )
        except DjangoValidationError as exc:
            raise ValidationError(django_validation_errors(exc)) from None
        # The new secret is shown once, here, like on create.
        return Response(SecretRotateOutputSerializer(endpoint).data)


class WebhookSecretRetireApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(
        request=None,
        responses={
            200: WebhookOutputSerializer,
            **errors((400, "No rotation under way: there is no previous secret to retire.")),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        endpoint = _endpoint_or_404(pk)
        if not endpoint.previous_secret:
            raise ValidationError({"__all__": ["No rotation under way: nothing to retire."]})
        endpoint = webhook_secret_retire_previous(endpoint_id=endpoint.pk)
        return Response(WebhookOutputSerializer(endpoint).data)


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    webhook_id = serializers.SerializerMethodField()
    endpoint_id = serializers.IntegerField()
    event_type = serializers.CharField()
    lead_id = serializers.UUIDField(allow_null=True)
    grade = serializers.SerializerMethodField()
    previous_grade = serializers.SerializerMethodField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_response_body = serializers.CharField()
    last_error = serializers.CharField()
    last_latency_ms = serializers.IntegerField(allow_null=True)
    speed_to_lead_ms = serializers.IntegerField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    triggered_at = serializers.DateTimeField(allow_null=True)

    def get_webhook_id(self, d: Delivery) -> str:
        return f"msg_{d.id.hex}"

    def get_grade(self, d: Delivery) -> str | None:
        return d.grade_change.grade if d.grade_change is not None else None

    def get_previous_grade(self, d: Delivery) -> str | None:
        return d.grade_change.previous_grade if d.grade_change is not None else None


class WebhookDeliveriesApi(APIView):
    # Sales reads the delivery log (did the hot lead reach the CRM?) and its stats.
    permission_classes = [SalesMayRead]
    # Declared on the view so the OpenAPI document shows the paginated envelope.
    pagination_class = Pagination

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=DeliveryStatus.values, required=False)],
        responses=DeliveryOutputSerializer(many=True),
    )
    def get(self, request: Request, pk: str) -> Response:
        endpoint = _endpoint_or_404(pk)
        deliveries = endpoint_deliveries(endpoint_id=endpoint.pk)
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in DeliveryStatus.values:
                raise ValidationError({"status": [f"One of: {', '.join(DeliveryStatus.values)}."]})
            deliveries = deliveries.filter(status=wanted)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(deliveries, request)
        return paginator.get_paginated_response(DeliveryOutputSerializer(page, many=True).data)


class WebhookStatsApi(APIView):
    permission_classes = [SalesMayRead]

    @extend_schema(responses=WebhookStatsSerializer)
    def get(self, request: Request, pk: str) -> Response:
        endpoint = _endpoint_or_404(pk)
        return Response(endpoint_delivery_stats(endpoint_id=endpoint.pk))


class WebhookTestEventApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(request=None, responses={201: DeliveryOutputSerializer})
    def post(self, request: Request, pk: str) -> Response:
        # Sends now and answers with the CRM's response (status, first bytes, latency);
        # the delivery is in the log like any other.
        delivery = delivery_send_test(endpoint=_endpoint_or_404(pk))
        return Response(DeliveryOutputSerializer(delivery).data, status=201)


class DeliveryRedeliverApi(APIView):
    permission_classes = [MarketerOnly]

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


# --- the published JSON Schemas of webhook bodies ----------------------------------------


@require_GET
def webhook_schema(request: HttpRequest, name: str) -> HttpResponse:
    """`/schemas/<type>.v1.json`: public and stable, so a CRM integrator can validate
    (or generate code for) what leadgate sends without an account."""
    text = schema_text(name)
    if text is None:
        return JsonResponse({"errors": {"__all__": ["No such schema."]}}, status=404)
    response = HttpResponse(text, content_type="application/schema+json")
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=3600"
    return response
