"""Marketer API: leads (list, detail, erasure, CSV export)."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.csv_export import csv_response
from config.pagination import Pagination
from config.roles import SalesMayRead
from profiling.models import (
    Grade,
)
from profiling.selectors import (
    LEAD_CSV_COLUMNS,
    lead_get,
    lead_list,
    lead_profile,
    lead_reading,
    lead_timeline,
)
from profiling.services.leads import lead_erase

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
    permission_classes = [SalesMayRead]
    # Declared on the view so the OpenAPI document shows the paginated envelope.
    pagination_class = Pagination

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
        paginator = self.pagination_class()
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


class ReadingOutputSerializer(serializers.Serializer):
    """One section (or PDF page) the lead spent time on."""

    gate = serializers.CharField(allow_null=True, help_text="The gate's slug (null: deleted).")
    section = serializers.CharField(help_text="The section's key; a PDF page's is \"p<N>\".")
    active_ms = serializers.IntegerField(
        help_text="Active reading time: the sum of the section's reports (heartbeats)."
    )
    read = serializers.BooleanField(
        help_text="Whether it counts as read: the gate's minimum dwell reached, and a share "
        "of the section's expected reading time."
    )
    file = serializers.CharField(allow_null=True, help_text="A PDF page's file key; else null.")
    page = serializers.IntegerField(allow_null=True, help_text="A PDF page's number; else null.")


class LeadDetailApi(APIView):
    # Sales reads a lead; erasing one (DELETE) is for marketers.
    permission_classes = [SalesMayRead]

    class LeadDetailOutputSerializer(LeadOutputSerializer):
        reasons = serializers.ListField(child=serializers.CharField())
        do_not_contact = serializers.BooleanField()
        profile = serializers.SerializerMethodField()
        visitors = serializers.SerializerMethodField()
        timeline = serializers.SerializerMethodField()
        reading = serializers.SerializerMethodField()
        grade_changes = serializers.SerializerMethodField()

        def get_profile(self, lead: Any) -> dict[str, Any]:
            # Passive enrichment, never asked: see selectors.lead_profile.
            profile = lead_profile(lead=lead)
            profile["landing_url"] = lead.landing_url or None
            return profile

        def get_visitors(self, lead: Any) -> list[str]:
            return [str(v) for v in lead.visitors.values_list("id", flat=True)]

        def get_timeline(self, lead: Any) -> list[dict[str, Any]]:
            return lead_timeline(lead_id=lead.id)

        @extend_schema_field(ReadingOutputSerializer(many=True))
        def get_reading(self, lead: Any) -> list[dict[str, Any]]:
            return lead_reading(lead_id=lead.id)

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

    @extend_schema(responses=LeadDetailOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        return Response(self.LeadDetailOutputSerializer(_lead_or_404(pk)).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        lead_erase(lead=_lead_or_404(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeadExportApi(APIView):
    permission_classes = [SalesMayRead]

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = LeadFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        leads = lead_list(**filters.validated_data).values_list(*LEAD_CSV_COLUMNS)
        return csv_response(LEAD_CSV_COLUMNS, leads.iterator(chunk_size=2000), filename="leads.csv")
