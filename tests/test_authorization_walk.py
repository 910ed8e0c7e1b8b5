"""The authorization walk: every URL the root resolver knows, for every role, against a table.

`POLICY` below names, for each URL pattern (its route as the resolver spells it, through
includes) and each HTTP method the view serves, who may call it. The walk builds a real URL
for each pattern from objects it creates (a gate, a rule, a webhook with a delivery, a
source, a lead, a cost, a team member, an invitation), calls it as an anonymous visitor, a
user with no role, a sales user and a marketer, and checks the answer:

- PUBLIC: the same answer for everyone, never a login page.
- VIEW: marketers and sales users (leads, reports, webhook deliveries).
- EDIT: marketers only (configuration, and every write).
- STAFF: the admin and the sandbox inbox: staff marketers only (config/roles.py).
- LOGIN: the login and logout pages themselves.

Refused means: 401 in the contract's error shape on the API, a redirect to the login page
in the workspace and the admin, 403 for a logged-in user without the right role. A refused
write must leave the database as it was. An allowed call must not be refused, and where the
table says so, must answer exactly the given status (so a bad request body cannot pass for
"allowed").

A pattern the resolver knows and the table does not (a new endpoint without a policy)
fails `test_every_url_pattern_has_a_policy`; so does a method a DRF view serves that the
table does not list, and a workspace method the table does not list must answer 405.
Admin URLs are summarised by one prefix rule.
"""

from __future__ import annotations

import enum
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django.utils.regex_helper import normalize
from PIL import Image
from rest_framework.authtoken.models import Token

from forms_app.models import (
    CampaignCost,
    QuarantinedSubmission,
    QuarantineReason,
    QuarantineVia,
    Submission,
)
from forms_app.services.confirmation import confirmation_token_make
from forms_app.services.images import section_image_create
from forms_app.services.team import invitation_create
from profiling.models import Delivery, DeliveryStatus
from profiling.services.mail import unsubscribe_token_make
from profiling.services.segment import source_create
from tests.support.api import assert_error
from tests.support.factories import (
    make_endpoint,
    make_gate,
    make_lead,
    make_rule,
    make_visitor,
    set_thresholds,
)

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROLES = ("anonymous", "no-role", "sales", "marketer")
ADMIN_PREFIX = "admin/"
# The admin's own door: open to everyone (the login page), POST-only (logout).
ADMIN_DOORS = ("admin/login/", "admin/logout/")
# Past the door, the admin itself refuses these to everyone: autocomplete without a model
# field to complete, and adding what only leadgate makes (submissions are proof of consent,
# deliveries come from grade changes, the scoring settings are one row).
RECORD_MODELS = (
    "forms_app/submission",
    "profiling/delivery",
    "profiling/event",
    "profiling/gradechange",
    "profiling/lead",
    "profiling/sandboxmessage",
    "profiling/scorepending",
    "profiling/visitor",
)
ADMIN_CLOSED_TO_ALL = frozenset(
    {
        "admin/autocomplete/",
        # The email outbox is written by the services only.
        "admin/profiling/outboundemail/add/",
        "admin/profiling/scoringsettings/add/",
        # django-axes records login failures itself; its admin adds none by hand.
        "admin/axes/accessattempt/add/",
        "admin/axes/accessfailurelog/add/",
        "admin/axes/accesslog/add/",
    }
    # Records of what happened are read-only there: neither added nor deleted by hand
    # (a person leaves through erasure, an admin action on leads).
    | {
        f"admin/{model}/{door}"
        for model in RECORD_MODELS
        for door in ("add/", "<path:object_id>/delete/")
    }
)
# Values for the admin's path parameters: an object id that may or may not exist is enough
# (the admin refuses before it looks the object up).
ADMIN_PARAMS = {
    "app_label": "profiling",
    "object_id": "1",
    "id": "1",
    "content_type_id": "1",
    "url": "x/",
}


class Who(enum.Enum):
    PUBLIC = "public"
    VIEW = "view"
    EDIT = "edit"
    STAFF = "staff"
    LOGIN = "login"


PUBLIC, VIEW, EDIT, STAFF, LOGIN = Who.PUBLIC, Who.VIEW, Who.EDIT, Who.STAFF, Who.LOGIN

World = dict[str, Any]
Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Entry:
    methods: Mapping[str, Who]
    # path parameter -> the key in the world that fills it
    params: Mapping[str, str] = field(default_factory=dict)
    # one walk per variant: literal values for more path parameters (a webhook action)
    variants: tuple[Mapping[str, str], ...] = ({},)
    # concrete paths, for patterns Django's normalizer cannot spell (alternations)
    paths: tuple[str, ...] = ()
    query: str = ""
    # the marketer's exact status per method; GET defaults to 200
    ok: Mapping[str, int] = field(default_factory=dict)
    bodies: Mapping[str, Body] = field(default_factory=dict)
    # False for a POST that only computes (a what-if) or only queues work (a rescore)
    writes: bool = True


