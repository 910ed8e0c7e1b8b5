"""The WSGI entry point (gunicorn config.wsgi:application).

Django's WSGI handler, with two things in front of it:
- a body sent chunked (no Content-Length) is read and sized first (config/chunked.py):
  Django would read it as empty;
- with LEADGATE_BEACON_EARLY_DISPATCH on (the default), profiling/beacon.py serves
  `POST /api/v1/public/events` before all of that, through the middleware that applies
  to a cross-site beacon only (the endpoint reads a chunked body itself, under its own
  smaller cap). docs/benchmarks.md measures what the dispatch buys.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable
from typing import Any

# Reads no settings on import; get_wsgi_application() below does.
from django.core.wsgi import get_wsgi_application

from config.chunked import environ_sized

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def bodies_sized(app: WsgiApp) -> WsgiApp:
    """`app`, its chunked request bodies read and sized first (config/chunked.py)."""
    from django.conf import settings

    # Read into memory up to the cap Django itself puts on bodies held in memory
    # (Segment's 500 KB fits under it); past it, every endpoint sees a body too large for
    # it. Django's own default if the setting is None: never unbounded.
    cap: int = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440

    def sized(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("CONTENT_LENGTH"):
            environ_sized(environ, cap)
        return app(environ, start_response)

    return sized


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


def _application() -> WsgiApp:
    # get_wsgi_application() runs django.setup() and reads ROOT_URLCONF per request, so
    # the benchmark's URLconf (bench/_ingest_wsgi.py) is honoured by this same object.
    django_app = bodies_sized(get_wsgi_application())
    from django.conf import settings

    if not settings.LEADGATE_BEACON_EARLY_DISPATCH:
        return django_app
    from profiling.beacon import BeaconFirst  # needs the apps loaded: after the setup

    return BeaconFirst(django_app)


application = _application()
green_worker_check()
# Everything loaded so far (Django, the apps, their modules) lives as long as the
# process: frozen, the cyclic garbage collector no longer walks it on every full
# collection. A 100-event beacon allocates a few thousand containers (parsed events,
# rows, UUIDs), and under gevent dozens of requests are in flight at once, so their
# objects survive young collections and reach full ones. Measured with py-spy on one
# gevent worker under 100-event batches: the collector took about 20% of its CPU, 6%
# once frozen, under 1% with young collections every 10,000 allocations instead of
# every 700 (objects of a finished request are then mostly freed before a collection
# ever sees them).
gc.freeze()
gc.set_threshold(10_000, 10, 10)
