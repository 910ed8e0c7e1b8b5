from __future__ import annotations

from django.urls import path, re_path

from profiling import sandbox, sandbox_mail, unsubscribe
from profiling.api import content, events, leads, scoring, sdk_config, segment, sources, webhooks

urlpatterns = [
    # First: the hottest path of the product (the early dispatch, profiling/beacon.py,
    # serves it before URL resolution when it is on).
    re_path(r"^api/v1/public/events/?$", events.PublicEventsApi.as_view()),
    # Segment-compatible ingest at the root, where the SDKs post.
    re_path(r"^v1/(?:batch|b)/?$", segment.batch),
    re_path(r"^v1/(?:track|t)/?$", segment.track),
    re_path(r"^v1/(?:identify|i)/?$", segment.identify),
    re_path(r"^v1/(?:page|p)/?$", segment.page),
    re_path(r"^v1/(?:alias|a)/?$", segment.alias),
    # What the browser SDKs fetch from leadgate as their CDN / config host, at the paths
    # they build themselves (analytics.js: {cdnURL}/v1/projects/..; RudderStack:
    # {configUrl}/sourceConfig/).
    re_path(
        rf"^v1/projects/(?P<write_key>{sdk_config.WRITE_KEY_PATTERN})/settings$",
        sdk_config.SegmentSettingsApi.as_view(),
    ),
    re_path(r"^sourceConfig/?$", sdk_config.RudderStackSourceConfigApi.as_view()),
    re_path(r"^api/v1/sources/?$", sources.SourceListCreateApi.as_view()),
    re_path(r"^api/v1/sources/(?P<pk>[0-9]{1,18})/?$", sources.SourceDetailApi.as_view()),
    re_path(r"^api/v1/scoring-rules/?$", scoring.ScoringRuleListCreateApi.as_view()),
    re_path(r"^api/v1/scoring-rules/(?P<pk>[0-9]+)/?$", scoring.ScoringRuleDetailApi.as_view()),
    re_path(r"^api/v1/scoring-rules/what-if/?$", scoring.ScoringWhatIfApi.as_view()),
    re_path(r"^api/v1/scoring-rules/rescore/?$", scoring.ScoringRescoreApi.as_view()),
    re_path(r"^api/v1/scoring-settings/?$", scoring.ScoringSettingsApi.as_view()),
    re_path(r"^api/v1/webhooks/?$", webhooks.WebhookListCreateApi.as_view()),
    re_path(r"^api/v1/webhooks/(?P<pk>[0-9]+)/?$", webhooks.WebhookDetailApi.as_view()),
    re_path(
        r"^api/v1/webhooks/(?P<pk>[0-9]+)/deliveries/?$", webhooks.WebhookDeliveriesApi.as_view()
    ),
    re_path(r"^api/v1/webhooks/(?P<pk>[0-9]+)/stats/?$", webhooks.WebhookStatsApi.as_view()),
    re_path(r"^api/v1/webhooks/(?P<pk>[0-9]+)/test/?$", webhooks.WebhookTestEventApi.as_view()),
    re_path(
        r"^api/v1/webhooks/(?P<pk>[0-9]+)/secret/rotate/?$",
        webhooks.WebhookSecretRotateApi.as_view(),
    ),
    re_path(
        r"^api/v1/webhooks/(?P<pk>[0-9]+)/secret/retire-previous/?$",
        webhooks.WebhookSecretRetireApi.as_view(),
    ),
    re_path(
        r"^api/v1/deliveries/(?P<pk>[0-9a-f-]{32,36})/redeliver/?$",
        webhooks.DeliveryRedeliverApi.as_view(),
    ),
    re_path(r"^schemas/(?P<name>[a-z_.]+\.v[0-9]+\.json)$", webhooks.webhook_schema),
    re_path(r"^api/v1/leads/?$", leads.LeadListApi.as_view()),
    re_path(r"^api/v1/leads/export\.csv$", leads.LeadExportApi.as_view()),
    re_path(r"^api/v1/leads/(?P<pk>[0-9a-f-]{32,36})/?$", leads.LeadDetailApi.as_view()),
    re_path(
        r"^api/v1/leads/(?P<pk>[0-9a-f-]{32,36})/export/?$", leads.LeadPersonExportApi.as_view()
    ),
    # A gate's content analytics: a report (sales may read it), unlike the gate itself.
    re_path(
        r"^api/v1/gates/(?P<slug>[a-z0-9-]{1,80})/content/?$", content.GateContentApi.as_view()
    ),
    re_path(
        r"^api/v1/gates/(?P<slug>[a-z0-9-]{1,80})/content\.csv$",
        content.GateContentCsvApi.as_view(),
    ),
    re_path(r"^api/v1/leads/(?P<pk>[0-9a-f-]{32,36})/merge/?$", leads.LeadMergeApi.as_view()),
    path("sandbox/crm/", sandbox.crm_inbox, name="sandbox-crm"),
    path("sandbox/mail/", sandbox_mail.mail_inbox, name="sandbox-mail"),
    # The List-Unsubscribe link of emails to leads; the token is a django.core.signing one.
    re_path(
        r"^u/(?P<token>[A-Za-z0-9_.:-]{1,512})/?$", unsubscribe.unsubscribe, name="unsubscribe"
    ),
]
