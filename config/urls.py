from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from config.api_docs import ApiDocsView
from profiling.api import events, segment

urlpatterns = [
    # First: the hottest path of the product, and Django tries the patterns in order
    # (behind the admin, workspace and Segment routes it would pay for their regexes).
    re_path(r"^api/v1/public/events/?$", events.PublicEventsApi.as_view()),
    path("admin/", admin.site.urls),
    # The marketer's workspace: gates, scoring, webhooks, dashboard, leads.
    path("app/", include("forms_app.workspace.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    # Segment-compatible ingest at the root, where the SDKs post.
    re_path(r"^v1/(?:batch|b)/?$", segment.batch),
    re_path(r"^v1/(?:track|t)/?$", segment.track),
    re_path(r"^v1/(?:identify|i)/?$", segment.identify),
    re_path(r"^v1/(?:page|p)/?$", segment.page),
    re_path(r"^v1/(?:alias|a)/?$", segment.alias),
    path("", include("profiling.urls")),
    path("", include("forms_app.urls")),
]

handler400 = "config.errors.handler400"
handler403 = "config.errors.handler403"
handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"
