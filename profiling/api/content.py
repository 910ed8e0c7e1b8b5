"""Marketer API: a gate's content analytics (readers, drop-off, what hot leads read)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.csv_export import csv_response
from config.roles import SalesMayRead
from forms_app.models import Gate
from profiling.content_analytics import (
    CONTENT_CSV_COLUMNS,
    PAGE,
    SECTION,
    ContentItem,
    ContentReport,
    content_csv_rows,
    gate_content_report,
)

RANGE_HELP = (
    "ISO 8601 date or time; a date is the start of that day (UTC). Events at or after "
    "`since` and before `until` count; either may be left out (no bound)."
)


def _moment(value: str) -> datetime:
    parsed: datetime | None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = None if day is None else datetime.combine(day, time.min)
    except ValueError:
        parsed = None
    if parsed is None:
        raise serializers.ValidationError("Use an ISO 8601 date or time.")
    try:
        if parsed.tzinfo is None:
            parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
        # In UTC now: a time at the calendar's edge with an offset overflows here, as a
        # 400, instead of later, when the answer is written.
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise serializers.ValidationError("This date or time is out of range.") from None


class ContentRangeSerializer(serializers.Serializer):
    since = serializers.CharField(max_length=64, required=False)
    until = serializers.CharField(max_length=64, required=False)

    def validate_since(self, value: str) -> datetime:
        return _moment(value)

    def validate_until(self, value: str) -> datetime:
        return _moment(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and until <= since:
            raise serializers.ValidationError({"until": "until must be after since."})
        return attrs


class ContentItemOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[SECTION, PAGE])
    key = serializers.CharField(help_text='The section key, or "p<N>" for page N of a file.')
    title = serializers.CharField()
    file = serializers.CharField(
        allow_null=True, help_text="The file of a page; null for a section."
    )
    page = serializers.IntegerField(allow_null=True)
    readers = serializers.IntegerField(help_text="Distinct visitors with active time on it.")
    reach = serializers.FloatField(
        allow_null=True, help_text="readers / visitors of the gate (0..1): the drop-off."
    )
    median_active_ms = serializers.IntegerField(
        allow_null=True, help_text="Median of the readers' summed active time."
    )
    read = serializers.IntegerField(help_text="Readers whose active time reached the threshold.")
    read_share = serializers.FloatField(allow_null=True, help_text="read / visitors of the gate.")
    read_threshold_ms = serializers.IntegerField()
    hot_leads = serializers.IntegerField(help_text="Hot leads (now or ever) that read it.")
    hot_share = serializers.FloatField(
        allow_null=True, help_text="hot_leads / the hot leads who came to the gate."
    )
    hot_rank = serializers.IntegerField(
        allow_null=True, help_text="1 = read by the most hot leads; null if read by none."
    )


class ContentFileOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    pages = ContentItemOutputSerializer(many=True)


class ContentReportOutputSerializer(serializers.Serializer):
    gate = serializers.CharField()
    title = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    visitors = serializers.IntegerField(help_text="Distinct visitors with any event on the gate.")
    hot_leads = serializers.IntegerField(help_text="Hot leads among them.")
    sections = ContentItemOutputSerializer(many=True)
    files = ContentFileOutputSerializer(many=True)
    hot_ranking = ContentItemOutputSerializer(
        many=True, help_text="Sections and pages by how many hot leads read them, most first."
    )


def _item(item: ContentItem) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "key": item.key,
        "title": item.title,
        "file": item.file_key or None,
        "page": item.page,
        "readers": item.readers,
        "reach": item.reach,
        "median_active_ms": item.median_active_ms,
        "read": item.read,
        "read_share": item.read_share,
        "read_threshold_ms": item.read_threshold_ms,
        "hot_leads": item.hot_leads,
        "hot_share": item.hot_share,
        "hot_rank": item.hot_rank,
    }


def _report_data(report: ContentReport) -> dict[str, Any]:
    return {
        "gate": report.gate.slug,
        "title": report.gate.title,
        "since": report.since,
        "until": report.until,
        "visitors": report.visitors,
        "hot_leads": report.hot_leads,
        "sections": [_item(i) for i in report.sections],
        "files": [
            {"key": f.key, "title": f.title, "pages": [_item(p) for p in f.pages]}
            for f in report.files
        ],
        "hot_ranking": [_item(i) for i in report.hot_ranking],
    }


def _report(request: Request, slug: str) -> ContentReport:
    gate = Gate.objects.filter(slug=slug).first()
    if gate is None:
        raise NotFound("No gate with this slug.")
    query = ContentRangeSerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return gate_content_report(gate=gate, **query.validated_data)


RANGE_PARAMETERS = [
    OpenApiParameter("since", str, description=RANGE_HELP),
    OpenApiParameter("until", str, description=RANGE_HELP),
]


class GateContentApi(APIView):
    permission_classes = [SalesMayRead]

    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses=ContentReportOutputSerializer,
        description=(
            "Per section and per PDF page of the gate: readers (visitors with active "
            "reading time), the share of the gate's visitors who reached it (the "
            "drop-off), the median active time per reader, how many read it (active time "
            "at least the read threshold), and which sections and pages the leads who "
            "became hot read most. The same table as CSV: `.../content.csv`."
        ),
    )
    def get(self, request: Request, slug: str) -> Response:
        report = _report(request, slug)
        return Response(ContentReportOutputSerializer(_report_data(report)).data)


class GateContentCsvApi(APIView):
    permission_classes = [SalesMayRead]

    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses={(200, "text/csv"): str},
        description=(
            "The content report as CSV, one row per section and page: "
            + ", ".join(f"`{c}`" for c in CONTENT_CSV_COLUMNS)
            + ". Shares are 0..1 with four decimals."
        ),
    )
    def get(self, request: Request, slug: str) -> StreamingHttpResponse:
        report = _report(request, slug)
        return csv_response(
            CONTENT_CSV_COLUMNS,
            content_csv_rows(report),
            filename=f"leadgate-content-{report.gate.slug}.csv",
        )
