"""Marketer API: webhook endpoints, their deliveries, redelivery."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from profiling.models import (
    Delivery,
    Grade,
    WebhookEndpoint,
)
from profiling.selectors import (
    endpoint_deliveries,
    endpoint_list,
)
from profiling.services.delivery import UnsafeWebhookUrl, delivery_redeliver, webhook_url_check
from profiling.services.endpoints import webhook_endpoint_delete, webhook_endpoint_save

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

    @extend_schema(request=None, responses={204: None})
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
