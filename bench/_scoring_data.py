"""The full rescore benchmark's data (bench/scoring.py): gates with sections and files,
leads, visitors and events generated with `INSERT ... SELECT generate_series` (not the
ORM), loaded without the secondary indexes and indexed afterwards, vacuumed and
analysed, and the active scoring rules. `defaults_select` also serves the workspace
benchmark's generator. Plumbing, not a benchmark (bench/run.py skips this module).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

EVENTS_PER_LEAD = 10
GATES = 10


def defaults_select(model: Any, overrides: dict[str, str]) -> tuple[str, str]:
    """(columns, select expressions) for INSERT ... SELECT of `model`: the overrides, and
    for every other column its NULL or a neutral default, so columns that other work adds
    to the model later do not break the benchmark."""
    from django.db import models

    cols, exprs = [], []
    for f in model._meta.concrete_fields:
        col = f.column
        cols.append(col)
        if col in overrides:
            exprs.append(overrides[col])
        elif f.null:
            exprs.append("NULL")
        elif isinstance(f, models.JSONField):
            exprs.append("'{}'::jsonb" if f.default is dict else "'[]'::jsonb")
        elif isinstance(f, models.BooleanField):
            exprs.append("true" if f.default is True else "false")
        elif isinstance(f, models.DateTimeField):
            exprs.append("now()")
        elif isinstance(f, models.IntegerField | models.FloatField | models.DecimalField):
            exprs.append(str(f.default if isinstance(f.default, int | float) else 0))
        else:
            text = f.default if isinstance(f.default, str) else ""
            exprs.append("'" + text.replace("'", "''") + "'")
    return ", ".join(cols), ", ".join(exprs)


_BULK_TABLES = ["profiling_lead", "profiling_visitor", "profiling_event"]


@contextmanager
def _secondary_indexes_dropped(cursor: Any) -> Iterator[None]:
    """Load the bulk tables without their indexes (but those behind constraints), then
    build them again as the migrations define them: ten million rows load several times
    faster than through three event indexes and the leads' trigram indexes row by row.
    The tables measured afterwards are the real ones, with every index."""
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid ="
        " (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)",
        [_BULK_TABLES],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            # A partitioned table's index is listed "ON ONLY" the parent; built on the
            # parent it is built on every partition too.
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
        cursor.execute("RESET maintenance_work_mem")


def scoring_data_generate(n_leads: int) -> dict[str, Any]:
    from django.db import connection

    from forms_app.models import Gate, GateFile, Section
    from profiling.models import Event, Lead, ScoringRule, Visitor
    from tests.support.factories import set_thresholds

    with connection.cursor() as c:
        c.execute(
            "TRUNCATE profiling_event, profiling_visitor, profiling_gradechange, "
            "profiling_delivery, profiling_lead, profiling_scoringrule, forms_app_gate CASCADE"
        )
    gates = []
    for i in range(GATES):
        gate = Gate.objects.create(slug=f"bench-gate-{i}", title=f"Bench gate {i}")
        for s in range(6):
            Section.objects.create(gate=gate, key=f"section-{s + 1}", title=f"S{s}", position=s)
        for k, key in enumerate(("network-map", "pricing")):
            GateFile.objects.create(gate=gate, key=key, title=key, url="https://x/y", position=k)
        gates.append(gate.id)
    gate_array = "ARRAY[" + ",".join(str(g) for g in gates) + "]"
    n_events = n_leads * EVENTS_PER_LEAD
    started = time.perf_counter()
    lead_cols, lead_exprs = defaults_select(
        Lead,
        {
            "id": "md5('lead' || g)::uuid",
            "email": "'lead' || g || '@bench.example'",
            "name": "'Lead ' || g",
            "company_domain": "CASE WHEN mod(g, 5) < 3 THEN 'company' || mod(g, 97) || '.example' "
            "ELSE '' END",
            "is_disposable_email": "mod(g, 20) = 0",
            "grade": "'cold'",
        },
    )
    visitor_cols, visitor_exprs = defaults_select(
        Visitor, {"id": "md5('visitor' || g)::uuid", "lead_id": "md5('lead' || g)::uuid"}
    )
    # Event mix per lead: mostly section reads (re-reads included), some page views,
    # a few downloads (1 in 100 of the network map, which makes hot) and form views;
    # ages spread over 120 days so decay matters.
    event_cols, event_exprs = defaults_select(
        Event,
        {
            "id": "md5('event' || e)::uuid",
            "visitor_id": "md5('visitor' || ((e - 1) / 10 + 1))::uuid",
            "lead_id": "md5('lead' || ((e - 1) / 10 + 1))::uuid",
            "type": "CASE WHEN h < 60 THEN 'section_view' WHEN h < 85 THEN 'page_view' "
            "WHEN h < 95 THEN 'download' ELSE 'form_view' END",
            "gate_id": f"({gate_array})[1 + mod((e - 1) / 10, {GATES})]",
            "section_key": "CASE WHEN h < 60 THEN 'section-' || (1 + mod(e * 7, 6)) ELSE '' END",
            "file_key": "CASE WHEN h >= 85 AND h < 95 THEN "
            "CASE WHEN mod(e, 100) = 0 THEN 'network-map' ELSE 'pricing' END ELSE '' END",
            "duration_ms": "CASE WHEN h < 60 THEN mod(e * 7919, 60000) ELSE NULL END",
            "occurred_at": "now() - make_interval(secs => mod(e * 104729, 120 * 86400))",
            "received_at": "now() - make_interval(secs => mod(e * 104729, 120 * 86400) - 1)",
        },
    )
    with connection.cursor() as c, _secondary_indexes_dropped(c):
        c.execute(
            f"INSERT INTO profiling_lead ({lead_cols}) "
            f"SELECT {lead_exprs} FROM generate_series(1, %s) g",
            [n_leads],
        )
        c.execute(
            f"INSERT INTO profiling_visitor ({visitor_cols}) "
            f"SELECT {visitor_exprs} FROM generate_series(1, %s) g",
            [n_leads],
        )
        c.execute(
            f"INSERT INTO profiling_event ({event_cols}) SELECT {event_exprs} "
            f"FROM (SELECT e, mod(e * 2654435761, 100) AS h FROM generate_series(1, %s::bigint) e) s",
            [n_events],
        )
    # As in production, where these tables were written long ago: vacuumed and analysed,
    # so autovacuum does not start on the fresh million rows in the middle of a timing.
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE profiling_lead, profiling_visitor, profiling_event")
    load_s = time.perf_counter() - started
    set_thresholds(warm=30, hot=80, half_life_days=30)
    ScoringRule.objects.create(
        name="Read sections",
        event_type="section_view",
        points=10,
        max_points=60,
        min_duration_ms=5000,
    )
    ScoringRule.objects.create(
        name="Network map", event_type="download", file_key="network-map", points=50, makes_hot=True
    )
    ScoringRule.objects.create(name="Pricing", event_type="download", file_key="pricing", points=15)
    ScoringRule.objects.create(name="Pages", event_type="page_view", points=2, max_points=10)
    ScoringRule.objects.create(name="Form seen", event_type="form_view", points=-1, max_points=3)
    ScoringRule.objects.create(
        name="Disposable email",
        event_type="profile",
        profile_condition="disposable_email",
        points=-20,
    )
    ScoringRule.objects.create(
        name="Company domain", event_type="profile", profile_condition="company_domain", points=10
    )
    return {"leads": n_leads, "events": n_events, "load_s": load_s}
