"""The scoring forms: a rule (with its check of section and file keys against the gates
that exist) and the grade thresholds."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from forms_app.models import Gate
from forms_app.selectors import RuleKey, RuleKeys
from profiling.models import RULE_TYPE_CHOICES, EventType, ProfileCondition


class RuleForm(forms.Form):
    name = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"placeholder": "Read e-book sections"})
    )
    event_type = forms.ChoiceField(choices=RULE_TYPE_CHOICES, label="When a lead…")
    gate = forms.ChoiceField(required=False, label="On gate")
    # `list`: the suggestions the rule editor draws (rule_edit.html), so a key is picked
    # from those that exist rather than typed from memory.
    section = forms.CharField(
        max_length=80,
        required=False,
        label="Section key (blank: any)",
        widget=forms.TextInput(attrs={"list": "rule-section-keys", "autocomplete": "off"}),
        help_text="A section of the gate; with a file key, a chapter of that file's PDF.",
    )
    file = forms.CharField(
        max_length=80,
        required=False,
        label="File key (blank: any)",
        widget=forms.TextInput(attrs={"list": "rule-file-keys", "autocomplete": "off"}),
        # A read rule naming a file counts the pages of its PDF read inline; without one,
        # the gate's sections (profiling/services/scoring_sql).
        help_text="For a download, the file; for a read, the PDF whose pages count"
        " (blank: the gate's sections).",
    )
    event_name = forms.CharField(max_length=200, required=False, label="Track event name")
    profile_condition = forms.ChoiceField(
        choices=[("", "—"), *ProfileCondition.choices], required=False, label="Profile fact"
    )
    points = forms.IntegerField(min_value=-10_000, max_value=10_000)
    max_points = forms.IntegerField(
        min_value=0, max_value=1_000_000, required=False, label="At most (points)"
    )
    min_duration_s = forms.DecimalField(
        min_value=0,
        max_value=86_400,
        decimal_places=1,
        required=False,
        label="Minimum dwell (seconds)",
    )
    makes_hot = forms.BooleanField(required=False, label="Makes the lead hot")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(
        self,
        *args: Any,
        gates: list[tuple[str, str]],
        keys: RuleKeys | None = None,
        **kwargs: Any,
    ) -> None:
        """`keys`: the keys that exist (forms_app.selectors.rule_keys), which the section
        and file keys are checked against; None checks nothing (the live read-back, which
        reads a half-typed key back as it is)."""
        super().__init__(*args, **kwargs)
        self.fields["gate"].choices = [("", "any gate"), *gates]  # type: ignore[attr-defined]
        self.keys = keys

    def clean_gate(self) -> Gate | None:
        slug = self.cleaned_data.get("gate")
        if not slug:
            return None
        gate = Gate.objects.filter(slug=slug).first()
        if gate is None:  # deleted since the page was drawn
            raise ValidationError("Select a valid choice. That gate no longer exists.")
        return gate

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.keys is not None and not {"event_type", "gate"} & set(self.errors):
            self._check_keys(data, self.keys)
        return data

    def _check_keys(self, data: dict[str, Any], keys: RuleKeys) -> None:
        """Only where the key names something exactly: a section or file key on a trigger
        that cannot name one is the model's to refuse (ScoringRule.clean), and so is a
        chapter without a gate; and a section_view rule naming a file names a chapter of
        its PDF, not a section."""
        kind = data.get("event_type")
        gate: Gate | None = data.get("gate")
        section, file = data.get("section") or "", data.get("file") or ""
        file_error = None
        if file and kind in (EventType.DOWNLOAD, EventType.SECTION_VIEW):
            file_error = _key_error("file", file, gate, keys.files)
            if file_error:
                self.add_error("file", file_error)
        if not section or kind != EventType.SECTION_VIEW:
            return
        if not file:
            error = _key_error("section", section, gate, keys.sections)
        elif gate is not None and not file_error:
            chapters = [c for c in keys.chapters if c.file_key == file]
            error = _key_error("chapter", section, gate, chapters, of_file=file)
        else:
            error = None
        if error:
            self.add_error("section", error)

    def rule_data(self) -> dict[str, Any]:
        """The rule's fields as scoring_rule_save takes them (the model's names)."""
        d = self.cleaned_data
        ms = d.get("min_duration_s")
        return {
            "name": d["name"],
            "event_type": d["event_type"],
            "gate": d.get("gate"),
            "section_key": d.get("section") or "",
            "file_key": d.get("file") or "",
            "event_name": d.get("event_name") or "",
            "profile_condition": d.get("profile_condition") or "",
            "points": d["points"],
            "max_points": d.get("max_points"),
            "min_duration_ms": int(ms * 1000) if ms is not None else None,
            "makes_hot": bool(d.get("makes_hot")),
            "is_active": bool(d.get("is_active")),
        }


KEYS_LISTED = 12


def _key_error(
    noun: str, key: str, gate: Gate | None, known: list[RuleKey], *, of_file: str = ""
) -> str | None:
    """Why `key` names no `noun` of `gate` (any gate: of no gate), listing the gate's own
    (the file's, for a chapter); None when it names one."""
    if gate is None:
        if any(k.key == key for k in known):
            return None
        return f'No gate has a {noun} with the key "{key}".'
    own = [k.key for k in known if k.gate_slug == gate.slug]
    if key in own:
        return None
    owner = f'file "{of_file}" of gate "{gate.slug}"' if of_file else f'gate "{gate.slug}"'
    # A gate may have up to 200 sections: the first few, and the field's suggestions
    # list them all.
    shown = ", ".join(own[:KEYS_LISTED])
    if len(own) > KEYS_LISTED:
        shown += f" and {len(own) - KEYS_LISTED} more"
    listed = f"its {noun}s are {shown}." if own else f"it has no {noun}s."
    if of_file:
        listed += " Chapters come from the PDF's outline."
    return f'"{key}" is not a {noun} of {owner}: {listed}'


class ThresholdsForm(forms.Form):
    warm_threshold = forms.IntegerField(min_value=1, max_value=1_000_000, label="Warm at (points)")
    hot_threshold = forms.IntegerField(min_value=1, max_value=1_000_000, label="Hot at (points)")
    half_life_days = forms.IntegerField(
        min_value=0, max_value=3650, label="Points halve every (days, 0 = never)"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        warm, hot = data.get("warm_threshold"), data.get("hot_threshold")
        if warm is not None and hot is not None and warm >= hot:
            self.add_error("warm_threshold", "Must be lower than the hot threshold.")
        return data