def _const(data: dict[str, Any]) -> Body:
    return lambda world: data


GATE_API_BODY = {"slug": "walk-new", "title": "Walk", "stage": "interest"}
RULE_API_BODY = {"name": "walk", "event_type": "section_view", "points": 5}
SETTINGS_BODY = {"warm_threshold": 20, "hot_threshold": 70, "half_life_days": 0}
# The walk's source: a known key, so the SDK settings are walked answering 200.
WALK_WRITE_KEY = "wk_walk-source"
HOOK_URL = "http://127.0.0.1:9/walk"
BASE = "http://testserver"  # nothing listens: a test send fails fast, and is logged


def _gate_form(slug: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Walk gate",
        "slug": slug,
        "stage": "interest",
        "headline": "Walk",
        "description": "",
        "submit_label": "Read it",
        "subscribe_label": "Send me more",
        "consent_text": "",
        "allowed_origins": "https://www.example-fibre.com\n",
        "min_dwell_s": "5",
        "is_active": "on",
    }
    for prefix in ("sections", "files", "fields"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    return data


RULE_FORM = {
    "name": "Walk rule",
    "event_type": "section_view",
    "gate": "",
    "section": "",
    "file": "",
    "event_name": "",
    "profile_condition": "",
    "points": "10",
    "max_points": "",
    "min_duration_s": "",
    "is_active": "on",
    "action": "save",
}
COST_FORM = {
    "utm_source": "linkedin",
    "utm_campaign": "",
    "period_start": "2026-01-01",
    "period_end": "2026-01-31",
    "amount": "100",
    "currency": "EUR",
}
HOOK_FORM = {"url": HOOK_URL, "grades": ["hot"], "is_active": "on"}

WORKSPACE_ACTIONS = ({"action": "test"}, {"action": "rotate"}, {"action": "retire"}, {"action": "delete"})  # fmt: skip

POLICY: dict[str, Entry] = {
    # --- public: visitors, browsers, SDKs, CRM integrators ------------------------------
    "": Entry({"GET": PUBLIC}),
    "^api/v1/public/events/?$": Entry({"POST": PUBLIC}, bodies={"POST": _const({})}),
    "^api/v1/public/gates/(?P<slug>[a-z0-9-]+)/?$": Entry({"GET": PUBLIC}, {"slug": "gate"}),
    # Wrong credentials: the same 400 for everyone (the walk's users have no password).
    "^api/v1/auth/token/?$": Entry(
        {"POST": PUBLIC}, bodies={"POST": _const({"username": "walk-nobody", "password": "x"})}
    ),
    "^api/v1/public/gates/(?P<slug>[a-z0-9-]+)/submissions/?$": Entry(
        {"POST": PUBLIC}, {"slug": "gate"}, bodies={"POST": _const({})}
    ),
    "g/<slug:slug>": Entry({"GET": PUBLIC}, {"slug": "gate"}),
    "g/<slug:slug>/embed": Entry({"GET": PUBLIC}, {"slug": "gate"}),
    "g/<slug:slug>/files/<str:key>": Entry({"GET": PUBLIC}, {"slug": "gate", "key": "file"}),
    # The PDF reader and its page images: public pages, the gate's access decides.
    "g/<slug:slug>/read/<str:key>": Entry({"GET": PUBLIC}, {"slug": "gate", "key": "file"}),
    "g/<slug:slug>/read/<str:key>/pages/<int:number>": Entry(
        {"GET": PUBLIC}, {"slug": "gate", "key": "file", "number": "page"}
    ),
    # A section body's image: public at an unguessable address, like the body that shows it.
    "^images/(?P<image_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\\.(?P<extension>png|jpg|webp|gif)$": Entry(
        {"GET": PUBLIC}, {"image_id": "image", "extension": "image_extension"}
    ),
    "^v1/(?:batch|b)/?$": Entry({"POST": PUBLIC}, paths=("/v1/batch", "/v1/b")),
    "^v1/(?:track|t)/?$": Entry({"POST": PUBLIC}, paths=("/v1/track", "/v1/t")),
    "^v1/(?:identify|i)/?$": Entry({"POST": PUBLIC}, paths=("/v1/identify", "/v1/i")),
    "^v1/(?:page|p)/?$": Entry({"POST": PUBLIC}, paths=("/v1/page", "/v1/p")),
    "^v1/(?:alias|a)/?$": Entry({"POST": PUBLIC}, paths=("/v1/alias", "/v1/a")),
    # What the browser SDKs fetch first (their settings): the write key is the whole check.
    "^v1/projects/(?P<write_key>[A-Za-z0-9_-]{1,100})/settings$": Entry(
        {"GET": PUBLIC}, {"write_key": "write_key"}
    ),
    "^sourceConfig/?$": Entry({"GET": PUBLIC}, query=f"writeKey={WALK_WRITE_KEY}"),
    "^schemas/(?P<name>[a-z_.]+\\.v[0-9]+\\.json)$": Entry({"GET": PUBLIC}, {"name": "schema"}),
    "api/schema/": Entry({"GET": PUBLIC}),
    "api/docs/": Entry({"GET": PUBLIC}),
    # Browsers ask for it at the root on every page.
    "favicon.ico": Entry({"GET": PUBLIC}),
    # Probes and the metrics scrape (config/health.py): no session, no role. /metrics
    # answers only its bearer token, a setting the walk leaves unset: 404 for everyone.
    "healthz": Entry({"GET": PUBLIC}),
    "readyz": Entry({"GET": PUBLIC}),
    "metrics": Entry({"GET": PUBLIC}, ok={"GET": 404}),
    # The demo's CRM inbox: anyone may post to it (it is a CRM), staff read it.
    "sandbox/crm/": Entry({"GET": STAFF, "POST": PUBLIC}, bodies={"POST": _const({})}),
    # The demo's mail inbox: what leadgate sent with no mail server; staff read it.
    "sandbox/mail/": Entry({"GET": STAFF}),
    # An email's unsubscribe link: the signed token is the whole authorisation (RFC 8058).
    "^u/(?P<token>[A-Za-z0-9_.:-]{1,512})/?$": Entry(
        {"GET": PUBLIC, "POST": PUBLIC},
        {"token": "unsubscribe"},
        bodies={"POST": _const({"List-Unsubscribe": "One-Click"})},
    ),
    # An email's confirmation link: the signed token is the whole authorisation; a GET
    # only shows the button, the POST confirms (once: everyone after sees "confirmed").
    "^confirm/(?P<token>[A-Za-z0-9_:-]{1,200})/?$": Entry(
        {"GET": PUBLIC, "POST": PUBLIC}, {"token": "confirm"}
    ),
    # --- marketer API: gates ------------------------------------------------------------
    "^api/v1/gates/?$": Entry(
        {"GET": EDIT, "POST": EDIT},
        ok={"POST": 201},
        bodies={"POST": _const(GATE_API_BODY)},
    ),
    # A gate file's PDF read inline: upload (multipart; the walk sends no file, a 400 for
    # the marketer, refused before it is read for everyone else) and its state.
    "^api/v1/gates/(?P<slug>[a-z0-9-]+)/files/(?P<key>[a-z0-9][a-z0-9_-]{0,79})/pdf/?$": Entry(
        {"GET": EDIT, "POST": EDIT}, {"slug": "gate", "key": "file"}, ok={"POST": 400}
    ),
    # An image for the gate's section bodies: marketers upload it (multipart; the walk
    # sends no file, a 400 for the marketer, refused before it is read for everyone else).
    "^api/v1/gates/(?P<slug>[a-z0-9-]{1,80})/images/?$": Entry(
        {"POST": EDIT}, {"slug": "gate"}, ok={"POST": 400}
    ),
    "^api/v1/gates/(?P<slug>[a-z0-9-]+)/?$": Entry(
        {"GET": EDIT, "PUT": EDIT, "PATCH": EDIT, "DELETE": EDIT},
        {"slug": "gate"},
        ok={"PUT": 200, "PATCH": 200, "DELETE": 204},
        bodies={
            "PUT": lambda w: {"slug": w["gate"], "title": "Put", "stage": "interest"},
            "PATCH": _const({"title": "Patched"}),
        },
    ),
    # Why a gate's events were refused: configuration help, marketers only.
    "^api/v1/gates/(?P<slug>[a-z0-9-]{1,80})/diagnostics/?$": Entry(
        {"GET": EDIT}, {"slug": "gate"}
    ),
    # A gate's content analytics is a report: sales reads it (the gate itself is config).
    "^api/v1/gates/(?P<slug>[a-z0-9-]{1,80})/content/?$": Entry({"GET": VIEW}, {"slug": "gate"}),
    "^api/v1/gates/(?P<slug>[a-z0-9-]{1,80})/content\\.csv$": Entry(
        {"GET": VIEW}, {"slug": "gate"}
    ),
    # --- marketer API: scoring ----------------------------------------------------------
    "^api/v1/scoring-rules/?$": Entry(
        {"GET": EDIT, "POST": EDIT}, ok={"POST": 201}, bodies={"POST": _const(RULE_API_BODY)}
    ),
    "^api/v1/scoring-rules/(?P<pk>[0-9]+)/?$": Entry(
        {"GET": EDIT, "PUT": EDIT, "PATCH": EDIT, "DELETE": EDIT},
        {"pk": "rule"},
        ok={"PUT": 200, "PATCH": 200, "DELETE": 204},
        bodies={"PUT": _const(RULE_API_BODY), "PATCH": _const({"points": 7})},
    ),
    "^api/v1/scoring-rules/what-if/?$": Entry(
        {"POST": EDIT},
        ok={"POST": 200},
        bodies={"POST": _const({"rules": [RULE_API_BODY]})},
        writes=False,
    ),
    "^api/v1/scoring-rules/rescore/?$": Entry(
        {"GET": EDIT, "POST": EDIT}, ok={"POST": 202}, bodies={"POST": _const({})}, writes=False
    ),
    "^api/v1/scoring-settings/?$": Entry(
        {"GET": EDIT, "PUT": EDIT, "PATCH": EDIT},
        ok={"PUT": 200, "PATCH": 200},
        bodies={"PUT": _const(SETTINGS_BODY), "PATCH": _const({"hot_threshold": 90})},
    ),
    # --- marketer API: webhooks (config: marketers; deliveries and stats: sales too) ----
    "^api/v1/webhooks/?$": Entry(
        {"GET": EDIT, "POST": EDIT}, ok={"POST": 201}, bodies={"POST": _const({"url": HOOK_URL})}
    ),
    "^api/v1/webhooks/(?P<pk>[0-9]+)/?$": Entry(
        {"GET": EDIT, "PUT": EDIT, "PATCH": EDIT, "DELETE": EDIT},
        {"pk": "endpoint"},
        ok={"PUT": 200, "PATCH": 200, "DELETE": 204},
        bodies={"PUT": _const({"url": HOOK_URL + "/put"}), "PATCH": _const({"is_active": False})},
    ),
    "^api/v1/webhooks/(?P<pk>[0-9]+)/deliveries/?$": Entry({"GET": VIEW}, {"pk": "endpoint"}),
    "^api/v1/webhooks/(?P<pk>[0-9]+)/stats/?$": Entry({"GET": VIEW}, {"pk": "endpoint"}),
    "^api/v1/webhooks/(?P<pk>[0-9]+)/test/?$": Entry(
        {"POST": EDIT}, {"pk": "endpoint"}, ok={"POST": 201}
    ),
    "^api/v1/webhooks/(?P<pk>[0-9]+)/secret/rotate/?$": Entry(
        {"POST": EDIT}, {"pk": "endpoint"}, ok={"POST": 200}, bodies={"POST": _const({})}
    ),
    "^api/v1/webhooks/(?P<pk>[0-9]+)/secret/retire-previous/?$": Entry(
        {"POST": EDIT}, {"pk": "endpoint"}, ok={"POST": 200}
    ),
    "^api/v1/deliveries/(?P<pk>[0-9a-f-]{32,36})/redeliver/?$": Entry(
        {"POST": EDIT}, {"pk": "delivery"}, ok={"POST": 202}
    ),
    # --- marketer API: sources (their write keys are secrets) ---------------------------
    "^api/v1/sources/?$": Entry(
        {"GET": EDIT, "POST": EDIT}, ok={"POST": 201}, bodies={"POST": _const({"name": "Walk"})}
    ),
    "^api/v1/sources/(?P<pk>[0-9]{1,18})/?$": Entry(
        {"GET": EDIT, "DELETE": EDIT}, {"pk": "source"}, ok={"DELETE": 204}
    ),
    # --- marketer API: leads (sales reads; erasure is marketers') -----------------------
    "^api/v1/leads/?$": Entry({"GET": VIEW}),
    "^api/v1/leads/export\\.csv$": Entry({"GET": VIEW}),
    "^api/v1/leads/(?P<pk>[0-9a-f-]{32,36})/?$": Entry(
        {"GET": VIEW, "PATCH": EDIT, "DELETE": EDIT},
        {"pk": "lead"},
        ok={"PATCH": 200, "DELETE": 204},
        bodies={"PATCH": _const({"do_not_contact": True})},
    ),
    # A full dump of one person's data: marketers only, like erasure.
    "^api/v1/leads/(?P<pk>[0-9a-f-]{32,36})/export/?$": Entry({"GET": EDIT}, {"pk": "lead"}),
    "^api/v1/leads/(?P<pk>[0-9a-f-]{32,36})/merge/?$": Entry(
        {"POST": EDIT},
        {"pk": "lead"},
        ok={"POST": 200},
        bodies={"POST": lambda w: {"into": w["other_lead"]}},
    ),
    # --- workspace ----------------------------------------------------------------------
    "app/login/": Entry({"GET": LOGIN}),
    "app/logout/": Entry({"POST": LOGIN}),
    "app/": Entry({"GET": VIEW}),
    "app/dashboard.csv": Entry({"GET": VIEW}, query="table=funnel"),
    "app/costs/": Entry({"POST": EDIT}, ok={"POST": 302}, bodies={"POST": _const(COST_FORM)}),
    "app/costs/<int:pk>/delete": Entry({"POST": EDIT}, {"pk": "cost"}, ok={"POST": 302}),
    "app/gates/": Entry({"GET": EDIT}),
    "app/gates/new": Entry(
        {"GET": EDIT, "POST": EDIT},
        ok={"POST": 302},
        bodies={"POST": lambda w: _gate_form("walk-new")},
    ),
    "app/gates/<slug:slug>/": Entry(
        {"GET": EDIT, "POST": EDIT},
        {"slug": "gate"},
        ok={"POST": 302},
        bodies={"POST": lambda w: _gate_form(w["gate"])},
    ),
    # The builder's live preview: renders the posted form, saves nothing.
    "app/gates/preview": Entry(
        {"POST": EDIT},
        ok={"POST": 200},
        bodies={"POST": lambda w: _gate_form("walk-draft")},
        writes=False,
    ),
    "app/gates/<slug:slug>/origins": Entry(
        {"POST": EDIT},
        {"slug": "gate"},
        ok={"POST": 302},
        bodies={"POST": _const({"origin": "https://walk.example"})},
    ),
    "app/gates/<slug:slug>/content": Entry({"GET": VIEW}, {"slug": "gate"}),
    "app/gates/<slug:slug>/content.csv": Entry({"GET": VIEW}, {"slug": "gate"}),
    "app/gates/<slug:slug>/delete": Entry({"POST": EDIT}, {"slug": "gate"}, ok={"POST": 302}),
    "app/gates/<slug:slug>/preview/<str:mode>": Entry(
        {"GET": EDIT},
        {"slug": "gate"},
        variants=({"mode": "page"}, {"mode": "embed"}, {"mode": "content"}),
    ),
    "app/scoring/": Entry(
        {"GET": EDIT, "POST": EDIT},
        ok={"POST": 302},
        bodies={"POST": _const({**SETTINGS_BODY, "action": "save"})},
    ),
    "app/scoring/rules/new": Entry(
        {"GET": EDIT, "POST": EDIT}, ok={"POST": 302}, bodies={"POST": _const(RULE_FORM)}
    ),
    # The rule editor's live read-back: computes, saves nothing.
    "app/scoring/rules/sentence": Entry(
        {"GET": EDIT}, query="event_type=download&points=5", writes=False
    ),
    "app/scoring/rules/<int:pk>/": Entry(
        {"GET": EDIT, "POST": EDIT},
        {"pk": "rule"},
        ok={"POST": 302},
        bodies={"POST": _const({"action": "delete", "confirm": "1"})},
    ),
    "app/webhooks/": Entry(
        {"GET": EDIT, "POST": EDIT}, ok={"POST": 302}, bodies={"POST": _const(HOOK_FORM)}
    ),
    "app/webhooks/<int:pk>/": Entry(
        {"GET": EDIT, "POST": EDIT},
        {"pk": "endpoint"},
        ok={"POST": 302},
        bodies={"POST": _const(HOOK_FORM)},
    ),
    "app/webhooks/<int:pk>/<str:action>": Entry(
        {"POST": EDIT}, {"pk": "endpoint"}, variants=WORKSPACE_ACTIONS, ok={"POST": 302}
    ),
    "app/deliveries/<uuid:pk>/redeliver": Entry(
        {"POST": EDIT}, {"pk": "delivery"}, ok={"POST": 302}
    ),
    "app/sources/": Entry(
        {"GET": EDIT, "POST": EDIT}, ok={"POST": 302}, bodies={"POST": _const({"name": "Walk"})}
    ),
    "app/sources/<int:pk>/delete": Entry({"POST": EDIT}, {"pk": "source"}, ok={"POST": 302}),
    "^api/v1/quarantine/?$": Entry({"GET": EDIT}),
    "^api/v1/quarantine/(?P<pk>[0-9]{1,18})/release/?$": Entry(
        {"POST": EDIT}, {"pk": "held"}, ok={"POST": 200}
    ),
    "^api/v1/quarantine/(?P<pk>[0-9]{1,18})/?$": Entry(
        {"DELETE": EDIT}, {"pk": "held"}, ok={"DELETE": 204}
    ),
    "app/quarantine/": Entry({"GET": EDIT}),
    "app/quarantine/<int:pk>/release": Entry({"POST": EDIT}, {"pk": "held"}, ok={"POST": 302}),
    "app/quarantine/<int:pk>/delete": Entry({"POST": EDIT}, {"pk": "held"}, ok={"POST": 302}),
    "app/leads/": Entry({"GET": VIEW}),
    "app/leads/export.csv": Entry({"GET": VIEW}),
    "app/leads/<uuid:pk>/": Entry({"GET": VIEW}, {"pk": "lead"}),
    "app/leads/<uuid:pk>/contact": Entry(
        {"POST": EDIT},
        {"pk": "lead"},
        ok={"POST": 302},
        bodies={"POST": _const({"action": "do-not-contact"})},
    ),
    "app/leads/<uuid:pk>/export.json": Entry({"GET": EDIT}, {"pk": "lead"}),
    "app/leads/<uuid:pk>/erase": Entry(
        {"GET": EDIT, "POST": EDIT},
        {"pk": "lead"},
        ok={"POST": 302},
        bodies={"POST": _const({"confirm": "erase"})},
    ),
    "app/leads/<uuid:pk>/merge": Entry(
        {"GET": EDIT, "POST": EDIT},
        {"pk": "lead"},
        ok={"POST": 302},
        bodies={"POST": lambda w: {"into": w["other_lead_email"]}},
    ),
    # --- workspace: the team (who may log in, and as what) ------------------------------
    "app/team/": Entry(
        {"GET": EDIT, "POST": EDIT},
        ok={"POST": 302},
        bodies={"POST": _const({"email": "walk-invitee@example-fibre.com", "role": "sales"})},
    ),
    "app/team/invitations/<int:pk>/revoke": Entry(
        {"POST": EDIT}, {"pk": "invitation"}, ok={"POST": 302}
    ),
    "app/team/members/<int:pk>/role": Entry(
        {"POST": EDIT},
        {"pk": "member"},
        ok={"POST": 302},
        bodies={"POST": _const({"role": "marketer"})},
    ),
    "app/team/members/<int:pk>/remove": Entry(
        {"GET": EDIT, "POST": EDIT},
        {"pk": "member"},
        ok={"POST": 302},
        bodies={"POST": _const({"confirm": "remove"})},
    ),
    "^api/v1/team/invitations/?$": Entry(
        {"GET": EDIT, "POST": EDIT},
        ok={"POST": 201},
        bodies={"POST": _const({"email": "walk-invitee@example-fibre.com", "role": "sales"})},
    ),
    "^api/v1/team/invitations/(?P<pk>[0-9]{1,18})/?$": Entry(
        {"DELETE": EDIT}, {"pk": "invitation"}, ok={"DELETE": 204}
    ),
    "^api/v1/team/members/?$": Entry({"GET": EDIT}),
    "^api/v1/team/members/(?P<pk>[0-9]{1,18})/?$": Entry(
        {"PATCH": EDIT, "DELETE": EDIT},
        {"pk": "member"},
        ok={"PATCH": 200, "DELETE": 204},
        bodies={"PATCH": _const({"role": "marketer"})},
    ),
    # The invited colleague's page: the emailed token is the whole authorisation. (An
    # empty form: the same 400 for everyone, and the invitation stays usable.)
    "app/invite/<str:token>": Entry({"GET": PUBLIC, "POST": PUBLIC}, {"token": "invite"}),
}


# --- the resolver's patterns ---------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    key: str
    path_format: str  # "/api/v1/gates/%(slug)s": Django's own reversing format
    pattern: URLPattern


def _spell(regex: str) -> str:
    """A format string for the path a pattern matches: Django's own normalize() (what it
    reverses with); where it gives up (an alternation), named groups become parameters and
    the rest is left for an explicit `paths` in the table or a failing resolve()."""
    spelled = normalize(regex)[0][0]
    if spelled or regex in ("", "^", "^$", "^\\Z"):
        return spelled
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"%(\1)s", regex).strip("^$").removesuffix("\\Z")


