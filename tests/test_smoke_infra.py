"""The test infrastructure itself works: real worker, real receiver, per-worker isolation."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from profiling.models import EventType, Grade, Lead
from profiling.queue import enqueue_now
from tests.conftest import CELERY_QUEUE, REDIS_URL
from tests.support import factories
from tests.support.celery_worker import CeleryWorkerProcess
from tests.support.crm import CrmReceiver
from tests.support.waiting import WaitTimeout, wait_for


def test_crm_receiver_records_requests_and_follows_its_script(
    crm_receiver: CrmReceiver,
) -> None:
    crm_receiver.script(500, 503)
    with httpx.Client(timeout=5) as client:
        first = client.post(crm_receiver.url, content=b'{"n":1}', headers={"webhook-id": "a"})
        second = client.post(crm_receiver.url, content=b'{"n":2}')
        third = client.post(crm_receiver.url, content=b'{"n":3}')
    assert [first.status_code, second.status_code, third.status_code] == [500, 503, 200]
    received = crm_receiver.wait_for_requests(3, timeout=2)
    assert [r.body for r in received] == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
    assert [r.status for r in received] == [500, 503, 200]
    assert received[0].method == "POST"
    assert received[0].path == "/crm/leadgate"
    assert received[0].webhook_id == "a"
    assert received[0].headers["content-length"] == "7"
    assert received[0].received_at <= received[2].received_at


def test_wait_for_returns_the_value_or_fails_with_the_message() -> None:
    values = iter([0, 0, 42])
    assert wait_for(lambda: next(values), timeout=2, interval=0.01) == 42
    with pytest.raises(WaitTimeout, match="never true"):
        wait_for(lambda: False, timeout=0.2, interval=0.05, message="never true")


def test_services_are_isolated_per_xdist_worker() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert worker in CELERY_QUEUE
    assert settings.CELERY_TASK_DEFAULT_QUEUE == CELERY_QUEUE
    assert celery_app.conf.task_default_queue == CELERY_QUEUE
    assert celery_app.conf.task_always_eager is True  # the default outside worker tests
    assert settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE is True
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        assert settings.CELERY_BROKER_URL == REDIS_URL
        assert celery_app.conf.broker_url == REDIS_URL


@pytest.mark.django_db
def test_test_database_is_postgresql_per_worker() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), current_setting('server_version_num')::int")
        name, version = cursor.fetchone()
    assert version >= 150000
    assert name == connection.settings_dict["NAME"]
    assert name.startswith("test_")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        assert name.endswith(f"_{worker}")


@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_an_enqueued_task(celery_worker_process: CeleryWorkerProcess) -> None:
    offset = len(celery_worker_process.log_text())
    assert enqueue_now("profiling.tasks.deliveries_sweep") is True
    log = celery_worker_process.wait_for_log("profiling.tasks.deliveries_sweep", after=offset)
    celery_worker_process.wait_for_log("succeeded", after=offset)
    assert "received" in log[offset:].lower()
    assert celery_worker_process.alive


@pytest.mark.django_db(transaction=True)
def test_real_worker_sees_committed_rows_in_the_test_database(
    celery_worker_process: CeleryWorkerProcess,
) -> None:
    """The worker is on the same test database: it scores a lead this test committed."""
    factories.set_thresholds(warm=30, hot=80)
    gate = factories.make_gate(sections=4)
    factories.make_rule(event_type=EventType.SECTION_VIEW, gate=gate, points=10)
    lead = factories.make_lead()
    visitor = factories.make_visitor(lead=lead)
    for i in range(4):
        factories.make_event(
            visitor=visitor, gate=gate, section_key=f"section-{i + 1}", duration_ms=6000
        )
    assert Lead.objects.get(pk=lead.pk).grade == Grade.COLD

    assert enqueue_now("profiling.tasks.score_lead", str(lead.id)) is True

    scored = wait_for(
        lambda: Lead.objects.filter(pk=lead.pk, grade=Grade.WARM).first(),
        timeout=15,
        message=lambda: "lead not scored by the worker; log:\n" + celery_worker_process.log_tail(),
    )
    assert scored is not None
    assert scored.score == 40
    assert "score_lead[" in celery_worker_process.log_text()


@pytest.mark.django_db(transaction=True)
def test_real_worker_delivers_a_signed_webhook_to_the_receiver(
    celery_worker_process: CeleryWorkerProcess,
    crm_receiver: CrmReceiver,
) -> None:
    """Scoring in the worker creates a delivery and POSTs it to the real receiver."""
    from standardwebhooks import Webhook

    factories.set_thresholds(warm=30, hot=80)
    endpoint = factories.make_endpoint(url=crm_receiver.url, grades=["warm", "hot"])
    gate = factories.make_gate(sections=3)
    factories.make_rule(event_type=EventType.SECTION_VIEW, gate=gate, points=15)
    lead = factories.make_lead(utm_source="newsletter")
    visitor = factories.make_visitor(lead=lead, visitor_id=uuid.uuid4())
    for i in range(2):
        factories.make_event(visitor=visitor, gate=gate, section_key=f"section-{i + 1}")

    enqueue_now("profiling.tasks.score_lead", str(lead.id))

    delivery = crm_receiver.wait_for_delivery(timeout=15, grade="warm", lead_id=lead.id)
    payload = Webhook(endpoint.secret).verify(delivery.body, delivery.headers)
    assert payload["type"] == "lead.grade_changed"
    assert payload["data"]["previous_grade"] == "cold"
    assert payload["data"]["source"]["utm_source"] == "newsletter"
