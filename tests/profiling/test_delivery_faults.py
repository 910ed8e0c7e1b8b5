"""Faults, each a test, with real processes: a `celery -A config worker -B` subprocess (the
production worker with its beat sweep), real PostgreSQL, real Redis (our own
redis-server for the restart test) and a real HTTP CRM on 127.0.0.1.

- the CRM is down (connection refused), then back: each delivery arrives once, in order;
- the CRM answers 500s, then 200: retried with the same webhook-id until the 2xx;
- a worker is SIGKILLed in the middle of a POST: the delivery is not lost, arrives with
  the same webhook-id, at most twice (at least once allows the interrupted copy);
- Redis is restarted (losing every queued message) with deliveries pending: the rows'
  due times bring them back through beat's sweep, nothing is lost.

Each test runs its own worker on its own queue (never the session's shared worker), so
killing it or pointing it at another Redis cannot disturb other tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks import Webhook

from profiling.models import Delivery, DeliveryStatus, GradeChange, Lead, WebhookEndpoint
from profiling.services.delivery import deliveries_create_for_change
from profiling.services.delivery import outbox as outbox_module
from tests.conftest import require_services
from tests.support import crm as crm_module
from tests.support.celery_worker import CeleryWorkerProcess, database_url_for, queue_names
from tests.support.crm import CrmReceiver
from tests.support.factories import make_endpoint, make_lead
from tests.support.net import free_port, private_redis_command
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


class BeatWorker(CeleryWorkerProcess):
    """The production worker with its embedded beat (the retry sweep every 5 s)."""

    def __init__(self, *, schedule_path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schedule_path = schedule_path

    def command(self) -> list[str]:
        return [*super().command(), "-B", "-s", str(self.schedule_path)]

    def kill(self) -> None:
        """SIGKILL, no warning: the worker (and its beat child) die mid-whatever."""
        process, self.process = self.process, None
        assert process is not None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., BeatWorker]]:
    require_services()
    started: list[BeatWorker] = []
    queue = f"leadgate-faults-{uuid.uuid4().hex[:8]}"

    def start(*, redis_url: str | None = None, **env: str) -> BeatWorker:
        worker = BeatWorker(
            database_url=database_url_for(connection.settings_dict),
            redis_url=redis_url or os.environ["REDIS_URL"],
            queue=queue,
            log_path=tmp_path / f"worker-{len(started)}.log",
            name=f"lgfault-{len(started)}-{os.getpid()}",
            schedule_path=tmp_path / f"beat-{len(started)}",
            extra_env=env,
        )
        started.append(worker)
        worker.start()
        return worker

    start.queue = queue  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for worker in started:
            worker.stop(timeout=5)
        import redis

        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        try:
            client.delete(*queue_names(queue).values())
        finally:
            client.close()


def _publish_to(monkeypatch: pytest.MonkeyPatch, redis_url: str, queue: str) -> Celery:
    """Deliveries enqueue (after commit, as in production) onto `queue` at `redis_url`,
    through a Celery app of their own, so the tests' global eager app is untouched."""
    publisher = Celery("lg-fault-publisher", broker=redis_url, set_as_current=False)

    def enqueue_after_commit(task_name: str, *args: Any, **options: Any) -> None:
        def send() -> None:
            # Like profiling.queue.enqueue_now: broker down, the sweep finds the row later.
            with contextlib.suppress(Exception):
                publisher.send_task(task_name, args=args, queue=queue, retry=False)

        transaction.on_commit(send)

    monkeypatch.setattr(outbox_module, "enqueue_after_commit", enqueue_after_commit)
    return publisher


def _change(lead: Lead, previous: str, grade: str) -> GradeChange:
    return GradeChange.objects.create(
        lead=lead,
        previous_grade=previous,
        grade=grade,
        score=90 if grade == "hot" else 40,
        reasons=[f"now {grade}"],
        triggered_at=timezone.now(),
    )


def _push(lead: Lead, previous: str, grade: str) -> Delivery:
    (delivery,) = deliveries_create_for_change(change=_change(lead, previous, grade), lead=lead)
    return delivery


def _rows(*deliveries: Delivery) -> list[Delivery]:
    return [Delivery.objects.get(pk=d.pk) for d in deliveries]


def _wait_delivered(*deliveries: Delivery, timeout: float, worker: BeatWorker) -> None:
    wait_for(
        lambda: all(d.status == DeliveryStatus.SUCCEEDED for d in _rows(*deliveries)),
        timeout,
        interval=0.2,
        message=lambda: (
            f"{[(d.status, d.attempts, d.last_error) for d in _rows(*deliveries)]}"
            f"\nworker log:\n{worker.log_tail(3000)}"
        ),
    )


