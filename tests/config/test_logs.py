"""Logs as JSON lines (LEADGATE_LOG_FORMAT=json, config/logs.py) with a request id
(config/request_id.py) that follows a beacon into the Celery tasks it leads to: its
score task, and the CRM delivery that task enqueues, in a real worker process."""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from config.celery import app as celery_app
from config.logs import json_formatter, logging_config
from config.request_id import REQUEST_ID, RequestIdFilter, request_id_bind, request_id_reset
from tests.conftest import require_services
from tests.support.celery_worker import (
    CeleryWorkerProcess,
    database_url_for,
    purge_redis_queue,
    queue_names,
)
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
from tests.support.waiting import wait_for


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_format_writes_one_object_per_line_with_the_request_id() -> None:
    config = logging_config(log_format="json", level="INFO")
    # What dictConfig builds from it, on a logger of this test's own (the root's
    # handlers stay as they are).
    assert config["formatters"]["main"] == {"()": "config.logs.json_formatter"}
    assert config["handlers"]["console"]["filters"] == ["request_id"]
    assert config["root"]["handlers"] == ["console"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    log = logging.getLogger("lgtest")
    log.addHandler(handler)
    log.propagate = False
    try:
        _log_twice(log)
    finally:
        log.removeHandler(handler)
    first, second = _json_lines(stream.getvalue())
    assert first["message"] == "inside a request"
    assert first["request_id"] == "abc-123"
    assert first["level"] == "INFO"
    assert first["logger"] == "lgtest"
    assert first["lead"] == "L1"
    assert first["time"]
    assert second["request_id"] is None
    assert second["message"] == 'outside "quoted"\nsecond line'
    assert REQUEST_ID.get() is None


def _log_twice(log: logging.Logger) -> None:
    _, token = request_id_bind("abc-123")
    try:
        log.info("inside %s", "a request", extra={"lead": "L1"})
    finally:
        request_id_reset(token)
    log.warning('outside "quoted"\nsecond line')


def test_plain_format_is_the_default() -> None:
    config = logging_config(log_format="plain", level="INFO")
    assert config["formatters"]["main"] == {
        "format": "%(asctime)s %(levelname)s %(name)s %(message)s"
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "kept"),
    [("lb-7f3a.1:2", True), ("", False), ("has space", False), ("x" * 129, False)],
)
def test_every_answer_carries_a_request_id(client: Client, given: str, kept: bool) -> None:
    headers = {"X-Request-ID": given} if given else {}
    for path in ("/healthz", "/api/v1/public/gates/nope"):
        rid = client.get(path, headers=headers)["X-Request-ID"]
        assert (rid == given) is kept
        assert rid
        assert len(rid) <= 128
    beacon = client.post("/api/v1/public/events", b"{", "application/json", headers=headers)
    assert beacon.status_code == 400
    assert (beacon["X-Request-ID"] == given) is kept


@pytest.mark.django_db(transaction=True)
def test_a_beacons_request_id_is_on_the_log_lines_of_its_celery_tasks(
    client: Client, settings: Any, tmp_path: Path, crm_receiver: CrmReceiver
) -> None:
    """JSON lines from a real worker: the score task the beacon enqueued and the delivery
    that task enqueued both log the beacon's X-Request-ID."""
    require_services()
    base = f"leadgate-logs-{uuid.uuid4().hex[:8]}"
    names = queue_names(base)
    settings.LEADGATE_CELERY_DELIVERY_QUEUE = names["LEADGATE_CELERY_DELIVERY_QUEUE"]
    settings.LEADGATE_CELERY_SCORING_QUEUE = names["LEADGATE_CELERY_SCORING_QUEUE"]
    set_thresholds(warm=30, hot=80)
    gate = make_gate(files=("network-map",))
    make_rule(event_type="download", gate=gate, file_key="network-map", points=5, makes_hot=True)
    make_endpoint(url=crm_receiver.url, grades=["hot"])
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    worker = CeleryWorkerProcess(
        database_url=database_url_for(connection.settings_dict),
        redis_url=os.environ["REDIS_URL"],
        queue=base,
        log_path=tmp_path / "worker.log",
        name=f"lglogs-{uuid.uuid4().hex[:6]}",
        extra_env={"LEADGATE_LOG_FORMAT": "json"},
    )
    celery_app.conf.task_always_eager = False
    try:
        with worker:
            rid = f"beacon-{uuid.uuid4().hex}"
            event = {"id": str(uuid.uuid4()), "type": "download", "gate": gate.slug}
            event["file"] = "network-map"
            response = client.post(
                "/api/v1/public/events",
                {"visitor_id": str(visitor.id), "events": [event]},
                "application/json",
                HTTP_ORIGIN=DEFAULT_ORIGIN,
                HTTP_X_REQUEST_ID=rid,
            )
            assert response.status_code == 202, response.content
            assert response["X-Request-ID"] == rid
            crm_receiver.wait_for_delivery(20, lead_id=lead.id, grade="hot")

            def delivery_logged() -> list[dict[str, Any]]:
                return [
                    line
                    for line in _json_lines(worker.log_text())
                    if line.get("logger") == "profiling.services.delivery.attempt"
                ]

            (delivered,) = wait_for(delivery_logged, 10, message=worker.log_tail)
            assert delivered["request_id"] == rid
            assert "-> succeeded" in delivered["message"]
            lines = _json_lines(worker.log_text())
            tasks = {
                line["message"].split("[", 1)[0]
                for line in lines
                if line.get("request_id") == rid and " succeeded in " in line["message"]
            }
            assert tasks == {"Task profiling.tasks.score_lead", "Task profiling.tasks.deliver"}
            # The worker's own lines (start-up, no request) are JSON too, without an id.
            ready = [line for line in lines if line["message"].endswith(" ready.")]
            assert ready
            assert ready[0]["request_id"] is None
    finally:
        celery_app.conf.task_always_eager = True
        purge_redis_queue(os.environ["REDIS_URL"], base)
