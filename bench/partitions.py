"""Events partitioned by month or by week, and the migration of an existing table.

In its own database (`<DATABASE_URL's name>_partitions`), in a scratch schema, three
copies of the events table with its three indexes, filled with the same rows by
`INSERT ... SELECT generate_series`: unpartitioned (the baseline), by month, by week.
Two years of events (the weekly one: 105 partitions, the monthly one: 25), 1 in 3 of a
lead. Timed, each the median over the same 200 leads or 5 gates x 20 repeats, planning
included (EXPLAIN ANALYZE's planning + execution time; a prepared statement would plan
once, but the ORM's reads are not prepared):
- one lead's events in time order: the read scoring and the profile make;
- one gate's events of the last 30 days, counted by type: the dashboard's range scan;
- a 100-event INSERT (one more statement per partition routing decision).
Then the ingest statement alone (profiling/ingest_sql.py), prepared, each execution its
own commit, 100-event and 1-event batches of new anonymous visitors, interleaved rounds:
as it was (an unpartitioned table, ON CONFLICT on its primary key) against as it is (the
receipt, then the partitioned table). PostgreSQL's share of the beacon, measured without
the HTTP servers, so it holds up on a busy machine better than the ingest benchmark.
Then the migration (profiling/migrations/0016_...): a table of the pre-migration shape
holding N events, through the migration's own SQL, timed (docs/operations.md quotes it).

    ./scripts/bench.sh partitions            # 2,000,000 events; migration of 1,000,000
    ./scripts/bench.sh partitions --quick    # 200,000; 100,000
"""

from __future__ import annotations

import importlib
import os
import statistics
import time
from typing import Any

import psycopg

from bench.common import setup_django, use_own_database

SCHEMA = "bench_partitions"
COLUMNS = """
    id uuid NOT NULL, type varchar(16) NOT NULL, name varchar(200) NOT NULL,
    section_key varchar(80) NOT NULL, file_key varchar(80) NOT NULL, duration_ms integer,
    occurred_at timestamptz NOT NULL, received_at timestamptz NOT NULL,
    url varchar(2000) NOT NULL, source varchar(16) NOT NULL, gate_id bigint,
    lead_id uuid, visitor_id uuid NOT NULL, touch jsonb NOT NULL
"""
LEADS = 20_000
GATES = 5
DAYS = 730


def _fill_sql(table: str, n: int) -> str:
    # Spread evenly over DAYS days ending now; a lead's events are spread over them too.
    return (
        f"INSERT INTO {table} SELECT md5('e' || g)::uuid,"
        " (ARRAY['page_view','section_view','download','form_view'])[1 + mod(g, 4)], '', '',"
        " '', NULL, now() - (g::float8 / %(n)s) * interval '730 days',"
        " now() - (g::float8 / %(n)s) * interval '730 days', 'https://example.com/', 'tracker',"
        " 1 + mod(g, 5), CASE WHEN mod(g, 3) = 0 THEN md5('l' || mod(g, 20000))::uuid END,"
        " md5('v' || mod(g, 60000))::uuid, '{}' FROM generate_series(1, %(n)s) g"
    )


def _indexes(table: str, prefix: str) -> list[str]:
    return [
        f"CREATE INDEX {prefix}_lead ON {table} (lead_id, occurred_at) WHERE lead_id IS NOT NULL",
        f"CREATE INDEX {prefix}_visitor ON {table} (visitor_id, occurred_at)",
        f"CREATE INDEX {prefix}_gate ON {table} (gate_id, type, occurred_at)",
    ]


def _partitioned(c: Any, table: str, step: str, n: int) -> int:
    c.execute(f"CREATE TABLE {table} ({COLUMNS}) PARTITION BY RANGE (occurred_at)")
    c.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    c.execute(
        f"SELECT g FROM generate_series(date_trunc('{step}', now() - interval '{DAYS + 7} days'),"
        f" now() + interval '60 days', interval '1 {step}') g"
    )
    starts = [row[0] for row in c.fetchall()]
    for i, start in enumerate(starts):
        c.execute(
            f"CREATE TABLE {table}_{i} PARTITION OF {table}"
            f" FOR VALUES FROM (%s) TO (%s::timestamptz + interval '1 {step}')",
            [start, start],
        )
    c.execute(_fill_sql(table, n), {"n": n})
    for sql in _indexes(table, table.split(".")[-1]):
        c.execute(sql)
    c.execute(f"VACUUM ANALYZE {table}")
    return len(starts)


def _explain_ms(c: Any, sql: str, params: list[Any]) -> float:
    c.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
    plan = c.fetchone()[0][0]
    return float(plan["Planning Time"]) + float(plan["Execution Time"])


