"""events_parse (validation, clock skew, clamping) and events_ingest (durable, idempotent)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from profiling.models import Event, Lead, Visitor
from profiling.services.ingest import (
    MAX_EVENT_AGE,
    NewEvent,
    events_ingest,
    events_parse,
    occurred_at_correct,
)
from tests.support.factories import make_gate, make_lead, make_rule, make_visitor, set_thresholds

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _ev(g, /, **kw) -> dict:
    event = {"id": str(uuid.uuid4()), "type": "section_view", "gate": g.slug}
    event.update(kw)
    if event["type"] == "section_view":
        event.setdefault("section", "section-1")
    if event["type"] == "download":
        event.setdefault("file", "network-map")
    return event


def _parse(events, visitor_id=None, **extra):
    payload = {"visitor_id": str(visitor_id or uuid.uuid4()), "events": events, **extra}
    return events_parse(payload, received=RECEIVED)


# --- events_parse ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [["section-1"], {"key": "section-1"}, 7])
def test_a_section_or_file_that_is_not_text_is_a_per_event_error(value) -> None:
    gate = make_gate()
    events = [
        _ev(gate, section=value),
        _ev(gate, type="download", file=value),
        _ev(gate, section="section-2"),
    ]
    _, batch = _parse(events)
    assert batch.errors == {
        "events.0.section": ["Must be a section key."],
        "events.1.file": ["Must be a file key."],
    }
    assert [e.section_key for e in batch.events] == ["section-2"]


def test_the_same_id_in_two_spellings_is_a_duplicate_in_the_batch() -> None:
    gate = make_gate()
    event_id = uuid.uuid4()
    events = [_ev(gate, id=str(event_id)), _ev(gate, id=str(event_id).upper())]
    _, batch = _parse(events)
    assert batch.errors == {"events.1.id": ["The same id appears twice in this batch."]}
    assert [e.id_text for e in batch.events] == [str(event_id)]


def test_valid_batch_parses_every_event() -> None:
    gate = make_gate()
    events = [
        _ev(gate, type="page_view", url="https://www.example-fibre.com/guide"),
        _ev(gate, section="section-2", duration_ms=6000),
        _ev(gate, type="download"),
        _ev(gate, type="form_view"),
    ]
    visitor_id = uuid.uuid4()
    parsed_visitor, batch = _parse(events, visitor_id)
    assert parsed_visitor == visitor_id
    assert batch.errors == {}
    assert [e.type for e in batch.events] == ["page_view", "section_view", "download", "form_view"]
    assert batch.events[1].section_key == "section-2"
    assert batch.events[1].duration_ms == 6000
    assert batch.events[2].file_key == "network-map"
    assert batch.events[0].url == "https://www.example-fibre.com/guide"
    assert all(e.gate_id == gate.id for e in batch.events)
    assert all(e.occurred_at == RECEIVED for e in batch.events)  # no time given


def test_errors_are_keyed_by_index_and_valid_events_kept() -> None:
    gate = make_gate()
    good_1, good_2 = _ev(gate), _ev(gate, type="page_view")
    events = [
        good_1,
        _ev(gate, type="scroll"),
        "not an object",
        good_2,
        _ev(gate, id="nope"),
        _ev(gate, section="no-such-section"),
        _ev(gate, type="download", file="no-such-file"),
        _ev(gate, duration_ms=-1),
        _ev(gate, duration_ms=True),
        _ev(gate, duration_ms="5000"),
        _ev(gate, occurred_at="yesterday"),
        _ev(gate, occurred_at="2025-06-01T10:00:00"),  # no zone
        _ev(gate, url="x" * 2001),
        _ev(gate, gate="no-such-gate"),
        _ev(gate, type="section_view", section=""),
        _ev(gate, type="download", file=""),
        _ev(gate, section=["section-1"]),
    ]
    _, batch = _parse(events)
    assert [str(e.id) for e in batch.events] == [good_1["id"], good_2["id"]]
    assert set(batch.errors) == {
        "events.1.type",
        "events.2",
        "events.4.id",
        "events.5.section",
        "events.6.file",
        "events.7.duration_ms",
        "events.8.duration_ms",
        "events.9.duration_ms",
        "events.10.occurred_at",
        "events.11.occurred_at",
        "events.12.url",
        "events.13.gate",
        "events.14.section",
        "events.15.file",
        "events.16.section",
    }
    for messages in batch.errors.values():
        assert isinstance(messages, list)
        assert messages
        assert all(isinstance(m, str) and m for m in messages)


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ([], "__all__"),
        ("text", "__all__"),
        (None, "__all__"),
        ({"visitor_id": "not-a-uuid", "events": []}, "visitor_id"),
        ({"visitor_id": 12, "events": []}, "visitor_id"),
        ({"events": []}, "events"),
        ({"visitor_id": str(uuid.uuid4()), "events": {}}, "events"),
        ({"visitor_id": str(uuid.uuid4()), "events": "x"}, "events"),
        ({"visitor_id": str(uuid.uuid4())}, "events"),
    ],
)
def test_bad_envelopes(payload, key: str) -> None:
    _, batch = events_parse(payload, received=RECEIVED)
    assert key in batch.errors
    assert batch.events == []


def test_more_than_100_events_refused(settings) -> None:
    gate = make_gate()
    _, batch = _parse([_ev(gate) for _ in range(settings.LEADGATE_EVENTS_MAX_BATCH + 1)])
    assert "events" in batch.errors
    assert batch.events == []
    _, batch = _parse([_ev(gate, type="page_view") for _ in range(100)])
    assert batch.errors == {}
    assert len(batch.events) == 100


def test_duplicate_ids_in_one_batch_refused() -> None:
    gate = make_gate()
    first = _ev(gate)
    second = _ev(gate, type="page_view", id=first["id"])
    _, batch = _parse([first, second])
    assert [str(e.id) for e in batch.events] == [first["id"]]
    assert "events.1.id" in batch.errors
    assert "twice" in batch.errors["events.1.id"][0]


def test_uppercase_and_braced_uuid_forms_are_the_same_id() -> None:
    gate = make_gate()
    first = _ev(gate)
    second = _ev(gate, id=first["id"].upper())
    _, batch = _parse([first, second])
    assert "events.1.id" in batch.errors


def test_inactive_gate_refused() -> None:
    gate = make_gate(is_active=False)
    _, batch = _parse([_ev(gate)])
    assert "events.0.gate" in batch.errors


def test_clock_skew_is_corrected_with_sent_at() -> None:
    gate = make_gate()
    # The client's clock is 2 hours fast: it says it sent at 14:00 what happened at 13:59.
    _, batch = _parse(
        [_ev(gate, occurred_at="2025-06-01T13:59:00+00:00")],
        sent_at="2025-06-01T14:00:00+00:00",
    )
    assert batch.events[0].occurred_at == RECEIVED - timedelta(minutes=1)


def test_without_sent_at_the_client_clock_is_trusted_but_clamped() -> None:
    gate = make_gate()
    _, batch = _parse(
        [
            _ev(gate, occurred_at="2025-06-01T11:00:00+00:00"),
            _ev(gate, type="page_view", occurred_at="2025-06-01T13:00:00+02:00"),  # 11:00Z
            _ev(gate, type="page_view", occurred_at="2030-01-01T00:00:00+00:00"),  # future
            _ev(gate, type="page_view", occurred_at="2020-01-01T00:00:00+00:00"),  # too old
        ]
    )
    times = [e.occurred_at for e in batch.events]
    assert times == [
        RECEIVED - timedelta(hours=1),
        RECEIVED - timedelta(hours=1),
        RECEIVED,
        RECEIVED - MAX_EVENT_AGE,
    ]


def test_occurred_at_correct_clamps_into_the_last_seven_days() -> None:
    now = RECEIVED
    assert occurred_at_correct(occurred=None, sent_at=None, received=now) == now
    assert occurred_at_correct(
        occurred=now - timedelta(days=30), sent_at=now, received=now
    ) == now - timedelta(days=7)
    assert occurred_at_correct(occurred=now + timedelta(days=1), sent_at=None, received=now) == now
    # skew correction may also push into the future: clamped
    assert occurred_at_correct(occurred=now, sent_at=now - timedelta(hours=1), received=now) == now


@pytest.mark.parametrize("field", ["gate", "type"])
@pytest.mark.parametrize("value", [["x"], {"a": 1}])
def test_unhashable_gate_or_type_is_a_per_event_error(field: str, value) -> None:
    gate = make_gate()
    good = _ev(gate)
    _, batch = _parse([good, _ev(gate, **{field: value})])
    assert f"events.1.{field}" in batch.errors
    assert [str(e.id) for e in batch.events] == [good["id"]]


def test_absurd_sent_at_does_not_crash() -> None:
    gate = make_gate()
    _, batch = _parse(
        [_ev(gate, occurred_at="9999-12-31T00:00:00+00:00")],
        sent_at="0001-01-01T00:00:00+00:00",
    )
    assert all(RECEIVED - MAX_EVENT_AGE <= e.occurred_at <= RECEIVED for e in batch.events)


# --- events_ingest --------------------------------------------------------------------


def _new(gate, **kw) -> NewEvent:
    kw.setdefault("type", "section_view")
    kw.setdefault("section_key", "section-1")
    return NewEvent(id=uuid.uuid4(), gate_id=gate.id, occurred_at=RECEIVED, **kw)


def test_ingest_stores_events_and_the_visitor() -> None:
    gate = make_gate()
    visitor_id = uuid.uuid4()
    events = [_new(gate), _new(gate, type="page_view", section_key="", url="https://x.test/")]
    result = events_ingest(visitor_id=visitor_id, events=events, received=RECEIVED)
    assert (result.accepted, result.duplicates, result.lead_id) == (2, 0, None)
    assert Visitor.objects.filter(pk=visitor_id, lead__isnull=True).exists()
    stored = {e.id: e for e in Event.objects.filter(visitor_id=visitor_id)}
    assert set(stored) == {e.id for e in events}
    page = stored[events[1].id]
    assert (page.type, page.url, page.received_at, page.source) == (
        "page_view",
        "https://x.test/",
        RECEIVED,
        "tracker",
    )


def test_replay_counts_duplicates_and_changes_nothing() -> None:
    gate = make_gate()
    visitor_id = uuid.uuid4()
    events = [_new(gate), _new(gate, section_key="section-2")]
    events_ingest(visitor_id=visitor_id, events=events, received=RECEIVED)
    # same ids, different content: the first write wins
    replay = [
        NewEvent(id=events[0].id, type="page_view", gate_id=gate.id, occurred_at=RECEIVED),
        events[1],
        _new(gate, section_key="section-3"),
    ]
    result = events_ingest(visitor_id=visitor_id, events=replay, received=RECEIVED)
    assert (result.accepted, result.duplicates) == (1, 2)
    assert Event.objects.get(pk=events[0].id).type == "section_view"
    assert Event.objects.filter(visitor_id=visitor_id).count() == 3


def test_empty_batch_is_a_no_op() -> None:
    result = events_ingest(visitor_id=uuid.uuid4(), events=[])
    assert (result.accepted, result.duplicates) == (0, 0)
    assert not Visitor.objects.exists()


def test_events_of_a_known_visitor_are_attached_to_its_lead_and_scored(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    set_thresholds(warm=15, hot=80)
    gate = make_gate()
    make_rule(gate=gate, points=10)
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = events_ingest(
            visitor_id=visitor.id,
            events=[_new(gate), _new(gate, section_key="section-2")],
            received=RECEIVED,
        )
    assert result.lead_id == lead.id
    assert Event.objects.filter(lead=lead).count() == 2
    assert len(callbacks) == 1
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (20, "warm")


def test_replay_of_a_known_visitor_does_not_rescore(django_capture_on_commit_callbacks) -> None:
    gate = make_gate()
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    events = [_new(gate)]
    events_ingest(visitor_id=visitor.id, events=events, received=RECEIVED)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = events_ingest(visitor_id=visitor.id, events=events, received=RECEIVED)
    assert (result.accepted, result.duplicates) == (0, 1)
    assert callbacks == []


def test_anonymous_visitor_events_get_no_lead() -> None:
    gate = make_gate()
    visitor_id = uuid.uuid4()
    events_ingest(visitor_id=visitor_id, events=[_new(gate)], received=RECEIVED)
    assert Event.objects.get(visitor_id=visitor_id).lead_id is None
    assert not Lead.objects.exists()


# --- the ingest statement is prepared once per connection -----------------------------


def _prepared_statements(where: str, params: list[str] | None = None) -> list[str]:
    """Names of this session's protocol-level prepared statements matching `where`."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM pg_prepared_statements WHERE NOT from_sql AND "
            + where
            + " ORDER BY name",
            params or [],
        )
        return [row[0] for row in cursor.fetchall()]


