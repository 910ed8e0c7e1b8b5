"""The WSGI entry point (gunicorn config.wsgi:application).

One path is dispatched before Django's handler: the public events beacon
(`POST /api/v1/public/events`, the product's hottest endpoint, with its budget against a
trivial Django view in issue #5 and docs/benchmarks.md). Everything else is Django's
WSGIHandler, unchanged.

What the handler would do for the beacon and what this does instead:
- the request_started/request_finished signals exist to reset the query log and close
  stale database connections (CONN_MAX_AGE, broken connections): done here directly, on
  the one connection the beacon uses, before and after the request;
- the middleware chain: the beacon is cross-site, unauthenticated, cookie-less and
  CSRF-exempt, so only the security headers and the host check apply. They are Django's
  own classes (config.middleware.beacon_chain), exactly as on the middleware path that
  runserver, the test client and ASGI take;
- exceptions: an unexpected one becomes Django's 500 (in the API's error shape, through
  handler500), a DisallowedHost Django's 400, both logged by Django as usual;
- the answer: status, headers and the (small, in-memory) body go straight to the server,
  without the handler's resource-closer bookkeeping (the beacon opens no files).
Measured in-process: about a quarter of the beacon's Python CPU per request was the
handler's signals, middleware wrappers and response closing (docs/benchmarks.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BeaconFirst:
    """A WSGI app: the beacon's paths through beacon_chain, every other one to `django`."""

    def __init__(self, django: WsgiApp) -> None:
        from django.core.handlers.wsgi import WSGIRequest
        from django.db import connections

        from config.middleware import BEACON_PATHS, beacon_chain

        self.django = django
        self.paths = BEACON_PATHS
        self.beacon = beacon_chain()
        self.request_class = WSGIRequest
        self.connections = connections

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") not in self.paths:
            return self.django(environ, start_response)
        from django.core.handlers.exception import response_for_exception
        from django.utils.log import log_response

        db = self.connections["default"]
        # What close_old_connections (a request_started receiver) does for this request.
        db.close_if_unusable_or_obsolete()
        request = self.request_class(environ)
        try:
            try:
                request.get_host()  # DisallowedHost -> 400, as on every other path
                response = self.beacon(request)
            except Exception as exc:  # Django's own mapping to 4xx/5xx, as its handler does
                response = response_for_exception(request, exc)
            if response.status_code >= 400:
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
            # What close_old_connections (a request_finished receiver) does after it.
            db.close_if_unusable_or_obsolete()


def leadgate_application(django: WsgiApp | None = None) -> WsgiApp:
    """Django's WSGI application (or `django`, already built) with the beacon first."""
    if django is None:
        from django.core.wsgi import get_wsgi_application

        django = get_wsgi_application()  # also runs django.setup()
    return BeaconFirst(django)


application = leadgate_application()
