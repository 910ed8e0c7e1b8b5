"""URLconf for bench/ingest.py: the product's URLs plus the trivial baseline view."""

from __future__ import annotations

from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from bench._ingest_wsgi import noop

urlpatterns = [
    path("bench/noop", csrf_exempt(noop)),
    path("", include("config.urls")),
]