def _reads(c: Any, table: str) -> dict[str, float]:
    lead = f"SELECT * FROM {table} WHERE lead_id = %s ORDER BY occurred_at"
    gate = (
        f"SELECT type, count(*) FROM {table} WHERE gate_id = %s"
        " AND occurred_at >= now() - interval '30 days' GROUP BY type"
    )
    c.execute("SELECT md5('l' || g)::uuid FROM generate_series(0, 199) g")
    leads = [row[0] for row in c.fetchall()]
    for lead_id in leads[:20]:  # warm the caches
        _explain_ms(c, lead, [lead_id])
    lead_ms = [_explain_ms(c, lead, [lead_id]) for lead_id in leads]
    gate_ms = [_explain_ms(c, gate, [1 + i % GATES]) for i in range(100)]
    insert = (
        f"INSERT INTO {table} SELECT gen_random_uuid(), 'page_view', '', '', '', NULL,"
        " now() - random() * interval '1 day', now(), '', 'tracker', 1, NULL,"
        " gen_random_uuid(), '{}' FROM generate_series(1, 100)"
    )
    insert_ms = []
    for _ in range(50):
        started = time.perf_counter()
        c.execute(insert)
        insert_ms.append((time.perf_counter() - started) * 1000)
    return {
        "lead": statistics.median(lead_ms),
        "gate": statistics.median(gate_ms),
        "insert": statistics.median(insert_ms),
    }


# The statement before partitioning: ON CONFLICT on the events' own primary key.
def _old_events_sql(new: str) -> str:
    start = new.index("), k AS (")
    end = new.index("), e AS (")
    old = new[:start] + new[end:]
    old = old.replace(
        " JOIN k ON k.id = x.i RETURNING id, visitor_id",
        " ORDER BY x.i ON CONFLICT (id) DO NOTHING RETURNING id, visitor_id",
    )
    if "JOIN k" in old or "ON CONFLICT (id) DO NOTHING RETURNING id, visitor_id" not in old:
        raise RuntimeError("the ingest statement changed: update _old_events_sql")
    return old


def _statement(c: Any, rounds: int, statements: int) -> dict[tuple[str, int], float]:
    """Events per second of the ingest statement alone, old and new, per batch size."""
    import json
    import uuid
    from datetime import UTC, datetime

    from profiling.ingest_sql import EVENTS_SQL

    variants = {"old": _old_events_sql(EVENTS_SQL), "new": EVENTS_SQL}
    for name in variants:
        schema = f"{SCHEMA}_{name}"
        c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        c.execute(f"CREATE SCHEMA {schema}")
        c.execute(f"SET search_path = {schema}")
        c.execute("CREATE TABLE profiling_visitor (LIKE public.profiling_visitor INCLUDING ALL)")
        c.execute(
            "CREATE TABLE profiling_scorepending (LIKE public.profiling_scorepending INCLUDING ALL)"
        )
        c.execute(
            "CREATE TABLE profiling_eventreceipt (LIKE public.profiling_eventreceipt INCLUDING ALL)"
        )
        if name == "old":
            c.execute(f"CREATE TABLE profiling_event ({COLUMNS}, PRIMARY KEY (id))")
        else:
            c.execute(f"CREATE TABLE profiling_event ({COLUMNS}) PARTITION BY RANGE (occurred_at)")
            c.execute("CREATE TABLE profiling_event_d PARTITION OF profiling_event DEFAULT")
            c.execute(
                "CREATE TABLE profiling_event_m PARTITION OF profiling_event FOR VALUES"
                " FROM (now() - interval '20 days') TO (now() + interval '20 days')"
            )
        for sql in _indexes("profiling_event", f"{schema}_e"):
            c.execute(sql)
        c.execute(f"PREPARE ingest_{name} AS {variants[name]}")
    c.execute("SET search_path = public")
    # EXECUTE is a utility statement, which takes no bound parameters: client-side binding.
    client = psycopg.ClientCursor(c.connection)
    timings: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for size in (100, 1):
            for name in variants:
                count = statements if size == 100 else statements * 5
                docs = [
                    json.dumps(
                        [{"i": str(uuid.uuid4()), "t": "page_view", "g": 1} for _ in range(size)]
                    )
                    for _ in range(count)
                ]
                # A prepared statement is planned again under the search_path in force.
                client.execute(f"SET search_path = {SCHEMA}_{name}")
                started = time.perf_counter()
                for doc in docs:
                    client.execute(
                        f"EXECUTE ingest_{name}(%s, %s, %s, 'tracker')",
                        [doc, str(uuid.uuid4()), datetime.now(UTC).isoformat()],
                    )
                elapsed = time.perf_counter() - started
                timings.setdefault((name, size), []).append(len(docs) * size / elapsed)
    c.execute("SET search_path = public")
    for name in variants:
        c.execute(f"DEALLOCATE ingest_{name}")
        c.execute(f"DROP SCHEMA {SCHEMA}_{name} CASCADE")
    return {key: statistics.median(values) for key, values in timings.items()}


