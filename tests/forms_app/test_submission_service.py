"""submission_create: the capture path from a form to a lead."""

from __future__ import annotations

import uuid

import pytest

from forms_app.access import access_token_read
from forms_app.models import Stage, Submission
from forms_app.services.submissions import SubmissionInput, question_for, submission_create
from profiling.models import Event, EventType, Lead, Visitor
from tests.support.factories import make_event, make_gate, make_visitor, random_email

pytestmark = pytest.mark.django_db


def _input(**kw) -> SubmissionInput:
    kw.setdefault("name", "Ada Lovelace")
    kw.setdefault("email", random_email())
    return SubmissionInput(**kw)


def test_creates_lead_submission_and_a_token_for_this_gate() -> None:
    gate = make_gate(consent_text="Notice v1")
    visitor_id = uuid.uuid4()
    result = submission_create(
        gate=gate,
        data=_input(email="Ada@Example-Fibre.com ", subscribe=True, visitor_id=visitor_id),
    )
    assert result.created is True
    lead = Lead.objects.get(pk=result.lead_id)
    assert lead.email == "ada@example-fibre.com"
    assert lead.name == "Ada Lovelace"
    assert lead.subscribed is True
    assert lead.consent_text == "Notice v1"
    assert lead.consented_at is not None
    assert lead.first_gate_id == gate.id
    assert lead.company_domain == "example-fibre.com"
    submission = Submission.objects.get(lead=lead)
    assert submission.gate_id == gate.id
    assert submission.visitor_id == visitor_id
    assert submission.consent_text == "Notice v1"
    assert submission.subscribed is True
    assert Visitor.objects.get(pk=visitor_id).lead_id == lead.id
    access = access_token_read(result.access_token, gate_slug=gate.slug)
    assert access is not None
    assert (access.lead_id, access.visitor_id) == (lead.id, visitor_id)
    assert access_token_read(result.access_token, gate_slug="another-gate") is None


def test_consent_text_is_stored_even_without_opt_in_and_survives_edits() -> None:
    gate = make_gate(consent_text="Notice v1")
    result = submission_create(gate=gate, data=_input(subscribe=False))
    gate.consent_text = "Notice v2"
    gate.save()
    submission = Submission.objects.get(lead_id=result.lead_id)
    assert submission.consent_text == "Notice v1"
    assert submission.subscribed is False
    lead = Lead.objects.get(pk=result.lead_id)
    assert lead.subscribed is False
    assert lead.consented_at is None


def test_same_email_in_any_case_is_the_same_lead() -> None:
    gate = make_gate()
    email = random_email()
    first = submission_create(gate=gate, data=_input(email=email))
    second = submission_create(gate=gate, data=_input(email=email.upper(), name="Ada L."))
    assert first.lead_id == second.lead_id
    assert second.created is False
    assert Lead.objects.filter(email=email.lower()).count() == 1
    assert Submission.objects.filter(lead_id=first.lead_id).count() == 2
    # A typed address proves nothing: the second browser's name is a claim, kept on its
    # submission, not written over the lead's (tests/forms_app/test_proven_identity.py).
    assert Lead.objects.get(pk=first.lead_id).name == "Ada Lovelace"
    assert Submission.objects.get(lead_id=first.lead_id, claimed_name="Ada L.").verified is False


def test_first_touch_utm_is_kept_on_a_second_submission() -> None:
    gate = make_gate()
    email = random_email()
    first = submission_create(
        gate=gate,
        data=_input(
            email=email,
            utm_source="linkedin",
            utm_medium="social",
            utm_campaign="launch",
            referrer="https://www.linkedin.com/",
            page_url="https://www.example-fibre.com/guide",
        ),
    )
    other_gate = make_gate()
    submission_create(
        gate=other_gate,
        data=_input(email=email, utm_source="google", utm_medium="cpc", utm_campaign="brand"),
    )
    lead = Lead.objects.get(pk=first.lead_id)
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == (
        "linkedin",
        "social",
        "launch",
    )
    assert lead.referrer == "https://www.linkedin.com/"
    assert lead.landing_url == "https://www.example-fibre.com/guide"
    assert lead.first_gate_id == gate.id
    # ...while each submission keeps its own touch
    sources = set(Submission.objects.filter(lead=lead).values_list("utm_source", flat=True))
    assert sources == {"linkedin", "google"}


def test_unticking_later_is_not_an_unsubscribe() -> None:
    gate = make_gate()
    email = random_email()
    submission_create(gate=gate, data=_input(email=email, subscribe=True))
    submission_create(gate=gate, data=_input(email=email, subscribe=False))
    assert Lead.objects.get(email=email).subscribed is True


def test_anonymous_events_of_the_visitor_are_attached_to_the_lead() -> None:
    gate = make_gate()
    visitor = make_visitor()
    other = make_visitor()
    mine = [
        make_event(visitor=visitor, gate=gate, section_key="section-1"),
        make_event(visitor=visitor, gate=gate, type=EventType.DOWNLOAD, file_key="network-map"),
    ]
    theirs = make_event(visitor=other, gate=gate, section_key="section-2")
    result = submission_create(gate=gate, data=_input(visitor_id=visitor.id))
    assert set(Event.objects.filter(lead_id=result.lead_id).values_list("id", flat=True)) == {
        e.id for e in mine
    }
    assert Event.objects.get(pk=theirs.id).lead_id is None


def test_visitor_without_tracker_gets_an_id() -> None:
    gate = make_gate()
    result = submission_create(gate=gate, data=_input(visitor_id=None))
    assert isinstance(result.visitor_id, uuid.UUID)
    assert Visitor.objects.get(pk=result.visitor_id).lead_id == result.lead_id


def test_only_answers_to_the_gates_questions_are_kept() -> None:
    gate = make_gate(stage=Stage.DECISION, questions=(("sites", "How many sites?"),))
    result = submission_create(
        gate=gate, data=_input(answers={"sites": "4", "phone": "+1 555", "empty": ""})
    )
    assert Submission.objects.get(lead_id=result.lead_id).answers == {"sites": "4"}
    assert question_for(gate, result.lead_id) is None


def test_answers_are_dropped_on_interest_gates() -> None:
    gate = make_gate(stage=Stage.INTEREST)
    result = submission_create(gate=gate, data=_input(answers={"sites": "4"}))
    assert Submission.objects.get(lead_id=result.lead_id).answers == {}


def test_epiphany_gate_has_no_form() -> None:
    gate = make_gate(stage=Stage.EPIPHANY)
    with pytest.raises(ValueError, match="epiphany"):
        submission_create(gate=gate, data=_input())
    assert not Submission.objects.filter(gate=gate).exists()


def test_submission_enqueues_scoring_after_commit(
    django_capture_on_commit_callbacks, settings
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from tests.support.factories import make_rule, set_thresholds

    set_thresholds(warm=5, hot=100)
    gate = make_gate()
    make_rule(gate=gate, points=10)
    visitor = make_visitor()
    make_event(visitor=visitor, gate=gate, section_key="section-1")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = submission_create(gate=gate, data=_input(visitor_id=visitor.id))
    assert callbacks, "scoring must be enqueued on commit"
    lead = Lead.objects.get(pk=result.lead_id)
    assert lead.score == 10
    assert lead.grade == "warm"
