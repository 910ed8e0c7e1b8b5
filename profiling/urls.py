from __future__ import annotations

from django.urls import path, re_path

from profiling import api, sandbox

urlpatterns = [
    re_path(r"^api/v1/public/events/?$", api.PublicEventsApi.as_view()),
    re_path(r"^api/v1/scoring-rules/?$", api.ScoringRuleListCreateApi.as_view()),
    re_path(r"^api/v1/scoring-rules/(?P<pk>[0-9]+)/?$", api.ScoringRuleDetailApi.as_view()),
    re_path(r"^api/v1/scoring-settings/?$", api.ScoringSettingsApi.as_view()),
    re_path(r"^api/v1/webhooks/?$", api.WebhookListCreateApi.as_view()),
    re_path(r"^api/v1/webhooks/(?P<pk>[0-9]+)/?$", api.WebhookDetailApi.as_view()),
    re_path(r"^api/v1/webhooks/(?P<pk>[0-9]+)/deliveries/?$", api.WebhookDeliveriesApi.as_view()),
    re_path(
        r"^api/v1/deliveries/(?P<pk>[0-9a-f-]{32,36})/redeliver/?$",
        api.DeliveryRedeliverApi.as_view(),
    ),
    re_path(r"^api/v1/leads/?$", api.LeadListApi.as_view()),
    re_path(r"^api/v1/leads/export\.csv$", api.LeadExportApi.as_view()),
    re_path(r"^api/v1/leads/(?P<pk>[0-9a-f-]{32,36})/?$", api.LeadDetailApi.as_view()),
    path("sandbox/crm/", sandbox.crm_inbox, name="sandbox-crm"),
]
