"""Marketer API: scoring rules and scoring settings."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import django_validation_errors, error_body
from forms_app.models import Gate, GateFile, Section
from profiling.models import (
    EventType,
    ScoringRule,
)
from profiling.selectors import (
    rule_list,
)
from profiling.services.rules import (
    scoring_rule_delete,
    scoring_rule_save,
    scoring_settings_update,
)
from profiling.services.scoring import scoring_settings_get

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
        raise serializers.ValidationError(django_validation_errors(exc)) from None


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

    @extend_schema(request=None, responses={204: None})
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
