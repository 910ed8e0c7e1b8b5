"""The events table partitioned by month: created ahead, dropped whole, deduped by receipts."""

from __future__ import annotations

import importlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from profiling import partitions
from profiling.models import Event, EventReceipt
from profiling.services.ingest.parse import NewEvent
from profiling.services.ingest.store import events_store
from profiling.services.retention import anonymous_events_purge
from profiling.tasks import event_partitions_maintain
from tests.support.factories import DEFAULT_ORIGIN, make_gate, make_visitor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _leaves() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits"
            " WHERE inhparent = 'profiling_event'::regclass"
        )
        return {row[0] for row in cursor.fetchall()}


def _home(event_id: uuid.UUID) -> list[str]:
    """The partition(s) holding rows with this id."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM profiling_event WHERE id = %s", [event_id]
        )
        return [row[0] for row in cursor.fetchall()]


def _event(at: datetime, **kw: Any) -> Event:
    visitor = kw.pop("visitor", None) or make_visitor()
    return Event.objects.create(
        id=uuid.uuid4(),
        visitor=visitor,
        type="page_view",
        occurred_at=at,
        received_at=at,
        **kw,
    )


def _at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_the_events_table_is_partitioned_by_range_of_occurred_at() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.partstrat, a.attname FROM pg_partitioned_table p"
            " JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
            " WHERE p.partrelid = 'profiling_event'::regclass"
        )
        assert cursor.fetchall() == [("r", "occurred_at")]
        # No unique index at all: EventReceipt holds the ids' uniqueness.
        cursor.execute(
            "SELECT count(*) FROM pg_index WHERE indrelid = 'profiling_event'::regclass"
            " AND indisunique"
        )
        assert cursor.fetchone()[0] == 0
    now = datetime.now(UTC)
    expected = {partitions.DEFAULT} | {
        partitions.Month(partitions.month_add(partitions.month_of(now), n)).name
        for n in range(partitions.AHEAD + 1)
    }
    # The migration made the current month, the ones ahead and the default.
    assert expected <= _leaves()


def test_the_beat_task_creates_months_ahead_idempotently() -> None:
    now = _at(2031, 5, 10)
    created = partitions.event_partitions_ensure(now=now)
    assert created == [
        "profiling_event_p203105",
        "profiling_event_p203106",
        "profiling_event_p203107",
    ]
    assert partitions.event_partitions_ensure(now=now) == []
    # A week back reaches the month before: that one is made too.
    assert partitions.event_partitions_ensure(now=_at(2031, 8, 3)) == [
        "profiling_event_p203108",
        "profiling_event_p203109",
        "profiling_event_p203110",
    ]
    assert "profiling_event_p203107" in _leaves()
    # The task itself, with the real clock: everything it needs exists already.
    assert event_partitions_maintain.apply().get() == []


def test_events_land_in_their_month_and_the_rest_in_the_default() -> None:
    partitions.event_partitions_ensure(now=_at(2031, 5, 10))
    first = _event(datetime(2031, 5, 31, 23, 59, 59, 999999, tzinfo=UTC))
    second = _event(datetime(2031, 6, 1, tzinfo=UTC))
    far = _event(_at(1999, 1, 1))
    assert _home(first.id) == ["profiling_event_p203105"]
    assert _home(second.id) == ["profiling_event_p203106"]
    assert _home(far.id) == [partitions.DEFAULT]


def test_creating_a_month_moves_its_rows_out_of_the_default() -> None:
    early = _event(_at(2033, 3, 5))
    assert _home(early.id) == [partitions.DEFAULT]
    assert "profiling_event_p203303" in partitions.event_partitions_ensure(now=_at(2033, 3, 10))
    assert _home(early.id) == ["profiling_event_p203303"]
    # Its indexes came from the parent's.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_index WHERE indrelid = 'profiling_event_p203303'::regclass"
        )
        assert cursor.fetchone()[0] == 3


def test_retention_is_off_by_default(settings) -> None:
    assert settings.LEADGATE_EVENT_RETENTION_DAYS == 0
    partitions.event_partitions_ensure(now=_at(2020, 3, 10))
    old = _event(_at(2020, 3, 15))
    result = partitions.event_partitions_drop_old(now=_at(2030, 1, 1))
    assert result.dropped == []
    assert result.cutoff is None
    assert "profiling_event_p202003" in _leaves()
    assert Event.objects.filter(id=old.id).exists()


def test_retention_drops_only_whole_months_past_the_cutoff(settings) -> None:
    settings.LEADGATE_EVENT_RETENTION_DAYS = 20
    partitions.event_partitions_ensure(now=_at(2020, 3, 10))  # March to May 2020
    march = _event(_at(2020, 3, 15))
    april = _event(_at(2020, 4, 29))
    may = _event(_at(2020, 5, 2))  # older than the cut-off, but its month is not
    ancient = _event(_at(2001, 1, 1))  # in the default, older than the cut-off
    recent = _event(datetime.now(UTC))
    result = partitions.event_partitions_drop_old(now=_at(2020, 6, 10))  # cut-off: May 21
    assert result.dropped == ["profiling_event_p202003", "profiling_event_p202004"]
    assert result.default_rows == 1
    leaves = _leaves()
    assert "profiling_event_p202003" not in leaves
    assert "profiling_event_p202004" not in leaves
    assert {"profiling_event_p202005", partitions.DEFAULT} <= leaves
    kept = set(Event.objects.values_list("id", flat=True))
    assert march.id not in kept
    assert april.id not in kept
    assert ancient.id not in kept
    assert {may.id, recent.id} <= kept
    # A rerun drops nothing more.
    assert partitions.event_partitions_drop_old(now=_at(2020, 6, 10)).dropped == []


def _new(event_id: uuid.UUID, gate_id: int, at: datetime) -> NewEvent:
    return NewEvent(id=event_id, type="page_view", gate_id=gate_id, occurred_at=at)


def test_a_resent_event_is_stored_once_even_in_another_month() -> None:
    """A retry's skew correction can move occurred_at across a month's edge: the
    receipt, not the partitioned table, knows the id."""
    partitions.event_partitions_ensure(now=_at(2031, 5, 10))
    gate = make_gate()
    visitor = uuid.uuid4()
    event_id = uuid.uuid4()
    before = datetime(2031, 5, 31, 23, 59, 59, 900000, tzinfo=UTC)
    after = before + timedelta(milliseconds=200)
    first = events_store(
        items=[(visitor, _new(event_id, gate.id, before))], received=before, source="tracker"
    )
    again = events_store(
        items=[(visitor, _new(event_id, gate.id, after))], received=after, source="tracker"
    )
    assert (first.accepted, first.duplicates) == (1, 0)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert _home(event_id) == ["profiling_event_p203105"]
    assert EventReceipt.objects.filter(id=event_id).count() == 1


def test_a_resent_beacon_with_another_sent_at_is_stored_once(api: Client) -> None:
    gate = make_gate()
    event = {
        "id": str(uuid.uuid4()),
        "type": "page_view",
        "gate": gate.slug,
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    }
    visitor = str(uuid.uuid4())
    answers = []
    # The same payload resent later, with a new sent_at: the skew correction computes
    # another occurred_at for it.
    for sent_at in (datetime.now(UTC) - timedelta(minutes=4), datetime.now(UTC)):
        body: dict[str, Any] = {"visitor_id": visitor, "sent_at": sent_at.isoformat()}
        body["events"] = [event]
        response = api.post(
            "/api/v1/public/events",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Origin": DEFAULT_ORIGIN},
        )
        assert response.status_code == 202, response.content
        answers.append(response.json())
    assert answers == [{"accepted": 1, "duplicates": 0}, {"accepted": 0, "duplicates": 1}]
    assert len(_home(uuid.UUID(event["id"]))) == 1


def test_events_the_orm_writes_get_receipts_so_a_resend_is_a_duplicate() -> None:
    """The demo's history writes events with bulk_create: a beacon resending one of
    those ids later must be caught as a duplicate, as if ingest had stored it."""
    gate = make_gate()
    visitor = make_visitor()
    at = datetime.now(UTC) - timedelta(days=2)
    written = Event.objects.bulk_create(
        [
            Event(
                id=uuid.uuid4(), visitor=visitor, type="page_view", occurred_at=at, received_at=at
            )
            for _ in range(3)
        ]
    )
    single = _event(at)
    ids = {event.id for event in written} | {single.id}
    receipts = EventReceipt.objects.filter(id__in=ids)
    assert receipts.count() == 4
    assert {receipt.received_at for receipt in receipts} == {at}
    again = events_store(
        items=[(visitor.id, _new(written[0].id, gate.id, at))], received=at, source="tracker"
    )
    assert (again.accepted, again.duplicates) == (0, 1)
    assert Event.objects.filter(id=written[0].id).count() == 1


def test_receipts_are_forgotten_after_their_window() -> None:
    now = datetime.now(UTC)
    old = EventReceipt.objects.create(id=uuid.uuid4(), received_at=now - timedelta(days=31))
    young = EventReceipt.objects.create(id=uuid.uuid4(), received_at=now - timedelta(days=29))
    assert partitions.event_receipts_purge(now=now) == 1
    assert set(EventReceipt.objects.values_list("id", flat=True)) == {young.id}
    assert not EventReceipt.objects.filter(id=old.id).exists()


def test_anonymous_retention_reaches_every_partition(settings) -> None:
    partitions.event_partitions_ensure(now=_at(2031, 5, 10))
    now = _at(2031, 7, 1)
    visitor = make_visitor()
    in_may = _event(_at(2031, 5, 3), visitor=visitor)
    in_default = _event(_at(2000, 1, 1), visitor=visitor)
    young = _event(_at(2031, 6, 25), visitor=visitor)
    result = anonymous_events_purge(days=30, now=now, batch=1)
    assert result.events == 2
    assert result.finished
    kept = set(Event.objects.filter(visitor=visitor).values_list("id", flat=True))
    assert kept == {young.id}
    assert in_may.id not in kept
    assert in_default.id not in kept


def test_the_migration_moves_an_existing_table_and_back() -> None:
    """The migration's own SQL, on a table of the old shape in a schema of its own."""
    migration = importlib.import_module("profiling.migrations.0016_event_partitions_and_receipts")
    now = datetime.now(UTC)
    rows = {
        "recent": now - timedelta(days=2),  # its receipt is written
        "old": now - timedelta(days=400),  # a month partition of its own
        "ancient": now - timedelta(days=365 * 7),  # past 60 months: the default
    }
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA migration_check")
        cursor.execute("SET LOCAL search_path = migration_check")
        cursor.execute(
            "CREATE TABLE profiling_event (LIKE public.profiling_event INCLUDING DEFAULTS"
            " INCLUDING CONSTRAINTS, CONSTRAINT profiling_event_pkey PRIMARY KEY (id))"
        )
        cursor.execute(
            "CREATE INDEX event_lead_time ON profiling_event (lead_id, occurred_at)"
            " WHERE lead_id IS NOT NULL"
        )
        cursor.execute(
            "CREATE INDEX event_visitor_time ON profiling_event (visitor_id, occurred_at)"
        )
        cursor.execute(
            "CREATE INDEX event_gate_type_time ON profiling_event (gate_id, type, occurred_at)"
        )
        cursor.execute(
            "CREATE TABLE profiling_eventreceipt (LIKE public.profiling_eventreceipt INCLUDING ALL)"
        )
        ids = {name: uuid.uuid4() for name in rows}
        for name, at in rows.items():
            cursor.execute(
                "INSERT INTO profiling_event (id, visitor_id, type, name, section_key, file_key,"
                " occurred_at, received_at, url, source, touch)"
                " VALUES (%s, %s, 'page_view', '', '', '', %s, %s, '', 'tracker', '{}')",
                [ids[name], uuid.uuid4(), at, at],
            )
        cursor.execute(migration.FORWARD)
        cursor.execute("SELECT id, tableoid::regclass::text FROM profiling_event")
        homes = dict(cursor.fetchall())
        assert homes[ids["recent"]] == partitions.Month(partitions.month_of(rows["recent"])).name
        assert homes[ids["old"]] == partitions.Month(partitions.month_of(rows["old"])).name
        assert homes[ids["ancient"]] == partitions.DEFAULT
        cursor.execute("SELECT id FROM profiling_eventreceipt")
        assert [row[0] for row in cursor.fetchall()] == [ids["recent"]]
        cursor.execute(
            "SELECT count(*) FROM pg_partitioned_table"
            " WHERE partrelid = 'migration_check.profiling_event'::regclass"
        )
        assert cursor.fetchone()[0] == 1
        # Months ahead exist, and the indexes carry the model's names.
        ahead = partitions.Month(partitions.month_add(partitions.month_of(now), 2)).name
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"migration_check.{ahead}"])
        assert cursor.fetchone()[0]
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'migration_check'"
            " AND tablename = 'profiling_event' ORDER BY 1"
        )
        assert [row[0] for row in cursor.fetchall()] == [
            "event_gate_type_time",
            "event_lead_time",
            "event_visitor_time",
        ]

        cursor.execute(migration.REVERSE)
        cursor.execute(
            "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c"
            " ON c.oid = p.partrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'migration_check'"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT id FROM profiling_event")
        assert {row[0] for row in cursor.fetchall()} == set(ids.values())
        cursor.execute(
            "SELECT conname FROM pg_constraint"
            " WHERE conrelid = 'migration_check.profiling_event'::regclass AND contype = 'p'"
        )
        assert cursor.fetchall() == [("profiling_event_pkey",)]
