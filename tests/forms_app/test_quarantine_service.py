"""The spam quarantine's services: hold, release, delete, and the spam tallies."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from forms_app.models import (
    QuarantinedSubmission,
    QuarantineReason,
    QuarantineVia,
    SpamTally,
    SpamTallyKind,
    Stage,
    Submission,
)
from forms_app.selectors import quarantine_count, quarantine_list, spam_tally_totals
from forms_app.services.quarantine import (
    quarantine_delete,
    quarantine_hold,
    quarantine_release,
    spam_tally_add,
)
from forms_app.services.submissions import SubmissionInput, submission_create
from profiling.models import Delivery, Event, GradeChange, Lead, ScorePending, Visitor
from profiling.services.leads import lead_erase
from tests.support.factories import (
    make_endpoint,
    make_event,
    make_gate,
    make_rule,
    make_visitor,
    random_email,
    set_thresholds,
)

pytestmark = pytest.mark.django_db


def _input(**kw: Any) -> SubmissionInput:
    kw.setdefault("name", "Ada Lovelace")
    kw.setdefault("email", random_email())
    return SubmissionInput(**kw)


def _hold(gate: Any, reason: QuarantineReason = QuarantineReason.TOO_FAST, **kw: Any) -> Any:
    item = quarantine_hold(
        gate=gate, data=_input(**kw), reason=reason, via=QuarantineVia.API, submitted_at=None
    )
    assert item is not None
    return item


def test_hold_keeps_the_submission_and_makes_no_lead_visitor_or_score() -> None:
    set_thresholds(warm=5, hot=10)
    gate = make_gate(stage=Stage.DECISION, questions=(("sites", "How many sites?"),))
    make_rule(gate=gate, points=20, makes_hot=True)
    visitor = make_visitor()
    make_event(visitor=visitor, gate=gate, section_key="section-1")
    item = _hold(
        gate,
        email="Autofill@Example-Fibre.com",
        subscribe=True,
        visitor_id=visitor.id,
        answers={"sites": "3", "phone": "+1 555"},
        utm_source="linkedin",
        page_url="https://www.example-fibre.com/guide",
    )
    stored = QuarantinedSubmission.objects.get(pk=item.pk)
    assert (stored.gate_id, stored.reason, stored.via) == (gate.id, "too_fast", "api")
    assert (stored.name, stored.email, stored.subscribed) == (
        "Ada Lovelace",
        "Autofill@Example-Fibre.com",
        True,
    )
    assert stored.answers == {"sites": "3"}  # only the gate's own questions
    assert stored.consent_text == gate.consent_text
    assert stored.utm_source == "linkedin"
    assert abs((timezone.now() - stored.submitted_at).total_seconds()) < 60
    # Nothing of the lead path ran: no lead, no submission, the visitor's events stay
    # anonymous, nothing is pending scoring, nothing pushed.
    assert not Lead.objects.exists()
    assert not Submission.objects.exists()
    assert Visitor.objects.get(pk=visitor.id).lead_id is None
    assert not Event.objects.filter(lead__isnull=False).exists()
    assert not ScorePending.objects.exists()
    assert not GradeChange.objects.exists()
    assert not Delivery.objects.exists()


def test_release_makes_the_lead_once_with_the_original_time_and_notice(
    django_capture_on_commit_callbacks: Any,
) -> None:
    gate = make_gate(consent_text="Notice v1")
    visitor_id = uuid.uuid4()
    item = _hold(gate, email="ada@example-fibre.com", subscribe=True, visitor_id=visitor_id)
    sent = timezone.now() - timedelta(days=2, hours=3)
    QuarantinedSubmission.objects.filter(pk=item.pk).update(submitted_at=sent)
    gate.consent_text = "Notice v2"  # edited while the submission waited
    gate.save()

    with django_capture_on_commit_callbacks(execute=True):
        result = quarantine_release(item_id=item.pk)
    assert result is not None
    assert result.created
    lead = Lead.objects.get(pk=result.lead_id)
    assert lead.email == "ada@example-fibre.com"
    assert lead.subscribed is True
    assert lead.consented_at == sent
    assert lead.consent_text == "Notice v1"
    submission = Submission.objects.get(lead=lead)
    assert submission.created_at == sent
    assert submission.consent_text == "Notice v1"
    assert submission.visitor_id == visitor_id
    assert Visitor.objects.get(pk=visitor_id).lead_id == lead.id
    assert not QuarantinedSubmission.objects.exists()

    # A second click, a retry: nothing happens twice.
    assert quarantine_release(item_id=item.pk) is None
    assert Lead.objects.count() == 1
    assert Submission.objects.count() == 1


def test_release_scores_and_pushes_like_an_accepted_submission(
    django_capture_on_commit_callbacks: Any, crm_receiver: Any, settings: Any, wait: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    set_thresholds(warm=5, hot=10)
    gate = make_gate()
    make_rule(gate=gate, points=20)
    endpoint = make_endpoint(url=crm_receiver.url, grades=["hot"])
    visitor = make_visitor()
    make_event(visitor=visitor, gate=gate, section_key="section-1", duration_ms=9000)
    with django_capture_on_commit_callbacks(execute=True):
        item = _hold(gate, visitor_id=visitor.id, reason=QuarantineReason.FORGED)
    assert not Delivery.objects.exists()
    assert crm_receiver.requests == []

    with django_capture_on_commit_callbacks(execute=True):
        result = quarantine_release(item_id=item.pk)
    assert result is not None
    lead = Lead.objects.get(pk=result.lead_id)
    assert (lead.score, lead.grade) == (20, "hot")
    delivery = Delivery.objects.get(lead=lead)
    assert delivery.endpoint_id == endpoint.id
    wait(lambda: len(crm_receiver.requests) == 1, 10)
    assert crm_receiver.requests[0].json()["data"]["lead"]["email"] == lead.email


def test_release_into_an_existing_lead_adds_a_submission() -> None:
    gate = make_gate()
    email = random_email()
    first = submission_create(gate=gate, data=_input(email=email))
    item = _hold(gate, email=email.upper(), name="Ada L.")
    result = quarantine_release(item_id=item.pk)
    assert result is not None
    assert (result.lead_id, result.created) == (first.lead_id, False)
    assert Submission.objects.filter(lead_id=first.lead_id).count() == 2


def test_an_older_released_opt_in_does_not_replace_a_newer_one() -> None:
    gate = make_gate(consent_text="Old notice")
    email = random_email()
    item = _hold(gate, email=email, subscribe=True)
    QuarantinedSubmission.objects.filter(pk=item.pk).update(
        submitted_at=timezone.now() - timedelta(days=1)
    )
    gate.consent_text = "New notice"
    gate.save()
    submission_create(gate=gate, data=_input(email=email, subscribe=True))
    newer = Lead.objects.get(email=email).consented_at
    quarantine_release(item_id=item.pk)
    lead = Lead.objects.get(email=email)
    assert (lead.consent_text, lead.consented_at) == ("New notice", newer)


@pytest.mark.django_db(transaction=True)
def test_two_releases_at_once_make_one_lead() -> None:
    gate = make_gate()
    item = _hold(gate)
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def release() -> None:
        try:
            barrier.wait(5)
            results.append(quarantine_release(item_id=item.pk))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=release) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(r is None for r in results) == [False, True]
    assert Lead.objects.count() == 1
    assert Submission.objects.count() == 1
    assert not QuarantinedSubmission.objects.exists()


def test_release_refuses_a_gate_that_became_open_content() -> None:
    gate = make_gate()
    item = _hold(gate)
    gate.stage = Stage.EPIPHANY
    gate.save()
    with pytest.raises(ValidationError, match="open content"):
        quarantine_release(item_id=item.pk)
    assert QuarantinedSubmission.objects.filter(pk=item.pk).exists()
    assert not Lead.objects.exists()


def test_delete_removes_once() -> None:
    gate = make_gate()
    item = _hold(gate)
    other = _hold(gate)
    assert quarantine_delete(item_id=item.pk) is True
    assert quarantine_delete(item_id=item.pk) is False
    assert list(QuarantinedSubmission.objects.values_list("pk", flat=True)) == [other.pk]
    assert quarantine_release(item_id=item.pk) is None
    assert not Lead.objects.exists()


def test_a_flood_beyond_the_daily_cap_is_counted_not_kept(settings: Any) -> None:
    settings.LEADGATE_QUARANTINE_MAX_PER_GATE_DAY = 2
    gate = make_gate()
    other_gate = make_gate()
    _hold(gate)
    _hold(gate)
    assert (
        quarantine_hold(
            gate=gate, data=_input(), reason=QuarantineReason.FORGED, via=QuarantineVia.FORM
        )
        is None
    )
    assert quarantine_count(gate=gate) == 2
    assert spam_tally_totals(gate=gate)["discarded"] == 1
    # Another gate has its own cap.
    assert _hold(other_gate) is not None


def test_honeypot_hits_are_counted_per_gate_and_day() -> None:
    gate = make_gate()
    other = make_gate()
    yesterday = timezone.now() - timedelta(days=1)
    for _ in range(3):
        spam_tally_add(gate=gate, kind=SpamTallyKind.HONEYPOT)
    spam_tally_add(gate=gate, kind=SpamTallyKind.HONEYPOT, at=yesterday)
    spam_tally_add(gate=other, kind=SpamTallyKind.HONEYPOT)
    today = timezone.localdate()
    assert SpamTally.objects.get(gate=gate, day=today, kind="honeypot").count == 3
    assert spam_tally_totals(gate=gate) == {"honeypot": 4, "discarded": 0}
    assert spam_tally_totals(start=today, end=today, gate=gate)["honeypot"] == 3
    assert spam_tally_totals(start=today, end=today)["honeypot"] == 4


def test_list_is_newest_first_and_filters() -> None:
    gate = make_gate()
    other = make_gate()
    old = _hold(gate, reason=QuarantineReason.FORGED)
    QuarantinedSubmission.objects.filter(pk=old.pk).update(
        submitted_at=timezone.now() - timedelta(hours=1)
    )
    new = _hold(gate)
    elsewhere = _hold(other)
    assert [q.pk for q in quarantine_list()] == [elsewhere.pk, new.pk, old.pk]
    assert [q.pk for q in quarantine_list(gate=gate)] == [new.pk, old.pk]
    assert [q.pk for q in quarantine_list(reason="forged")] == [old.pk]


def test_erasing_a_lead_also_forgets_what_is_held_under_its_email() -> None:
    gate = make_gate()
    email = random_email()
    result = submission_create(gate=gate, data=_input(email=email))
    held = _hold(gate, email=email.upper())
    kept = _hold(gate)
    lead_erase(lead=Lead.objects.get(pk=result.lead_id))
    assert not QuarantinedSubmission.objects.filter(pk=held.pk).exists()
    assert QuarantinedSubmission.objects.filter(pk=kept.pk).exists()