def _ingest_statements_prepared() -> int:
    return len(_prepared_statements("statement LIKE %s", ["%INSERT INTO profiling_event%"]))


def test_the_ingest_statement_is_prepared_and_django_queries_are_not(settings) -> None:
    from django.db import connection

    settings.LEADGATE_INGEST_PREPARED = True
    gate = make_gate()
    for _ in range(2):
        events_ingest(visitor_id=uuid.uuid4(), events=[_new(gate)], received=RECEIVED)
    # PostgreSQL holds a plan for it: later batches only bind and execute.
    assert _ingest_statements_prepared() >= 1
    # Django's own prepare_threshold (None: poolers keep working) is left as it was,
    # so the ORM's queries on this connection are never prepared behind its back.
    assert connection.connection.prepare_threshold is None
    Visitor.objects.filter(pk=uuid.uuid4()).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = int(cursor.fetchone()[0])
    assert prepared == _ingest_statements_prepared()


@pytest.mark.django_db(transaction=True)
def test_prepared_ingest_can_be_turned_off_for_poolers(settings) -> None:
    from django.db import connection

    settings.LEADGATE_INGEST_PREPARED = False
    # A fresh session, so that no earlier test left the statement prepared.
    connection.close()
    gate = make_gate()
    for _ in range(2):
        result = events_ingest(visitor_id=uuid.uuid4(), events=[_new(gate)], received=RECEIVED)
        assert result.accepted == 1
    assert _ingest_statements_prepared() == 0


