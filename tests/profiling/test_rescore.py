"""Full rescore: set-based SQL, progress, push only when asked, decay re-grade, locking."""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone

from config.celery import app as celery_app
from profiling.models import Delivery, GradeChange, Lead, ScorePending, ScoringRule
from profiling.services.rescore import (
    leads_regrade_decayed,
    leads_rescore,
    leads_rescore_python,
    rescore_status,
)
from profiling.services.scoring import lead_score, lead_score_compute
from tests.support.factories import (
    make_endpoint,
    make_event,
    make_gate,
    make_lead,
    make_marketer,
    make_rule,
    make_visitor,
    set_thresholds,
)
from tests.support.waiting import wait_for

HOOK = "http://127.0.0.1:9/unused"


@pytest.fixture
def gate(db: None) -> Any:
    set_thresholds(warm=30, hot=80)
    return make_gate(sections=6, files=("network-map",))


def _reader(gate: Any, n: int, *, age: timedelta = timedelta(0), **lead_fields: Any) -> Lead:
    lead = make_lead(**lead_fields)
    visitor = make_visitor(lead=lead)
    at = timezone.now() - age
    for i in range(n):
        make_event(
            visitor=visitor,
            gate=gate,
            section_key=f"section-{i + 1}",
            duration_ms=9000,
            occurred_at=at,
            received_at=at,
        )
    return lead


@pytest.mark.django_db
def test_rescore_regrades_records_and_reports_progress_without_pushing(gate) -> None:
    make_endpoint(url=HOOK, grades=["warm", "hot"])
    readers = [_reader(gate, 4) for _ in range(5)]
    skimmer = _reader(gate, 1)
    make_rule(gate=gate, points=10, name="read")
    seen: list[tuple[int, int]] = []
    result = leads_rescore(chunk_size=2, progress=lambda d, t: seen.append((d, t)))
    assert (result.leads, result.updated, result.grade_changes, result.pushed) == (6, 6, 5, 0)
    # progress: starts at 0, one report per chunk, never goes back, ends at the total
    assert seen[0] == (0, 6)
    assert seen[-1] == (6, 6)
    assert len(seen) == 1 + 3  # 6 leads in chunks of 2: three chunks, none empty
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    for lead in readers:
        lead.refresh_from_db()
        assert (lead.score, lead.grade) == (40, "warm")
        assert lead.reasons == [f"read 4 of 6 sections of {gate.slug}, 36 s [read: +40]"]
        change = GradeChange.objects.get(lead=lead)
        assert (change.previous_grade, change.grade, change.score) == ("cold", "warm", 40)
        assert change.triggered_at is not None
    skimmer.refresh_from_db()
    assert (skimmer.score, skimmer.grade) == (10, "cold")
    assert not GradeChange.objects.filter(lead=skimmer).exists()
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_a_second_rescore_writes_nothing(gate) -> None:
    make_rule(gate=gate, points=10)
    lead = _reader(gate, 4)
    leads_rescore()
    lead.refresh_from_db()
    first_scored_at = lead.scored_at
    again = leads_rescore()
    assert (again.leads, again.updated, again.grade_changes) == (1, 0, 0)
    lead.refresh_from_db()
    assert lead.scored_at == first_scored_at
    assert GradeChange.objects.filter(lead=lead).count() == 1


@pytest.mark.django_db
def test_push_delivers_the_changes_to_subscribed_endpoints_only(gate) -> None:
    warm_hook = make_endpoint(url=HOOK, grades=["warm"])
    make_endpoint(url=HOOK, grades=["hot"])
    reader = _reader(gate, 4)
    quiet = _reader(gate, 4, do_not_contact=True)
    make_rule(gate=gate, points=10)
    result = leads_rescore(push=True)
    assert (result.grade_changes, result.pushed) == (2, 1)
    delivery = Delivery.objects.get()
    assert (delivery.endpoint_id, delivery.lead_id) == (warm_hook.id, reader.id)
    assert delivery.payload["data"]["previous_grade"] == "cold"
    assert not Delivery.objects.filter(lead=quiet).exists()