def _walk(patterns: list[Any], key: str = "", fmt: str = "") -> Iterator[Found]:
    for p in patterns:
        k = key + str(p.pattern)
        f = fmt + _spell(p.pattern.regex.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, k, f)
        else:
            yield Found(k, "/" + f, p)


def _found() -> dict[str, Found]:
    found: dict[str, Found] = {}
    for item in _walk(get_resolver().url_patterns):
        assert item.key not in found, f"two URL patterns share the route {item.key!r}"
        found[item.key] = item
    return found


def _drf_methods(pattern: URLPattern) -> set[str] | None:
    cls = getattr(pattern.callback, "cls", None)
    if cls is None:
        return None
    return {m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)}


def test_every_url_pattern_has_a_policy() -> None:
    found = _found()
    routes = {k for k in found if not k.startswith(ADMIN_PREFIX)}
    missing = sorted(routes - POLICY.keys())
    assert not missing, f"URL patterns with no policy in POLICY: {missing}"
    stale = sorted(POLICY.keys() - routes)
    assert not stale, f"POLICY names patterns the resolver does not know: {stale}"
    assert any(k.startswith(ADMIN_PREFIX) for k in found), "the admin is walked by prefix"
    for key, entry in POLICY.items():
        served = _drf_methods(found[key].pattern)
        if served is not None:
            assert set(entry.methods) == served, (key, sorted(entry.methods), sorted(served))


