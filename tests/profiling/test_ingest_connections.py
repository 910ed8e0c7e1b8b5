"""The group-commit writers' own connections (profiling/ingest_writer/connections.py)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.db import DatabaseError, connection
from psycopg.rows import TupleRow

from profiling.ingest_writer.connections import WriterConnections

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def writers() -> Iterator[WriterConnections]:
    made = WriterConnections()
    yield made
    made.close_all()


def _backend(pg: psycopg.Connection[TupleRow]) -> int:
    return pg.info.backend_pid


def test_one_connection_per_statement_in_flight_kept_between_statements(
    writers: WriterConnections,
) -> None:
    with writers.take() as first:
        assert first.autocommit
        assert first.info.dbname == connection.settings_dict["NAME"]  # the test database
        with writers.take() as second:  # a second statement in flight: a second connection
            assert _backend(second) != _backend(first)
    # Both kept open and reused, never a new backend per statement.
    again = set()
    with writers.take() as a, writers.take() as b:
        again = {_backend(a), _backend(b)}
    assert again == {_backend(first), _backend(second)}
    assert writers.close_all() == 2
    assert first.closed
    assert second.closed


def test_a_connection_left_in_a_transaction_is_closed_not_handed_on(
    writers: WriterConnections,
) -> None:
    with writers.take() as pg:
        pg.execute("BEGIN")
    assert pg.closed
    with writers.take() as fresh:
        assert fresh is not pg
        assert fresh.pgconn.transaction_status == 0  # idle


def test_a_lost_connection_closes_every_idle_one_and_the_next_take_reconnects(
    writers: WriterConnections,
) -> None:
    with writers.take() as one, writers.take() as two:
        pass
    with writers.take() as pg:
        idle = two if pg is one else one
        with connection.cursor() as cursor:  # the server drops it, as on a restart
            cursor.execute("SELECT pg_terminate_backend(%s)", [_backend(pg)])
        with pytest.raises(DatabaseError), connection.wrap_database_errors:
            pg.execute("SELECT 1")
    # Both the broken one and the idle one went: each would have failed a request.
    assert pg.closed
    assert idle.closed
    with writers.take() as fresh:
        assert fresh.execute("SELECT 1").fetchone() == (1,)


def test_after_a_fork_the_parents_connections_are_dropped_not_closed(
    writers: WriterConnections,
) -> None:
    with writers.take() as parents:
        pass
    writers._pid = -1  # as seen from a forked child: another process id
    with writers.take() as childs:
        assert childs is not parents
    # Closing it from the child would have ended the parent's session.
    assert not parents.closed
    parents.close()