@pytest.mark.django_db
def test_erased_leads_are_left_alone(gate) -> None:
    make_rule(gate=gate, points=10)
    erased = _reader(gate, 4, erased_at=timezone.now())
    result = leads_rescore()
    assert result.leads == 0
    erased.refresh_from_db()
    assert (erased.score, erased.grade) == (0, "cold")


@pytest.mark.django_db
def test_profile_rules_count_in_the_full_rescore(gate) -> None:
    make_rule(event_type="profile", profile_condition="disposable_email", points=-20, name="burner")
    make_rule(event_type="profile", profile_condition="company_domain", points=10, name="company")
    make_rule(gate=gate, points=10, name="read")
    burner = _reader(gate, 4, email="x@mailinator.com", company_domain="", is_disposable_email=True)
    company = _reader(gate, 3, email="y@acme-fibre.example", company_domain="acme-fibre.example")
    leads_rescore()
    burner.refresh_from_db()
    company.refresh_from_db()
    assert (burner.score, burner.grade) == (20, "cold")
    assert burner.reasons[1] == "uses a disposable email address [burner: -20]"
    assert (company.score, company.grade) == (40, "warm")
    assert "company domain acme-fibre.example [company: +10]" in company.reasons


@pytest.mark.django_db
def test_the_sql_rescore_and_the_python_loop_agree(gate) -> None:
    set_thresholds(warm=30, hot=80, half_life_days=7)
    make_rule(gate=gate, points=10, max_points=35, name="read")
    make_rule(event_type="download", points=50, makes_hot=True, name="map")
    leads = [_reader(gate, n, age=timedelta(days=n)) for n in range(6)]
    make_event(visitor=leads[2].visitors.get(), gate=gate, type="download", file_key="network-map")
    leads_rescore()
    by_sql = {lead.id: (lead.score, lead.grade, lead.reasons) for lead in Lead.objects.all()}
    Lead.objects.update(score=0, grade="cold", reasons=[])
    GradeChange.objects.all().delete()
    result = leads_rescore_python()
    assert result.leads == 6
    by_python = {lead.id: (lead.score, lead.grade, lead.reasons) for lead in Lead.objects.all()}
    assert by_sql == by_python
    assert by_sql[leads[2].id][1] == "hot"


# --- decay -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_decay_regrade_records_and_pushes_a_drop(gate) -> None:
    make_rule(gate=gate, points=10, name="read")
    cold_hook = make_endpoint(url=HOOK, grades=["cold"])
    hot_hook = make_endpoint(url=HOOK, grades=["hot"])
    lead = _reader(gate, 4, age=timedelta(days=10))
    assert lead_score(lead_id=lead.id).grade == "warm"  # type: ignore[union-attr]
    assert leads_regrade_decayed() is None  # no half-life: nothing can decay
    set_thresholds(warm=30, hot=80, half_life_days=7)  # 40 * 0.5^(10/7) = 14.9
    result = leads_regrade_decayed()
    assert result is not None
    assert (result.grade_changes, result.pushed) == (1, 1)
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (15, "cold")
    drop = Delivery.objects.get()
    assert drop.endpoint_id == cold_hook.id
    assert (drop.payload["data"]["previous_grade"], drop.payload["data"]["grade"]) == (
        "warm",
        "cold",
    )
    assert not Delivery.objects.filter(endpoint=hot_hook).exists()
    assert rescore_status()["reason"] == "decay"  # type: ignore[index]


def test_beat_runs_the_decay_regrade_hourly() -> None:
    entry = celery_app.conf.beat_schedule["scores-decay"]
    assert entry["task"] == "profiling.tasks.leads_regrade_decayed"
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] <= 3600


