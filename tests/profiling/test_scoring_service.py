"""lead_score: load facts, run the engine, record grade changes, create deliveries."""

from __future__ import annotations

import pytest

from profiling.models import Delivery, EventType, GradeChange, Lead
from profiling.services.rescore import leads_rescore
from profiling.services.scoring import lead_score, lead_score_compute
from tests.support.crm import CrmReceiver
from tests.support.factories import (
    make_endpoint,
    make_event,
    make_gate,
    make_lead,
    make_rule,
    make_visitor,
    set_thresholds,
)

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/unused"


@pytest.fixture
def gate():
    set_thresholds(warm=30, hot=80)
    return make_gate(sections=6, files=("network-map",))


def _lead_with_reads(gate, n: int, **lead_fields) -> Lead:
    lead = make_lead(**lead_fields)
    visitor = make_visitor(lead=lead)
    for i in range(n):
        make_event(visitor=visitor, gate=gate, section_key=f"section-{i + 1}", duration_ms=9000)
    return lead


def test_score_grade_and_reasons_are_written(gate) -> None:
    make_rule(gate=gate, points=10, name="read")
    lead = _lead_with_reads(gate, 4)
    change = lead_score(lead_id=lead.id)
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (40, "warm")
    assert lead.reasons == [f"read 4 of 6 sections of {gate.slug}, 36 s [read: +40]"]
    assert lead.scored_at is not None
    assert change is not None
    assert (change.previous_grade, change.grade, change.score) == ("cold", "warm", 40)
    assert change.reasons == lead.reasons
    assert change.triggered_at is not None


def test_grade_change_recorded_once(gate) -> None:
    make_rule(gate=gate, points=10)
    lead = _lead_with_reads(gate, 4)
    assert lead_score(lead_id=lead.id) is not None
    assert lead_score(lead_id=lead.id) is None
    assert lead_score(lead_id=str(lead.id)) is None
    assert GradeChange.objects.filter(lead=lead).count() == 1


def test_deliveries_only_for_endpoints_that_subscribe_to_the_new_grade(gate) -> None:
    make_rule(gate=gate, points=10)
    warm_hook = make_endpoint(url=HOOK, grades=["warm", "hot"])
    hot_hook = make_endpoint(url=HOOK, grades=["hot"])
    inactive = make_endpoint(url=HOOK, grades=["warm"], is_active=False)
    lead = _lead_with_reads(gate, 4)
    change = lead_score(lead_id=lead.id)
    deliveries = Delivery.objects.filter(grade_change=change)
    assert [d.endpoint_id for d in deliveries] == [warm_hook.id]
    assert not Delivery.objects.filter(endpoint__in=[hot_hook, inactive]).exists()
    delivery = deliveries.get()
    assert delivery.status == "pending"
    assert delivery.payload["data"]["grade"] == "warm"
    assert delivery.payload["data"]["previous_grade"] == "cold"
    assert delivery.payload["data"]["lead"]["email"] == lead.email
    assert delivery.payload["type"] == "lead.grade_changed"


def test_a_drop_is_recorded_and_pushed_only_to_endpoints_subscribed_to_the_new_grade(
    gate,
) -> None:
    rule = make_rule(gate=gate, points=10)
    cold_hook = make_endpoint(url=HOOK, grades=["cold"])
    warm_hook = make_endpoint(url=HOOK, grades=["warm", "hot"])
    lead = _lead_with_reads(gate, 4)
    rise = lead_score(lead_id=lead.id)
    assert [d.endpoint_id for d in Delivery.objects.filter(grade_change=rise)] == [warm_hook.id]
    rule.delete()
    change = lead_score(lead_id=lead.id)
    assert change is not None
    assert (change.previous_grade, change.grade) == ("warm", "cold")
    drop = Delivery.objects.get(grade_change=change)
    assert drop.endpoint_id == cold_hook.id
    assert drop.payload["data"]["grade"] == "cold"
    assert drop.payload["data"]["previous_grade"] == "warm"
    assert Delivery.objects.filter(lead=lead).count() == 2


