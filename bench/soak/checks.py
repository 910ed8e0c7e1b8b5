"""The soak's fixtures and its checks, read from the database after the drain
(bench/soak/__init__.py says what each check proves)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.common import bench_gate_create
from bench.soak.processes import Receiver

ORIGIN = "https://soak.example-fibre.com"


def fixtures(receiver_url: str) -> dict[str, Any]:
    from django.db import connection

    from forms_app.models import Gate
    from profiling.models import (
        Event,
        EventReceipt,
        Lead,
        ScorePending,
        ScoringRule,
        Visitor,
        WebhookEndpoint,
    )

    # This benchmark's own database: every run starts from empty tables, so the checks
    # read only this run's rows.
    tables = [m._meta.db_table for m in (Event, EventReceipt, Visitor, Lead, ScorePending)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    ScoringRule.objects.all().delete()
    WebhookEndpoint.objects.all().delete()
    Gate.objects.filter(slug="soak").delete()
    # Three section views make a lead warm; the download makes it hot.
    gate = bench_gate_create(
        slug="soak",
        title="Soak guide",
        origin=ORIGIN,
        rule_name="soak",
        read_points=10,
        read_cap=30,
        email_content=False,  # no access email per opt-in: the soak is about the webhooks
    )
    endpoint = WebhookEndpoint.objects.create(url=receiver_url, grades=["warm", "hot"])
    return {"gate": gate.slug, "endpoint": endpoint.pk}


def inflight(endpoint: int) -> dict[str, Any]:
    """What is still in flight, in the database."""
    from django.db import connection

    from profiling.models import Delivery, GradeChange, Lead, ScorePending

    d, g, lead_t = Delivery._meta.db_table, GradeChange._meta.db_table, Lead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FROM {d}"
            " WHERE endpoint_id = %s",
            [endpoint],
        )
        pending, rows = cursor.fetchone()
        cursor.execute(
            f"SELECT count(*) FROM {g} AS gc WHERE gc.grade IN ('warm', 'hot')"
            f" AND NOT EXISTS (SELECT 1 FROM {d} AS x WHERE x.grade_change_id = gc.id"
            " AND x.endpoint_id = %s)",
            [endpoint],
        )
        (changes_without_row,) = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM {lead_t}")
        (leads,) = cursor.fetchone()
    return {
        "pending": int(pending),
        "rows": int(rows),
        "changes_without_row": int(changes_without_row),
        "score_pending": ScorePending.objects.count(),
        "leads": int(leads),
    }


def check_events(accepted: list[str]) -> dict[str, int]:
    from django.db import connection

    from profiling.models import Event

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, count(*) FROM {Event._meta.db_table}"
            " WHERE id = ANY(%s::uuid[]) GROUP BY id",
            [accepted],
        )
        counts = {str(i): int(n) for i, n in cursor.fetchall()}
    return {
        "accepted": len(accepted),
        "distinct_accepted": len(set(accepted)),
        "stored": len(counts),
        "missing": len(set(accepted) - set(counts)),
        "stored_twice": sum(1 for n in counts.values() if n > 1),
    }


def check_deliveries(endpoint: int, receiver: Receiver) -> dict[str, Any]:
    from django.db import connection

    from profiling.models import Delivery, GradeChange

    d, g = Delivery._meta.db_table, GradeChange._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT gc.id, gc.grade, count(x.id), array_agg(x.id),"
            " array_agg(x.status), max(x.attempts)"
            f" FROM {g} AS gc LEFT JOIN {d} AS x"
            " ON x.grade_change_id = gc.id AND x.endpoint_id = %s"
            " WHERE gc.grade IN ('warm', 'hot') GROUP BY gc.id, gc.grade",
            [endpoint],
        )
        rows = cursor.fetchall()
    with receiver.lock:
        seen = dict(receiver.ok)
        failed_answers = receiver.failed
    no_row = sum(1 for r in rows if r[2] == 0)
    many_rows = sum(1 for r in rows if r[2] > 1)
    not_succeeded = 0
    not_on_wire = 0
    wire = 0
    duplicates = 0
    retried = 0
    for _, _, n, ids, statuses, attempts in rows:
        if n == 0:
            continue
        if any(s != "succeeded" for s in statuses):
            not_succeeded += 1
        if attempts and attempts > 1:
            retried += 1
        for i in ids:
            times = seen.get(f"msg_{i.hex}", 0)
            if times == 0:
                not_on_wire += 1
            wire += times
            duplicates += max(0, times - 1)
    by_grade = Counter(r[1] for r in rows)
    return {
        "changes": len(rows),
        "warm": by_grade.get("warm", 0),
        "hot": by_grade.get("hot", 0),
        "no_row": no_row,
        "many_rows": many_rows,
        "not_succeeded": not_succeeded,
        "not_on_wire": not_on_wire,
        "wire_2xx": wire,
        "wire_duplicates": duplicates,
        "wire_500": failed_answers,
        "retried_rows": retried,
    }


def check_hot(journeys: list[dict[str, Any]]) -> dict[str, int]:
    from profiling.models import GradeChange, Lead

    hot = [j for j in journeys if j["hot"] and j["lead"]]
    leads = [j["lead"] for j in hot]
    grades = dict(Lead.objects.filter(pk__in=leads).values_list("pk", "grade"))
    with_change = set(
        str(x)
        for x in GradeChange.objects.filter(lead_id__in=leads, grade="hot").values_list(
            "lead_id", flat=True
        )
    )
    return {
        "journeys": len(journeys),
        "opted_in": sum(1 for j in journeys if j["lead"]),
        "hot_triggers_accepted": len(hot),
        "not_hot": sum(1 for lead in leads if str(grades.get(_uuid(lead), "")) != "hot"),
        "no_hot_change": sum(1 for lead in leads if lead not in with_change),
    }


def check_scores() -> dict[str, int]:
    """Leads whose stored score or grade is not what scoring their stored events gives now:
    events that scoring never saw (a score task lost with no mark left to find it)."""
    from profiling.models import Lead
    from profiling.services.scoring import lead_score_compute

    stale = 0
    leads = list(Lead.objects.values_list("pk", "score", "grade"))
    for pk, score, grade in leads:
        result = lead_score_compute(pk)
        if (result.score, result.grade) != (score, grade):
            stale += 1
    return {"leads": len(leads), "stale": stale}


def _uuid(text: str) -> Any:
    import uuid

    return uuid.UUID(text)