# --- the world the walk calls into ---------------------------------------------------------


def _user(role: str) -> tuple[Any, str]:
    # No password hashing: the walk logs in with force_login and tokens.
    user = User.objects.create(username=f"walk-{role}-{uuid.uuid4().hex[:8]}")
    if role in ("marketer", "sales"):
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user, Token.objects.create(user=user).key


def _client(role: str) -> Client:
    if role == "anonymous":
        return Client()
    user, key = _user(role)
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    client.force_login(user)
    return client


@pytest.fixture
def world(settings: Any) -> World:
    # The sandbox inbox exists only when asked for; its door is what is walked here.
    settings.LEADGATE_SANDBOX = True
    gate = make_gate(files=("network-map",))
    set_thresholds()
    rule = make_rule(gate=gate)
    lead = make_lead()
    make_visitor(lead=lead)
    other_lead = make_lead()
    # A claim waiting for its emailed confirmation.
    claim = Submission.objects.create(
        gate=gate, lead=other_lead, visitor_id=uuid.uuid4(), claimed_name="Walker"
    )
    endpoint = make_endpoint(url=HOOK_URL, grades=["warm", "hot"])
    # A rotation under way, so retiring the previous secret is a real write.
    endpoint.previous_secret = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
    endpoint.save(update_fields=["previous_secret"])
    delivery = Delivery.objects.create(
        endpoint=endpoint, lead=lead, payload={"type": "lead.grade_changed"}, status="failed"
    )
    source = source_create(name="Website", allowed_gates=None)
    source.write_key = WALK_WRITE_KEY
    source.save(update_fields=["write_key"])
    cost = CampaignCost.objects.create(
        utm_source="linkedin",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        amount=10,
    )
    # A submission the spam guards held: releasing and deleting it are writes.
    held = QuarantinedSubmission.objects.create(
        gate=gate,
        reason=QuarantineReason.TOO_FAST,
        via=QuarantineVia.API,
        name="Held Walker",
        email="held.walker@example-fibre.com",
        submitted_at=timezone.now(),
    )
    # A sales colleague (their role changed, then removed) and a pending invitation.
    inviter, _ = _user("marketer")
    member, _ = _user("sales")
    invitation, invite_token = invitation_create(
        invited_by=inviter, email="walk-colleague@example-fibre.com", role="sales", base=BASE
    )
    image = section_image_create(gate=gate, data=_png())
    return {
        "image": str(image.pk),
        "image_extension": image.image.rsplit(".", 1)[-1],
        "invitation": str(invitation.pk),
        "invite": invite_token,
        "member": str(member.pk),
        "held": str(held.pk),
        "gate": gate.slug,
        "file": "network-map",
        "page": "1",
        "rule": str(rule.pk),
        "lead": str(lead.pk),
        "endpoint": str(endpoint.pk),
        "delivery": str(delivery.pk),
        "source": str(source.pk),
        "write_key": source.write_key,
        "cost": str(cost.pk),
        "schema": "lead.grade_changed.v1.json",
        "unsubscribe": unsubscribe_token_make(lead_id=lead.pk),
        "other_lead": str(other_lead.pk),
        "other_lead_email": other_lead.email,
        "confirm": confirmation_token_make(submission_id=claim.pk),
    }


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _snapshot() -> dict[str, list[str]]:
    """Every row of the product's own tables: a refused write must change none."""
    rows: dict[str, list[str]] = {}
    for label in ("forms_app", "profiling"):
        for model in apps.get_app_config(label).get_models():
            rows[model._meta.label] = sorted(repr(r) for r in model._default_manager.values())
    # The team too: who may log in, and in which role.
    for model in (User, User.groups.through):
        rows[model._meta.label] = sorted(repr(r) for r in model._default_manager.values())
    return rows


