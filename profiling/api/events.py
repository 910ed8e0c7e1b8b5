"""Public event ingest (contract: POST /api/v1/public/events)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.cors import cors_headers_add, origin_allowed
from config.errors import error_body
from config.parsers import json_loads_safe
from profiling.services.ingest import events_ingest, events_parse

# --- public ingest -------------------------------------------------------------------


class PublicEventsApi(APIView):
    """POST /api/v1/public/events: durable before 202, duplicates counted, per-event errors.

    The body is read raw (not through DRF parsers) so that `text/plain` beacons
    (navigator.sendBeacon cannot send JSON content types without a preflight) work,
    and so the 64 KiB limit is checked before any parsing.
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kw: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kw)
        if response.status_code != status.HTTP_403_FORBIDDEN:
            cors_headers_add(response, request._request)
        return response

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        # The preflight cannot know the gates yet; the POST itself enforces the origin.
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={202: {"type": "object"}},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        raw_request: HttpRequest = request._request
        limit = settings.LEADGATE_EVENTS_MAX_BYTES
        declared = raw_request.META.get("CONTENT_LENGTH") or "0"
        # Refuse on the declared length before reading the body into memory.
        if declared.isdigit() and int(declared) > limit:
            return Response(error_body(f"The batch exceeds {limit} bytes."), status=413)
        body = raw_request.body
        if len(body) > limit:
            return Response(error_body(f"The batch exceeds {limit} bytes."), status=413)
        try:
            payload = json_loads_safe(body)
        except (ValueError, UnicodeDecodeError):
            return Response(error_body("The body is not valid JSON."), status=400)
        received = timezone.now()
        visitor_id, batch = events_parse(payload, received=received)
        for gate in batch.gates.values():
            if not origin_allowed(raw_request, gate.allowed_origins):
                return Response(
                    error_body(f"This website is not allowed to send events for {gate.slug}."),
                    status=403,
                )
        accepted = duplicates = 0
        if visitor_id is not None and batch.events:
            # Valid events are stored even when others in the batch are refused.
            result = events_ingest(visitor_id=visitor_id, events=batch.events, received=received)
            accepted, duplicates = result.accepted, result.duplicates
        if batch.errors:
            return Response(
                {"errors": batch.errors, "accepted": accepted, "duplicates": duplicates},
                status=400,
            )
        return Response({"accepted": accepted, "duplicates": duplicates}, status=202)