def _by_webhook_id(receiver: CrmReceiver) -> dict[str, list[Any]]:
    seen: dict[str, list[Any]] = {}
    for request in receiver.requests:
        seen.setdefault(request.webhook_id, []).append(request)
    return seen


def test_crm_down_then_back_delivers_each_once_in_order(
    worker_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _publish_to(monkeypatch, os.environ["REDIS_URL"], worker_factory.queue)
    port = free_port()  # nothing listens: the CRM is down (connection refused)
    endpoint = make_endpoint(url=f"http://127.0.0.1:{port}/crm/leadgate", grades=["warm", "hot"])
    worker = worker_factory()
    ada, bob = make_lead(), make_lead()
    warm = _push(ada, "cold", "warm")
    hot = _push(ada, "warm", "hot")
    bob_hot = _push(bob, "warm", "hot")

    def first_attempts_failed() -> bool:
        w, _h, b = _rows(warm, hot, bob_hot)
        return w.attempts >= 1 and b.attempts >= 1 and "ConnectError" in w.last_error

    wait_for(first_attempts_failed, 20, message=lambda: worker.log_tail(3000))
    assert _rows(hot)[0].attempts == 0  # waits for ada's warm push: order is kept

    # The CRM comes back on the same address.
    class SamePort(ThreadingHTTPServer):
        def __init__(self, address: tuple[str, int], handler: Any) -> None:
            super().__init__((address[0], port), handler)

    monkeypatch.setattr(crm_module, "ThreadingHTTPServer", SamePort)
    with CrmReceiver() as crm:
        _wait_delivered(warm, hot, bob_hot, timeout=40, worker=worker)
        requests = crm.requests
    seen = _by_webhook_id(crm)
    assert set(seen) == {f"msg_{d.id.hex}" for d in (warm, hot, bob_hot)}
    assert all(len(copies) == 1 for copies in seen.values()), crm.describe()
    ada_grades = [
        r.json()["data"]["grade"] for r in requests if r.json()["data"]["lead"]["id"] == str(ada.id)
    ]
    assert ada_grades == ["warm", "hot"]
    for request in requests:
        Webhook(endpoint.secret).verify(request.body, request.headers)
    w, h, _ = _rows(warm, hot, bob_hot)
    assert w.attempts >= 2
    assert h.attempts == 1
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is None


def test_500s_then_200_retries_with_the_same_webhook_id(
    worker_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _publish_to(monkeypatch, os.environ["REDIS_URL"], worker_factory.queue)
    with CrmReceiver() as crm:
        crm.script(500, 500, 200)
        endpoint = make_endpoint(url=crm.url)
        worker = worker_factory()
        delivery = _push(make_lead(), "warm", "hot")

        # first attempt at once, the second ~5 s later from beat's sweep of due rows; its
        # 500 reschedules the third for ~5 minutes later (a claim's lease is shorter)
        def second_failure_recorded() -> bool:
            row = _rows(delivery)[0]
            later = timezone.now() + timedelta(minutes=4)
            return row.attempts == 2 and bool(row.next_attempt_at and row.next_attempt_at > later)

        wait_for(second_failure_recorded, 30, message=worker.log_tail)
        row = _rows(delivery)[0]
        assert (row.status, row.last_status_code) == (DeliveryStatus.PENDING, 500)
        assert len(crm.requests) == 2
        # the next retry is five minutes away: the clock jumps there
        Delivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=timezone.now() - timedelta(seconds=5)
        )
        _wait_delivered(delivery, timeout=30, worker=worker)
        requests = crm.requests
    assert [r.status for r in requests] == [500, 500, 200]
    assert {r.webhook_id for r in requests} == {f"msg_{delivery.id.hex}"}
    stamps = [int(r.headers["webhook-timestamp"]) for r in requests]
    assert stamps == sorted(stamps)
    assert stamps[0] < stamps[1]
    assert len({r.headers["webhook-signature"] for r in requests}) >= 2
    for request in requests:
        Webhook(endpoint.secret).verify(request.body, request.headers)
    row = _rows(delivery)[0]
    assert (row.attempts, row.last_status_code) == (3, 200)
    assert row.speed_to_lead_ms is not None


def test_worker_killed_mid_post_delivers_with_the_same_id(
    worker_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _publish_to(monkeypatch, os.environ["REDIS_URL"], worker_factory.queue)
    # A 3 s timeout and a 1 s grace: the killed worker's lease ends 4 s after its claim.
    env = {"LEADGATE_WEBHOOK_TIMEOUT_S": "3", "LEADGATE_WEBHOOK_LEASE_GRACE_S": "1"}
    with CrmReceiver() as crm:
        crm.script(delay_s=2.0)  # a slow CRM: the kill lands while the POST is in flight
        arrived = threading.Event()
        answer = crm._next_answer  # called as a request arrives, before the CRM's delay

        def note_arrival() -> tuple[int, float]:
            arrived.set()
            return answer()

        monkeypatch.setattr(crm, "_next_answer", note_arrival)
        endpoint = make_endpoint(url=crm.url)
        worker = worker_factory(**env)
        delivery = _push(make_lead(), "warm", "hot")
        assert arrived.wait(20), worker.log_tail()
        worker.kill()  # the CRM has the request and takes 2 s to answer: mid-POST
        assert _rows(delivery)[0].status == DeliveryStatus.PENDING

        # A new worker (the old one's broker message stays unacked with Redis): when the
        # lease runs out, its beat sweep finds the row due and sends it again.
        replacement = worker_factory(**env)
        _wait_delivered(delivery, timeout=40, worker=replacement)
        requests = crm.wait_for_requests(2, timeout=10)
    assert {r.webhook_id for r in requests} == {f"msg_{delivery.id.hex}"}
    # at least once: the interrupted copy reached the CRM, the retry did; never a third
    assert len(requests) == 2, crm.describe()
    for request in requests:
        Webhook(endpoint.secret).verify(request.body, request.headers)
    assert _rows(delivery)[0].attempts == 2


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A private redis-server (no persistence) on a free port: restartable at will."""
    binary = shutil.which("redis-server")
    if binary is None:
        # Installed with Redis on every machine this project runs on (scripts/services.sh).
        pytest.fail("redis-server is not installed: this fault test starts its own")
    port = free_port()
    state: dict[str, Any] = {"url": f"redis://127.0.0.1:{port}/0", "process": None}

    def start() -> None:
        state["process"] = subprocess.Popen(
            private_redis_command(binary, port, tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def pong() -> bool:
            import redis

            try:
                return bool(redis.Redis.from_url(state["url"], socket_timeout=1).ping())
            except Exception:
                return False

        wait_for(pong, 10, message="own redis-server did not start")

    def stop() -> None:
        process = state["process"]
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    state["start"], state["stop"] = start, stop
    start()
    try:
        yield state
    finally:
        stop()


def test_redis_restarted_with_deliveries_pending_loses_nothing(
    worker_factory: Any, own_redis: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:

    url = own_redis["url"]
    _publish_to(monkeypatch, url, worker_factory.queue)
    with CrmReceiver() as crm:
        crm.script(default=503)  # the CRM is struggling: deliveries stay pending
        endpoint = make_endpoint(url=crm.url, grades=["warm", "hot"])
        worker = worker_factory(redis_url=url)
        ada, bob = make_lead(), make_lead()
        warm = _push(ada, "cold", "warm")
        hot = _push(ada, "warm", "hot")
        bob_hot = _push(bob, "warm", "hot")
        wait_for(
            lambda: _rows(warm)[0].attempts >= 1 and _rows(bob_hot)[0].attempts >= 1,
            20,
            message=worker.log_tail,
        )

        # Redis goes away. A new push meanwhile cannot be enqueued at all...
        own_redis["stop"]()
        late = _push(bob, "hot", "hot")  # (a re-push of bob's grade: another change)
        # ...and the restarted Redis (no persistence) has forgotten every message and
        # unacked delivery: only the rows' due times know what is pending.
        own_redis["start"]()

        crm.script(default=200)  # the CRM recovers
        _wait_delivered(warm, hot, bob_hot, late, timeout=60, worker=worker)
        requests = crm.requests
    ok = [r for r in requests if r.status == 200]
    ids = [r.webhook_id for r in ok]
    assert sorted(ids) == sorted(f"msg_{d.id.hex}" for d in (warm, hot, bob_hot, late))
    ada_ok = [
        r.json()["data"]["grade"] for r in ok if r.json()["data"]["lead"]["id"] == str(ada.id)
    ]
    assert ada_ok == ["warm", "hot"]
    for request in requests:
        Webhook(endpoint.secret).verify(request.body, request.headers)
    assert worker.alive, worker.log_tail()
