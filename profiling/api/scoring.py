"""Marketer API: scoring rules, scoring settings, what-if previews and full rescores.

Rule and settings writes re-grade every lead in the background; `?push=true` on those
writes (or on `POST /api/v1/scoring-rules/rescore`) delivers the resulting grade changes
to subscribed CRM endpoints, which otherwise are recorded but not pushed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import django_validation_errors
from config.fields import SlugRelatedField
from config.roles import MarketerOnly
from forms_app.models import Gate
from profiling.models import (
    RULE_TYPE_CHOICES,
    ProfileCondition,
    ScoringRule,
)
from profiling.scoring_engine import RuleSpec, Thresholds
from profiling.selectors import (
    rule_list,
)
from profiling.services.rescore import rescore_status
from profiling.services.rules import (
    leads_rescore_request,
    scoring_rule_delete,
    scoring_rule_save,
    scoring_settings_update,
)
from profiling.services.scoring import chapter_pages, scoring_settings_get
from profiling.services.whatif import MAX_SAMPLE, scoring_what_if

# --- scoring rules and settings ------------------------------------------------------


class ScoringRuleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    event_type = serializers.ChoiceField(choices=RULE_TYPE_CHOICES)
    # Profile rules only (event_type "profile"): which passive-profile fact they score.
    profile_condition = serializers.ChoiceField(
        choices=ProfileCondition.choices, allow_null=True, required=False
    )
    gate = SlugRelatedField(
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
        if "section" in attrs:
            attrs["section_key"] = attrs.pop("section") or ""
        if "file" in attrs:
            attrs["file_key"] = attrs.pop("file") or ""
        if "profile_condition" in attrs:
            attrs["profile_condition"] = attrs["profile_condition"] or ""
        if not self.partial:
            # The model's clean() owns what a rule may combine (see ScoringRule.clean); a
            # partial update is checked by the service, on the whole rule it produces.
            try:
                ScoringRule(**attrs).clean()
            except DjangoValidationError as exc:
                raise serializers.ValidationError(rule_errors(exc)) from None
        return attrs


# The model names the keys; the contract calls them `section` and `file`.
_RULE_FIELD_NAMES = {"section_key": "section", "file_key": "file"}


def rule_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    return {_RULE_FIELD_NAMES.get(k, k): v for k, v in django_validation_errors(exc).items()}


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
    profile_condition = serializers.SerializerMethodField()

    def get_profile_condition(self, rule: ScoringRule) -> str | None:
        return rule.profile_condition or None

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


def _push_param(request: Request) -> bool:
    """`?push=true`: deliver the grade changes this write causes (default: record only)."""
    raw = request.query_params.get("push", "false").strip().lower()
    if raw in {"1", "true", "yes"}:
        return True
    if raw in {"0", "false", "no", ""}:
        return False
    raise serializers.ValidationError({"push": ["Use push=true or push=false."]})


def _save_rule(rule: ScoringRule | None, data: dict[str, Any], push: bool) -> ScoringRule:
    try:
        return scoring_rule_save(rule=rule, data=data, push=push)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(rule_errors(exc)) from None


class ScoringRuleListCreateApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(responses=ScoringRuleOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(ScoringRuleOutputSerializer(rule_list(), many=True).data)

    @extend_schema(request=ScoringRuleInputSerializer, responses={201: ScoringRuleOutputSerializer})
    def post(self, request: Request) -> Response:
        push = _push_param(request)
        serializer = ScoringRuleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = _save_rule(None, dict(serializer.validated_data), push)
        return Response(ScoringRuleOutputSerializer(rule).data, status=201)


class ScoringRuleDetailApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(responses=ScoringRuleOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        return Response(ScoringRuleOutputSerializer(_rule_or_404(int(pk))).data)

    def _update(self, request: Request, pk: str, partial: bool) -> Response:
        rule = _rule_or_404(int(pk))
        push = _push_param(request)
        serializer = ScoringRuleInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        rule = _save_rule(rule, dict(serializer.validated_data), push)
        return Response(ScoringRuleOutputSerializer(rule).data)

    @extend_schema(request=ScoringRuleInputSerializer, responses=ScoringRuleOutputSerializer)
    def put(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(request=ScoringRuleInputSerializer, responses=ScoringRuleOutputSerializer)
    def patch(self, request: Request, pk: str) -> Response:
        return self._update(request, pk, partial=True)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        rule = _rule_or_404(int(pk))
        scoring_rule_delete(rule=rule, push=_push_param(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScoringSettingsSerializer(serializers.Serializer):
    warm_threshold = serializers.IntegerField(min_value=1, max_value=1_000_000)
    hot_threshold = serializers.IntegerField(min_value=1, max_value=1_000_000)
    half_life_days = serializers.IntegerField(min_value=0, max_value=3650)


class ScoringSettingsApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(responses=ScoringSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(ScoringSettingsSerializer(scoring_settings_get()).data)

    def _update(self, request: Request, partial: bool) -> Response:
        push = _push_param(request)
        serializer = ScoringSettingsSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            row = scoring_settings_update(data=dict(serializer.validated_data), push=push)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(django_validation_errors(exc)) from None
        return Response(ScoringSettingsSerializer(row).data)

    @extend_schema(request=ScoringSettingsSerializer, responses=ScoringSettingsSerializer)
    def put(self, request: Request) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=ScoringSettingsSerializer, responses=ScoringSettingsSerializer)
    def patch(self, request: Request) -> Response:
        return self._update(request, partial=True)


# --- what-if and full rescore -------------------------------------------------------------

MAX_DRAFT_RULES = 200


class WhatIfInputSerializer(serializers.Serializer):
    rules = ScoringRuleInputSerializer(many=True, max_length=MAX_DRAFT_RULES)  # type: ignore[call-arg]
    thresholds = ScoringSettingsSerializer(required=False)
    sample_size = serializers.IntegerField(min_value=0, max_value=MAX_SAMPLE, default=20)

    def validate_thresholds(self, value: dict[str, Any]) -> dict[str, Any]:
        if value["warm_threshold"] >= value["hot_threshold"]:
            raise serializers.ValidationError(
                {"warm_threshold": ["Must be lower than hot_threshold."]}
            )
        return value


class _GradedSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    grade = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class _WhatIfLeadSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.CharField()
    name = serializers.CharField()


class _WhatIfSampleSerializer(serializers.Serializer):
    lead = _WhatIfLeadSerializer()
    old = _GradedSerializer()
    new = _GradedSerializer()


class WhatIfOutputSerializer(serializers.Serializer):
    leads = serializers.IntegerField(help_text="Leads scored under both rule sets.")
    would_change = serializers.IntegerField(help_text="Leads whose grade would change.")
    transitions = serializers.DictField(child=serializers.IntegerField())
    sample = _WhatIfSampleSerializer(many=True)


def _draft_spec(index: int, data: dict[str, Any]) -> RuleSpec:
    gate = data.get("gate")
    return RuleSpec(
        id=index + 1,
        name=data["name"],
        event_type=data["event_type"],
        points=data["points"],
        gate_id=gate.id if gate is not None else None,
        section_key=data.get("section_key", ""),
        file_key=data.get("file_key", ""),
        event_name=data.get("event_name", ""),
        max_points=data.get("max_points"),
        min_duration_ms=data.get("min_duration_ms"),
        makes_hot=data.get("makes_hot", False),
        profile_condition=data.get("profile_condition", ""),
        pages=chapter_pages(
            event_type=data["event_type"],
            gate_id=gate.id if gate is not None else None,
            file_key=data.get("file_key", ""),
            section_key=data.get("section_key", ""),
        ),
    )


class ScoringWhatIfApi(APIView):
    """Preview a draft rule set (it replaces the active rules as a whole) and optional
    draft thresholds: how many leads would change grade, and a sample with old and new
    reasons. Changes nothing."""

    permission_classes = [MarketerOnly]

    @extend_schema(request=WhatIfInputSerializer, responses=WhatIfOutputSerializer)
    def post(self, request: Request) -> Response:
        serializer = WhatIfInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rules = [_draft_spec(i, r) for i, r in enumerate(data["rules"]) if r.get("is_active", True)]
        t = data.get("thresholds")
        thresholds = (
            Thresholds(
                warm=t["warm_threshold"], hot=t["hot_threshold"], half_life_days=t["half_life_days"]
            )
            if t
            else None
        )
        result = scoring_what_if(
            rules=rules, thresholds=thresholds, sample_size=data["sample_size"]
        )
        return Response(WhatIfOutputSerializer(result).data)


class RescoreInputSerializer(serializers.Serializer):
    push = serializers.BooleanField(default=False)


class ScoringRescoreApi(APIView):
    """`POST`: re-grade every lead now in the background (`push`: deliver the changes).
    `GET`: the latest full rescore's progress (`done` of `total` leads)."""

    permission_classes = [MarketerOnly]

    @extend_schema(request=RescoreInputSerializer, responses={202: dict})
    def post(self, request: Request) -> Response:
        serializer = RescoreInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        leads_rescore_request(push=serializer.validated_data["push"])
        return Response({"queued": True, "push": serializer.validated_data["push"]}, status=202)

    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response:
        return Response(rescore_status() or {"state": "never-run"})
