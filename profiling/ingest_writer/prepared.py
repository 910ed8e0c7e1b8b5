"""Run the events statement as a named prepared statement, straight through libpq.

The events statement (profiling/ingest_sql.py) is a long data-modifying CTE. Parsing and
planning it cost PostgreSQL more than executing it (perf on the benchmark: base_yyparse,
GetCachedPlan and copyObjectImpl in every backend), so it is prepared once per
connection and then only bound and executed.

Why not a psycopg cursor with `prepare=True`: on the 1-event beacon (docs/benchmarks.md)
psycopg's generic machinery around one execute (query conversion, the adapters' dumpers
and loaders, its own prepared-statement cache, the cursor object) cost about a third
of the request's Python CPU, more than the rest of the endpoint together. The events
statement has fixed SQL, all-text parameters and a one-row answer of text columns, so
it needs none of that: this module sends the statement by name on the connection's
`pgconn` (psycopg's documented libpq wrapper) and waits for the result with psycopg's
own `Connection.wait`, which releases the GIL while PostgreSQL works, exactly as a
cursor does. Django's connection, its transaction state and its error translation are
used as they are.

Names are ours (`leadgate_*`), never psycopg's `_pg3_*`, so the two caches cannot
collide. Which names a connection has prepared is remembered on the psycopg connection
object, so a reconnect starts over. If the server no longer knows a name (a pooler or
someone ran DISCARD ALL / DEALLOCATE), the statement is prepared again and run once more.

Poolers: PgBouncer >= 1.21 (max_prepared_statements) tracks protocol-level prepared
statements; behind an older transaction-mode pooler set LEADGATE_INGEST_PREPARED=0 and
the same statement is sent unnamed (parsed every time) instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.generators import execute as _result_of

# PostgreSQL's SQLSTATE for "prepared statement ... does not exist".
_UNKNOWN_STATEMENT = "26000"


def _sent_ok(pg: psycopg.Connection[Any], result: pq.abc.PGresult | None) -> None:
    if result is None:  # pragma: no cover - libpq always answers a sent command
        raise pg_errors.InternalError("no result from PostgreSQL")
    if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        raise pg_errors.error_from_result(result, encoding=pg.info.encoding)


def _run(
    pg: psycopg.Connection[Any], name: bytes, sql: bytes, values: list[bytes | None]
) -> pq.abc.PGresult:
    pgconn = pg.pgconn
    prepared: set[bytes] | None
    if settings.LEADGATE_INGEST_PREPARED:
        prepared = getattr(pg, "_leadgate_prepared", None)
        if prepared is None:
            prepared = set()
            pg._leadgate_prepared = prepared  # type: ignore[attr-defined]
        if name not in prepared:
            pgconn.send_prepare(name, sql)
            _sent_ok(pg, pg.wait(_result_of(pgconn))[-1])
            prepared.add(name)
        pgconn.send_query_prepared(name, values)
    else:
        prepared = None
        pgconn.send_query_params(sql, values)
    result = pg.wait(_result_of(pgconn))[-1]
    try:
        _sent_ok(pg, result)
    except pg_errors.Error as exc:
        if prepared is not None and exc.sqlstate == _UNKNOWN_STATEMENT:
            prepared.discard(name)
        raise
    return result


def statement_row(
    pg: psycopg.Connection[Any], name: str, sql: str, params: Sequence[str | None]
) -> tuple[str | None, ...]:
    """Execute `sql` as the prepared statement `name` on `pg`, an autocommit connection
    (Django's own, or a group-commit writer's: see connections.py); its first row as
    text (None for NULL), or () when it returned no row. In autocommit the statement is
    its own transaction. PostgreSQL's errors come out as Django's DatabaseError classes.
    """
    key = f"leadgate_{name}".encode()
    query = sql.encode()
    values = [None if p is None else p.encode() for p in params]
    with connection.wrap_database_errors, pg.lock:
        try:
            result = _run(pg, key, query, values)
        except pg_errors.Error as exc:
            if exc.sqlstate != _UNKNOWN_STATEMENT:
                raise
            # Deallocated behind our back (see the module docstring): prepare it again.
            # In autocommit the failed statement aborted nothing.
            result = _run(pg, key, query, values)
    if result.ntuples == 0:
        return ()
    row = []
    for col in range(result.nfields):
        value = result.get_value(0, col)
        row.append(None if value is None else bytes(value).decode())
    return tuple(row)


def prepared_row(name: str, sql: str, params: Sequence[str | None]) -> tuple[str | None, ...]:
    """statement_row on Django's connection of this thread: it joins an enclosing atomic
    block, if any, and in autocommit the statement is its own transaction."""
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    pg = connection.connection
    if not pg.autocommit:
        # Inside a transaction psycopg must send its BEGIN first, which libpq-level
        # calls would bypass; callers inside an atomic block are not the beacon's hot
        # path, so a psycopg cursor serves them. Django connects
        # with prepare_threshold=None (so that transaction-mode poolers keep working),
        # and with None psycopg ignores prepare=True: the threshold is lifted for this
        # one call, and Django's own queries stay unprepared.
        prepare = bool(settings.LEADGATE_INGEST_PREPARED)
        with connection.wrap_database_errors, psycopg.RawCursor(pg) as cursor:
            threshold = pg.prepare_threshold
            if prepare:
                pg.prepare_threshold = 0
            try:
                cursor.execute(sql, list(params), prepare=prepare)
            finally:
                pg.prepare_threshold = threshold
            found = cursor.fetchone()
        return () if found is None else tuple(None if v is None else str(v) for v in found)
    return statement_row(pg, name, sql, params)