def _urls(key: str, entry: Entry, world: World) -> list[str]:
    item = _found()[key]
    urls = list(entry.paths)
    for variant in () if entry.paths else entry.variants:
        values = {name: world[source] for name, source in entry.params.items()} | dict(variant)
        urls.append(item.path_format % values)
    for url in urls:
        # The URL is the pattern's own: the walk calls what the table describes.
        assert resolve(url).func is item.pattern.callback, (key, url)
    return [url + (f"?{entry.query}" if entry.query else "") for url in urls]


def _call(client: Client, method: str, url: str, body: dict[str, Any] | None) -> Any:
    if url.startswith("/api/"):
        data: Any = json.dumps(body) if body is not None else None
        return client.generic(method, url, data or "", content_type="application/json")
    if method == "GET":
        return client.get(url)
    # The workspace and the hosted pages take forms (Django parses them on POST only).
    return client.post(url, body or {}) if method == "POST" else client.generic(method, url)


def _is_login_redirect(response: Any, login: str) -> bool:
    return response.status_code == 302 and response["Location"].startswith(f"{login}?next=")


def _assert_refused(role: str, response: Any, url: str, *, login: str) -> None:
    where = f"{role} {response.request['REQUEST_METHOD']} {url}"
    if url.startswith("/api/"):
        if role == "anonymous":
            assert_error(response, 401)
            assert response["WWW-Authenticate"].startswith("Token"), where
        else:
            assert_error(response, 403)
        return
    if role == "anonymous" or login == "/admin/login/":
        # The admin (and the staff-only sandbox) sends everyone it refuses to its login.
        assert _is_login_redirect(response, login), (where, response.status_code)
        assert response["Location"] == f"{login}?next={quote(url, safe='/')}", where
    else:
        assert response.status_code == 403, (where, response.status_code)