def test_a_drop_is_not_pushed_to_the_default_hot_subscription(gate) -> None:
    rule = make_rule(gate=gate, points=25)
    hot_hook = make_endpoint(url=HOOK)  # default grades: ["hot"]
    lead = _lead_with_reads(gate, 4)
    assert lead_score(lead_id=lead.id).grade == "hot"  # type: ignore[union-attr]
    rule.points = 10
    rule.save()
    change = lead_score(lead_id=lead.id)
    assert change is not None
    assert (change.previous_grade, change.grade) == ("hot", "warm")
    assert not Delivery.objects.filter(grade_change=change).exists()
    assert Delivery.objects.filter(endpoint=hot_hook).count() == 1


def test_do_not_contact_is_never_pushed(gate) -> None:
    make_rule(gate=gate, points=10)
    make_endpoint(url=HOOK, grades=["warm", "hot"])
    lead = _lead_with_reads(gate, 4, do_not_contact=True)
    change = lead_score(lead_id=lead.id)
    assert change is not None
    assert change.grade == "warm"
    assert not Delivery.objects.filter(lead=lead).exists()


def test_push_false_records_the_change_without_deliveries(gate) -> None:
    make_rule(gate=gate, points=10)
    make_endpoint(url=HOOK, grades=["warm", "hot"])
    lead = _lead_with_reads(gate, 4)
    change = lead_score(lead_id=lead.id, push=False)
    assert change is not None
    assert not Delivery.objects.filter(lead=lead).exists()
    # a later real push for the same grade does not happen either: the grade is unchanged
    assert lead_score(lead_id=lead.id) is None
    assert not Delivery.objects.filter(lead=lead).exists()


def test_makes_hot_rule_pushes_hot(gate) -> None:
    make_rule(
        gate=gate,
        event_type=EventType.DOWNLOAD,
        points=5,
        file_key="network-map",
        makes_hot=True,
    )
    hook = make_endpoint(url=HOOK, grades=["hot"])
    lead = make_lead()
    make_event(
        visitor=make_visitor(lead=lead),
        gate=gate,
        type=EventType.DOWNLOAD,
        file_key="network-map",
    )
    change = lead_score(lead_id=lead.id)
    assert change is not None
    assert (change.grade, change.score) == ("hot", 5)
    delivery = Delivery.objects.get(lead=lead)
    assert delivery.endpoint_id == hook.id
    assert any(r.startswith("downloaded network-map") for r in delivery.payload["data"]["reasons"])


def test_erased_or_unknown_lead_is_not_scored(gate) -> None:
    import uuid

    from django.utils import timezone

    make_rule(gate=gate, points=10)
    lead = _lead_with_reads(gate, 4, erased_at=timezone.now())
    assert lead_score(lead_id=lead.id) is None
    assert lead_score(lead_id=uuid.uuid4()) is None
    lead.refresh_from_db()
    assert lead.score == 0


def test_only_the_leads_own_events_count(gate) -> None:
    make_rule(gate=gate, points=10)
    mine = _lead_with_reads(gate, 2)
    _lead_with_reads(gate, 5)
    anonymous = make_visitor()
    make_event(visitor=anonymous, gate=gate, section_key="section-6")
    assert lead_score_compute(mine.id).score == 20


def test_inactive_rules_do_not_count(gate) -> None:
    make_rule(gate=gate, points=10, is_active=False)
    lead = _lead_with_reads(gate, 4)
    assert lead_score_compute(lead.id).score == 0


def test_leads_rescore_regrades_everyone_without_pushing(gate) -> None:
    make_endpoint(url=HOOK, grades=["warm", "hot"])
    leads = [_lead_with_reads(gate, 4) for _ in range(3)]
    make_rule(gate=gate, points=10)
    result = leads_rescore(chunk_size=2)
    assert result.leads >= 3
    for lead in leads:
        lead.refresh_from_db()
        assert lead.grade == "warm"
        assert lead.reasons == [f"read 4 of 6 sections of {gate.slug}, 36 s [{_rule_name()}: +40]"]
    assert not Delivery.objects.filter(lead__in=leads).exists()
    assert GradeChange.objects.filter(lead__in=leads).count() == 3


