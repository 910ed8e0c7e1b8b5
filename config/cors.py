"""Per-gate CORS for the public endpoints (contract: foreign origins get 403).

Not django-cors-headers: the allow-list is per gate, not per site, so it is checked in
the view once the gate is known.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest, HttpResponseBase

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type"
PREFLIGHT_MAX_AGE = "86400"


def request_origin(request: HttpRequest) -> str | None:
    # From META rather than request.headers: the latter builds a dict of every header
    # on first use, which the public events endpoint (the hottest path) never needs.
    return request.META.get("HTTP_ORIGIN")


def own_origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(request: HttpRequest, allowed: Iterable[str]) -> bool:
    """No Origin header (server-to-server, same-origin GET) is allowed; the service's own
    origin (the hosted page) always is; otherwise the origin must be listed exactly."""
    origin = request_origin(request)
    if origin is None:
        return True
    origin_n = normalise_origin(origin)
    if origin_n == normalise_origin(own_origin(request)):
        return True
    return origin_n in {normalise_origin(o) for o in allowed}


def cors_headers_add(response: HttpResponseBase, request: HttpRequest) -> HttpResponseBase:
    origin = request_origin(request)
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        response["Vary"] = "Origin"
        if response.has_header("Retry-After"):
            # Not a CORS-safelisted header: a page's script (leadgate.js backing off after
            # a 429) can read it only when it is exposed.
            response["Access-Control-Expose-Headers"] = "Retry-After"
    return response
