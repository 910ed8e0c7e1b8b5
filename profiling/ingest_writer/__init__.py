"""Where and how the events statement (profiling/ingest_sql.py) runs: database plumbing.

- prepared.py: the statement is prepared once per connection and sent through libpq;
- connections.py: the group-commit writers' own connections;
- group.py: small batches arriving together in one process share one statement and
  commit (LEADGATE_INGEST_GROUP_COMMIT; docs/benchmarks.md measures what it buys).

Inside a transaction the statement runs on the caller's connection, in that
transaction: it commits or rolls back with the caller's work.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from profiling.ingest_sql import EVENTS_SQL, Batch, Written, events_write
from profiling.ingest_writer.group import GROUP_MAX_BATCH, group_commit
from profiling.ingest_writer.prepared import prepared_row


def batch_write(batch: Batch) -> Written:
    """Store one batch durably: committed when this returns, unless the caller is inside
    a transaction (then with it)."""
    if (
        settings.LEADGATE_INGEST_GROUP_COMMIT
        and len(batch.rows) <= GROUP_MAX_BATCH
        and not connection.in_atomic_block
    ):
        written = group_commit.store(batch)
        if written is not None:
            return written
    # Alone, on this thread's Django connection (in the caller's transaction, if any).
    return events_write([batch], lambda params: prepared_row("events", EVENTS_SQL, params))[0]
