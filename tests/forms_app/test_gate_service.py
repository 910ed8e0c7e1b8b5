"""gate_save / gate_delete: children replaced by key with ids kept, stage rules enforced."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from forms_app.models import FormField, Gate, GateFile, Section, Stage
from forms_app.services.gates import (
    FieldInput,
    FileInput,
    SectionInput,
    gate_delete,
    gate_fields_check,
    gate_save,
)
from tests.support.factories import random_slug

pytestmark = pytest.mark.django_db


def _create(stage: str = Stage.INTEREST, **kw) -> Gate:
    return gate_save(
        data={"slug": random_slug(), "title": "Network guide", "stage": stage},
        sections=kw.pop("sections", [SectionInput("why", "Why"), SectionInput("how", "How")]),
        files=kw.pop("files", [FileInput("map", "Map", url="https://files.example.com/m.pdf")]),
        fields=kw.pop("fields", None),
    )


def test_create_gate_with_children_in_order() -> None:
    gate = _create()
    assert Gate.objects.filter(pk=gate.pk).exists()
    assert list(gate.sections.values_list("key", "position")) == [("why", 0), ("how", 1)]
    assert list(gate.files.values_list("key", "url")) == [
        ("map", "https://files.example.com/m.pdf")
    ]


def test_children_are_replaced_by_key_and_ids_kept() -> None:
    gate = _create()
    why_id = Section.objects.get(gate=gate, key="why").pk
    how_id = Section.objects.get(gate=gate, key="how").pk
    gate_save(
        gate=gate,
        data={},
        sections=[
            SectionInput("new", "New one"),
            SectionInput("why", "Why, retitled", body="b", topics=["fibre"]),
        ],
    )
    sections = list(Section.objects.filter(gate=gate).order_by("position"))
    assert [(s.key, s.position) for s in sections] == [("new", 0), ("why", 1)]
    why = sections[1]
    assert why.pk == why_id
    assert (why.title, why.body, why.topics) == ("Why, retitled", "b", ["fibre"])
    assert not Section.objects.filter(pk=how_id).exists()


def test_children_not_given_are_left_alone() -> None:
    gate = _create()
    gate_save(gate=gate, data={"title": "Renamed"})
    gate.refresh_from_db()
    assert gate.title == "Renamed"
    assert set(gate.sections.values_list("key", flat=True)) == {"why", "how"}
    assert set(gate.files.values_list("key", flat=True)) == {"map"}


def test_empty_children_list_removes_them() -> None:
    gate = _create()
    gate_save(gate=gate, data={}, sections=[], files=[])
    assert not Section.objects.filter(gate=gate).exists()
    assert not GateFile.objects.filter(gate=gate).exists()


def test_existing_file_may_be_updated_without_url_or_upload() -> None:
    gate = _create()
    file_id = GateFile.objects.get(gate=gate, key="map").pk
    gate_save(gate=gate, data={}, files=[FileInput("map", "Map v2")])
    f = GateFile.objects.get(gate=gate, key="map")
    assert f.pk == file_id
    assert f.title == "Map v2"


def test_new_file_needs_a_url_or_upload() -> None:
    with pytest.raises(ValidationError) as exc:
        _create(files=[FileInput("map", "Map")])
    assert "files.0" in exc.value.message_dict
    assert not Gate.objects.filter(title="Network guide").exists()


@pytest.mark.parametrize("stage", [Stage.EPIPHANY, Stage.INTEREST])
def test_custom_questions_refused_on_non_decision_gates(stage: str) -> None:
    with pytest.raises(ValidationError) as exc:
        _create(stage=stage, fields=[FieldInput("sites", "How many sites need fibre?")])
    assert "fields" in exc.value.message_dict
    assert "decision" in exc.value.message_dict["fields"][0]
    assert not Gate.objects.filter(title="Network guide").exists()


def test_at_most_two_custom_questions() -> None:
    fields = [
        FieldInput("sites", "How many sites need fibre?"),
        FieldInput("goal", "What should the network enable?"),
        FieldInput("when", "Which project is next?"),
    ]
    with pytest.raises(ValidationError) as exc:
        _create(stage=Stage.DECISION, fields=fields)
    assert "At most 2" in exc.value.message_dict["fields"][0]
    gate = _create(stage=Stage.DECISION, fields=fields[:2])
    assert list(gate.fields.values_list("name", flat=True)) == ["sites", "goal"]


def test_banned_custom_question_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError) as exc:
        _create(stage=Stage.DECISION, fields=[FieldInput("employer", "Who do you work for?")])
    message = exc.value.message_dict["fields.0"][0]
    assert "company" in message
    assert "email domain" in message


def test_banned_choice_is_refused_too() -> None:
    with pytest.raises(ValidationError) as exc:
        _create(
            stage=Stage.DECISION,
            fields=[FieldInput("q", "Which fits?", type="choice", choices=["Budget", "Other"])],
        )
    assert "fields.0" in exc.value.message_dict


def test_choice_question_needs_two_choices() -> None:
    with pytest.raises(ValidationError) as exc:
        _create(
            stage=Stage.DECISION, fields=[FieldInput("q", "Pick", type="choice", choices=["a"])]
        )
    assert "fields.0.choices" in exc.value.message_dict


@pytest.mark.parametrize("name", ["name", "email", "subscribe", "website", "visitor_id"])
def test_custom_question_cannot_reuse_a_built_in_name(name: str) -> None:
    with pytest.raises(ValidationError) as exc:
        gate_fields_check(stage=Stage.DECISION, fields=[FieldInput(name, "Tell us more")])
    assert "fields.0.name" in exc.value.message_dict


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"sections": [SectionInput("a", "A"), SectionInput("a", "A again")]}, "sections.1.key"),
        (
            {
                "files": [
                    FileInput("f", "F", url="https://x.example.com/1"),
                    FileInput("f", "F", url="https://x.example.com/2"),
                ]
            },
            "files.1.key",
        ),
        (
            {
                "stage": Stage.DECISION,
                "fields": [FieldInput("q", "Tell us more"), FieldInput("q", "Anything else?")],
            },
            "fields.1.name",
        ),
    ],
)
def test_duplicate_keys_refused(kwargs: dict, key: str) -> None:
    stage = kwargs.pop("stage", Stage.INTEREST)
    with pytest.raises(ValidationError) as exc:
        _create(stage=stage, **kwargs)
    assert key in exc.value.message_dict
    assert not Gate.objects.filter(title="Network guide").exists()


def test_bad_section_key_rolls_back_the_whole_update() -> None:
    gate = _create()
    before = list(Section.objects.filter(gate=gate).values_list("pk", "key", "title"))
    with pytest.raises(ValidationError):
        gate_save(
            gate=gate,
            data={"title": "Should not stick"},
            sections=[SectionInput("why", "Changed"), SectionInput("Bad Key!", "x")],
        )
    assert Gate.objects.get(pk=gate.pk).title == "Network guide"
    assert list(Section.objects.filter(gate=gate).values_list("pk", "key", "title")) == before


def test_bad_slug_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        gate_save(data={"slug": "Not A Slug", "title": "x"})
    assert "slug" in exc.value.message_dict


def test_stage_cannot_leave_decision_while_questions_exist() -> None:
    gate = _create(stage=Stage.DECISION, fields=[FieldInput("sites", "How many sites?")])
    with pytest.raises(ValidationError) as exc:
        gate_save(gate=gate, data={"stage": Stage.INTEREST})
    assert "stage" in exc.value.message_dict
    assert Gate.objects.get(pk=gate.pk).stage == Stage.DECISION
    # removing the questions in the same save is fine
    gate = Gate.objects.get(pk=gate.pk)
    gate_save(gate=gate, data={"stage": Stage.INTEREST}, fields=[])
    assert Gate.objects.get(pk=gate.pk).stage == Stage.INTEREST
    assert not FormField.objects.filter(gate=gate).exists()


def test_questions_replaced_by_name_keep_ids() -> None:
    gate = _create(
        stage=Stage.DECISION,
        fields=[FieldInput("sites", "How many sites?"), FieldInput("goal", "Main goal?")],
    )
    goal_id = FormField.objects.get(gate=gate, name="goal").pk
    gate_save(gate=gate, data={}, fields=[FieldInput("goal", "Main goal, reworded?")])
    assert list(FormField.objects.filter(gate=gate).values_list("pk", "name", "label")) == [
        (goal_id, "goal", "Main goal, reworded?")
    ]


def test_gate_delete_removes_children() -> None:
    gate = _create()
    pk = gate.pk
    gate_delete(gate=gate)
    assert not Gate.objects.filter(pk=pk).exists()
    assert not Section.objects.filter(gate_id=pk).exists()
    assert not GateFile.objects.filter(gate_id=pk).exists()


def test_allowed_origins_are_checked_and_stored_normalised() -> None:
    gate = gate_save(
        data={
            "slug": random_slug(),
            "title": "Origins",
            "allowed_origins": [
                "https://WWW.Example.com/",
                " https://b.example.com",
                "https://b.example.com",
            ],
        }
    )
    assert gate.allowed_origins == ["https://b.example.com", "https://www.example.com"]
    with pytest.raises(ValidationError) as refused:
        gate_save(gate=gate, data={"allowed_origins": ["https://ok.example.com", "example.com/x"]})
    assert list(refused.value.message_dict) == ["allowed_origins.1"]
    assert "is not an origin like https://www.example.com" in refused.value.messages[0]
    with pytest.raises(ValidationError, match="At most 50 origins"):
        gate_save(
            gate=gate,
            data={"allowed_origins": [f"https://s{i}.example.com" for i in range(51)]},
        )
    gate.refresh_from_db()
    assert gate.allowed_origins == ["https://b.example.com", "https://www.example.com"]


def test_uploads_over_the_limit_are_refused_by_the_service() -> None:
    from django.core.files.base import ContentFile

    from forms_app.services.gates import MAX_UPLOAD_BYTES

    big = ContentFile(b"x" * (MAX_UPLOAD_BYTES + 1), name="big.pdf")
    with pytest.raises(ValidationError) as refused:
        _create(files=[FileInput("map", "Map", upload=big)])
    assert refused.value.message_dict == {"files.0.upload": ["Files are limited to 10 MB."]}
    assert not GateFile.objects.filter(key="map").exists()
