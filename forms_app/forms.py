"""The hosted gate's minimal form, validated on the server (it works without JavaScript).

The fields come from the stage policy (`stage_policy.fields_for`): name, email, the
opt-in, and on decision gates at most one custom question per visit. Hidden inputs carry
what the page learnt on GET (UTM parameters, the original referrer, the visitor id).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_noop
from email_validator import EmailNotValidError, validate_email

from forms_app import visitor_messages as say
from forms_app.stage_policy import FieldSpec

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign")
# Custom questions are prefixed so that a question's name can never shadow a built-in.
QUESTION_PREFIX = "q_"
HONEYPOT = "website"
CHOICE_PLACEHOLDER = gettext_noop("Choose one")


def clean_url(value: str, *, max_length: int = 2000) -> str:
    """An http(s) URL of a sane length, or "" (referrers and page URLs are hints only)."""
    value = (value or "").strip()
    if len(value) > max_length or not value.startswith(("http://", "https://")):
        return ""
    return value


class GateForm(forms.Form):
    name = forms.CharField(
        max_length=say.NAME_MAX,
        min_length=1,
        strip=True,
        error_messages={"required": say.NAME_REQUIRED, "max_length": say.NAME_TOO_LONG},
    )
    email = forms.CharField(
        max_length=say.EMAIL_MAX,
        strip=True,
        error_messages={"required": say.EMAIL_REQUIRED, "max_length": say.EMAIL_TOO_LONG},
    )
    subscribe = forms.BooleanField(required=False)
    # Honeypot: hidden from people (off-screen, aria-hidden, not focusable); bots fill it.
    website = forms.CharField(required=False, max_length=1000)
    utm_source = forms.CharField(required=False, max_length=200)
    utm_medium = forms.CharField(required=False, max_length=200)
    utm_campaign = forms.CharField(required=False, max_length=200)
    referrer = forms.CharField(required=False, max_length=4000)
    visitor_id = forms.UUIDField(required=False)
    # The signed render-time token (forms_app/spam.py), checked by the view before this
    # form is validated.
    form_token = forms.CharField(required=False, max_length=300)

    def __init__(self, *args: Any, specs: list[FieldSpec], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.specs = specs
        self.question: FieldSpec | None = None
        builtin = {"name", "email", "subscribe"}
        for spec in specs:
            if spec.name == "subscribe" and spec.required:
                # A gate whose opt-in must be ticked (the form cannot be sent without it).
                self.fields["subscribe"].required = True
                self.fields["subscribe"].error_messages["required"] = say.CONSENT_REQUIRED
            if spec.name in builtin:
                continue
            self.question = spec
            field_name = QUESTION_PREFIX + spec.name
            if spec.type == "choice":
                self.fields[field_name] = forms.ChoiceField(
                    required=False,
                    choices=[("", gettext(CHOICE_PLACEHOLDER))] + [(c, c) for c in spec.choices],
                )
            else:
                self.fields[field_name] = forms.CharField(
                    required=False,
                    max_length=say.ANSWER_MAX,
                    strip=True,
                    error_messages={"max_length": say.ANSWER_TOO_LONG},
                )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if any(ord(ch) < 32 for ch in name):
            raise ValidationError(say.NAME_CHARACTERS)
        return name

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        try:
            return validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValidationError(say.EMAIL_INVALID) from None

    @property
    def is_bot(self) -> bool:
        """The honeypot was filled: the caller pretends success and only counts it."""
        return bool((self.data.get(HONEYPOT) or "").strip())

    def answers(self) -> dict[str, str]:
        if self.question is None:
            return {}
        value = self.cleaned_data.get(QUESTION_PREFIX + self.question.name) or ""
        return {self.question.name: value} if value else {}
