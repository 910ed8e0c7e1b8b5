"""The lean path for the public events beacon (`POST /api/v1/public/events`).

It is the product's hottest endpoint: every tracked page view, section read and download
of every visitor on every site posts to it (its budget is set against a trivial Django
view: see docs/benchmarks.md, section "Event ingest"). It is cross-site, unauthenticated, cookie-less and CSRF-exempt, so of the
middleware only three can say anything about it: SecurityMiddleware (nosniff, referrer
and opener policies, HTTPS redirect and HSTS when configured), XFrameOptionsMiddleware
and django-csp's CSPMiddleware. This middleware, first in MIDDLEWARE, sends the beacon
through the first two and the host check (ALLOWED_HOSTS, which CommonMiddleware would
make), adds the site-wide Content-Security-Policy and returns; sessions, CSRF,
authentication, messages and static files are skipped. Everything else takes the
usual chain. Exceptions still reach Django's handler (500 in the API's error shape).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from csp.constants import HEADER as CSP_HEADER
from csp.utils import build_policy
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware

# The paths config/urls.py routes to the events endpoint (with or without the slash).
BEACON_PATHS = frozenset({"/api/v1/public/events", "/api/v1/public/events/"})


def _host_checked(
    view: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def checked(request: HttpRequest) -> HttpResponse:
        request.get_host()  # DisallowedHost -> 400, as on every other path
        return view(request)

    return checked


def beacon_chain() -> Callable[[HttpRequest], HttpResponse]:
    """The events endpoint behind the host check and Django's two security middleware,
    with the site-wide Content-Security-Policy, its answer sized (Content-Length) as CommonMiddleware sizes every other one.

    Django's own classes, so the beacon's headers are the ones every page gets. Each
    layer is wrapped as Django's handler wraps every middleware and view, so any
    exception (a crash, DisallowedHost) comes out as Django's 4xx/5xx response, inside
    the security middleware where it can: callers never see an exception.

    The Content-Security-Policy is the one CSPMiddleware writes on every other answer
    that has no nonce and no per-view policy, as the beacon's never has: built here once
    instead of per request (CSPMiddleware rebuilds it each time: about 35 µs per request
    on the development machine, on the product's hottest path).
    """
    from profiling.api.events import events_endpoint

    wrap = convert_exception_to_response
    chain = cast(
        # A synchronous chain of a sync view that answers HttpResponse (in-memory JSON):
        # never an awaitable, never a streaming response.
        Callable[[HttpRequest], HttpResponse],
        wrap(
            SecurityMiddleware(wrap(XFrameOptionsMiddleware(wrap(_host_checked(events_endpoint)))))
        ),
    )

    policy = build_policy()

    def sized(request: HttpRequest) -> HttpResponse:
        response = chain(request)
        if policy and CSP_HEADER not in response:
            response.headers[CSP_HEADER] = policy
        # What CommonMiddleware does on every other path. Without it gunicorn answers
        # chunked: three writes to the socket instead of two, and more bytes.
        if not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response

    return sized


class PublicBeaconMiddleware:
    """The lean path under runserver, the test client and ASGI. Production WSGI
    (config/wsgi.py) dispatches the beacon before Django's handler with the same chain."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.beacon = beacon_chain()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info not in BEACON_PATHS:
            return self.get_response(request)
        return self.beacon(request)