def _assert_allowed(role: str, response: Any, url: str, expected: int | None) -> None:
    where = f"{role} {response.request['REQUEST_METHOD']} {url}"
    status = response.status_code
    assert status not in (401, 403), (where, status, response.content[:300])
    assert not (status == 302 and "login" in response["Location"]), (where, response["Location"])
    if expected is not None:
        assert status == expected, (where, status, response.content[:300])


def _cases() -> Iterator[Any]:
    for key, entry in POLICY.items():
        for method in entry.methods:
            yield pytest.param(key, method, id=f"{method} {key or '/'}")


@pytest.mark.parametrize(("key", "method"), list(_cases()))
def test_walk(key: str, method: str, world: World, django_capture_on_commit_callbacks: Any) -> None:
    entry = POLICY[key]
    who = entry.methods[method]
    body = entry.bodies[method](world) if method in entry.bodies else None
    clients = {role: _client(role) for role in ROLES}
    for url in _urls(key, entry, world):
        if who is Who.PUBLIC:
            answers = {r: _call(c, method, url, body) for r, c in clients.items()}
            statuses = {r: a.status_code for r, a in answers.items()}
            assert len(set(statuses.values())) == 1, (url, statuses)
            for answer in answers.values():
                assert "login" not in answer.get("Location", ""), url
            continue
        if who is Who.LOGIN:
            # Open to all (logging out lands on the login page, which is the point).
            for role, client in clients.items():
                status = _call(client, method, url, body).status_code
                assert status not in (401, 403), (role, method, url, status)
            continue
        refused = ["anonymous", "no-role"] + (["sales"] if who is not Who.VIEW else [])
        login = "/admin/login/" if who is Who.STAFF else "/app/login/"
        if who is Who.STAFF:
            refused.append("marketer")  # a marketer who is not staff
        before = _snapshot()
        with django_capture_on_commit_callbacks(execute=False) as queued:
            for role in refused:
                _assert_refused(role, _call(clients[role], method, url, body), url, login=login)
        assert _snapshot() == before, f"a refused {method} {url} changed the database"
        assert not queued, f"a refused {method} {url} queued work"
        allowed = [r for r in ROLES if r not in refused]
        if who is Who.STAFF:
            staff, _ = _user("no-role")
            staff.is_staff = True
            staff.save(update_fields=["is_staff"])
            clients["staff"] = Client()
            clients["staff"].force_login(staff)
            allowed = ["staff"]
        expected = entry.ok.get(method, 200 if method == "GET" else None)
        for role in allowed:
            _assert_allowed(role, _call(clients[role], method, url, body), url, expected)
        if method != "GET" and entry.writes and expected is not None and expected < 400:
            # The write really wrote (the body was right): nothing above may pass by a 400.
            assert _snapshot() != before, f"the marketer's {method} {url} changed nothing"