def _migration(c: Any, n: int) -> tuple[float, str]:
    """The migration's own SQL on a table of n events of the pre-migration shape."""
    c.execute(f"DROP SCHEMA IF EXISTS {SCHEMA}_m CASCADE")
    c.execute(f"CREATE SCHEMA {SCHEMA}_m")
    c.execute(f"SET search_path = {SCHEMA}_m")
    c.execute(
        f"CREATE TABLE profiling_event ({COLUMNS}, CONSTRAINT profiling_event_pkey PRIMARY KEY (id))"
    )
    c.execute(
        "CREATE TABLE profiling_eventreceipt (id uuid PRIMARY KEY, received_at timestamptz NOT NULL)"
    )
    # Half the rows in the last 30 days: their receipts are written too.
    c.execute(_fill_sql("profiling_event", n).replace("730 days", "60 days"), {"n": n})
    for sql in [
        "CREATE INDEX event_lead_time ON profiling_event (lead_id, occurred_at)"
        " WHERE lead_id IS NOT NULL",
        "CREATE INDEX event_visitor_time ON profiling_event (visitor_id, occurred_at)",
        "CREATE INDEX event_gate_type_time ON profiling_event (gate_id, type, occurred_at)",
    ]:
        c.execute(sql)
    c.execute("VACUUM ANALYZE profiling_event")
    c.execute("SELECT pg_total_relation_size('profiling_event')")
    size = f"{c.fetchone()[0] / 2**20:,.0f} MiB"
    migration = importlib.import_module("profiling.migrations.0016_event_partitions_and_receipts")
    c.execute("CHECKPOINT")
    started = time.perf_counter()
    c.execute("BEGIN")
    c.execute(migration.FORWARD)
    c.execute("COMMIT")
    seconds = time.perf_counter() - started
    c.execute("SET search_path = public")
    c.execute(f"DROP SCHEMA {SCHEMA}_m CASCADE")
    return seconds, size


def run(quick: bool) -> str:
    setup_django()
    use_own_database("partitions")
    from django.db import connection

    n = 200_000 if quick else 2_000_000
    migrate_n = 100_000 if quick else 1_000_000
    connection.ensure_connection()
    raw = connection.connection
    raw.autocommit = True
    with raw.cursor() as c:
        c.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        c.execute(f"CREATE SCHEMA {SCHEMA}")
        c.execute(f"CREATE TABLE {SCHEMA}.flat ({COLUMNS})")
        c.execute(_fill_sql(f"{SCHEMA}.flat", n), {"n": n})
        for sql in _indexes(f"{SCHEMA}.flat", "flat"):
            c.execute(sql)
        c.execute(f"VACUUM ANALYZE {SCHEMA}.flat")
        parts = {
            "unpartitioned": 1,
            "month": _partitioned(c, f"{SCHEMA}.month", "month", n),
            "week": _partitioned(c, f"{SCHEMA}.week", "week", n),
        }
        tables = {"unpartitioned": "flat", "month": "month", "week": "week"}
        results = {k: _reads(c, f"{SCHEMA}.{t}") for k, t in tables.items()}
        c.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
        statement = _statement(c, rounds=3 if quick else 5, statements=40 if quick else 200)
        load = f"{os.getloadavg()[0]:.1f}"
        seconds, size = _migration(c, migrate_n)
    base = results["unpartitioned"]
    lines = [
        "## Events partitioned by month (`bench/partitions.py`)",
        "",
        f"{n:,} events over two years, {LEADS:,} leads (1 event in 3 has one: about"
        f" {n // 3 // LEADS} each), {GATES} gates; median ms, planning included"
        " (EXPLAIN ANALYZE: the ORM's reads are planned each time).",
        "",
        "| table | partitions | one lead's events | vs unpartitioned | one gate, 30 days"
        " | vs unpartitioned | 100-event INSERT | vs unpartitioned |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in ("unpartitioned", "month", "week"):
        r = results[key]
        lines.append(
            f"| {key} | {parts[key]} | {r['lead']:.2f} | {r['lead'] / base['lead']:.2f}x"
            f" | {r['gate']:.2f} | {r['gate'] / base['gate']:.2f}x"
            f" | {r['insert']:.2f} | {r['insert'] / base['insert']:.2f}x |"
        )
    lines += [
        "",
        "The ingest statement alone (events/s, median of the rounds; each execution its own"
        f" commit; load average {load} when it ended):",
        "",
        "| batch | unpartitioned, ON CONFLICT on the primary key | partitioned, receipts"
        " | new vs old |",
        "|---|---:|---:|---:|",
    ]
    for batch in (100, 1):
        old, new = statement[("old", batch)], statement[("new", batch)]
        lines.append(f"| {batch}-event | {old:,.0f} | {new:,.0f} | {new / old:.0%} |")
    lines += [
        "",
        f"- Migration of an unpartitioned table of {migrate_n:,} events ({size} with its"
        f" indexes; half of them of the last 30 days, so as many receipts): **{seconds:.1f} s**"
        f" ({seconds / (migrate_n / 1_000_000):.1f} s per million events), the events table"
        " locked (ACCESS EXCLUSIVE) throughout; docs/operations.md.",
    ]
    return "\n".join(lines)
