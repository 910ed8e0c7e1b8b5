"""The lead indexes are partial (WHERE lead_id IS NOT NULL): the reads by lead still use them.

The events table is partitioned: its indexes are the parent's, and a plan names each
partition's own index, attached to the parent's (pg_inherits holds the link)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.db import connection

from profiling.models import Event, Visitor

pytestmark = pytest.mark.django_db


def _plan(sql: str, params: list[Any]) -> str:
    with connection.cursor() as cursor:
        # Tiny test tables: without this the planner rightly prefers a sequential scan.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _with_partitions(index: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
            [index],
        )
        return {index} | {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize(
    ("queryset", "index"),
    [
        (
            lambda lead: Event.objects.filter(lead_id=lead).order_by("occurred_at"),
            "event_lead_time",
        ),
        (lambda lead: Event.objects.filter(lead_id__in=[lead, uuid.uuid4()]), "event_lead_time"),
        (lambda lead: Visitor.objects.filter(lead_id=lead), "visitor_lead"),
        (lambda lead: Visitor.objects.filter(lead_id__in=[lead, uuid.uuid4()]), "visitor_lead"),
    ],
)
def test_reads_by_lead_use_the_partial_index(queryset, index: str) -> None:
    sql, params = queryset(uuid.uuid4()).query.sql_with_params()
    plan = _plan(sql, list(params))
    used = set(re.findall(r"(?:Index Scan|Index Only Scan) (?:using|on) (\w+)", plan))
    assert used, plan
    assert used <= _with_partitions(index), plan


def test_the_lead_indexes_leave_anonymous_rows_out() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_expr(indpred, indrelid) FROM pg_index "
            "WHERE indexrelid::regclass::text IN ('event_lead_time', 'visitor_lead')"
        )
        predicates = dict(cursor.fetchall())
    assert set(predicates) == {"event_lead_time", "visitor_lead"}
    assert all("lead_id IS NOT NULL" in p for p in predicates.values()), predicates
