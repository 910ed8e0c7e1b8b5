"""What a gate may ask, by buying stage (contract "stage")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.utils.translation import gettext

from forms_app.models import FormField, Gate, Stage, Submission

MAX_CUSTOM_QUESTIONS = 2


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: str
    required: bool
    choices: list[str] = field(default_factory=list)
    autocomplete: str = ""

    def as_public(self) -> dict[str, object]:
        data: dict[str, object] = {
            "name": self.name,
            "type": self.type,
            "label": self.label,
            "required": self.required,
        }
        if self.choices:
            data["choices"] = self.choices
        return data


def base_fields(gate: Gate) -> list[FieldSpec]:
    if gate.stage == Stage.EPIPHANY:
        return []  # open content: anonymous passive profiling only
    return [
        FieldSpec("name", "text", gettext("Name"), True, autocomplete="name"),
        FieldSpec("email", "email", gettext("Work email"), True, autocomplete="email"),
        FieldSpec("subscribe", "checkbox", gate.visitor_subscribe_label, False),
    ]


def answered_questions(lead_id: uuid.UUID | None) -> set[str]:
    if lead_id is None:
        return set()
    names: set[str] = set()
    for answers in Submission.objects.filter(lead_id=lead_id).values_list("answers", flat=True):
        names.update(k for k, v in (answers or {}).items() if v not in (None, ""))
    return names


def next_question(gate: Gate, lead_id: uuid.UUID | None) -> FormField | None:
    """Progressive profiling: one new question per visit, never one already answered."""
    if gate.stage != Stage.DECISION:
        return None
    answered = answered_questions(lead_id)
    for question in gate.fields.all()[:MAX_CUSTOM_QUESTIONS]:
        if question.name not in answered:
            return question
    return None


def fields_for(gate: Gate, lead_id: uuid.UUID | None = None) -> list[FieldSpec]:
    fields = base_fields(gate)
    question = next_question(gate, lead_id)
    if question is not None:
        fields.append(
            FieldSpec(
                question.name,
                question.type,
                question.label,
                False,
                choices=list(question.choices or []),
            )
        )
    return fields
