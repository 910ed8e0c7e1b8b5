"""Stage policy: what a gate may ask, and progressive profiling on decision gates."""

from __future__ import annotations

import uuid

import pytest

from forms_app.models import Stage, Submission
from forms_app.services.submissions import SubmissionInput, submission_create
from forms_app.stage_policy import answered_questions, fields_for, next_question
from tests.support.factories import make_gate, make_lead, random_email

pytestmark = pytest.mark.django_db

QUESTIONS = (("sites", "How many sites need fibre?"), ("goal", "What should the network enable?"))


def _names(fields: list) -> list[str]:
    return [f.name for f in fields]


def test_epiphany_gate_asks_nothing() -> None:
    gate = make_gate(stage=Stage.EPIPHANY)
    assert fields_for(gate) == []
    assert fields_for(gate, make_lead().id) == []


def test_interest_gate_asks_exactly_name_email_subscribe() -> None:
    gate = make_gate(stage=Stage.INTEREST, subscribe_label="Keep me posted")
    fields = fields_for(gate)
    assert _names(fields) == ["name", "email", "subscribe"]
    public = [f.as_public() for f in fields]
    assert public == [
        {"name": "name", "type": "text", "label": "Name", "required": True},
        {"name": "email", "type": "email", "label": "Work email", "required": True},
        {"name": "subscribe", "type": "checkbox", "label": "Keep me posted", "required": False},
    ]


def test_interest_gate_never_asks_custom_questions_even_if_rows_exist() -> None:
    # Rows written behind the service's back (e.g. the stage changed in the admin).
    gate = make_gate(stage=Stage.INTEREST, questions=QUESTIONS)
    assert _names(fields_for(gate)) == ["name", "email", "subscribe"]
    assert next_question(gate, None) is None


def test_decision_gate_asks_first_question_to_an_unknown_visitor() -> None:
    gate = make_gate(stage=Stage.DECISION, questions=QUESTIONS)
    fields = fields_for(gate, None)
    assert _names(fields) == ["name", "email", "subscribe", "sites"]
    extra = fields[-1].as_public()
    assert extra == {
        "name": "sites",
        "type": "text",
        "label": "How many sites need fibre?",
        "required": False,
    }


def _submit(gate, email: str, answers: dict[str, str]) -> uuid.UUID:
    result = submission_create(
        gate=gate,
        data=SubmissionInput(name="Grace", email=email, answers=answers),
    )
    return result.lead_id


def test_decision_gate_asks_one_new_question_per_visit_and_never_an_answered_one(
    django_capture_on_commit_callbacks,
) -> None:
    gate = make_gate(stage=Stage.DECISION, questions=QUESTIONS)
    email = random_email()
    with django_capture_on_commit_callbacks(execute=True):
        lead_id = _submit(gate, email, {"sites": "12"})
    # second visit: only the second question
    assert _names(fields_for(gate, lead_id)) == ["name", "email", "subscribe", "goal"]
    with django_capture_on_commit_callbacks(execute=True):
        _submit(gate, email, {"goal": "remote offices"})
    # third visit: nothing left to ask
    assert _names(fields_for(gate, lead_id)) == ["name", "email", "subscribe"]
    assert answered_questions(lead_id) == {"sites", "goal"}


def test_a_blank_answer_is_not_an_answer(django_capture_on_commit_callbacks) -> None:
    gate = make_gate(stage=Stage.DECISION, questions=QUESTIONS)
    with django_capture_on_commit_callbacks(execute=True):
        lead_id = _submit(gate, random_email(), {"sites": ""})
    assert next_question(gate, lead_id).name == "sites"  # type: ignore[union-attr]


def test_question_answered_on_another_gate_is_not_asked_again(
    django_capture_on_commit_callbacks,
) -> None:
    first = make_gate(stage=Stage.DECISION, questions=QUESTIONS)
    second = make_gate(stage=Stage.DECISION, questions=QUESTIONS)
    with django_capture_on_commit_callbacks(execute=True):
        lead_id = _submit(first, random_email(), {"sites": "3"})
    assert next_question(second, lead_id).name == "goal"  # type: ignore[union-attr]


def test_decision_gate_asks_at_most_the_first_two_questions() -> None:
    # A third row written behind the service's back is never asked.
    gate = make_gate(
        stage=Stage.DECISION,
        questions=(*QUESTIONS, ("extra", "Anything else?")),
    )
    lead = make_lead()
    Submission.objects.create(gate=gate, lead=lead, answers={"sites": "1", "goal": "x"})
    assert next_question(gate, lead.id) is None


def test_answered_questions_of_nobody_is_empty() -> None:
    assert answered_questions(None) == set()
    assert answered_questions(uuid.uuid4()) == set()


def test_choice_question_exposes_its_choices() -> None:
    gate = make_gate(stage=Stage.DECISION)
    gate.fields.create(name="sites", label="Sites", type="choice", choices=["1-5", "6+"])
    field = fields_for(gate)[-1].as_public()
    assert field["choices"] == ["1-5", "6+"]
    assert field["type"] == "choice"
