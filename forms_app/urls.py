from __future__ import annotations

from django.urls import path, re_path

from forms_app import confirm, reader, section_images, views
from forms_app.api import auth, gates, images, pdf, public, quarantine, team

# Contract paths have no trailing slash on items and one on collections; both forms are
# accepted (`/?`) because a client that adds or drops it must not get a redirect or 404.
urlpatterns = [
    re_path(r"^api/v1/public/gates/(?P<slug>[a-z0-9-]+)/?$", public.PublicGateApi.as_view()),
    re_path(
        r"^api/v1/public/gates/(?P<slug>[a-z0-9-]+)/submissions/?$",
        public.PublicSubmissionApi.as_view(),
    ),
    re_path(r"^api/v1/auth/token/?$", auth.TokenCreateApi.as_view()),
    re_path(r"^api/v1/gates/?$", gates.GateListCreateApi.as_view()),
    re_path(r"^api/v1/gates/(?P<slug>[a-z0-9-]+)/?$", gates.GateDetailApi.as_view()),
    re_path(
        r"^api/v1/gates/(?P<slug>[a-z0-9-]+)/files/(?P<key>[a-z0-9][a-z0-9_-]{0,79})/pdf/?$",
        pdf.GateFilePdfApi.as_view(),
    ),
    re_path(r"^api/v1/gates/(?P<slug>[a-z0-9-]{1,80})/images/?$", images.GateImageApi.as_view()),
    re_path(
        r"^api/v1/gates/(?P<slug>[a-z0-9-]{1,80})/diagnostics/?$",
        gates.GateDiagnosticsApi.as_view(),
    ),
    re_path(r"^api/v1/quarantine/?$", quarantine.QuarantineListApi.as_view()),
    re_path(
        r"^api/v1/quarantine/(?P<pk>[0-9]{1,18})/release/?$",
        quarantine.QuarantineReleaseApi.as_view(),
    ),
    re_path(r"^api/v1/quarantine/(?P<pk>[0-9]{1,18})/?$", quarantine.QuarantineDetailApi.as_view()),
    re_path(r"^api/v1/team/invitations/?$", team.TeamInvitationListApi.as_view()),
    re_path(
        r"^api/v1/team/invitations/(?P<pk>[0-9]{1,18})/?$", team.TeamInvitationDetailApi.as_view()
    ),
    re_path(r"^api/v1/team/members/?$", team.TeamMemberListApi.as_view()),
    re_path(r"^api/v1/team/members/(?P<pk>[0-9]{1,18})/?$", team.TeamMemberDetailApi.as_view()),
    path("", views.home, name="home"),
    path("g/<slug:slug>", views.gate_page, name="gate-page"),
    path("g/<slug:slug>/embed", views.gate_embed, name="gate-embed"),
    path("g/<slug:slug>/files/<str:key>", views.gate_file, name="gate-file"),
    # The emailed confirmation link; the token is a django.core.signing one.
    re_path(r"^confirm/(?P<token>[A-Za-z0-9_:-]{1,200})/?$", confirm.confirm, name="confirm"),
    path("g/<slug:slug>/read/<str:key>", reader.pdf_reader, name="pdf-reader"),
    # Images of section bodies (forms_app/section_images.py).
    re_path(
        r"^images/(?P<image_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
        r"\.(?P<extension>png|jpg|webp|gif)$",
        section_images.section_image,
        name="section-image",
    ),
    path(
        "g/<slug:slug>/read/<str:key>/pages/<int:number>",
        reader.pdf_page_image,
        name="pdf-page-image",
    ),
]