# --- locking against incremental scoring -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_rescore_waits_for_a_scoring_lead_and_sees_its_committed_grade(gate) -> None:
    rule = make_rule(gate=gate, points=10, name="read")
    lead = _reader(gate, 4)
    expected = lead_score_compute(lead.id)
    outcome: dict[str, Any] = {}

    def rescore() -> None:
        try:
            outcome["result"] = leads_rescore()
        except Exception as exc:  # pragma: no cover - reported below
            outcome["error"] = exc
        finally:
            connections.close_all()

    with transaction.atomic():
        # What lead_score does: lock the row, then write the grade and its change.
        Lead.objects.select_for_update().get(pk=lead.id)
        worker = threading.Thread(target=rescore)
        worker.start()

        def rescore_is_blocked() -> bool:
            with connections["default"].cursor() as c:
                # Activity stats are a per-transaction snapshot: refresh it each time.
                c.execute("SELECT pg_stat_clear_snapshot()")
                c.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE %s",
                    ["%FOR UPDATE%"],
                )
                return bool(c.fetchone()[0])

        wait_for(rescore_is_blocked, timeout=10, message="the rescore never waited for the lock")
        Lead.objects.filter(pk=lead.id).update(
            score=expected.score, grade=expected.grade, reasons=expected.reasons
        )
        GradeChange.objects.create(
            lead=lead, previous_grade="cold", grade="warm", score=40, reasons=expected.reasons
        )
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert "error" not in outcome, outcome.get("error")
    # The rescore read the grade after taking the lock: warm -> warm is no change.
    assert outcome["result"].grade_changes == 0
    assert GradeChange.objects.filter(lead=lead).count() == 1
    rule.delete()


@pytest.mark.django_db(transaction=True)
def test_rescore_splits_the_leads_between_parallel_sessions(gate) -> None:
    make_rule(gate=gate, points=10, name="read")
    leads = [_reader(gate, 1 + i % 4) for i in range(9)]
    expected = {lead.id: lead_score_compute(lead.id) for lead in leads}
    threads: set[str] = set()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        threads.add(threading.current_thread().name)
        seen.append(done)

    result = leads_rescore(chunk_size=2, progress=progress, sessions=2)
    # Two sessions on their own threads (and connections), chunks of at most 2 leads.
    assert {"rescore_0", "rescore_1"} <= threads
    assert (result.leads, result.updated) == (9, 9)
    assert result.grade_changes == sum(1 for e in expected.values() if e.grade != "cold")
    assert seen[-1] == 9
    assert seen == sorted(seen)
    assert len(seen) >= 1 + 5  # the start, then at least one report per chunk
    for lead in Lead.objects.filter(id__in=expected):
        want = expected[lead.id]
        assert (lead.score, lead.grade, lead.reasons) == (want.score, want.grade, want.reasons)
    assert GradeChange.objects.filter(lead__in=leads).count() == result.grade_changes


@pytest.mark.django_db
def test_rescore_inside_a_transaction_stays_on_its_connection(gate) -> None:
    # Other sessions could not see this (test) transaction's rows: one session only.
    make_rule(gate=gate, points=10, name="read")
    lead = _reader(gate, 4)
    threads: set[str] = set()
    result = leads_rescore(
        chunk_size=1, sessions=4, progress=lambda d, t: threads.add(threading.current_thread().name)
    )
    assert threads == {threading.current_thread().name}
    assert result.leads == 1
    lead.refresh_from_db()
    assert lead.grade == lead_score_compute(lead.id).grade == "warm"


# --- API, task, command ------------------------------------------------------------------


@pytest.fixture
def api(db: None) -> tuple[Client, dict[str, str]]:
    marketer = make_marketer()
    return Client(raise_request_exception=False), {"HTTP_AUTHORIZATION": f"Token {marketer.token}"}


