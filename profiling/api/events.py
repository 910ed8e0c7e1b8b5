"""Public event ingest (contract: POST /api/v1/public/events).

The hottest path of the product, so it is lean on purpose (see docs/benchmarks.md):
- The class is a DRF APIView only so that drf-spectacular documents it; `dispatch` is
  overridden to skip DRF's request wrapping, authentication, content negotiation and
  renderers. Nothing of that is needed here: no auth, one JSON answer, and the body is
  read raw anyway (so `text/plain` beacons from navigator.sendBeacon work, and the
  64 KiB limit is checked before parsing).
- Gates come from a per-process cache that every write drops (profiling/caches.py); an
  event or origin it would refuse is checked against the database first.
- No Celery call per request: known leads are marked for scoring in the same
  transaction as their events (services.score_triggers).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from config.chunked import chunked_body_read
from config.cors import cors_headers_add, origin_allowed, request_origin
from config.errors import error_body
from config.metrics import EVENTS_REFUSED, labelled
from config.openapi import ErrorSerializer, errors
from config.parsers import json_loads_safe
from profiling.caches import GateKeys, since_received
from profiling.refusals import batch_refusals_record, refusals_record_origin
from profiling.services.ingest import ParsedBatch, events_ingest, events_parse, gate_keys_fresh
from profiling.services.ingest.parse import MAX_DURATION_MS, MAX_URL, PUBLIC_EVENT_TYPES
from profiling.throttle import events_wait_seconds


def _json(data: Any, status: int) -> HttpResponse:
    # Bytes: HttpResponse stores them as they are (a str would be encoded again).
    return HttpResponse(
        json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def _origin_refused(request: HttpRequest, batch: ParsedBatch) -> list[GateKeys]:
    return [g for g in batch.gates.values() if not origin_allowed(request, g.allowed_origins)]


def _refused_count(errors: dict[str, Any]) -> int:
    """Events the errors refuse: one per event index named (`events.3.type`,
    `events.3.gate`: one event), one for a batch-level error."""
    return len({".".join(key.split(".", 2)[:2]) for key in errors})


def events_post(request: HttpRequest) -> HttpResponse:
    limit = settings.LEADGATE_EVENTS_MAX_BYTES
    declared = request.META.get("CONTENT_LENGTH")
    if declared:
        # Refuse on the declared length before reading the body into memory.
        if declared.isdigit() and int(declared) > limit:
            labelled(EVENTS_REFUSED, "too_large").inc()
            return _json(error_body(f"The batch exceeds {limit} bytes."), 413)
        body = request.body
    else:
        # No length: sent chunked (read to its end, at most limit + 1 bytes, where the
        # server de-chunks: config/chunked.py), or empty.
        chunked = chunked_body_read(request.META, limit)
        body = request.body if chunked is None else chunked
    if len(body) > limit:
        labelled(EVENTS_REFUSED, "too_large").inc()
        return _json(error_body(f"The batch exceeds {limit} bytes."), 413)
    try:
        payload = json_loads_safe(body)
    except (ValueError, UnicodeDecodeError):
        labelled(EVENTS_REFUSED, "not_json").inc()
        return _json(error_body("The body is not valid JSON."), 400)
    received = timezone.now()
    visitor_id, batch = events_parse(payload, received=received)
    refused = _origin_refused(request, batch)
    if refused:
        # Refused by the cached gates: read them again (and the batch with them), so an
        # origin allowed a moment ago in another process is not refused.
        since = since_received(received)
        for gate in refused:
            gate_keys_fresh(gate.slug, since=since)
        visitor_id, batch = events_parse(payload, received=received)
        refused = _origin_refused(request, batch)
        if refused:
            refusals_record_origin(request_origin(request) or "", [g.id for g in refused])
            labelled(EVENTS_REFUSED, "origin").inc(max(1, len(batch.events)))
            return _json(
                error_body(f"This website is not allowed to send events for {refused[0].slug}."),
                403,
            )
    accepted = duplicates = 0
    if visitor_id is not None and batch.events:
        # After the cheap checks (size, JSON, gates, origin), before anything is stored:
        # a refused batch stores nothing, and the tracker sends it again later.
        wait = events_wait_seconds(request, visitor_id=visitor_id, count=len(batch.events))
        if wait is not None:
            labelled(EVENTS_REFUSED, "rate_limited").inc(len(batch.events))
            response = _json(error_body(f"Too many events; retry in {wait} seconds."), 429)
            response["Retry-After"] = str(wait)
            return response
        # Valid events are stored even when others in the batch are refused.
        result = events_ingest(visitor_id=visitor_id, events=batch.events, received=received)
        accepted, duplicates = result.accepted, result.duplicates
    if batch.errors:
        if batch.refused:
            batch_refusals_record(request_origin(request) or "", batch.refused)
        labelled(EVENTS_REFUSED, "invalid").inc(_refused_count(batch.errors))
        return _json({"errors": batch.errors, "accepted": accepted, "duplicates": duplicates}, 400)
    return _json({"accepted": accepted, "duplicates": duplicates}, 202)


def events_endpoint(request: HttpRequest) -> HttpResponse:
    """The whole endpoint, every method: the view's dispatch and the early dispatch
    (profiling/beacon.py, which reaches it without the rest of the middleware) call it."""
    method = request.method
    if method == "POST":
        response = events_post(request)
    elif method == "OPTIONS":
        # The preflight cannot know the gates yet; the POST itself enforces the origin.
        response = HttpResponse(status=204)
    else:
        response = _json(error_body(f'Method "{method}" not allowed.'), 405)
        response["Allow"] = "POST, OPTIONS"
    if response.status_code != 403:
        cors_headers_add(response, request)
    return response


# --- documentation only: the body is parsed by events_parse, not by these ---------------
class EventInputSerializer(serializers.Serializer):
    """One event (the tracker's, or a server's)."""

    id = serializers.UUIDField(help_text="Made by the client; a retry sends the same id.")
    type = serializers.ChoiceField(choices=sorted(PUBLIC_EVENT_TYPES))
    gate = serializers.CharField(max_length=80, help_text="The gate's slug.")
    section = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="A section key."
    )
    file = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="A file key."
    )
    duration_ms = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=MAX_DURATION_MS
    )
    occurred_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="ISO 8601 with a zone; corrected for skew."
    )
    url = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_URL
    )
    utm_source = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=200
    )
    utm_medium = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=200
    )
    utm_campaign = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=200
    )
    referrer = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_URL
    )


class EventsBatchInputSerializer(serializers.Serializer):
    visitor_id = serializers.UUIDField(help_text="The visitor's id, made and kept by the tracker.")
    sent_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="The client's clock when it sent the batch."
    )
    events = serializers.ListField(
        child=EventInputSerializer(),
        min_length=1,
        max_length=settings.LEADGATE_EVENTS_MAX_BATCH,
    )


class EventsAcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events stored by this request.")
    duplicates = serializers.IntegerField(help_text="Events whose id was already stored.")


class EventsRefusedSerializer(ErrorSerializer):
    """Errors keyed by event (`events.3.type`); the batch's valid events are stored and
    counted (no counts when the body was not a batch at all)."""

    accepted = serializers.IntegerField(required=False)
    duplicates = serializers.IntegerField(required=False)


class PublicEventsApi(APIView):
    """POST /api/v1/public/events: durable before 202, duplicates counted, per-event errors."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return events_endpoint(request)

    @extend_schema(
        request=EventsBatchInputSerializer,
        responses={
            202: EventsAcceptedSerializer,
            400: OpenApiResponse(
                EventsRefusedSerializer,
                description="Not JSON, or errors per event; the valid events are stored.",
            ),
            **errors(
                (403, "A gate of the batch does not allow this website (Origin)."),
                (413, f"The body exceeds {settings.LEADGATE_EVENTS_MAX_BYTES} bytes."),
                429,
            ),
        },
        auth=[],
    )
    def post(self, request: Any) -> HttpResponse:  # documentation only; dispatch serves
        return events_post(request._request)
