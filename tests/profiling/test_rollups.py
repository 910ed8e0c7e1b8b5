"""The dashboard's daily rollups: what each write path changes reaches them through the
fold (beat task), refolding is idempotent, and a rebuild gives the same rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from config.celery import app
from forms_app.models import Submission
from profiling import tasks
from profiling.models import (
    DailyGateStats,
    DailyLeadStats,
    DailyTimingStats,
    GradeChange,
    Lead,
    RollupDirtyDay,
    RollupState,
)
from profiling.selectors.cohort import timing_bucket
from profiling.services.identity.merge import leads_merge
from profiling.services.leads import lead_erase
from profiling.services.rollups import rollups_fold, rollups_rebuild
from tests.support.factories import make_event, make_gate, make_lead, make_visitor

pytestmark = pytest.mark.django_db


def _ago(days: int, hour: int = 10) -> datetime:
    day = timezone.localdate() - timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=hour)


def _lead(days_ago: int, **fields: Any) -> Lead:
    lead = make_lead(**fields)
    Lead.objects.filter(pk=lead.pk).update(created_at=_ago(days_ago))
    lead.refresh_from_db()
    return lead


def _leads(day: date) -> dict[tuple[str, int], int]:
    """{(src, reached): leads} on `day`."""
    out: dict[tuple[str, int], int] = {}
    for r in DailyLeadStats.objects.filter(day=day):
        out[(r.src, r.reached)] = out.get((r.src, r.reached), 0) + r.leads
    return out


def _gates(day: date) -> dict[int, tuple[int, int, int]]:
    return {
        r.gate_id: (r.page_views, r.form_views, r.submissions)
        for r in DailyGateStats.objects.filter(day=day)
    }


def _rows() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    fields = ("day", "gate_id", "src", "med", "host", "campaign", "reached", "leads")
    return (
        sorted(DailyLeadStats.objects.values_list(*fields)),
        sorted(
            DailyGateStats.objects.values_list(
                "day", "gate_id", "page_views", "form_views", "submissions"
            )
        ),
    )


def _day(days_ago: int) -> date:
    return timezone.localdate() - timedelta(days=days_ago)


def test_first_fold_takes_all_history_up_to_now() -> None:
    gate = make_gate(slug="g")
    _lead(2, utm_source="LinkedIn", first_gate=gate)
    _lead(2, referrer="https://t.co/x", utm_campaign="Spring")
    make_lead(utm_source="today")
    assert rollups_fold() == 3  # two days ago, yesterday (empty) and today up to now
    rows = {
        (r.gate_id, r.src, r.host, r.campaign, r.reached): r.leads
        for r in DailyLeadStats.objects.all()
    }
    assert rows == {
        (gate.id, "linkedin", "", "", 0): 1,
        (0, "", "t.co", "Spring", 0): 1,
        (0, "today", "", "", 0): 1,
    }
    assert RollupState.objects.get().folded_at.date() == timezone.localdate()


def test_a_submission_is_folded_by_the_next_run() -> None:
    gate = make_gate(slug="g")
    rollups_fold()
    lead = make_lead(first_gate=gate, utm_source="newsletter")
    Submission.objects.create(gate=gate, lead=lead)
    make_event(visitor=make_visitor(lead=lead), type="form_view", gate=gate)
    assert not DailyGateStats.objects.exists()  # read live until the next fold
    rollups_fold()
    assert _gates(timezone.localdate()) == {gate.id: (0, 1, 1)}
    assert _leads(timezone.localdate()) == {("newsletter", 0): 1}
    # A submission stamped before a fold but committed after it (a slow transaction):
    # the next run refolds the day of the previous one.
    late = Submission.objects.create(gate=gate, lead=lead)
    Submission.objects.filter(pk=late.pk).update(
        created_at=RollupState.objects.get().folded_at - timedelta(seconds=1)
    )
    rollups_fold()
    assert _gates(timezone.localdate()) == {gate.id: (0, 1, 2)}


def test_a_grade_change_refolds_the_day_the_lead_came() -> None:
    lead = _lead(5, utm_source="linkedin")
    rollups_fold()
    assert _leads(_day(5)) == {("linkedin", 0): 1}
    # Scoring: the grade and its change, in one write (as lead_score records them).
    Lead.objects.filter(pk=lead.pk).update(grade="hot")
    GradeChange.objects.create(lead=lead, previous_grade="cold", grade="hot", score=90)
    rollups_fold()
    assert _leads(_day(5)) == {("linkedin", 2): 1}
    # Time to hot (and warm): from its creation (no visit recorded) to now, in the
    # histogram bucket of that many seconds.
    seconds = (timezone.now() - lead.created_at).total_seconds()
    timing = {(r.grade, r.leads): r.bucket for r in DailyTimingStats.objects.filter(day=_day(5))}
    assert set(timing) == {("warm", 1), ("hot", 1)}
    assert abs(timing["hot", 1] - timing_bucket(seconds)) <= 1
    # Cooling down does not lower the best grade reached.
    Lead.objects.filter(pk=lead.pk).update(grade="cold")
    GradeChange.objects.create(lead=lead, previous_grade="hot", grade="cold", score=0)
    rollups_fold()
    assert _leads(_day(5)) == {("linkedin", 2): 1}


def test_a_late_event_is_folded_into_the_day_it_occurred() -> None:
    gate = make_gate(slug="g")
    visitor = make_visitor()
    make_event(visitor=visitor, type="page_view", gate=gate, occurred_at=_ago(3))
    rollups_fold()
    assert _gates(_day(3)) == {gate.id: (1, 0, 0)}
    # Received now, occurred three days ago (a tracker's offline queue): the next fold
    # recounts that day, without anything done at ingest.
    make_event(visitor=visitor, type="page_view", gate=gate, occurred_at=_ago(3, 11))
    make_event(visitor=visitor, type="form_view", gate=gate, occurred_at=_ago(3, 12))
    make_event(visitor=visitor, type="section_view", gate=gate, occurred_at=_ago(3, 12))
    rollups_fold()
    assert _gates(_day(3)) == {gate.id: (2, 1, 0)}


def test_erasure_and_merge_mark_their_days_for_the_fold() -> None:
    gate = make_gate(slug="g")
    erased = _lead(4, utm_source="linkedin", first_gate=gate)
    sub = Submission.objects.create(gate=gate, lead=erased)
    Submission.objects.filter(pk=sub.pk).update(created_at=_ago(4))
    winner = _lead(6, utm_source="google", email="same@example.com")
    loser = _lead(3, utm_source="bing", email="same2@example.com")
    rollups_fold()
    assert _gates(_day(4)) == {gate.id: (0, 0, 1)}
    assert _leads(_day(4)) == {("linkedin", 0): 1}
    assert _leads(_day(3)) == {("bing", 0): 1}

    lead_erase(lead=erased)
    leads_merge(lead_ids=[winner.id, loser.id])
    assert set(RollupDirtyDay.objects.values_list("day", flat=True)) == {
        _day(4),
        _day(6),
        _day(3),
    }
    rollups_fold()
    assert _gates(_day(4)) == {}
    assert _leads(_day(4)) == {}
    assert _leads(_day(3)) == {}  # the loser is no lead of its own any more
    assert _leads(_day(6)) == {("google", 0): 1}
    assert not RollupDirtyDay.objects.exists()


def test_refolding_is_idempotent_and_equals_a_rebuild() -> None:
    gates = [make_gate(slug=f"g{i}") for i in range(2)]
    for ago in (1, 2, 8, 30):
        for i, src in enumerate(("linkedin", "", "google")):
            lead = _lead(ago, utm_source=src, first_gate=gates[i % 2], grade="warm")
            make_event(
                visitor=make_visitor(lead=lead),
                type="page_view",
                gate=gates[i % 2],
                occurred_at=_ago(ago),
            )
    rollups_fold()
    first = _rows()
    assert first[0]
    assert first[1]
    rollups_fold()
    rollups_fold(now=timezone.now() + timedelta(seconds=1))
    assert _rows() == first
    rollups_rebuild()
    assert _rows() == first


def test_the_command_rebuilds_and_folds(capsys: pytest.CaptureFixture[str]) -> None:
    _lead(2, utm_source="linkedin")
    call_command("rollups", "--rebuild")
    assert "Rebuilt 3 day(s)." in capsys.readouterr().out
    assert _leads(_day(2)) == {("linkedin", 0): 1}
    DailyLeadStats.objects.all().delete()  # lost rows: only a rebuild brings them back
    call_command("rollups")
    assert "Folded" in capsys.readouterr().out
    assert _leads(_day(2)) == {}
    call_command("rollups", "--rebuild")
    assert _leads(_day(2)) == {("linkedin", 0): 1}


def test_beat_runs_the_fold_every_minute() -> None:
    entry = app.conf.beat_schedule["rollups-fold"]
    assert entry == {"task": "profiling.tasks.rollups_fold", "schedule": 60.0}
    _lead(1, utm_source="linkedin")
    assert tasks.rollups_fold.apply().get() == 2
    assert _leads(_day(1)) == {("linkedin", 0): 1}


def _plan(sql: str, params: list[Any]) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        # Tiny test tables: without this the planner rightly prefers a sequential scan.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_fold_and_the_failure_count_read_through_their_indexes() -> None:
    from profiling.models import Delivery

    since = timezone.now() - timedelta(minutes=15)
    changes = GradeChange.objects.filter(created_at__gte=since, grade__in=("warm", "hot"))
    sql, params = changes.values_list("lead_id").query.sql_with_params()
    assert "gradechange_created" in _plan(sql, list(params))
    failed = Delivery.objects.filter(
        endpoint_id=1, status="failed", created_at__gte=since, created_at__lt=timezone.now()
    )
    sql, params = failed.values_list("id").query.sql_with_params()
    assert "delivery_endpoint_failed" in _plan(sql, list(params))


def test_a_fold_while_another_runs_leaves_it_alone() -> None:
    import psycopg
    from django.db import connection

    from profiling.services.rollups import FOLD_LOCK

    _lead(1, utm_source="linkedin")
    s = connection.settings_dict
    with psycopg.connect(
        dbname=s["NAME"], user=s["USER"], host=s["HOST"], port=s["PORT"], password=s["PASSWORD"]
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [FOLD_LOCK])
        assert rollups_fold() == 0
        assert not RollupState.objects.exists()
        other.execute("SELECT pg_advisory_unlock(%s)", [FOLD_LOCK])
    assert rollups_fold() == 2
