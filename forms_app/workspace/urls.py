"""The marketer's workspace under /app/ (included from config/urls.py)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from forms_app.workspace import (
    content,
    dashboard,
    gates,
    leads,
    quarantine,
    scoring,
    sources,
    team,
    webhooks,
)
from forms_app.workspace.access import LOGIN_URL
from forms_app.workspace.login import WorkspaceLoginView

app_name = "workspace"

urlpatterns = [
    path("login/", WorkspaceLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page=LOGIN_URL), name="logout"),
    path("", dashboard.dashboard, name="dashboard"),
    path("dashboard.csv", dashboard.dashboard_csv, name="dashboard-csv"),
    path("costs/", dashboard.cost_add, name="cost-add"),
    path("costs/<int:pk>/delete", dashboard.cost_remove, name="cost-delete"),
    path("gates/", gates.gate_list, name="gates"),
    path("gates/new", gates.gate_edit, name="gate-new"),
    path("gates/preview", gates.gate_draft_preview, name="gate-draft-preview"),
    path("gates/<slug:slug>/", gates.gate_edit, name="gate-edit"),
    path("gates/<slug:slug>/content", content.gate_content, name="gate-content"),
    path("gates/<slug:slug>/content.csv", content.gate_content_csv, name="gate-content-csv"),
    path("gates/<slug:slug>/delete", gates.gate_remove, name="gate-delete"),
    path("gates/<slug:slug>/origins", gates.gate_origin_allow, name="gate-origin-allow"),
    path("gates/<slug:slug>/preview/<str:mode>", gates.gate_preview, name="gate-preview"),
    path("scoring/", scoring.scoring_home, name="scoring"),
    path("scoring/rules/new", scoring.rule_edit, name="rule-new"),
    path("scoring/rules/sentence", scoring.rule_sentence_preview, name="rule-sentence"),
    path("scoring/rules/<int:pk>/", scoring.rule_edit, name="rule-edit"),
    path("webhooks/", webhooks.webhook_list, name="webhooks"),
    path("webhooks/<int:pk>/", webhooks.webhook_detail, name="webhook"),
    path("webhooks/<int:pk>/<str:action>", webhooks.webhook_action, name="webhook-action"),
    path("deliveries/<uuid:pk>/redeliver", webhooks.delivery_resend, name="redeliver"),
    path("sources/", sources.source_list, name="sources"),
    path("sources/<int:pk>/delete", sources.source_remove, name="source-delete"),
    path("quarantine/", quarantine.quarantine_page, name="quarantine"),
    path("quarantine/<int:pk>/release", quarantine.quarantined_release, name="quarantine-release"),
    path("quarantine/<int:pk>/delete", quarantine.quarantined_remove, name="quarantine-delete"),
    path("leads/", leads.lead_list, name="leads"),
    path("leads/export.csv", leads.lead_export, name="leads-export"),
    path("leads/<uuid:pk>/", leads.lead_detail, name="lead"),
    path("leads/<uuid:pk>/contact", leads.lead_contact, name="lead-contact"),
    path("leads/<uuid:pk>/export.json", leads.lead_person_export, name="lead-export"),
    path("leads/<uuid:pk>/erase", leads.lead_erase_confirm, name="lead-erase"),
    path("leads/<uuid:pk>/merge", leads.lead_merge, name="lead-merge"),
    path("team/", team.team_home, name="team"),
    path(
        "team/invitations/<int:pk>/revoke", team.invitation_withdraw, name="team-invitation-revoke"
    ),
    path("team/members/<int:pk>/role", team.member_role, name="team-member-role"),
    path("team/members/<int:pk>/remove", team.member_remove_confirm, name="team-member-remove"),
    # Public: the emailed token is the whole authorisation (only its hash is stored).
    path("invite/<str:token>", team.invitation_accept_page, name="invite"),
]
