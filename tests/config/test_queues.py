"""Celery queues (config/celery.py): deliveries, scoring and background work each on a
queue of their own, so a node can run only deliveries (`-Q deliveries`), while a worker
started without -Q (the contract's `celery -A config worker`) reads all three.

Real worker processes on queues named for this test, fed by a publisher that routes as
the web processes do."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from django.db import connection

from config.celery import route_task
from tests.conftest import require_services
from tests.support.celery_worker import (
    CeleryWorkerProcess,
    database_url_for,
    purge_redis_queue,
    queue_names,
)
from tests.support.waiting import wait_for

SWEEPS = {
    "deliveries": "profiling.tasks.deliveries_sweep",
    "scoring": "profiling.tasks.score_pending_sweep",
    "background": "profiling.tasks.emails_sweep",
}


def test_each_task_is_routed_to_its_queue(settings: Any) -> None:
    settings.LEADGATE_CELERY_DELIVERY_QUEUE = "d"
    settings.LEADGATE_CELERY_SCORING_QUEUE = "s"

    def queue(name: str) -> str | None:
        route = route_task(name, (), {}, {})
        return route["queue"] if route else None

    assert queue("profiling.tasks.deliver") == "d"
    assert queue("profiling.tasks.deliveries_sweep") == "d"
    assert queue("profiling.tasks.score_lead") == "s"
    assert queue("profiling.tasks.score_pending_sweep") == "s"
    # Everything else: the default queue (LEADGATE_CELERY_QUEUE), background work.
    for name in (
        "profiling.tasks.send_email",
        "profiling.tasks.emails_sweep",
        "profiling.tasks.leads_rescore",
        "profiling.tasks.leads_regrade_decayed",
    ):
        assert queue(name) is None, name


@pytest.fixture
def base(settings: Any) -> Iterator[str]:
    """Queues of this test's own, for the workers below and the publisher."""
    require_services()
    name = f"leadgate-queues-{uuid.uuid4().hex[:8]}"
    names = queue_names(name)
    settings.LEADGATE_CELERY_DELIVERY_QUEUE = names["LEADGATE_CELERY_DELIVERY_QUEUE"]
    settings.LEADGATE_CELERY_SCORING_QUEUE = names["LEADGATE_CELERY_SCORING_QUEUE"]
    try:
        yield name
    finally:
        purge_redis_queue(os.environ["REDIS_URL"], name)


def _publisher(base: str) -> Celery:
    """Publishes as the web processes do: routed by config.celery.route_task, the rest to
    the default (background) queue."""
    app = Celery("queues-test-publisher", broker=os.environ["REDIS_URL"], set_as_current=False)
    app.conf.update(task_routes=(route_task,), task_default_queue=base)
    return app


def _worker(tmp_path: Path, base: str, consume: list[str] | None) -> CeleryWorkerProcess:
    return CeleryWorkerProcess(
        database_url=database_url_for(connection.settings_dict),
        redis_url=os.environ["REDIS_URL"],
        queue=base,
        log_path=tmp_path / "worker.log",
        name=f"lgqueues-{uuid.uuid4().hex[:6]}",
        consume=consume,
    )


def _succeeded(worker: CeleryWorkerProcess, task: str) -> bool:
    return any(
        f"Task {task}[" in line and " succeeded " in line for line in worker.log_text().splitlines()
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_started_without_q_reads_all_three_queues(tmp_path: Path, base: str) -> None:
    publisher = _publisher(base)
    with _worker(tmp_path, base, consume=[]) as worker:
        assert "-Q" not in worker.command()
        for task in SWEEPS.values():
            publisher.send_task(task)
        wait_for(
            lambda: all(_succeeded(worker, task) for task in SWEEPS.values()),
            20,
            message=worker.log_tail,
        )


@pytest.mark.django_db(transaction=True)
def test_a_delivery_only_worker_reads_deliveries_and_leaves_scoring(
    tmp_path: Path, base: str
) -> None:
    deliveries = queue_names(base)["LEADGATE_CELERY_DELIVERY_QUEUE"]
    scoring = queue_names(base)["LEADGATE_CELERY_SCORING_QUEUE"]
    publisher = _publisher(base)
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        with _worker(tmp_path, base, consume=[deliveries]) as worker:
            publisher.send_task(SWEEPS["scoring"])
            publisher.send_task(SWEEPS["background"])
            publisher.send_task(SWEEPS["deliveries"])
            wait_for(lambda: _succeeded(worker, SWEEPS["deliveries"]), 20, message=worker.log_tail)
            # Published before the delivery sweep, still waiting: never read by this node.
            assert not _succeeded(worker, SWEEPS["scoring"])
            assert not _succeeded(worker, SWEEPS["background"])
            assert _waiting(client, scoring) == 1
            assert _waiting(client, base) == 1
            assert _waiting(client, deliveries) == 0
    finally:
        client.close()


def _waiting(client: Any, queue: str) -> int:
    keys: Any = client.keys(queue.encode() + b"*")
    # Only this queue's own lists (it and its priority lists), not the longer names.
    own = [k for k in keys if k == queue.encode() or k.startswith(queue.encode() + b"\x06\x16")]
    return sum(int(client.llen(k)) for k in own)