# --- outside a transaction: the libpq path (prepared.prepared_row) ---------------------


def _named_ingest_statements() -> list[str]:
    return _prepared_statements("name LIKE 'leadgate\\_%%'")


def _writer_statements(sql: str = "") -> list[str]:
    """The group-commit writer connection's prepared ingest statements (it is no thread's
    Django connection: see profiling/ingest_writer/connections.py); `sql` runs first."""
    from profiling.ingest_writer.connections import writer_connections

    with writer_connections.take() as pg:
        if sql:
            pg.execute(sql)
        rows = pg.execute(
            "SELECT name FROM pg_prepared_statements WHERE NOT from_sql"
            " AND name LIKE 'leadgate\\_%' ORDER BY name"
        ).fetchall()
    return [str(row[0]) for row in rows]


@pytest.mark.django_db(transaction=True)
def test_autocommit_ingest_is_prepared_once_under_our_name(settings) -> None:
    from django.db import connection

    settings.LEADGATE_INGEST_PREPARED = True
    connection.close()
    gate = make_gate()
    for _ in range(3):
        # 1 event: grouped, on a writer connection; 20 events: alone, on this thread's.
        assert events_ingest(visitor_id=uuid.uuid4(), events=[_new(gate)]).accepted == 1
        many = [_new(gate) for _ in range(20)]
        assert events_ingest(visitor_id=uuid.uuid4(), events=many).accepted == 20
    # The one events statement, prepared once on each connection, under our name.
    assert _named_ingest_statements() == ["leadgate_events"]
    assert _writer_statements() == ["leadgate_events"]
    # psycopg's own cache was not used for them, and Django's threshold is untouched.
    assert connection.connection.prepare_threshold is None


