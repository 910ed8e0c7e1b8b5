"""The events beacon's early dispatch (`POST /api/v1/public/events`), on or off with
LEADGATE_BEACON_EARLY_DISPATCH (docs/benchmarks.md measures what it buys).

It is the product's hottest endpoint: every tracked page view, section read and download
of every visitor on every site posts to it. It is cross-site, unauthenticated,
cookie-less and CSRF-exempt, so of the middleware only three can say anything about it:
SecurityMiddleware (nosniff, referrer and opener policies, HTTPS redirect and HSTS when
configured), XFrameOptionsMiddleware and django-csp's CSPMiddleware. beacon_chain sends
the beacon through the first two and the host check (ALLOWED_HOSTS, which
CommonMiddleware would make), adds the site-wide Content-Security-Policy and sizes the
answer; sessions, CSRF, authentication, messages and static files are skipped.

Two ways in, one chain: under gunicorn, config/wsgi.py puts BeaconFirst before Django's
WSGI handler; under runserver, the test client and ASGI, PublicBeaconMiddleware (first
in MIDDLEWARE) does the same inside the handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from csp.constants import HEADER as CSP_HEADER
from csp.utils import build_policy
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.log import log_response

from config.request_id import HEADER as REQUEST_ID_HEADER
from config.request_id import META_KEY as REQUEST_ID_META
from config.request_id import request_id_bind, request_id_reset

# The paths profiling/urls.py routes to the events endpoint (with or without the slash).
BEACON_PATHS = frozenset({"/api/v1/public/events", "/api/v1/public/events/"})

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _host_checked(
    view: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def checked(request: HttpRequest) -> HttpResponse:
        request.get_host()  # DisallowedHost -> 400, as on every other path
        return view(request)

    return checked


def beacon_chain() -> Callable[[HttpRequest], HttpResponse]:
    """The events endpoint behind the host check and Django's two security middleware,
    with the site-wide Content-Security-Policy, its answer sized (Content-Length) as
    CommonMiddleware sizes every other one.

    Django's own classes, so the beacon's headers are the ones every page gets. Each
    layer is wrapped as Django's handler wraps every middleware and view, so any
    exception (a crash, DisallowedHost) comes out as Django's 4xx/5xx response, inside
    the security middleware where it can: callers never see an exception.

    The Content-Security-Policy is the one CSPMiddleware writes on every other answer
    that has no nonce and no per-view policy, as the beacon's never has: built here once
    instead of per request (CSPMiddleware rebuilds it each time).
    """
    # Here, not at the top: config/openapi.py reads BEACON_PATHS, and the view imports it.
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
        # Without it gunicorn answers chunked: three writes to the socket instead of two.
        if not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response

    return sized


class PublicBeaconMiddleware:
    """The beacon's chain under runserver, the test client and ASGI."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.beacon = beacon_chain()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info not in BEACON_PATHS:
            return self.get_response(request)
        return self.beacon(request)


class BeaconFirst:
    """A WSGI app: the beacon's paths through beacon_chain, every other one to `django`.

    What Django's handler would do for the beacon and what this does instead: the
    request_started/request_finished receiver (close_old_connections: the query log,
    stale and broken connections) is called directly, before and after; the chain wraps
    each layer as the handler does, so a crash is Django's 500 (in the API's error
    shape, through handler500) and a DisallowedHost Django's 400; the small in-memory
    answer goes straight to the server, without the handler's resource-closer
    bookkeeping (the beacon opens no files).
    """

    def __init__(self, django: WsgiApp) -> None:
        self.django = django
        self.beacon = beacon_chain()  # answers every failure as a response, never raises

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") not in BEACON_PATHS:
            return self.django(environ, start_response)
        close_old_connections()
        # What RequestIdMiddleware does for every other path: the id on the answer, on
        # the log lines and on the score task this batch may enqueue.
        rid, token = request_id_bind(environ.get(REQUEST_ID_META))
        try:
            request = WSGIRequest(environ)
            response = self.beacon(request)
            response[REQUEST_ID_HEADER] = rid
            if response.status_code >= 400:  # as the handler's get_response logs them
                log_response(
                    "%s: %s",
                    response.reason_phrase,
                    request.path,
                    response=response,
                    request=request,
                )
            start_response(f"{response.status_code} {response.reason_phrase}", [*response.items()])
            return [response.content]
        finally:
            request_id_reset(token)
            close_old_connections()
