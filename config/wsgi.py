"""The WSGI entry point (gunicorn config.wsgi:application).

Django's WSGI handler, with the events beacon's early dispatch in front of it when
LEADGATE_BEACON_EARLY_DISPATCH is on (the default): profiling/beacon.py serves
`POST /api/v1/public/events` before the handler, through the middleware that applies to
a cross-site beacon only. docs/benchmarks.md measures what that buys.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

# Reads no settings on import; get_wsgi_application() below does.
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


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


def _application() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    # get_wsgi_application() runs django.setup() and reads ROOT_URLCONF per request, so
    # the benchmark's URLconf (bench/_ingest_wsgi.py) is honoured by this same object.
    django_app = get_wsgi_application()
    from django.conf import settings

    if not settings.LEADGATE_BEACON_EARLY_DISPATCH:
        return django_app
    from profiling.beacon import BeaconFirst  # needs the apps loaded: after the setup

    return BeaconFirst(django_app)


application = _application()
green_worker_check()