@pytest.mark.django_db(transaction=True)
def test_statements_deallocated_behind_our_back_are_prepared_again(settings) -> None:
    from django.db import connection

    settings.LEADGATE_INGEST_PREPARED = True
    connection.close()
    gate = make_gate()
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    events_ingest(visitor_id=visitor.id, events=[_new(gate)])
    events_ingest(visitor_id=visitor.id, events=[_new(gate) for _ in range(20)])
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pooler's DISCARD ALL does
    assert _named_ingest_statements() == []
    assert _writer_statements("DEALLOCATE ALL") == []
    one = events_ingest(visitor_id=visitor.id, events=[_new(gate)])
    many = events_ingest(visitor_id=visitor.id, events=[_new(gate) for _ in range(20)])
    assert (one.accepted, one.lead_id) == (1, lead.id)
    assert (many.accepted, many.lead_id) == (20, lead.id)
    assert Event.objects.filter(lead=lead).count() == 42
    assert _named_ingest_statements() == ["leadgate_events"]
    assert _writer_statements() == ["leadgate_events"]


@pytest.mark.django_db(transaction=True)
def test_a_failing_autocommit_statement_is_a_django_error_and_leaves_the_connection_usable(
    settings,
) -> None:
    from django.db import DatabaseError, connection

    from profiling.ingest_writer.prepared import prepared_row

    settings.LEADGATE_INGEST_PREPARED = True
    with pytest.raises(DatabaseError):
        prepared_row("probe", "SELECT 1 / $1::int", ["0"])
    # The same statement again works (it stays prepared: only its execution failed).
    assert prepared_row("probe", "SELECT 1 / $1::int", ["1"]) == ("1",)
    assert prepared_row("probe2", "SELECT (10 / $1::int)::text", ["5"]) == ("2",)
    assert prepared_row("none", "SELECT 1 WHERE $1::int = 0", ["1"]) == ()
    assert Visitor.objects.count() == 0  # the ORM still works on the same connection
    assert connection.connection.pgconn.transaction_status == 0  # idle, nothing open


