"""How ingest reaches scoring: no Celery call per request, hot triggers at once, and
nothing lost when the broker is down (the sweep scores stored events later)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from config.celery import app as celery_app
from profiling.models import Event, Lead, ScorePending
from profiling.services.score_triggers import score_pending_sweep
from tests.support.factories import make_gate, make_lead, make_rule, make_visitor, set_thresholds
from tests.support.net import free_port


def _ev(gate: Any, **kw: Any) -> dict[str, Any]:
    event = {"id": str(uuid.uuid4()), "type": "section_view", "gate": gate.slug}
    event.update(kw)
    if event["type"] == "section_view":
        event.setdefault("section", "section-1")
    return event


def _post(client: Any, visitor_id: uuid.UUID, events: list[dict[str, Any]]) -> Any:
    return client.post(
        "/api/v1/public/events",
        data=json.dumps({"visitor_id": str(visitor_id), "events": events}),
        content_type="application/json",
    )


@pytest.mark.django_db
def test_one_enqueue_per_burst_and_hot_triggers_at_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    gate = make_gate()
    make_rule(gate=gate, points=10)
    make_rule(event_type="download", gate=gate, points=50, makes_hot=True)
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    api = Client()
    # The first batch of a burst marks the lead and enqueues one score task...
    with django_capture_on_commit_callbacks() as callbacks:
        assert _post(api, visitor.id, [_ev(gate)]).status_code == 202
    assert len(callbacks) == 1
    assert ScorePending.objects.filter(lead=lead).exists()
    # ...later batches, while that task is still queued, enqueue nothing (no Celery
    # round-trip on the request path): the queued task will see their events too.
    for key in ("section-2", "section-3"):
        with django_capture_on_commit_callbacks() as callbacks:
            assert _post(api, visitor.id, [_ev(gate, section=key)]).status_code == 202
        assert callbacks == []
    # A hot trigger does not wait for anything: it enqueues at once.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _post(api, visitor.id, [_ev(gate, type="download", file="network-map")])
    assert response.status_code == 202
    assert len(callbacks) == 1
    lead.refresh_from_db()
    assert lead.grade == "hot"
    assert lead.score == 80
    # The task cleared the mark: the next event starts a new burst.
    assert not ScorePending.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_anonymous_events_mark_nothing(django_capture_on_commit_callbacks: Any) -> None:
    gate = make_gate()
    with django_capture_on_commit_callbacks() as callbacks:
        assert _post(Client(), uuid.uuid4(), [_ev(gate), _ev(gate)]).status_code == 202
    assert callbacks == []
    assert ScorePending.objects.count() == 0


@pytest.mark.django_db
def test_the_sweep_leaves_young_marks_to_their_queued_task() -> None:
    lead = make_lead()
    ScorePending.objects.create(lead=lead, since=timezone.now())
    assert score_pending_sweep() == 0
    ScorePending.objects.filter(lead=lead).update(since=timezone.now() - timedelta(minutes=5))
    assert score_pending_sweep() == 1  # eager here: the task ran and cleared the mark
    assert not ScorePending.objects.exists()


def _broker(url: str) -> None:
    """Point this process's Celery app (the live server's too) at `url`."""
    from kombu import pools

    conf: Any = celery_app.conf
    conf.broker_url = url
    conf.broker_write_url = None
    # Celery caches connections and producers per broker in kombu's global pools.
    pools.reset()
    app: Any = celery_app
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down() -> Iterator[None]:
    working = celery_app.conf.broker_url
    _broker(f"redis://127.0.0.1:{free_port()}/0")
    try:
        yield
    finally:
        _broker(working)


@pytest.mark.django_db(transaction=True)
def test_broker_down_still_202_and_the_sweep_scores_when_workers_are_back(
    live_http: Any, celery_worker_process: Any, broker_down: None, wait: Any
) -> None:
    set_thresholds(warm=20, hot=80)
    gate = make_gate()
    make_rule(gate=gate, points=10)
    make_rule(event_type="download", gate=gate, points=50, makes_hot=True)
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    events = [_ev(gate, section=f"section-{i}") for i in (1, 2, 3)]
    events.append(_ev(gate, type="download", file="network-map"))  # hot: tries Celery at once
    started = time.monotonic()
    response = live_http.post(
        "/api/v1/public/events", json={"visitor_id": str(visitor.id), "events": events}
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 4, "duplicates": 0}
    assert time.monotonic() - started < 10
    # Durable: the events and the lead's mark are in PostgreSQL; nobody scored yet.
    assert Event.objects.filter(lead=lead).count() == 4
    assert ScorePending.objects.filter(lead=lead).exists()
    assert Lead.objects.get(pk=lead.pk).score == 0
    # While the broker is still down, the sweep changes nothing and loses nothing.
    assert score_pending_sweep(grace=timedelta(0)) == 0
    assert ScorePending.objects.filter(lead=lead).exists()


@pytest.mark.django_db(transaction=True)
def test_sweep_after_outage_scores_with_a_real_worker(
    live_http: Any, celery_worker_process: Any, wait: Any
) -> None:
    set_thresholds(warm=20, hot=80)
    gate = make_gate()
    make_rule(gate=gate, points=10)
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    working = celery_app.conf.broker_url
    _broker(f"redis://127.0.0.1:{free_port()}/0")
    try:
        events = [_ev(gate, section=f"section-{i}") for i in (1, 2, 3)]
        response = live_http.post(
            "/api/v1/public/events", json={"visitor_id": str(visitor.id), "events": events}
        )
        assert response.status_code == 202, response.text
    finally:
        _broker(working)
    assert ScorePending.objects.filter(lead=lead).exists()
    assert Lead.objects.get(pk=lead.pk).score == 0
    # The broker and the worker are back: beat's sweep (called here) hands the lead over.
    assert score_pending_sweep(grace=timedelta(0)) == 1
    wait(
        lambda: Lead.objects.get(pk=lead.pk).score == 30,
        20,
        message=lambda: celery_worker_process.log_tail(),
    )
    assert Lead.objects.get(pk=lead.pk).grade == "warm"
    wait(lambda: not ScorePending.objects.filter(lead=lead).exists(), 10)


@pytest.mark.django_db
def test_beat_runs_the_sweep_task() -> None:
    import profiling.tasks  # noqa: F401  (registers the tasks)

    entry = celery_app.conf.beat_schedule["score-pending"]
    assert entry["task"] == "profiling.tasks.score_pending_sweep"
    assert entry["schedule"] <= 30
    lead = make_lead()
    ScorePending.objects.create(lead=lead, since=timezone.now() - timedelta(minutes=5))
    assert celery_app.tasks[entry["task"]].apply().get() == 1
    assert not ScorePending.objects.exists()


@pytest.mark.django_db
def test_a_hot_trigger_is_scored_ahead_of_background_scoring(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Background scoring is published at the default priority; a hot trigger's score
    task at the deliveries' priority, which a worker pops first (config/celery.py)."""
    from profiling import queue
    from profiling.services.delivery.attempt import DELIVERY_PRIORITY
    from profiling.services.score_triggers import SCORE_TASK

    published: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(
        queue, "enqueue_now", lambda name, *args, **opts: published.append((name, args, opts))
    )
    gate = make_gate()
    make_rule(gate=gate, points=10)
    make_rule(event_type="download", gate=gate, points=50, makes_hot=True)
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    api = Client()
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(api, visitor.id, [_ev(gate)]).status_code == 202
    assert published == [(SCORE_TASK, (str(lead.id),), {})]
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api, visitor.id, [_ev(gate, type="download", file="network-map")])
    assert response.status_code == 202
    assert published == [(SCORE_TASK, (str(lead.id),), {"priority": DELIVERY_PRIORITY})]
    # The same through the multi-visitor path (events_store, e.g. Segment batches).
    from profiling.services.ingest.parse import NewEvent
    from profiling.services.ingest.store import events_store

    published.clear()
    other = make_lead()
    other_visitor = make_visitor(lead=other)
    download = NewEvent(id=uuid.uuid4(), type="download", gate_id=gate.id, file_key="network-map")
    with django_capture_on_commit_callbacks(execute=True):
        events_store(items=[(other_visitor.id, download)], received=timezone.now(), source="t")
    assert published == [(SCORE_TASK, (str(other.id),), {"priority": DELIVERY_PRIORITY})]


