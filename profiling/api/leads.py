"""Marketer API: leads (list, detail, consent changes, erasure, merge by hand, CSV and
per-person export)."""

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
from config.errors import error_body
from config.json_export import json_download
from config.openapi import errors
from config.pagination import Pagination
from config.roles import MarketerOnly, SalesMayRead
from profiling.models import (
    ConsentMethod,
    Grade,
    Lead,
)
from profiling.selectors import (
    LEAD_CSV_COLUMNS,
    lead_get,
    lead_list,
    lead_profile,
    lead_reading,
    lead_timeline,
)
from profiling.selectors.person import lead_export_document, person_erasable
from profiling.services.consent import lead_contact_set, lead_subscription_withdraw
from profiling.services.identity import leads_merge
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
    # The person proved they own the address (confirmed from the email).
    email_verified = serializers.SerializerMethodField()
    score = serializers.IntegerField()
    grade = serializers.CharField()
    company_domain = serializers.CharField()
    utm_source = serializers.CharField()
    created_at = serializers.DateTimeField()
    scored_at = serializers.DateTimeField(allow_null=True)

    def get_email_verified(self, lead: Lead) -> bool:
        return lead.email_verified_at is not None


class ConsentOutputSerializer(serializers.Serializer):
    text = serializers.CharField()
    given_at = serializers.DateTimeField()
    method = serializers.ChoiceField(choices=ConsentMethod.choices)
    gate = serializers.CharField(allow_null=True, help_text="The gate's slug, if any.")
    withdrawn_at = serializers.DateTimeField(allow_null=True)


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


def _lead_id_or_404(pk: str) -> uuid.UUID:
    try:
        return uuid.UUID(pk)
    except ValueError:
        raise NotFound("No lead with this id.") from None


def _lead_or_404(pk: str) -> Any:
    lead = lead_get(lead_id=_lead_id_or_404(pk))
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
    # Sales reads a lead; changing its consent (PATCH) or erasing it (DELETE) is for
    # marketers (SalesMayRead refuses every unsafe method to sales users).
    permission_classes = [SalesMayRead]

    class LeadPatchInputSerializer(serializers.Serializer):
        subscribed = serializers.BooleanField(
            required=False,
            help_text="Only `false` (unsubscribe): subscribing takes the person's own opt-in.",
        )
        do_not_contact = serializers.BooleanField(required=False)

        def validate_subscribed(self, value: bool) -> bool:
            if value:
                raise serializers.ValidationError(
                    "Only false is accepted: a person is subscribed only by their own "
                    "opt-in on a form (the proof of consent), never by a marketer."
                )
            return value

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            data = self.initial_data if isinstance(self.initial_data, dict) else {}
            unknown = sorted(str(k) for k in set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        key[:80]: [
                            "Unknown field: only subscribed (false) and do_not_contact "
                            "can be changed."
                        ]
                        for key in unknown[:20]
                    }
                )
            if not attrs:
                raise serializers.ValidationError("Send subscribed: false or do_not_contact.")
            return attrs

    class LeadDetailOutputSerializer(LeadOutputSerializer):
        reasons = serializers.ListField(child=serializers.CharField())
        do_not_contact = serializers.BooleanField()
        consents = serializers.SerializerMethodField()
        profile = serializers.SerializerMethodField()
        visitors = serializers.SerializerMethodField()
        timeline = serializers.SerializerMethodField()
        reading = serializers.SerializerMethodField()
        grade_changes = serializers.SerializerMethodField()

        @extend_schema_field(ConsentOutputSerializer(many=True))
        def get_consents(self, lead: Lead) -> list[dict[str, Any]]:
            # Every opt-in as given (proof of consent), oldest first.
            return [
                {
                    "text": c.text,
                    "given_at": c.given_at,
                    "method": c.method,
                    "gate": c.gate.slug if c.gate is not None else None,
                    "withdrawn_at": c.withdrawn_at,
                }
                for c in lead.consents.select_related("gate").order_by("given_at", "id")
            ]

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

    @extend_schema(
        request=LeadPatchInputSerializer,
        responses=LeadDetailOutputSerializer,
        description=(
            "Unsubscribe (`subscribed: false`) or set/clear do-not-contact. Both act on the "
            "whole person (leads merged into it too) and mark the consents in force as "
            "withdrawn. Do-not-contact also unsubscribes, stops every email (queued ones "
            "are skipped) and every CRM push; clearing it does not resubscribe."
        ),
    )
    def patch(self, request: Request, pk: str) -> Response:
        lead = _lead_or_404(pk)
        data = self.LeadPatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = data.validated_data
        if "do_not_contact" in changes:
            lead_contact_set(lead_id=lead.id, do_not_contact=changes["do_not_contact"])
        if "subscribed" in changes:
            lead_subscription_withdraw(lead_id=lead.id)
        return Response(self.LeadDetailOutputSerializer(_lead_or_404(pk)).data)

    @extend_schema(
        request=None,
        responses={204: None},
        description=(
            "Erases the person: the lead and every lead merged into it (the id of a merged "
            "lead erases the whole person). Leaves no personal data in the database; "
            "events stay as anonymous counts. 404 once erased."
        ),
    )
    def delete(self, request: Request, pk: str) -> Response:
        root = person_erasable(lead_id=_lead_id_or_404(pk))
        if root is None:
            raise NotFound("No lead with this id.")
        lead_erase(lead=root)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeadPersonExportApi(APIView):
    # A full dump of one person's data (emails, answers, every event): marketers only,
    # like erasure; sales reads the lead page and the CSV list.
    permission_classes = [MarketerOnly]

    @extend_schema(
        responses={(200, "application/json"): dict},
        description=(
            "Everything stored about the person, as one JSON document (an attachment, "
            "streamed): lead fields (and the leads merged into it), consents, submissions "
            "with their answers, quarantined submissions, visitors, events, grade "
            "changes, CRM deliveries with their payloads, and emails."
        ),
    )
    def get(self, request: Request, pk: str) -> StreamingHttpResponse:
        lead = _lead_or_404(pk)
        return json_download(
            lead_export_document(lead=lead), filename=f"leadgate-lead-{lead.id}.json"
        )


class LeadMergeApi(APIView):
    """Merge this lead into another one, by hand (automatic merges need proof: see
    profiling/services/identity)."""

    permission_classes = [MarketerOnly]

    class LeadMergeInputSerializer(serializers.Serializer):
        into = serializers.UUIDField(help_text="The lead that remains: this one joins it.")

    @extend_schema(
        request=LeadMergeInputSerializer,
        responses={200: LeadDetailApi.LeadDetailOutputSerializer, **errors(400, 404)},
    )
    def post(self, request: Request, pk: str) -> Response:
        lead = _lead_or_404(pk)
        serializer = self.LeadMergeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = lead_get(lead_id=serializer.validated_data["into"])
        if target is None:
            return Response(error_body({"into": ["No lead with this id."]}), status=400)
        if target.pk == lead.pk:
            return Response(error_body({"into": ["These are already one lead."]}), status=400)
        winner = leads_merge(lead_ids=[lead.pk, target.pk], into=target.pk)
        return Response(LeadDetailApi.LeadDetailOutputSerializer(winner).data)


class LeadExportApi(APIView):
    permission_classes = [SalesMayRead]

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = LeadFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        leads = lead_list(**filters.validated_data).values_list(*LEAD_CSV_COLUMNS)
        return csv_response(LEAD_CSV_COLUMNS, leads.iterator(chunk_size=2000), filename="leads.csv")