# --- what the statement stores from the slim rows (profiling/ingest_sql.py) -------------


def _ingest_on(path: str, events: list[NewEvent], visitor_id: uuid.UUID):
    """events_ingest down one of its three ways to the events statement."""
    from django.db import transaction

    from profiling.ingest_writer.group import GROUP_MAX_BATCH

    if path == "group":  # a small batch outside a transaction
        assert len(events) <= GROUP_MAX_BATCH
        return events_ingest(visitor_id=visitor_id, events=events, received=RECEIVED)
    if path == "alone":  # a batch too big to group, outside a transaction
        padding = [
            NewEvent(id=uuid.uuid4(), type="page_view", gate_id=events[0].gate_id)
            for _ in range(GROUP_MAX_BATCH)
        ]
        return events_ingest(visitor_id=visitor_id, events=events + padding, received=RECEIVED)
    with transaction.atomic():  # inside a caller's transaction
        return events_ingest(visitor_id=visitor_id, events=events, received=RECEIVED)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["group", "alone", "atomic"])
def test_omitted_fields_are_stored_as_their_defaults_and_given_ones_as_given(path: str) -> None:
    gate = make_gate()
    bare_id, full_id = uuid.uuid4(), uuid.uuid4()
    occurred = RECEIVED - timedelta(hours=2)
    events = [
        NewEvent(id=bare_id, type="page_view", gate_id=gate.id),
        NewEvent(
            id=full_id,
            type="section_view",
            gate_id=gate.id,
            section_key="section-2",
            duration_ms=0,
            occurred_at=occurred,
            url="https://www.example-fibre.com/guide?x=\"'<>",
            name="custom",
            touch={"utm_source": "linkedin", "referrer": "https://www.linkedin.com/"},
        ),
        NewEvent(id=uuid.uuid4(), type="download", gate_id=None, file_key="network-map"),
    ]
    result = _ingest_on(path, events, uuid.uuid4())
    assert result.duplicates == 0
    bare, full = Event.objects.get(id=bare_id), Event.objects.get(id=full_id)
    assert (bare.section_key, bare.file_key, bare.url, bare.name) == ("", "", "", "")
    assert bare.duration_ms is None
    assert bare.touch == {}
    assert bare.occurred_at == RECEIVED == bare.received_at
    assert bare.gate_id == gate.id
    assert (full.section_key, full.duration_ms, full.name) == ("section-2", 0, "custom")
    assert full.occurred_at == occurred
    assert full.url == "https://www.example-fibre.com/guide?x=\"'<>"
    assert full.touch == {"utm_source": "linkedin", "referrer": "https://www.linkedin.com/"}
    download = Event.objects.get(type="download")
    assert download.gate_id is None
    assert download.file_key == "network-map"


