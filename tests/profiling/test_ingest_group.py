"""Group commit (profiling/ingest_writer/group.py): concurrent small batches of one
process share one statement and commit, and each still gets exactly its own answer."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection

from profiling.ingest_writer import group as group_mod
from profiling.models import Event, ScorePending, Visitor
from profiling.services.ingest import IngestResult, NewEvent, events_ingest
from profiling.services.ingest import store as store_mod
from tests.support.factories import make_gate, make_lead, make_visitor

# Real concurrent transactions on separate connections: no test-wide transaction.
pytestmark = pytest.mark.django_db(transaction=True)

RECEIVED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _new(gate: Any, event_id: uuid.UUID | None = None) -> NewEvent:
    return NewEvent(
        id=event_id or uuid.uuid4(),
        type="section_view",
        gate_id=gate.id,
        section_key="section-1",
        occurred_at=RECEIVED,
    )


@pytest.fixture
def held_writer(monkeypatch) -> Iterator[dict[str, Any]]:
    """The first statement waits until `release` is set, so that the batches sent
    meanwhile queue up and are written together by the next statement."""
    state: dict[str, Any] = {"release": threading.Event(), "sizes": [], "fail_groups": False}
    real = group_mod._group_execute
    first = threading.Event()

    def execute(jobs: list[Any]) -> None:
        if not first.is_set():
            first.set()
            assert state["release"].wait(timeout=10)
        state["sizes"].append(len(jobs))
        if state["fail_groups"] and len(jobs) > 1:
            raise RuntimeError("simulated failure of a shared statement")
        real(jobs)

    monkeypatch.setattr(group_mod.group_commit, "_execute", execute)
    # One statement in flight, so that every batch sent while it is held has to queue.
    monkeypatch.setattr(group_mod.group_commit, "writers", 1)
    state["first"] = first
    yield state
    state["release"].set()


def _concurrently(calls: Sequence[Callable[..., IngestResult]], state: dict[str, Any]) -> list[Any]:
    """Run calls[0] (the held writer), then the others while it is held, each queued
    in call order; release the writer once they all wait. Results in call order."""
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except BaseException as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    threads[0].start()
    assert state["first"].wait(timeout=10)
    queue = group_mod.group_commit._queue
    # One at a time, so that the queue order (the order the group stores them) is known.
    for queued, t in enumerate(threads[1:], start=1):
        t.start()
        for _ in range(1000):
            if len(queue) == queued:
                break
            threading.Event().wait(0.01)
        assert len(queue) == queued
    state["release"].set()
    for t in threads:
        t.join(timeout=30)
    return results


def test_waiting_batches_share_one_statement_and_each_gets_its_own_answer(
    held_writer: dict[str, Any],
) -> None:
    gate = make_gate()
    visitors = [uuid.uuid4() for _ in range(5)]
    batches = [[_new(gate) for _ in range(i + 1)] for i in range(5)]
    calls = [
        (lambda v=v, b=b: events_ingest(visitor_id=v, events=b, received=RECEIVED))
        for v, b in zip(visitors, batches, strict=True)
    ]
    results = _concurrently(calls, held_writer)
    # One statement for the first batch, one for the four that waited behind it.
    assert held_writer["sizes"] == [1, 4]
    for result, batch in zip(results, batches, strict=True):
        assert isinstance(result, IngestResult)
        assert (result.accepted, result.duplicates, result.lead_id) == (len(batch), 0, None)
    for v, batch in zip(visitors, batches, strict=True):
        assert set(Event.objects.filter(visitor_id=v).values_list("id", flat=True)) == {
            e.id for e in batch
        }
        assert Visitor.objects.filter(pk=v).exists()


def test_the_same_event_id_in_two_grouped_batches_is_stored_once(
    held_writer: dict[str, Any],
) -> None:
    gate = make_gate()
    shared = uuid.uuid4()
    visitor = uuid.uuid4()
    calls = [
        lambda: events_ingest(visitor_id=uuid.uuid4(), events=[_new(gate)], received=RECEIVED),
        lambda: events_ingest(
            visitor_id=visitor, events=[_new(gate, shared), _new(gate)], received=RECEIVED
        ),
        # A retry of the same batch racing the original: its event is a duplicate.
        lambda: events_ingest(visitor_id=visitor, events=[_new(gate, shared)], received=RECEIVED),
    ]
    _, original, retry = _concurrently(calls, held_writer)
    assert held_writer["sizes"] == [1, 2]
    assert (original.accepted, original.duplicates) == (2, 0)
    assert (retry.accepted, retry.duplicates) == (0, 1)
    assert Event.objects.filter(pk=shared).count() == 1


def test_grouped_batches_of_one_lead_mark_it_once_and_enqueue_once(
    held_writer: dict[str, Any], monkeypatch
) -> None:
    enqueued: list[str] = []
    monkeypatch.setattr(
        store_mod, "enqueue_after_commit", lambda task, *args: enqueued.extend(args)
    )
    gate = make_gate()
    lead = make_lead()
    devices = [make_visitor(lead=lead), make_visitor(lead=lead)]
    calls = [
        lambda: events_ingest(visitor_id=uuid.uuid4(), events=[_new(gate)], received=RECEIVED),
        *[
            (lambda v=v: events_ingest(visitor_id=v.id, events=[_new(gate)], received=RECEIVED))
            for v in devices
        ],
    ]
    results = _concurrently(calls, held_writer)
    assert [r.lead_id for r in results[1:]] == [lead.id, lead.id]
    assert Event.objects.filter(lead=lead).count() == 2
    assert ScorePending.objects.filter(lead=lead).count() == 1
    # The batch that created the mark enqueues; the other finds it made (see score_triggers).
    assert enqueued == [str(lead.id)]


def test_a_failed_shared_statement_falls_back_to_one_statement_per_batch(
    held_writer: dict[str, Any],
) -> None:
    held_writer["fail_groups"] = True
    gate = make_gate()
    visitors = [uuid.uuid4() for _ in range(3)]
    calls = [
        (lambda v=v: events_ingest(visitor_id=v, events=[_new(gate)], received=RECEIVED))
        for v in visitors
    ]
    results = _concurrently(calls, held_writer)
    assert held_writer["sizes"] == [1, 2]
    assert [(r.accepted, r.duplicates) for r in results] == [(1, 0)] * 3
    assert Event.objects.filter(visitor_id__in=visitors).count() == 3
    # Nobody is left waiting, and the next batch writes at once.
    assert group_mod.group_commit._queue == []
    assert group_mod.group_commit._writing == 0


def test_an_error_of_a_lone_batch_is_raised_to_its_caller(monkeypatch) -> None:
    def broken(jobs: list[Any]) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(group_mod.group_commit, "_execute", broken)
    gate = make_gate()
    with pytest.raises(RuntimeError, match="database gone"):
        events_ingest(visitor_id=uuid.uuid4(), events=[_new(gate)], received=RECEIVED)
    assert group_mod.group_commit._writing == 0


def test_big_batches_and_batches_inside_a_transaction_do_not_group(monkeypatch) -> None:
    from django.db import transaction

    def unexpected(*_: Any) -> None:
        raise AssertionError("grouped")

    monkeypatch.setattr(group_mod.group_commit, "store", unexpected)
    gate = make_gate()
    big = [_new(gate) for _ in range(group_mod.GROUP_MAX_BATCH + 1)]
    assert events_ingest(visitor_id=uuid.uuid4(), events=big, received=RECEIVED).accepted == len(
        big
    )
    # Inside a transaction the events must commit (or roll back) with the caller's work.
    visitor = uuid.uuid4()
    with transaction.atomic():
        events_ingest(visitor_id=visitor, events=[_new(gate)], received=RECEIVED)
        transaction.set_rollback(True)
    assert not Event.objects.filter(visitor_id=visitor).exists()


def test_with_group_commit_off_every_batch_writes_alone(monkeypatch, settings) -> None:
    def unexpected(*_: Any) -> None:
        raise AssertionError("grouped")

    enqueued: list[str] = []
    monkeypatch.setattr(group_mod.group_commit, "store", unexpected)
    monkeypatch.setattr(
        store_mod, "enqueue_after_commit", lambda task, *args: enqueued.extend(args)
    )
    settings.LEADGATE_INGEST_GROUP_COMMIT = False
    gate = make_gate()
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    result = events_ingest(visitor_id=visitor.id, events=[_new(gate)], received=RECEIVED)
    assert (result.accepted, result.duplicates, result.lead_id) == (1, 0, lead.id)
    assert ScorePending.objects.filter(lead=lead).exists()
    assert enqueued == [str(lead.id)]


def test_many_threads_at_once_store_everything_exactly_once() -> None:
    gate = make_gate()
    workers = 12
    barrier = threading.Barrier(workers)
    batches = [[_new(gate) for _ in range(1 + i % 3)] for i in range(workers)]
    results: list[Any] = [None] * workers

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            first = events_ingest(visitor_id=uuid.uuid4(), events=batches[i], received=RECEIVED)
            again = events_ingest(visitor_id=uuid.uuid4(), events=batches[i], received=RECEIVED)
            results[i] = (first.accepted, first.duplicates, again.accepted, again.duplicates)
        except BaseException as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [(len(b), 0, 0, len(b)) for b in batches]
    assert Event.objects.count() == sum(len(b) for b in batches)


def test_a_second_writer_does_not_wait_for_a_slow_commit(
    held_writer: dict[str, Any], monkeypatch
) -> None:
    # Two statements may be in flight per process: while the first waits (a slow fsync),
    # the next batch is written at once instead of queueing behind it.
    monkeypatch.setattr(group_mod.group_commit, "writers", 2)
    gate = make_gate()
    visitor = uuid.uuid4()

    def held() -> None:
        try:
            events_ingest(visitor_id=uuid.uuid4(), events=[_new(gate)], received=RECEIVED)
        finally:
            connection.close()

    first = threading.Thread(target=held)
    first.start()
    assert held_writer["first"].wait(timeout=10)
    try:
        result = events_ingest(visitor_id=visitor, events=[_new(gate)], received=RECEIVED)
        assert (result.accepted, held_writer["sizes"]) == (1, [1])
        assert Event.objects.filter(visitor_id=visitor).count() == 1
    finally:
        held_writer["release"].set()
        first.join(timeout=30)
    assert held_writer["sizes"] == [1, 1]
    assert group_mod.group_commit._writing == 0
