"""The group-commit writers' own PostgreSQL connections (one per statement in flight).

Why not Django's connection of the request that happens to write: Django keeps one
connection per thread, and under the production server's gevent worker
(gunicorn.conf.py) every request is a greenlet, i.e. a "thread" of its own. A writer's
connection would then be a new one for almost every statement (a PostgreSQL backend
started and its statement prepared again), or, drawn from Django's pool, held by a
request that waits for other requests' commits: with every pooled connection held by
such waiters, no writer could get one and nothing would commit. So the writers draw
from this small per-process set instead: at most LEADGATE_INGEST_GROUP_WRITERS
connections, each used by one statement at a time, kept open between statements (their
prepared statement stays planned), never held while a request waits.

They are plain psycopg connections in autocommit, made from Django's own connection
parameters (same database, user, adapters), so a statement on them is its own
transaction and durable when it returns, exactly as on Django's connection. Django's
per-connection set-up (the session's TimeZone) is not run on them and need not be: the
group statement sends every time with its UTC offset and answers ids only.

A connection that is no longer idle after a statement (left in a transaction) is closed,
not reused; one found broken (a server restart) is closed with every idle one, which the
restart most likely broke too; the next statement opens a fresh one. After a fork the
parent's connections are forgotten, never closed (closing would end the parent's
session).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection
from psycopg import pq
from psycopg.rows import TupleRow


class WriterConnections:
    """A per-process stack of idle autocommit connections for the group-commit writers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[psycopg.Connection[TupleRow]] = []
        self._pid = os.getpid()

    def _connect(self) -> psycopg.Connection[TupleRow]:
        params = connection.get_connection_params()
        with connection.wrap_database_errors:  # a refused connection is Django's error
            pg: psycopg.Connection[TupleRow] = psycopg.Connection.connect(**params, autocommit=True)
        return pg

    @contextmanager
    def take(self) -> Iterator[psycopg.Connection[TupleRow]]:
        """An idle connection of this process (opened if none is), returned after use."""
        with self._lock:
            if self._pid != os.getpid():
                self._idle = []  # the parent's: drop, never close (see the docstring)
                self._pid = os.getpid()
            pg = self._idle.pop() if self._idle else None
        if pg is None:
            pg = self._connect()
        try:
            yield pg
        finally:
            if pg.closed or pg.pgconn.status != pq.ConnStatus.OK:
                # Lost (a server restart, a killed session): the idle ones most likely
                # went with it, and would each fail one more request. Start over.
                pg.close()
                self.close_all()
            elif pg.pgconn.transaction_status != pq.TransactionStatus.IDLE:
                pg.close()  # left in a transaction: never hand that to the next writer
            else:
                with self._lock:
                    self._idle.append(pg)

    def close_all(self) -> int:
        """Close the idle connections (tests, before their database is dropped); the next
        statement opens new ones. The number closed."""
        with self._lock:
            idle, self._idle = self._idle, []
        for pg in idle:
            pg.close()
        return len(idle)


writer_connections = WriterConnections()
