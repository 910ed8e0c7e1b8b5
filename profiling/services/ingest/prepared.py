"""Run an ingest statement as a server-side prepared statement on Django's connection.

The ingest statements are long data-modifying CTEs; parsing and planning one cost
PostgreSQL more than executing it (perf on the benchmark: base_yyparse, GetCachedPlan
and copyObjectImpl in every backend). psycopg prepares a statement with `prepare=True`,
but Django connects with `prepare_threshold=None` (so that transaction-mode poolers keep
working), and with None psycopg ignores `prepare=True` and sends an unnamed Parse every
time. So for the duration of this one call the threshold is lifted: psycopg then
prepares the statement once per connection and afterwards only binds and executes it.
Django's own queries, which run on the same connection at other times, are unaffected.

Poolers: PgBouncer >= 1.21 (max_prepared_statements) tracks protocol-level prepared
statements; behind an older transaction-mode pooler set LEADGATE_INGEST_PREPARED=0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import connection
from psycopg import Cursor as ServerCursor


def prepared_fetchone(sql: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Execute `sql` with server-side binding (prepared per connection); its first row.

    Runs inside Django's error translation and transaction state: it joins an enclosing
    atomic block, if any, and in autocommit the statement is its own transaction.
    """
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    pg = connection.connection
    prepare = bool(settings.LEADGATE_INGEST_PREPARED)
    with connection.wrap_database_errors, ServerCursor(pg) as cursor:
        threshold = pg.prepare_threshold
        if prepare:
            pg.prepare_threshold = 0
        try:
            cursor.execute(sql, params, prepare=prepare)
        finally:
            pg.prepare_threshold = threshold
        return cursor.fetchone()
