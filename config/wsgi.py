"""The WSGI entry point (gunicorn config.wsgi:application).

One path is dispatched before Django's handler: the public events beacon
(`POST /api/v1/public/events`, the product's hottest endpoint, with its budget against a
trivial Django view: see docs/benchmarks.md, section "Event ingest"). Everything else is
Django's WSGIHandler, unchanged.

What the handler would do for the beacon and what this does instead:
- the request_started/request_finished signals exist to reset the query log and close
  stale database connections (CONN_MAX_AGE, broken connections): their receiver,
  close_old_connections, is called here directly, before and after the request;
- the middleware chain: the beacon is cross-site, unauthenticated, cookie-less and
  CSRF-exempt, so only the security headers and the host check apply. They are Django's
  own classes (config.middleware.beacon_chain), exactly as on the middleware path that
  runserver, the test client and ASGI take;
- exceptions: the chain wraps each layer as the handler does, so a crash is Django's 500
  (in the API's error shape, through handler500) and a DisallowedHost Django's 400;
- the answer: status, headers and the (small, in-memory) body go straight to the server,
  without the handler's resource-closer bookkeeping (the beacon opens no files).
A body sent chunked (no Content-Length) is read here for every other path, and by the
beacon's own endpoint for the beacon (config/chunked.py): Django would read it as empty.
Profiled before this dispatch (py-spy): the handler's signals, middleware wrappers and
response closing were about a third of the beacon's Python CPU per request.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

# None of these reads settings on import; get_wsgi_application() below does.
from django.core.handlers.wsgi import WSGIRequest
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils.log import log_response

from config.chunked import environ_sized

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BeaconFirst:
    """A WSGI app: the beacon's paths through beacon_chain, every other one to `django`."""

    def __init__(self, django: WsgiApp) -> None:
        from django.conf import settings

        from config.middleware import BEACON_PATHS, beacon_chain

        self.django = django
        self.paths = BEACON_PATHS
        self.beacon = beacon_chain()  # answers every failure as a response, never raises
        # A chunked body is read into memory up to the cap Django itself puts on bodies
        # held in memory (Segment's 500 KB fits under it); past it, every endpoint sees a
        # body too large for it. Django's own default if the setting is None: never
        # unbounded.
        self.body_cap: int = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") not in self.paths:
            if not environ.get("CONTENT_LENGTH"):
                # Sent chunked, perhaps: Django would read it as empty (config/chunked.py).
                # The beacon does this itself, only when it has no length (events_post).
                environ_sized(environ, self.body_cap)
            return self.django(environ, start_response)
        # Django's request_started / request_finished receiver, called directly.
        close_old_connections()
        try:
            request = WSGIRequest(environ)
            response = self.beacon(request)
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
            close_old_connections()


def green_worker_check() -> None:
    """Under gevent (gunicorn.conf.py), psycopg must wait for PostgreSQL cooperatively.

    psycopg picks its wait function when first imported: its C one if gevent had not
    patched `select` by then. That one blocks the whole process while a statement runs,
    so one request's query would stall every other request of the worker: refuse to start
    instead (something imported psycopg before gunicorn's worker patched the standard
    library, e.g. preload_app or an import in gunicorn.conf.py).
    """
    from django.conf import settings

    if not settings.GREEN_WORKER:
        return
    from psycopg import waiting

    if waiting.wait is getattr(waiting, "wait_c", None):
        raise RuntimeError(
            "gevent worker, but psycopg was imported before gevent patched the standard "
            "library: its waits would block the worker. Do not preload the app or import "
            "Django or psycopg in gunicorn.conf.py."
        )


# get_wsgi_application() runs django.setup() and reads ROOT_URLCONF per request, so the
# benchmark's URLconf (bench/_ingest_wsgi.py) is honoured by this same object.
application = BeaconFirst(get_wsgi_application())
green_worker_check()
