"""Plumbing: the monthly partitions of the events table, and the receipts that dedupe it.

`profiling_event` is partitioned by range of `occurred_at`, one partition per calendar
month in UTC (`profiling_event_pYYYYMM`), plus a DEFAULT partition. Monthly, not weekly,
by measurement (docs/benchmarks.md, "Events partitioned by month"): every read by lead
or by visitor (scoring, the profile, identify, merge) names no time and so visits every
partition's index, and the planner's cost grows with their number; a month keeps a few
years at a few dozen partitions while retention still frees space a month at a time.

The DEFAULT partition catches what no month holds: rows written by the ORM far in the
past (the demo history, an import, a test), or a month the beat task did not create in
time. Without it such an INSERT fails, and on the ingest path that is a lost event. Its
costs: creating a month scans the default for rows of that month (a cheap look at an
empty table when the beat task runs ahead), and DETACH ... CONCURRENTLY is refused while
a default exists, so retention detaches with a short lock_timeout instead (below).
Ingest itself clamps `occurred_at` into [received - 7 days, received]
(profiling/services/ingest/parse.py), so the months kept ahead are all it needs.

Every function here is idempotent: creating a month that exists changes nothing, and a
rerun of retention drops what is still too old, nothing else.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

PARENT = "profiling_event"
DEFAULT = "profiling_event_default"
RECEIPTS = "profiling_eventreceipt"
# Months created beyond the current one: the daily beat task has two months of runs to
# succeed before ingest would need a month that is missing (and then the default holds
# the rows, and creating the month later moves them: _month_create).
AHEAD = 2
# How long an event id stays known (EventReceipt): a resend of an event first received
# longer ago is stored again. The tracker keeps unsent events in localStorage and resends
# them when the browser comes back, with the same ids; a month covers a returning
# visitor, and keeps the receipts (read on every insert) small enough to stay cached.
RECEIPT_DAYS = 30
# DDL on a partition takes ACCESS EXCLUSIVE on the parent. Waiting behind a long read
# would queue every ingest statement behind the DDL, so it gives up quickly instead and
# the next run tries again.
LOCK_TIMEOUT = "2s"
BATCH = 5000

_NAME = re.compile(r"^profiling_event_p(\d{4})(\d{2})$")


@dataclass(frozen=True)
class Month:
    """One partition: the UTC calendar month starting on `start`."""

    start: date

    @property
    def name(self) -> str:
        return f"{PARENT}_p{self.start:%Y%m}"

    @property
    def end(self) -> date:
        return month_add(self.start, 1)

    def bound(self, day: date) -> str:
        # An explicit zone: the bound does not depend on the session's TimeZone.
        return f"{day.isoformat()} 00:00:00+00"


def month_of(moment: datetime) -> date:
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def month_add(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def event_months() -> list[Month]:
    """The month partitions that exist, oldest first (the default is not one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    months = []
    for name in names:
        match = _NAME.match(name)
        if match:
            months.append(Month(date(int(match[1]), int(match[2]), 1)))
    return sorted(months, key=lambda m: m.start)


def _month_create(month: Month) -> bool:
    """Create one month's partition; False if it existed already. Rows of that month
    sitting in the default partition are moved into it in the same transaction (a plain
    CREATE ... PARTITION OF would fail on them)."""
    q = connection.ops.quote_name
    start, end = month.bound(month.start), month.bound(month.end)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [month.name])
        if cursor.fetchone()[0]:
            return False
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {q(DEFAULT)}"  # noqa: S608 (names only)
            " WHERE occurred_at >= %s AND occurred_at < %s)",
            [start, end],
        )
        if not cursor.fetchone()[0]:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {q(month.name)} PARTITION OF {q(PARENT)}"
                f" FOR VALUES FROM ('{start}') TO ('{end}')"
            )
            return True
        cursor.execute(
            f"CREATE TABLE {q(month.name)} (LIKE {q(PARENT)} INCLUDING DEFAULTS"
            " INCLUDING CONSTRAINTS INCLUDING STORAGE)"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {q(DEFAULT)}"  # noqa: S608 (names only)
            " WHERE occurred_at >= %s AND occurred_at < %s RETURNING *)"
            f" INSERT INTO {q(month.name)} SELECT * FROM moved",
            [start, end],
        )
        # ATTACH builds the partition's indexes from the parent's and checks the default
        # holds no row of the month (just moved out, in this transaction).
        cursor.execute(
            f"ALTER TABLE {q(PARENT)} ATTACH PARTITION {q(month.name)}"
            f" FOR VALUES FROM ('{start}') TO ('{end}')"
        )
    return True


