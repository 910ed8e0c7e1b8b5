"""Every operation of /api/schema/, fuzzed by schemathesis: no 5xx, and every answer is one
the document promises (status code, content type, body schema, headers).

The schema is the one the app serves; requests go through Django's WSGI handler in-process
(the events beacon through its lean middleware path, as under runserver), authenticated
as a marketer by token, on the test database (PostgreSQL, rolled back after each
operation) with data present: a gate with sections, files and a question, a scoring rule, a webhook
with a delivery, a source and a lead. The data is made again for each example that lost
it (a DELETE of the example before), and half of the examples aim at those real objects
instead of generated ids, so updates and deletes reach the service code, not just 404s.

Bounded for CI: schemathesis's coverage phase (boundary values of every parameter and
body field, unexpected methods) and a few random examples per operation, positive and
negative data, deterministic (the same examples on every run), no deadline (the 2-core
CI machine is shared). About a minute on one core for some 3,000 requests.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from forms_app.models import Gate, Stage
from profiling.models import Delivery, Lead, ScoringRule, Source, WebhookEndpoint
from tests.support.factories import make_endpoint, make_gate, make_lead, make_rule, make_user

EXAMPLES_PER_OPERATION = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
GATE_SLUG = "fuzz-gate"
USERNAME = "fuzz-marketer"
# Nothing listens here: a webhook test or redelivery fails at once, never waits.
WEBHOOK_URL = "http://127.0.0.1:9/hook"

schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
schema.config.generation.update(max_examples=EXAMPLES_PER_OPERATION, deterministic=True)

pytestmark = pytest.mark.django_db
FUZZ_DATA = pytest.StashKey[dict[str, Any]]()


@pytest.fixture(autouse=True)
def _no_private_webhooks(settings: Any) -> None:
    """Generated webhook URLs must not reach services on this machine: the product's
    default (private addresses refused on create, update and send) holds here."""
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False


@pytest.fixture(autouse=True)
def _connections_kept() -> Iterator[None]:
    """The app's request signals would close this test's connection between requests
    (as Django's test client also prevents)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def fuzz_data() -> dict[str, Any]:
    """The objects every example may use, made again when an earlier example deleted them;
    the marketer's token header."""
    user = get_user_model().objects.filter(username=USERNAME).first() or make_user(
        username=USERNAME, is_superuser=True
    )
    # The marketer role as well: superusers and group `marketer` may write everything.
    user.groups.add(Group.objects.get_or_create(name="marketer")[0])
    token, _ = Token.objects.get_or_create(user=user)
    gate = Gate.objects.filter(slug=GATE_SLUG).first() or make_gate(
        slug=GATE_SLUG,
        stage=Stage.DECISION,
        sections=["part-1", "part-2"],
        questions=(("sites", "How many sites need fibre?"),),
        allowed_origins=[],
    )
    rule = ScoringRule.objects.first() or make_rule(gate=gate, points=10)
    endpoint = WebhookEndpoint.objects.first() or make_endpoint(url=WEBHOOK_URL)
    lead = Lead.objects.first() or make_lead()
    delivery = Delivery.objects.first() or Delivery.objects.create(
        endpoint=endpoint, lead=lead, payload={"type": "lead.grade_changed"}
    )
    source = Source.objects.first() or Source.objects.create(name="fuzz")
    return {
        "headers": {"Authorization": f"Token {token.key}"},
        "ids": {
            "/api/v1/gates/": {"slug": gate.slug},
            "/api/v1/public/gates/": {"slug": gate.slug},
            "/api/v1/scoring-rules/": {"id": rule.pk},
            "/api/v1/webhooks/": {"id": endpoint.pk},
            "/api/v1/deliveries/": {"id": str(delivery.pk)},
            "/api/v1/leads/": {"id": str(lead.pk)},
            "/api/v1/sources/": {"id": source.pk},
        },
    }


def aim_at_real_objects(case: Any, ids: dict[str, dict[str, Any]]) -> None:
    """About half of the examples (chosen by the generated values, so the same ones on
    every run): the path's parameters name the fixture's objects."""
    if not case.path_parameters:
        return
    if zlib.crc32(repr(sorted(case.path_parameters.items())).encode()) % 2:
        return
    for prefix, values in ids.items():
        if case.path.startswith(prefix):
            for name, value in values.items():
                if name in case.path_parameters:
                    case.path_parameters[name] = value
            return


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_api_operation(case: Any, request: pytest.FixtureRequest) -> None:
    # The objects are looked up again only after a request that may have changed them
    # (a write that succeeded): a few queries less per example.
    data = request.node.stash.get(FUZZ_DATA, None) or fuzz_data()
    request.node.stash[FUZZ_DATA] = data
    aim_at_real_objects(case, data["ids"])
    response = case.call_and_validate(headers=data["headers"], checks=CHECKS)
    if case.method.upper() != "GET" and response.status_code < 300:
        del request.node.stash[FUZZ_DATA]