def _rule_name() -> str:
    from profiling.models import ScoringRule

    return ScoringRule.objects.get().name


def test_rise_is_delivered_to_the_crm_after_commit(
    gate, settings, django_capture_on_commit_callbacks
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    make_rule(gate=gate, points=10)
    lead = _lead_with_reads(gate, 4)
    with CrmReceiver() as crm:
        make_endpoint(url=crm.url, grades=["warm"])
        with django_capture_on_commit_callbacks(execute=True):
            lead_score(lead_id=lead.id)
        received = crm.wait_for_delivery(timeout=5, lead_id=lead.id)
    assert received.json()["data"]["grade"] == "warm"
    assert Delivery.objects.get(lead=lead).status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_two_workers_scoring_the_same_lead_record_and_push_once(gate) -> None:
    import threading

    from django.db import connections

    make_rule(gate=gate, points=10)
    hook = make_endpoint(url=HOOK, grades=["warm"])
    lead = _lead_with_reads(gate, 4)
    for round_no in range(1, 4):
        barrier = threading.Barrier(2)
        results: list[object] = []
        errors: list[BaseException] = []

        def score(
            barrier: threading.Barrier = barrier,
            results: list[object] = results,
            errors: list[BaseException] = errors,
        ) -> None:
            try:
                barrier.wait(timeout=10)
                results.append(lead_score(lead_id=lead.id))
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=score) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not errors, errors
        # exactly one of the two saw the rise; the other waited for the lock and saw warm
        assert sum(r is not None for r in results) == 1
        assert GradeChange.objects.filter(lead=lead).count() == round_no * 2 - 1
        assert Delivery.objects.filter(endpoint=hook).count() == round_no
        # cool the lead down again (as a drop would) for the next round
        Lead.objects.filter(pk=lead.id).update(grade="cold", score=0)
        GradeChange.objects.create(lead=lead, previous_grade="warm", grade="cold", score=0)


def test_scoring_reads_take_two_statements(gate) -> None:
    """Under ingest load each round trip costs milliseconds: the lead's lock also reads
    the rules and thresholds, and one statement reads the events with their gates."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_rule(gate=gate, points=10, name="read")
    lead = _lead_with_reads(gate, 4)
    with CaptureQueriesContext(connection) as queries:
        assert lead_score(lead_id=lead.id) is not None
    statements = [q["sql"] for q in queries.captured_queries]
    reads = [q for q in statements if q.startswith(("SELECT", "WITH"))]
    assert len(reads) == 2, reads
    assert "FOR NO KEY UPDATE" in reads[0]
    lead.refresh_from_db()
    assert lead.reasons == [f"read 4 of 6 sections of {gate.slug}, 36 s [read: +40]"]


def test_scoring_without_a_settings_row_uses_the_default_thresholds(gate) -> None:
    from profiling.models import ScoringSettings

    ScoringSettings.objects.all().delete()
    make_rule(gate=gate, points=10)
    lead = _lead_with_reads(gate, 3)  # 30 points: warm at the default threshold of 30
    change = lead_score(lead_id=lead.id)
    assert change is not None
    assert (change.grade, change.score) == ("warm", 30)
    assert ScoringSettings().warm_threshold == 30


def test_a_rule_edit_is_seen_by_the_next_scoring_at_once(gate) -> None:
    """Rules are read with the lead's lock, never cached: no stale window after an edit."""
    rule = make_rule(gate=gate, points=10)
    lead = _lead_with_reads(gate, 2)
    lead_score(lead_id=lead.id)
    rule.points = 50
    rule.save()
    change = lead_score(lead_id=lead.id)
    assert change is not None
    assert (change.grade, change.score) == ("hot", 100)
    rule.is_active = False
    rule.save()
    change = lead_score(lead_id=lead.id)
    assert change is not None
    assert (change.grade, change.score) == ("cold", 0)