def event_partitions_ensure(*, now: datetime | None = None, ahead: int = AHEAD) -> list[str]:
    """Create the partitions of the current month, the `ahead` months after it, and the
    month a week ago (the oldest `occurred_at` ingest stores); the names created.
    A month whose DDL could not get its lock in time is left for the next run."""
    now = now or timezone.now()
    first = month_of(now - timedelta(days=7))
    last = month_add(month_of(now), ahead)
    created = []
    month = first
    while month <= last:
        try:
            if _month_create(Month(month)):
                created.append(Month(month).name)
        except OperationalError:
            logger.warning("events partition %s: lock not granted, next run", Month(month).name)
        month = month_add(month, 1)
    return created


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime | None
    dropped: list[str]
    default_rows: int = 0


def event_partitions_drop_old(
    *, days: int | None = None, now: datetime | None = None
) -> RetentionResult:
    """With LEADGATE_EVENT_RETENTION_DAYS (or `days`) above 0, drop every month partition
    that ends before the cut-off, whole: no row-by-row DELETE, no dead rows for vacuum,
    the space back at once. A month that still holds one event younger than the cut-off
    stays until it holds none. Rows of the default partition older than the cut-off are
    deleted (it holds few: see the module's docstring). 0 (the default) drops nothing."""
    days = settings.LEADGATE_EVENT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return RetentionResult(cutoff=None, dropped=[])
    cutoff = (now or timezone.now()) - timedelta(days=days)
    q = connection.ops.quote_name
    dropped = []
    for month in event_months():
        if datetime(month.end.year, month.end.month, 1, tzinfo=UTC) > cutoff:
            continue
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                # Not CONCURRENTLY: PostgreSQL refuses it while a default partition exists.
                # The plain DETACH waits for the statements using the table and holds
                # ingest for as long as that; the lock_timeout bounds that wait.
                cursor.execute(f"ALTER TABLE {q(PARENT)} DETACH PARTITION {q(month.name)}")
                cursor.execute(f"DROP TABLE {q(month.name)}")
        except OperationalError:
            logger.warning("events partition %s: lock not granted, next run", month.name)
            continue
        dropped.append(month.name)
    deleted = _delete_in_batches(
        f"DELETE FROM {q(DEFAULT)} WHERE ctid = ANY(ARRAY("  # noqa: S608 (names only)
        f"SELECT ctid FROM {q(DEFAULT)} WHERE occurred_at < %(cutoff)s LIMIT %(batch)s))"
        " AND occurred_at < %(cutoff)s",
        cutoff=cutoff,
    )
    return RetentionResult(cutoff=cutoff, dropped=dropped, default_rows=deleted)


def event_receipts_purge(*, now: datetime | None = None, days: int = RECEIPT_DAYS) -> int:
    """Forget the ids of events received more than `days` ago; how many."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    q = connection.ops.quote_name
    # By ctid: no index on received_at (one more entry per event on the hot path), and
    # the oldest rows sit early in the heap, so each batch's scan stops soon.
    return _delete_in_batches(
        f"DELETE FROM {q(RECEIPTS)} WHERE ctid = ANY(ARRAY("  # noqa: S608 (names only)
        f"SELECT ctid FROM {q(RECEIPTS)} WHERE received_at < %(cutoff)s LIMIT %(batch)s))"
        " AND received_at < %(cutoff)s",
        cutoff=cutoff,
    )


def event_leaves_before(cutoff: datetime) -> list[str]:
    """The partitions that may hold events older than `cutoff`: the months starting
    before it, and the default. A row-by-row job (anonymous retention) visits these
    only: each partition has its own row ids (ctid), and a month entirely younger than
    the cut-off has nothing to give."""
    months = [
        m.name
        for m in event_months()
        if datetime(m.start.year, m.start.month, 1, tzinfo=UTC) < cutoff
    ]
    return [*months, DEFAULT]


def _delete_in_batches(sql: str, *, cutoff: datetime, budget_s: float = 600.0) -> int:
    deleted = 0
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"cutoff": cutoff, "batch": BATCH})
            count = cursor.rowcount
        deleted += count
        if count < BATCH:
            break
    return deleted
