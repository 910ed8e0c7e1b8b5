"""What the browser SDKs fetch before they send anything, served with leadgate as their host.

- analytics.js (`@segment/analytics-next`) loaded with `cdnURL` set to leadgate asks
  `GET {cdnURL}/v1/projects/{writeKey}/settings`. The answer names one integration,
  "Segment.io", whose `apiHost`/`protocol` point at leadgate's `/v1` ingest, so a site that
  sets only `cdnURL` still sends its events here; `metrics.sampleRate: 0` keeps the SDK from
  posting its own telemetry anywhere.
- The RudderStack JS SDK v3 (`@rudderstack/analytics-js`) loaded with `configUrl` set to
  leadgate asks `GET {configUrl}/sourceConfig/?writeKey=...` with the write key as Basic
  auth. The answer is an enabled source with no destinations (leadgate is the destination:
  the SDK sends every event to its `dataPlaneUrl`) and its error and metrics reporting off.

An unknown or inactive write key gets the contract's error shape: 404 for the Segment URL,
which names the project (as Segment's CDN answers), 401 for RudderStack's request, which
authenticates with the key (as RudderStack's API answers).

CORS: any origin, like the ingest endpoints (profiling/api/segment.py). The answer holds
nothing the caller does not already have: the write key is public by design (it ships in
the page source of every site that uses it, and the ingest accepts it from any origin), and
leadgate's own address. No cookies or credentials are involved, so `*` is safe; limiting it
to the origins of the source's gates would only break sites that send events from pages
without a gate, while anyone could still post events with the key.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import error_body
from config.openapi import errors
from profiling.api.segment import MAX_WRITE_KEY, basic_auth_write_key, cors_preflight
from profiling.caches import SourceInfo, source_lookup

# The settings change only when leadgate's address does; a short browser cache saves a
# request per page view without keeping a deleted source alive for long (its events are
# refused at ingest anyway).
CACHE_CONTROL = "public, max-age=60"
WRITE_KEY_PATTERN = rf"[A-Za-z0-9_-]{{1,{MAX_WRITE_KEY}}}"
_WRITE_KEY = re.compile(WRITE_KEY_PATTERN)


def _ingest_host(request: HttpRequest) -> tuple[str, str]:
    """(protocol, apiHost) of leadgate's Segment ingest, as analytics.js spells them:
    `{protocol}://{apiHost}/t` is where a track goes."""
    base = settings.LEADGATE_BASE_URL or f"{request.scheme}://{request.get_host()}"
    parts = urlsplit(base)
    return parts.scheme, f"{parts.netloc}{parts.path.rstrip('/')}/v1"


def segment_settings(*, write_key: str, protocol: str, api_host: str) -> dict[str, Any]:
    """analytics.js's settings (its `CDNSettings`): the Segment.io destination only."""
    return {
        "integrations": {
            "Segment.io": {
                # The SDK puts this in every event body as `writeKey`.
                "apiKey": write_key,
                "apiHost": api_host,
                "protocol": protocol,
            }
        },
        "metrics": {"sampleRate": 0},
        "remotePlugins": [],
        "enabledMiddleware": {},
        "middlewareSettings": {},
        "legacyVideoPluginsEnabled": False,
    }


def rudderstack_source_config(*, source: SourceInfo) -> dict[str, Any]:
    """The fields the RudderStack SDK v3 checks (`source.id`, `source.config`,
    `source.destinations`, `source.enabled`)."""
    return {
        "isHosted": False,
        "source": {
            "id": f"leadgate-{source.id}",
            "name": "leadgate",
            "workspaceId": "leadgate",
            "enabled": True,
            "config": {
                "statsCollection": {"errors": {"enabled": False}, "metrics": {"enabled": False}}
            },
            "destinations": [],
        },
    }


class SdkConfigApi(APIView):
    """Public (the write key is the whole check): no session, no CSRF; any origin."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method == "OPTIONS":
            return cors_preflight(response, request._request, "GET, OPTIONS")
        response["Access-Control-Allow-Origin"] = "*"
        if response.status_code == 200:
            response["Cache-Control"] = CACHE_CONTROL
        return response

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        return Response(status=204)


class SegmentSettingsApi(SdkConfigApi):
    @extend_schema(
        summary="analytics.js settings for a write key",
        description=(
            "What `@segment/analytics-next` fetches from its `cdnURL` before it sends: "
            "the Segment.io destination pointing at this server's `/v1` ingest."
        ),
        responses={
            200: OpenApiTypes.OBJECT,
            **errors((404, "No active source has this write key.")),
        },
        auth=[],
    )
    def get(self, request: Request, write_key: str) -> Response:
        source = source_lookup(write_key)
        if source is None:
            return Response(error_body("Unknown write key."), status=404)
        protocol, api_host = _ingest_host(request._request)
        return Response(segment_settings(write_key=write_key, protocol=protocol, api_host=api_host))


class RudderStackSourceConfigApi(SdkConfigApi):
    @extend_schema(
        summary="RudderStack JS SDK source configuration",
        description=(
            "What `@rudderstack/analytics-js` v3 fetches from its `configUrl` before it "
            "sends: the source, enabled, with no destinations. The write key comes as "
            'HTTP Basic (`base64(key + ":")`) or as the `writeKey` query parameter.'
        ),
        parameters=[OpenApiParameter("writeKey", str, required=False)],
        responses={
            200: OpenApiTypes.OBJECT,
            **errors((401, "No write key, or one no active source has.")),
        },
        auth=[],
    )
    def get(self, request: Request) -> Response:
        key = basic_auth_write_key(request._request) or request.query_params.get("writeKey", "")
        source = source_lookup(key) if _WRITE_KEY.fullmatch(key) else None
        if source is None:
            return Response(error_body("Unknown or missing write key."), status=401)
        return Response(rudderstack_source_config(source=source))
