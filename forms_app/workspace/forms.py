"""Workspace forms: they shape HTML input into what the services take. Every rule about
what is allowed lives in the services (gate_save and its friction guard, scoring_rule_save,
webhook_endpoint_save, ...), which the views call and whose errors they show inline; where
a form checks early (origins, upload size), it asks the service's own rule. One check is the
workspace's own: the rule editor refuses a section or file key that the rule's gate (or,
for any gate, every gate) lacks, since a mistyped key saves a rule that never matches; the
marketer API keeps its contract, which takes such a key."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from forms_app.models import KEY_VALIDATOR, FieldType, Gate, Language, Stage
from forms_app.selectors import RuleKey, RuleKeys
from forms_app.services.gates import MAX_UPLOAD_BYTES, UPLOAD_TOO_LARGE, gate_origins_clean
from profiling.models import RULE_TYPE_CHOICES, EventType, Grade, ProfileCondition

TEXTAREA_SMALL = forms.Textarea(attrs={"rows": 2})


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class GateForm(forms.Form):
    title = forms.CharField(
        max_length=200, help_text="The name visitors see, e.g. “The fibre network e-book”."
    )
    slug = forms.CharField(
        max_length=80,
        help_text="The address: /g/<slug>. Lower-case letters, digits and hyphens.",
    )
    stage = forms.ChoiceField(
        choices=Stage.choices,
        initial=Stage.INTEREST,
        help_text="How much the gate may ask: nothing, the minimal form, or up to two questions.",
    )
    language = forms.ChoiceField(
        choices=Language.choices,
        initial=Language.EN,
        required=False,
        help_text="What visitors read in: the form, its errors, the pages and the emails. "
        "Your own texts are shown as you write them.",
    )
    headline = forms.CharField(max_length=300, required=False)
    description = forms.CharField(
        max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    submit_label = forms.CharField(max_length=60, initial="Get the content")
    subscribe_label = forms.CharField(
        max_length=200, initial="Send me new content about this business issue"
    )
    consent_text = forms.CharField(
        max_length=2000,
        required=False,
        widget=TEXTAREA_SMALL,
        help_text="Shown under the button and stored with every submission.",
    )
    email_content = forms.BooleanField(
        required=False,
        initial=True,
        label="Email the visitor the content link",
        help_text="Off: no email, and the default notice no longer promises one.",
    )
    double_opt_in = forms.BooleanField(
        required=False,
        initial=False,
        label="Double opt-in",
        help_text="A visitor who ticks the box is subscribed only after confirming from "
        "the email we send them.",
    )
    allowed_origins = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "https://www.example.com"}),
        help_text="Websites allowed to embed the form, one origin per line.",
    )
    min_dwell_s = forms.IntegerField(
        min_value=0,
        max_value=600,
        initial=5,
        label="Seconds to count a section as read",
        help_text="Active reading time at least; a long section needs more (a quarter of "
        "its reading time).",
    )
    idle_timeout_s = forms.IntegerField(
        required=False,
        min_value=5,
        max_value=3600,
        initial=30,
        label="Seconds without a scroll, key or touch before a reader counts as away",
        help_text="No reading time accrues after that.",
    )
    is_active = forms.BooleanField(
        required=False, initial=True, label="Live (visitors can open it)"
    )

    def clean_slug(self) -> str:
        return str(self.cleaned_data["slug"]).strip().lower()

    def clean_allowed_origins(self) -> list[str]:
        try:
            return gate_origins_clean(_lines(self.cleaned_data.get("allowed_origins", "")))
        except ValidationError as exc:
            # One textarea: every entry's problem is shown under it.
            raise ValidationError(exc.messages) from None

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["min_dwell_ms"] = data.pop("min_dwell_s") * 1000
        idle_s = data.pop("idle_timeout_s")
        if idle_s is not None:  # left empty: the gate keeps its cut-off (default 30 s)
            data["idle_timeout_ms"] = idle_s * 1000
        if not data.get("consent_text"):
            data.pop("consent_text", None)
        if not data.get("language"):
            data.pop("language", None)  # not sent: the gate keeps its own (English if new)
        return data


class SectionForm(forms.Form):
    key = forms.CharField(
        max_length=80,
        validators=[KEY_VALIDATOR],
        widget=forms.TextInput(attrs={"placeholder": "why-fibre"}),
    )
    title = forms.CharField(max_length=200)
    body = forms.CharField(
        max_length=100_000,
        required=False,
        # Sized for writing; static/workspace-builder.js grows it with the text.
        widget=forms.Textarea(attrs={"rows": 12, "data-autogrow": "", "class": "ws-body"}),
        help_text="Markdown: ## heading, **bold**, *italic*, - lists, [link](https://…), "
        "![what the image shows](https://…), or Insert image under it.",
    )
    topics = forms.CharField(
        max_length=1200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "fibre, costs"}),
        help_text="Comma-separated: what the section is about.",
    )

    def clean_topics(self) -> list[str]:
        topics = [t.strip() for t in self.cleaned_data.get("topics", "").split(",") if t.strip()]
        if len(topics) > 20 or any(len(t) > 60 for t in topics):
            raise ValidationError("At most 20 topics of up to 60 characters.")
        return topics


class FileForm(forms.Form):
    key = forms.CharField(
        max_length=80,
        validators=[KEY_VALIDATOR],
        widget=forms.TextInput(attrs={"placeholder": "network-map"}),
    )
    title = forms.CharField(max_length=200)
    url = forms.URLField(
        max_length=1000,
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://… (or upload)"}),
    )
    upload = forms.FileField(required=False)
    read_inline = forms.BooleanField(
        required=False,
        label="Read inline (PDF)",
        help_text="Visitors can also read the PDF page by page on the gate; each page read counts.",
    )

    def clean(self) -> dict[str, Any]:
        # gate_save refuses it too; checked here so it shows with the row's other errors.
        # A PDF read inline has its own, larger limit, checked with the PDF itself there.
        data = super().clean() or {}
        upload = data.get("upload")
        if upload and not data.get("read_inline") and upload.size > MAX_UPLOAD_BYTES:
            self.add_error("upload", UPLOAD_TOO_LARGE)
        return data


class QuestionForm(forms.Form):
    name = forms.CharField(
        max_length=60,
        validators=[KEY_VALIDATOR],
        widget=forms.TextInput(attrs={"placeholder": "main-issue"}),
    )
    label = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "What is your main network issue?"}),
    )
    type = forms.ChoiceField(choices=FieldType.choices, initial=FieldType.TEXT)
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Choice questions: one answer per line.",
    )

    def clean_choices(self) -> list[str]:
        choices = _lines(self.cleaned_data.get("choices", ""))
        if len(choices) > 20 or any(len(c) > 200 for c in choices):
            raise ValidationError("At most 20 choices of up to 200 characters.")
        return choices


class OrderedFormSet(forms.BaseFormSet):
    """Rows carry a hidden ORDER: the builder's move buttons and drag and drop change it
    (static/workspace-builder.js), and without JavaScript a move button re-numbers the rows
    on the server (forms_app/workspace/gates/rows.py)."""

    ordering_widget = forms.HiddenInput


SectionFormSet = forms.formset_factory(
    SectionForm,
    formset=OrderedFormSet,
    extra=0,
    can_delete=True,
    can_order=True,
    max_num=200,
    absolute_max=200,
)
FileFormSet = forms.formset_factory(FileForm, extra=0, can_delete=True, max_num=50, absolute_max=50)
# The contract's limit (two) is the service's to enforce, with its message; the formset
# only bounds what a hostile POST can make us build.
QuestionFormSet = forms.formset_factory(
    QuestionForm, extra=0, can_delete=True, max_num=10, absolute_max=10
)


# --- scoring ---------------------------------------------------------------------------


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


# --- webhooks and sources ------------------------------------------------------------

GRADE_CHOICES = [(g.value, g.label) for g in Grade]


class WebhookForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "HubSpot: hot leads"}),
        help_text="How the webhook is listed. Blank: by the URL's host.",
    )
    url = forms.URLField(
        max_length=1000,
        assume_scheme="https",
        label="CRM URL",
        widget=forms.URLInput(attrs={"placeholder": "https://crm.example.com/hooks/leadgate"}),
    )
    grades = forms.MultipleChoiceField(
        choices=GRADE_CHOICES,
        initial=["hot"],
        widget=forms.CheckboxSelectMultiple,
        label="Push leads that become",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


class SourceForm(forms.Form):
    name = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"placeholder": "Website (analytics.js)"})
    )
    gates = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only for these gates (none ticked: all gates)",
    )

    def __init__(self, *args: Any, gates: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["gates"].choices = gates  # type: ignore[attr-defined]


class CostForm(forms.Form):
    utm_source = forms.CharField(
        max_length=200,
        label="utm_source",
        widget=forms.TextInput(attrs={"placeholder": "linkedin"}),
    )
    utm_campaign = forms.CharField(
        max_length=200, required=False, label="utm_campaign (blank: whole source)"
    )
    period_start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="From")
    period_end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="To")
    amount = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2)
    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        initial="EUR",
        max_length=3,
        error_messages={"invalid": "A three-letter currency code, e.g. EUR."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and start > end:
            self.add_error("period_end", "The period must end on or after its start.")
        return data