@pytest.mark.django_db
def test_a_scoring_that_dies_midway_leaves_the_mark_for_the_sweep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker killed while it scores (found by bench/soak.py: SIGKILL of a node, whose
    unacknowledged message Redis may lose too) must not take the lead's mark with it: the
    mark is the only durable trace of events scoring has not seen."""
    from profiling.services import scoring
    from profiling.services.score_triggers import score_pending_process

    gate = make_gate()
    make_rule(gate=gate, points=10)
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    assert _post(Client(), visitor.id, [_ev(gate)]).status_code == 202
    assert ScorePending.objects.filter(lead=lead).exists()
    real = scoring.lead_score_compute

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(scoring, "lead_score_compute", killed)
    with pytest.raises(RuntimeError):
        score_pending_process(lead_id=lead.pk)
    assert ScorePending.objects.filter(lead=lead).exists()
    assert Lead.objects.get(pk=lead.pk).score == 0
    # Workers back: the sweep hands the lead over again (eager here), and it is scored.
    monkeypatch.setattr(scoring, "lead_score_compute", real)
    assert score_pending_sweep(grace=timedelta(0)) == 1
    assert Lead.objects.get(pk=lead.pk).score == 10
    assert not ScorePending.objects.filter(lead=lead).exists()


@pytest.mark.django_db(transaction=True)
def test_events_stored_while_the_lead_is_scored_are_scored_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch that lands between the task's claim and its release finds the mark and
    enqueues nothing; the release sees the mark touched and the lead is scored again."""
    from profiling.services import score_triggers

    gate = make_gate()
    make_rule(gate=gate, points=10)
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    api = Client()
    assert _post(api, visitor.id, [_ev(gate, section="section-1")]).status_code == 202
    assert Lead.objects.get(pk=lead.pk).score == 10  # eager here: scored, mark gone
    # The mark of a new burst, its task about to run.
    ScorePending.objects.create(lead=lead, since=timezone.now())
    real = score_triggers.lead_score
    during: list[int] = []

    def score_then_a_batch_lands(*, lead_id: Any) -> Any:
        change = real(lead_id=lead_id)
        if not during:
            during.append(0)
            during[0] = _post(api, visitor.id, [_ev(gate, section="section-2")]).status_code
            # The batch found the mark: it enqueued nothing, the task is still ours.
            assert ScorePending.objects.filter(lead=lead).exists()
        return change

    monkeypatch.setattr(score_triggers, "lead_score", score_then_a_batch_lands)
    score_triggers.score_pending_process(lead_id=lead.pk)
    assert during == [202]
    # Scored again (eager here) with the second event, and then the mark is gone.
    assert Lead.objects.get(pk=lead.pk).score == 20
    assert not ScorePending.objects.filter(lead=lead).exists()