@pytest.mark.parametrize(
    "spelling",
    [str.upper, lambda s: "{" + s + "}", lambda s: s.replace("-", ""), lambda s: "urn:uuid:" + s],
)
def test_an_id_in_another_spelling_is_the_same_event(spelling) -> None:
    gate = make_gate()
    event_id = uuid.uuid4()
    visitor_id = uuid.uuid4()
    _, first = _parse([_ev(gate, id=str(event_id))], visitor_id)
    _, again = _parse([_ev(gate, id=spelling(str(event_id)))], visitor_id)
    assert again.errors == {}
    assert again.events[0].id == event_id
    assert again.events[0].id_text == str(event_id)
    assert events_ingest(visitor_id=visitor_id, events=first.events, received=RECEIVED).accepted
    replay = events_ingest(visitor_id=visitor_id, events=again.events, received=RECEIVED)
    assert (replay.accepted, replay.duplicates) == (0, 1)
    assert Event.objects.filter(id=event_id).count() == 1


# --- the cached gates (profiling/caches.py) on the parse path ------------------------------


def test_a_cached_gate_costs_no_query_and_a_miss_one_per_batch(
    django_assert_num_queries,
) -> None:
    from forms_app.models import GateFile, Section

    gate = make_gate(sections=["intro"], files=["network-map"])
    _, first = _parse([_ev(gate, section="intro")])  # loads the gate
    assert first.errors == {}
    with django_assert_num_queries(0):
        _, batch = _parse([_ev(gate, section="intro")])
    assert batch.errors == {}
    # Made without a signal (as if by another process whose stamp this one has not read):
    # the cached gate lacks them, and the events that name them are checked against the
    # database, once for the whole batch, before anything is refused.
    Section.objects.bulk_create([Section(gate=gate, key="pricing", title="Pricing", position=1)])
    GateFile.objects.bulk_create(
        [GateFile(gate=gate, key="price-list", title="Prices", url="https://x.example/p.pdf")]
    )
    events = [
        _ev(gate, type="section_view", section="pricing"),
        _ev(gate, type="download", file="price-list"),
        _ev(gate, type="download", file="no-such-file"),
        _ev(gate, type="section_view", section="no-such-section"),
    ]
    with django_assert_num_queries(1):
        _, batch = _parse(events)
    assert [e.section_key or e.file_key for e in batch.events] == ["pricing", "price-list"]
    assert set(batch.errors) == {"events.2.file", "events.3.section"}
    # Now cached with them: no query.
    with django_assert_num_queries(0):
        _, batch = _parse(events[:2])
    assert len(batch.events) == 2


def test_an_unknown_gate_is_read_again_before_it_is_refused(django_assert_num_queries) -> None:
    from forms_app.models import Gate

    slug = "made-elsewhere"
    _, batch = _parse([{"id": str(uuid.uuid4()), "type": "page_view", "gate": slug}])
    assert set(batch.errors) == {"events.0.gate"}  # cached as unknown
    Gate.objects.bulk_create([Gate(slug=slug, title="Made elsewhere", stage="interest")])
    with django_assert_num_queries(1):
        _, batch = _parse([{"id": str(uuid.uuid4()), "type": "page_view", "gate": slug}])
    assert batch.errors == {}
    assert batch.events[0].gate_id == Gate.objects.get(slug=slug).id
