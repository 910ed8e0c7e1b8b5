from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config.api_docs import ApiDocsView
from config.favicon import favicon
from config.health import healthz, metrics, readyz

urlpatterns = [
    # First: profiling's routes begin with the events beacon, the hottest path (Django
    # tries the patterns in order), and include the Segment-compatible ingest at the root.
    path("", include("profiling.urls")),
    # For load balancers, orchestrators and Prometheus (config/health.py).
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon, name="favicon"),
    # The marketer's workspace: gates, scoring, webhooks, dashboard, leads.
    path("app/", include("forms_app.workspace.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("", include("forms_app.urls")),
]

handler400 = "config.errors.handler400"
handler403 = "config.errors.handler403"
handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"
