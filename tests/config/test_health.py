"""GET /healthz, /readyz and /metrics (config/health.py, config/metrics.py) in the test
process: answers, failure reasons, the bearer token, and metrics that move when events,
submissions, grade changes and deliveries happen. The same endpoints under real gunicorn
processes, with counts from a real Celery worker: tests/test_multi_node.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from profiling.models import Delivery, DeliveryStatus, GradeChange, ScorePending
from tests.support.crm import CrmReceiver
from tests.support.factories import (
    DEFAULT_ORIGIN,
    make_endpoint,
    make_gate,
    make_lead,
    make_rule,
    make_visitor,
    set_thresholds,
)
from tests.support.net import free_port

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"


# --- /healthz ------------------------------------------------------------------------------
def test_healthz_answers_without_touching_anything(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert response["X-Request-ID"]
    assert client.head("/healthz").status_code == 200
    refused = client.post("/healthz")
    assert refused.status_code == 405
    assert refused.json()["errors"]["__all__"]


# --- /readyz --------------------------------------------------------------------------------
def test_readyz_is_ok_when_postgresql_and_redis_answer(client: Client) -> None:
    from tests.conftest import require_services

    require_services()
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}


def test_readyz_is_503_with_the_reason_when_redis_does_not_answer(
    client: Client, settings: Any
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": closed,
            "KEY_PREFIX": "readyz-test",
        }
    }
    settings.CELERY_BROKER_URL = closed
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert len(body["reasons"]) == 1
    assert body["reasons"][0].startswith("redis: ConnectionError"), body


def test_readyz_is_503_with_the_reason_when_postgresql_does_not_answer(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the probe's own connection (config/health.py opens one) reads this; the
    # test's connection is already open.
    monkeypatch.setitem(connection.settings_dict, "PORT", str(free_port()))
    response = client.get("/readyz")
    assert response.status_code == 503
    reasons = response.json()["reasons"]
    assert [r.split(":")[0] for r in reasons] == ["postgresql"], reasons


def test_probes_are_not_redirected_to_https(client: Client, settings: Any) -> None:
    """With LEADGATE_HTTPS's redirect on, a plain-HTTP probe is answered, not redirected
    (load balancers probe over plain HTTP inside the network); pages still are."""
    settings.SECURE_SSL_REDIRECT = True
    settings.LEADGATE_METRICS_TOKEN = TOKEN
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/metrics", headers=auth).status_code == 200
    page = client.get("/app/")
    assert page.status_code == 301
    assert page["Location"].startswith("https://")


# --- /metrics: the token ------------------------------------------------------------------
def test_metrics_is_404_while_no_token_is_set(client: Client, settings: Any) -> None:
    settings.LEADGATE_METRICS_TOKEN = ""
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 404
    assert response.json()["errors"]


@pytest.mark.parametrize(
    "header",
    [None, f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Token {TOKEN}", TOKEN, "Bearer "],
)
def test_metrics_is_401_without_the_right_token(
    client: Client, settings: Any, header: str | None
) -> None:
    settings.LEADGATE_METRICS_TOKEN = TOKEN
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"leadgate_" not in response.content


def test_metrics_answers_the_prometheus_text_format_with_the_token(
    client: Client, settings: Any
) -> None:
    settings.LEADGATE_METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    names = {f.name for f in text_string_to_metric_families(response.content.decode())}
    assert {
        "leadgate_events_accepted",
        "leadgate_events_refused",
        "leadgate_submissions",
        "leadgate_grade_changes",
        "leadgate_deliveries",
        "leadgate_speed_to_lead_seconds",
        "leadgate_queue_depth",
        "leadgate_outbox_size",
        "leadgate_scoring_lag_seconds",
        "leadgate_delivery_lag_seconds",
    } <= names
    assert all(name.startswith("leadgate_") for name in names), names
    # Every known label value is a series from the first scrape (0 until it happens).
    samples = {
        (s.name, tuple(s.labels.items()))
        for f in text_string_to_metric_families(response.content.decode())
        for s in f.samples
    }
    assert ("leadgate_deliveries_total", (("outcome", "gone"),)) in samples
    assert ("leadgate_events_refused_total", (("reason", "origin"),)) in samples


# --- /metrics: values that move ---------------------------------------------------------------
def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_move_with_events_submissions_grade_changes_and_deliveries(
    client: Client,
    settings: Any,
    crm_receiver: CrmReceiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.LEADGATE_METRICS_TOKEN = TOKEN
    set_thresholds(warm=30, hot=80)
    gate = make_gate(files=("network-map",))
    make_rule(event_type="download", gate=gate, file_key="network-map", points=5, makes_hot=True)
    make_endpoint(url=crm_receiver.url, grades=["hot"])
    visitor = make_visitor(lead=make_lead())
    before = scrape(client)

    events = [
        {"id": str(uuid.uuid4()), "type": "page_view", "gate": gate.slug},
        {"id": str(uuid.uuid4()), "type": "download", "gate": gate.slug, "file": "network-map"},
    ]
    batch = {"visitor_id": str(visitor.id), "events": events}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            "/api/v1/public/events", batch, "application/json", HTTP_ORIGIN=DEFAULT_ORIGIN
        )
    assert first.status_code == 202, first.content
    again = client.post(
        "/api/v1/public/events", batch, "application/json", HTTP_ORIGIN=DEFAULT_ORIGIN
    )
    assert again.json() == {"accepted": 0, "duplicates": 2}
    invalid = {"visitor_id": str(visitor.id), "events": [{"id": "x", "type": "nope"}]}
    refused = client.post(
        "/api/v1/public/events", invalid, "application/json", HTTP_ORIGIN=DEFAULT_ORIGIN
    )
    assert refused.status_code == 400
    not_json = client.post(
        "/api/v1/public/events", b"{", "application/json", HTTP_ORIGIN=DEFAULT_ORIGIN
    )
    assert not_json.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        submitted = client.post(
            f"/api/v1/public/gates/{gate.slug}/submissions",
            {"name": "Grace", "email": "grace@example-fibre.com", "subscribe": True},
            "application/json",
            HTTP_ORIGIN=DEFAULT_ORIGIN,
        )
    assert submitted.status_code == 201, submitted.content
    crm_receiver.wait_for_requests(1, timeout=5)
    assert GradeChange.objects.filter(lead=visitor.lead, grade="hot").exists()
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("leadgate_events_accepted_total", source="tracker") == 2
    assert moved("leadgate_events_duplicate_total", source="tracker") == 2
    assert moved("leadgate_events_refused_total", reason="invalid") == 1
    assert moved("leadgate_events_refused_total", reason="not_json") == 1
    assert moved("leadgate_submissions_total", outcome="lead") == 1
    assert moved("leadgate_grade_changes_total", grade="hot") == 1
    assert moved("leadgate_deliveries_total", outcome="succeeded") == 1
    assert moved("leadgate_speed_to_lead_seconds_count") == 1
    assert moved("leadgate_speed_to_lead_seconds_sum") > 0


def test_backlog_gauges_read_the_outboxes_and_the_lags(client: Client, settings: Any) -> None:
    settings.LEADGATE_METRICS_TOKEN = TOKEN
    lead = make_lead()
    endpoint = make_endpoint(url="http://127.0.0.1:9/crm")
    change = GradeChange.objects.create(
        lead=lead, previous_grade="warm", grade="hot", score=90, triggered_at=timezone.now()
    )
    now = timezone.now()
    Delivery.objects.create(
        endpoint=endpoint,
        lead=lead,
        grade_change=change,
        event_type="lead.grade_changed",
        payload={},
        status=DeliveryStatus.PENDING,
        next_attempt_at=now - timedelta(seconds=120),
    )
    ScorePending.objects.create(lead=lead, since=now - timedelta(seconds=300))
    samples = scrape(client)
    assert value(samples, "leadgate_outbox_size", kind="deliveries") == 1
    assert value(samples, "leadgate_outbox_size", kind="emails") == 0
    assert 300 <= value(samples, "leadgate_scoring_lag_seconds") < 400
    assert 120 <= value(samples, "leadgate_delivery_lag_seconds") < 220
