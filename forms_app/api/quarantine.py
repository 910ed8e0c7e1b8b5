"""Marketer API: submissions held by the spam guards (list, release, delete)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import django_validation_errors, error_body
from config.openapi import errors
from config.pagination import Pagination
from config.roles import MarketerOnly
from forms_app.links import base_url
from forms_app.models import Gate, QuarantineReason
from forms_app.selectors import quarantine_list
from forms_app.services.quarantine import quarantine_delete, quarantine_release

# Statuses every operation here can answer, in the contract's error shape.
REFUSED = errors(401, (403, "Not a marketer."))
GONE = errors((404, "No held submission with this id (released or deleted)."))


class QuarantinedOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    gate = serializers.CharField(source="gate.slug")
    reason = serializers.ChoiceField(choices=QuarantineReason.choices)
    via = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    subscribe = serializers.BooleanField(source="subscribed")
    visitor_id = serializers.UUIDField(allow_null=True)
    answers = serializers.DictField(child=serializers.CharField())
    utm_source = serializers.CharField()
    utm_medium = serializers.CharField()
    utm_campaign = serializers.CharField()
    referrer = serializers.CharField()
    page_url = serializers.CharField()
    consent_text = serializers.CharField()
    submitted_at = serializers.DateTimeField()


class QuarantineListApi(APIView):
    permission_classes = [MarketerOnly]
    pagination_class = Pagination

    class FilterSerializer(serializers.Serializer):
        gate = serializers.CharField(required=False, max_length=80)
        reason = serializers.ChoiceField(choices=QuarantineReason.choices, required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("gate", str, description="a gate's slug"),
            OpenApiParameter("reason", str, enum=QuarantineReason.values),
        ],
        responses={
            200: QuarantinedOutputSerializer(many=True),
            **errors((400, "An unknown gate or reason.")),
            **REFUSED,
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        gate = None
        slug = filters.validated_data.get("gate")
        if slug:
            gate = Gate.objects.filter(slug=slug).first()
            if gate is None:
                return Response(error_body({"gate": ["No gate with this slug."]}), status=400)
        rows = quarantine_list(gate=gate, reason=filters.validated_data.get("reason", ""))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request)
        return paginator.get_paginated_response(QuarantinedOutputSerializer(page, many=True).data)


class QuarantineReleaseApi(APIView):
    permission_classes = [MarketerOnly]

    class ReleaseOutputSerializer(serializers.Serializer):
        lead_id = serializers.UUIDField()
        created = serializers.BooleanField()

    @extend_schema(
        request=None,
        responses={
            200: ReleaseOutputSerializer,
            **errors((400, "The gate takes no submissions any more.")),
            **GONE,
            **REFUSED,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        try:
            result = quarantine_release(item_id=pk, base_url=base_url(request))
        except DjangoValidationError as exc:
            return Response(error_body(django_validation_errors(exc)), status=400)
        if result is None:
            # Released or deleted already (a retry, a double click): nothing happened now.
            return Response(
                error_body("No held submission with this id (already released or deleted)."),
                status=404,
            )
        out = {"lead_id": result.lead_id, "created": result.created}
        return Response(self.ReleaseOutputSerializer(out).data)


class QuarantineDetailApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(request=None, responses={204: None, **GONE, **REFUSED})
    def delete(self, request: Request, pk: int) -> Response:
        if not quarantine_delete(item_id=pk):
            return Response(
                error_body("No held submission with this id (already released or deleted)."),
                status=404,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)
