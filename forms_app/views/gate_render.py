"""How a gate's page is rendered: its form's fields (shared with the workspace's live
preview), the form, and the content it unlocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext

from forms_app.access import Access
from forms_app.forms import CHOICE_PLACEHOLDER, HONEYPOT, QUESTION_PREFIX, UTM_FIELDS, GateForm
from forms_app.links import base_url
from forms_app.models import Gate
from forms_app.spam import FIELD as TOKEN_FIELD
from forms_app.spam import TokenVerdict, form_token_check, form_token_make
from forms_app.views.common import _base

# Query flag of the content page after an opt-in on a double opt-in gate: "confirm from
# the email". Set for every such opt-in, emailed or not (capped, already subscribed), so
# the page never tells who already is a lead.
CONFIRM_NOTICE = "confirm"


@dataclass(frozen=True)
class FieldView:
    """What the template needs to render one input accessibly."""

    name: str  # the HTML name
    id: str
    type: str  # text | email | checkbox | choice
    label: str
    required: bool
    autocomplete: str
    value: Any
    errors: list[str]
    choices: list[tuple[str, str]]
    maxlength: int | None

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"


def field_views(form: GateForm) -> list[FieldView]:
    """The form's fields as the gate templates render them (shared with the workspace's
    live preview, so a preview is exactly what visitors see)."""
    views: list[FieldView] = []
    for spec in form.specs:
        html_name = spec.name if spec.name in form.fields else QUESTION_PREFIX + spec.name
        bound = form[html_name]
        value = bound.value()
        choices: list[tuple[str, str]] = []
        if spec.type == "choice":
            choices = [("", gettext(CHOICE_PLACEHOLDER))] + [(c, c) for c in spec.choices]
        maxlength = getattr(form.fields[html_name], "max_length", None)
        views.append(
            FieldView(
                name=html_name,
                id=f"id_{html_name}",
                type=spec.type,
                label=spec.label,
                required=spec.required,
                autocomplete=spec.autocomplete,
                value=value,
                errors=[str(e) for e in bound.errors],
                choices=choices,
                maxlength=maxlength if spec.type != "checkbox" else None,
            )
        )
    return views


def _common_context(request: HttpRequest, gate: Gate, *, embed: bool) -> dict[str, Any]:
    return {
        "gate": gate,
        "embed": embed,
        "base_template": _base(embed),
        # The one address search engines should list for the gate, whatever this request
        # carries: the iframe variant, UTM parameters, a lead's personal access token.
        "canonical_url": base_url(request) + reverse("gate-page", kwargs={"slug": gate.slug}),
    }


def _render_form(
    request: HttpRequest, gate: Gate, form: GateForm, *, embed: bool, status: int = 200
) -> HttpResponse:
    context = _common_context(request, gate, embed=embed)
    fields = field_views(form)
    hidden = {name: form[name].value() or "" for name in (*UTM_FIELDS, "referrer", "visitor_id")}
    # A re-rendered form (field errors) keeps its still-valid token: the time the visitor
    # already spent counts towards the minimum fill time.
    posted = form[TOKEN_FIELD].value() if form.is_bound else None
    if not posted or form_token_check(posted, gate_slug=gate.slug) is not TokenVerdict.OK:
        posted = form_token_make(gate_slug=gate.slug)
    hidden[TOKEN_FIELD] = posted
    context.update(
        form=form,
        fields=fields,
        hidden=hidden,
        honeypot=HONEYPOT,
        error_fields=[f for f in fields if f.errors],
        non_field_errors=form.non_field_errors(),
        show_form=True,
    )
    return render(request, "forms_app/gate.html", context, status=status)


def _render_content(
    request: HttpRequest, gate: Gate, access: Access | None, token: str, *, embed: bool
) -> HttpResponse:
    context = _common_context(request, gate, embed=embed)
    query = f"?{urlencode({'t': token})}" if token else ""
    files = [
        {
            "key": f.key,
            "title": f.title,
            "href": reverse("gate-file", kwargs={"slug": gate.slug, "key": f.key}) + query,
            "read_href": (
                reverse("pdf-reader", kwargs={"slug": gate.slug, "key": f.key}) + query
                if f.readable_inline
                else ""
            ),
        }
        for f in gate.files.all()
    ]
    context.update(
        show_form=False,
        sections=list(gate.sections.all()),
        files=files,
        just_unlocked=bool(access is not None and request.GET.get("t")),
        confirm_notice=bool(access is not None and request.GET.get(CONFIRM_NOTICE) == "1"),
        # The visitor gave their name and email under the form's notice: the tracker may
        # run even with Global Privacy Control or Do Not Track on.
        identified=access is not None,
    )
    return render(request, "forms_app/gate.html", context)
