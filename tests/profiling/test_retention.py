"""Retention: anonymous visitors' events past LEADGATE_ANONYMOUS_RETENTION_DAYS are
deleted by a daily beat task, in bounded batches; leads' events and recent ones stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from profiling.models import Event, Visitor
from profiling.services.retention import anonymous_events_purge
from profiling.tasks import anonymous_events_retention
from tests.support.factories import make_event, make_gate, make_lead, make_visitor

pytestmark = pytest.mark.django_db


def _world() -> dict[str, Any]:
    gate = make_gate()
    now = timezone.now()
    old, recent = now - timedelta(days=200), now - timedelta(days=10)
    gone = make_visitor()  # anonymous, only old events: its events and itself go
    mixed = make_visitor()  # anonymous, old and recent events: the old ones go
    known = make_visitor(lead=make_lead())  # a lead's: everything stays
    old_ids = [make_event(visitor=gone, gate=gate, occurred_at=old).id for _ in range(5)]
    old_ids.append(make_event(visitor=mixed, gate=gate, occurred_at=old).id)
    kept = [
        make_event(visitor=mixed, gate=gate, occurred_at=recent).id,
        make_event(visitor=known, gate=gate, occurred_at=old).id,
        make_event(visitor=known, gate=gate, occurred_at=recent).id,
    ]
    Visitor.objects.filter(pk__in=[gone.pk, mixed.pk, known.pk]).update(last_seen=old)
    Visitor.objects.filter(pk=mixed.pk).update(last_seen=recent)
    return {"gone": gone, "mixed": mixed, "known": known, "old": old_ids, "kept": kept}


def test_old_anonymous_events_go_recent_and_leads_events_stay(settings: Any) -> None:
    assert settings.LEADGATE_ANONYMOUS_RETENTION_DAYS == 180  # the documented default
    world = _world()
    result = anonymous_events_purge()
    assert (result.events, result.visitors, result.finished) == (6, 1, True)
    assert not Event.objects.filter(pk__in=world["old"]).exists()
    assert set(Event.objects.values_list("id", flat=True)) == set(world["kept"])
    assert set(Visitor.objects.values_list("id", flat=True)) == {
        world["mixed"].pk,
        world["known"].pk,
    }
    # idempotent: a second run finds nothing
    again = anonymous_events_purge()
    assert (again.events, again.visitors) == (0, 0)


def test_batches_are_bounded() -> None:
    world = _world()
    with CaptureQueriesContext(connection) as queries:
        result = anonymous_events_purge(batch=2)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    # 6 old events in batches of 2 (2, 2, 2, then an empty one that ends the loop), then
    # the one visitor left without events (a batch of 1 < 2 ends that loop)
    assert result.statements == len(deletes) == 5
    assert all("LIMIT 2" in sql for sql in deletes)
    assert result.events == 6
    assert not Event.objects.filter(pk__in=world["old"]).exists()


def test_a_spent_time_budget_stops_the_run_and_the_next_one_carries_on() -> None:
    world = _world()
    stopped = anonymous_events_purge(budget_s=0)
    assert (stopped.events, stopped.finished) == (0, False)
    assert Event.objects.filter(pk__in=world["old"]).count() == 6
    assert anonymous_events_purge().events == 6


def test_zero_days_keeps_everything(settings: Any) -> None:
    settings.LEADGATE_ANONYMOUS_RETENTION_DAYS = 0
    world = _world()
    result = anonymous_events_purge()
    assert (result.cutoff, result.events) == (None, 0)
    assert Event.objects.count() == len(world["old"]) + len(world["kept"])


def test_the_daily_beat_task_purges(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    schedule = celery_app.conf.beat_schedule["anonymous-retention"]
    assert schedule["task"] == anonymous_events_retention.name
    assert schedule["schedule"] == 86400.0
    _world()
    assert anonymous_events_retention.delay().get() == 6
    assert anonymous_events_retention.delay().get() == 0