@pytest.mark.django_db
def test_rule_write_with_push_delivers_the_changes(
    gate, api, django_capture_on_commit_callbacks
) -> None:
    client, auth = api
    make_endpoint(url=HOOK, grades=["warm"])
    reader = _reader(gate, 4)
    body = {"name": "read", "event_type": "section_view", "gate": gate.slug, "points": 10}
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/api/v1/scoring-rules/?push=true",
            json.dumps(body),
            content_type="application/json",
            **auth,
        )
    assert r.status_code == 201, r.content
    assert Delivery.objects.get().lead_id == reader.id


@pytest.mark.django_db
def test_rule_write_without_push_records_only(
    gate, api, django_capture_on_commit_callbacks
) -> None:
    client, auth = api
    make_endpoint(url=HOOK, grades=["warm"])
    reader = _reader(gate, 4)
    body = {"name": "read", "event_type": "section_view", "gate": gate.slug, "points": 10}
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/api/v1/scoring-rules/", json.dumps(body), content_type="application/json", **auth
        )
    assert r.status_code == 201
    reader.refresh_from_db()
    assert reader.grade == "warm"
    assert GradeChange.objects.filter(lead=reader).count() == 1
    assert not Delivery.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["maybe", "2", "true;drop", "%00"])
def test_bad_push_parameter_is_refused_and_changes_nothing(gate, api, value) -> None:
    client, auth = api
    body = {"name": "read", "event_type": "section_view", "points": 10}
    r = client.post(
        f"/api/v1/scoring-rules/?push={value}",
        json.dumps(body),
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 400
    assert r.json() == {"errors": {"push": ["Use push=true or push=false."]}}
    assert not ScoringRule.objects.exists()


@pytest.mark.django_db
def test_rescore_api_queues_a_run_and_reports_progress(
    gate, api, django_capture_on_commit_callbacks
) -> None:
    client, auth = api
    make_rule(gate=gate, points=10)
    _reader(gate, 4)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/api/v1/scoring-rules/rescore",
            json.dumps({"push": False}),
            content_type="application/json",
            **auth,
        )
    assert r.status_code == 202
    assert r.json() == {"queued": True, "push": False}
    status = client.get("/api/v1/scoring-rules/rescore", **auth).json()
    assert status["state"] == "finished"
    assert status["done"] == status["total"] >= 1
    assert status["grade_changes"] >= 1
    for bad in ({"push": "perhaps"}, {"push": [1]}, "not json"):
        r = client.post(
            "/api/v1/scoring-rules/rescore",
            bad if isinstance(bad, str) else json.dumps(bad),
            content_type="application/json",
            **auth,
        )
        assert r.status_code == 400
        assert "errors" in r.json()
    assert client.get("/api/v1/scoring-rules/rescore").status_code in (401, 403)


@pytest.mark.django_db
def test_the_rescore_task_runs_by_name(gate) -> None:
    make_rule(gate=gate, points=10)
    lead = _reader(gate, 4)
    celery_app.tasks["profiling.tasks.leads_rescore"].apply(args=(False,)).get()
    lead.refresh_from_db()
    assert lead.grade == "warm"


@pytest.mark.django_db
def test_management_command_shows_a_progress_bar(gate) -> None:
    make_rule(gate=gate, points=10)
    for _ in range(3):
        _reader(gate, 4)
    out = io.StringIO()
    call_command("rescore", stdout=out)
    text = out.getvalue()
    assert "[" + "#" * 30 + "] 100.0%" in text
    assert "3/3 leads" in text
    assert "3 leads scored" in text
    assert "3 grade changes (not pushed)" in text


@pytest.mark.django_db
def test_a_lead_scored_after_the_rescore_began_keeps_its_newer_result(gate) -> None:
    make_rule(gate=gate, points=10)
    newer = _reader(gate, 4)
    older = _reader(gate, 4)
    # lead_score stamped it after this rescore started (its events may be newer than
    # what the rescore read): the rescore must not overwrite it
    Lead.objects.filter(pk=newer.id).update(scored_at=timezone.now() + timedelta(hours=1))
    result = leads_rescore()
    assert result.leads == 2
    assert result.updated == 1
    newer.refresh_from_db()
    older.refresh_from_db()
    assert (newer.grade, older.grade) == ("cold", "warm")


