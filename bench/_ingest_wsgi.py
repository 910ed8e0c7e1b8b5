"""WSGI entry point for bench/ingest.py: the production app plus one trivial view.

The trivial view is the benchmark's baseline: the same Django, middleware and gunicorn,
doing nothing. It lives here (not in the product's URLs) and is routed by wrapping the
product's URLconf. The app is the production one (config/wsgi.py), so the events
endpoint is dispatched as it is in production: before Django's handler; the trivial view,
like every other path, takes Django's handler and its whole middleware chain.
"""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def noop(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"ok":true}', content_type="application/json")


def _application() -> object:
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench._ingest_urls"
    from config.wsgi import application

    return application


application = _application()