@pytest.mark.parametrize(
    "key", [k for k, e in POLICY.items() if not ({PUBLIC, LOGIN} & set(e.methods.values()))]
)
def test_methods_the_table_does_not_list_are_405(key: str, world: World) -> None:
    """So a workspace view that starts taking POST (or a DRF view a PUT) must be listed."""
    entry = POLICY[key]
    marketer = _client("marketer")
    for url in _urls(key, entry, world):
        for method in set(METHODS) - set(entry.methods):
            response = _call(marketer, method, url, {})
            assert response.status_code == 405, (method, url, response.status_code)


# --- the admin, by prefix --------------------------------------------------------------------


def test_admin_is_for_staff_marketers_only(world: World) -> None:
    superuser = User.objects.create(username="walk-super", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(superuser)
    # A sales user made staff is a marketer by the policy (staff count as marketers).
    sales_staff, _ = _user("sales")
    sales_staff.is_staff = True
    sales_staff.save(update_fields=["is_staff"])
    staff_client = Client()
    staff_client.force_login(sales_staff)
    clients = {role: _client(role) for role in ROLES}
    walked = 0
    for item in _found().values():
        if not item.key.startswith(ADMIN_PREFIX) or item.key in ADMIN_DOORS:
            continue
        url = item.path_format % ADMIN_PARAMS
        assert resolve(url).func is item.pattern.callback, (item.key, url)
        for role, client in clients.items():
            response = client.get(url)
            assert _is_login_redirect(response, "/admin/login/"), (role, url, response.status_code)
        for role, client in (("superuser", admin), ("staff", staff_client)):
            response = client.get(url)
            assert response.status_code != 401, (role, url)
            assert not _is_login_redirect(response, "/admin/login/"), (role, url)
            if role == "superuser" and item.key not in ADMIN_CLOSED_TO_ALL:
                assert response.status_code != 403, url
        walked += 1
    assert walked > 20, walked
    assert Client().get("/admin/login/").status_code == 200
    assert admin.get("/admin/login/")["Location"] == "/admin/"


def test_sales_reads_the_delivery_log_itself(world: World) -> None:
    """Sales reads deliveries: the answer is the log itself, not an empty shell."""
    sales = _client("sales")
    response = sales.get(f"/api/v1/webhooks/{world['endpoint']}/deliveries")
    assert response.status_code == 200
    assert [d["id"] for d in response.json()["results"]] == [world["delivery"]]
    assert response.json()["results"][0]["status"] == DeliveryStatus.FAILED