def _ctid(lead: Lead) -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT ctid::text FROM profiling_lead WHERE id = %s", [lead.id])
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_a_lead_whose_row_moved_after_it_was_scored_is_still_written(gate, monkeypatch) -> None:
    # Phase 2 takes the leads in the order of their rows on disk as phase 1 saw them,
    # then reads and writes each locked row at the address the lock returned: a row that
    # another write moved in between (a new version, elsewhere) is found by its id.
    from profiling.services.rescore import set_based

    make_rule(gate=gate, points=10, name="read")
    leads = [_reader(gate, 4) for _ in range(3)]
    mover = leads[1]
    before = _ctid(mover)
    chunk_params = set_based._chunk_params

    def edit_between_the_phases(*args: Any) -> dict[str, Any]:
        Lead.objects.filter(pk=mover.id).update(name="Renamed between the phases")
        return chunk_params(*args)

    monkeypatch.setattr(set_based, "_chunk_params", edit_between_the_phases)
    result = leads_rescore(chunk_size=10)
    assert _ctid(mover) != before  # the row did move (two new versions: edit, rescore)
    assert (result.leads, result.updated, result.grade_changes) == (3, 3, 3)
    for lead in leads:
        lead.refresh_from_db()
        assert (lead.score, lead.grade) == (40, "warm")
    assert mover.name == "Renamed between the phases"
    assert GradeChange.objects.filter(lead=mover, grade="warm").count() == 1


@pytest.mark.django_db
def test_the_leads_are_cut_into_sessions_and_slices_covering_each_once(gate) -> None:
    from profiling.services.rescore.set_based import _session_runs

    ids = sorted(str(_reader(gate, 1).id) for _ in range(9))
    Lead.objects.filter(pk=ids[4]).update(erased_at=timezone.now())  # not counted
    live = [i for i in ids if i != ids[4]]
    total, runs = _session_runs(2, 2)
    assert total == 8
    assert len(runs) == 2  # two sessions of four leads, each in slices of two

    def within(lo: str | None, hi: str | None) -> list[str]:
        return [i for i in live if (lo is None or i > lo) and (hi is None or i <= hi)]

    slices = [bound for run in runs for bound in run]
    assert [len(within(lo, hi)) for lo, hi in slices] == [2, 2, 2, 2]
    assert sorted(i for lo, hi in slices for i in within(lo, hi)) == live
    assert slices[0][0] is None
    assert slices[-1][1] is None
    # With fewer leads than a slice, one range of everything.
    assert _session_runs(100, 1) == (8, [[(None, None)]])


@pytest.mark.django_db
def test_a_lead_with_events_scoring_has_not_seen_is_left_to_its_score_task(gate) -> None:
    # A rescore after a rule edit records its grade changes without delivering them; a
    # lead whose new events (a hot download) wait for their score task is that task's:
    # it makes the change, and delivers it.
    make_endpoint(url=HOOK, grades=["warm", "hot"])
    make_rule(gate=gate, points=10, name="read")
    waiting = _reader(gate, 4)
    settled = _reader(gate, 4)
    ScorePending.objects.create(lead=waiting, since=timezone.now())
    result = leads_rescore(push=False)
    assert (result.leads, result.updated, result.grade_changes) == (2, 1, 1)
    waiting.refresh_from_db()
    settled.refresh_from_db()
    assert (waiting.grade, settled.grade) == ("cold", "warm")
    assert not GradeChange.objects.filter(lead=waiting).exists()
    change = lead_score(lead_id=waiting.id, push=True)
    assert change is not None
    assert (change.previous_grade, change.grade) == ("cold", "warm")
    assert Delivery.objects.filter(grade_change=change).count() == 1
