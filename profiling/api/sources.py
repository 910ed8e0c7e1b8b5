"""Marketer API: Segment-compatible sources and their write keys (`/api/v1/sources/`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import django_validation_errors
from config.roles import MarketerOnly
from profiling.models import Source
from profiling.services.segment import source_create, source_delete


class SourceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    write_key = serializers.CharField()
    allowed_gates = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_allowed_gates(self, source: Source) -> list[str] | None:
        if source.all_gates:
            return None
        return sorted(g.slug for g in source.gates.all())


class SourceListCreateApi(APIView):
    # Marketers only, reading too: the list shows every write key.
    permission_classes = [MarketerOnly]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        allowed_gates = serializers.ListField(
            child=serializers.CharField(max_length=80),
            allow_null=True,
            required=False,
            max_length=1000,
        )

    @extend_schema(responses=SourceOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        sources = Source.objects.prefetch_related("gates").order_by("id")
        return Response(SourceOutputSerializer(sources, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: SourceOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            source = source_create(
                name=data.validated_data["name"],
                allowed_gates=data.validated_data.get("allowed_gates"),
            )
        except DjangoValidationError as exc:
            raise ValidationError(django_validation_errors(exc)) from None
        return Response(SourceOutputSerializer(source).data, status=status.HTTP_201_CREATED)


def _source_or_404(pk: str) -> Source:
    source = Source.objects.filter(pk=int(pk)).prefetch_related("gates").first()
    if source is None:
        raise NotFound("No source with this id.")
    return source


class SourceDetailApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(responses=SourceOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        return Response(SourceOutputSerializer(_source_or_404(pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        source_delete(source=_source_or_404(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
