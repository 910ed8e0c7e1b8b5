"""The gate builder's forms: the gate's own settings, and the formsets of its sections,
files and questions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from forms_app.models import KEY_VALIDATOR, FieldType, Language, Stage
from forms_app.services.gates import MAX_UPLOAD_BYTES, UPLOAD_TOO_LARGE, gate_origins_clean

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
