"""Scoring rules and thresholds, with a what-if preview before saving.

"Preview impact" runs profiling.services.whatif.scoring_what_if on the draft (the active
rules with this one added, changed or removed; or the draft thresholds) and shows how
many leads would change grade, with a sample, changing nothing. "Save" writes through
scoring_rule_save / scoring_settings_update, which re-grade every lead in the background.
The rules about what a rule may combine are the model's, checked by the scoring services
(scoring_rule_check for a preview, scoring_rule_save on save), as for the marketer API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods

from forms_app.models import Gate
from forms_app.selectors import rule_keys
from forms_app.workspace.access import marketer_required
from forms_app.workspace.common import add_errors, page, validation_messages
from forms_app.workspace.forms import RuleForm, ThresholdsForm
from forms_app.workspace.rule_sentence import rule_sentence
from profiling.models import ScoringRule
from profiling.scoring_engine import RuleSpec, Thresholds
from profiling.selectors import rule_list
from profiling.services.rules import (
    scoring_rule_check,
    scoring_rule_delete,
    scoring_rule_save,
    scoring_settings_update,
)
from profiling.services.scoring import rule_spec, scoring_settings_get
from profiling.services.whatif import WhatIfResult, scoring_what_if

WHATIF_SAMPLE = 10
RULE_ALIASES = {"min_duration_ms": "min_duration_s", "section_key": "section", "file_key": "file"}


def _gates() -> list[tuple[str, str]]:
    return list(Gate.objects.order_by("title").values_list("slug", "title"))


def _thresholds_form_initial() -> dict[str, Any]:
    s = scoring_settings_get()
    return {
        "warm_threshold": s.warm_threshold,
        "hot_threshold": s.hot_threshold,
        "half_life_days": s.half_life_days,
    }


@marketer_required
@require_http_methods(["GET", "POST"])
def scoring_home(request: HttpRequest) -> HttpResponseBase:
    """Rules, thresholds; POST = thresholds preview or save (marketers only)."""
    whatif: WhatIfResult | None = None
    status = 200
    if request.method == "POST":
        form = ThresholdsForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            if request.POST.get("action") == "save":
                scoring_settings_update(data=d)
                messages.success(
                    request, "Thresholds saved. Every lead is being re-graded in the background."
                )
                return redirect("workspace:scoring")
            whatif = scoring_what_if(
                rules=[
                    rule_spec(r) for r in ScoringRule.objects.filter(is_active=True).order_by("id")
                ],
                thresholds=Thresholds(
                    warm=d["warm_threshold"],
                    hot=d["hot_threshold"],
                    half_life_days=d["half_life_days"],
                ),
                sample_size=WHATIF_SAMPLE,
            )
        else:
            status = 400
    else:
        form = ThresholdsForm(initial=_thresholds_form_initial())
    rules = [{"rule": r, "sentence": rule_sentence(r)} for r in rule_list()]
    return page(
        request,
        "scoring.html",
        {"rules": rules, "form": form, "whatif": whatif, "whatif_for": "thresholds"},
        section="scoring",
        status=status,
    )


def _draft(rule: ScoringRule | None, draft: ScoringRule | None) -> list[RuleSpec]:
    """The active rules with `rule` replaced by (or, new, joined by) `draft`, a checked
    but unsaved rule; draft None: the rule removed."""
    specs = [
        rule_spec(r)
        for r in ScoringRule.objects.filter(is_active=True).order_by("id")
        if rule is None or r.pk != rule.pk
    ]
    if draft is not None and draft.is_active:
        if draft.pk is None:
            draft.pk = 0  # a new rule: an id no saved rule has
        specs.append(rule_spec(draft))
    return specs


@marketer_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponseBase:
    rule = rule_list().filter(pk=pk).first() if pk is not None else None
    if pk is not None and rule is None:
        raise Http404("No scoring rule with this id.")
    whatif: WhatIfResult | None = None
    # The rule read back: the saved rule's, or the draft's once the form is valid.
    sentence = rule_sentence(rule) if rule is not None else ""
    status = 200
    # Suggested in the key fields, and what a typed key is checked against.
    keys = rule_keys()
    if request.method == "POST":
        form = RuleForm(request.POST, gates=_gates(), keys=keys)
        action = request.POST.get("action", "preview")
        if action == "delete" and rule is not None:
            if request.POST.get("confirm") == "1":
                scoring_rule_delete(rule=rule)
                messages.success(request, f"Deleted rule “{rule.name}”. Leads are being re-graded.")
                return redirect("workspace:scoring")
            form = RuleForm(initial=_rule_initial(rule), gates=_gates(), keys=keys)
            whatif = scoring_what_if(rules=_draft(rule, None), sample_size=WHATIF_SAMPLE)
            return page(
                request,
                "rule_edit.html",
                {
                    "rule": rule,
                    "form": form,
                    "whatif": whatif,
                    "confirm_delete": True,
                    "sentence": sentence,
                },
                section="scoring",
            )
        if form.is_valid():
            data = form.rule_data()
            sentence = rule_sentence(ScoringRule(**data))
            try:
                if action == "save":
                    saved = scoring_rule_save(rule=rule, data=data)
                    messages.success(
                        request,
                        f"Saved rule “{saved.name}”. Every lead is being re-graded in the background.",
                    )
                    return redirect("workspace:scoring")
                draft = scoring_rule_check(rule=rule, data=data)
            except ValidationError as exc:
                add_errors(form, validation_messages(exc), RULE_ALIASES)
            else:
                whatif = scoring_what_if(rules=_draft(rule, draft), sample_size=WHATIF_SAMPLE)
        if form.errors:
            status = 400
    else:
        form = RuleForm(
            initial=_rule_initial(rule)
            if rule
            else {"is_active": True, "event_type": "section_view"},
            gates=_gates(),
            keys=keys,
        )
    return page(
        request,
        "rule_edit.html",
        {"rule": rule, "form": form, "whatif": whatif, "sentence": sentence},
        section="scoring",
        status=status,
    )


@marketer_required
@require_GET
def rule_sentence_preview(request: HttpRequest) -> HttpResponseBase:
    """The editor's fields (a query string) read back as a sentence, while the marketer
    types (static/rule-edit.js); saves nothing. No name or points yet read as a draft of
    0 points; a value the form refuses is a 400 in the contract's error shape. A section or
    file key no gate has is read back as typed: the editor refuses it on preview and save."""
    data = request.GET.copy()
    data["name"] = data.get("name") or "draft"
    data["points"] = data.get("points") or "0"
    form = RuleForm(data, gates=_gates())
    if not form.is_valid():
        errors = {field: [str(m) for m in messages] for field, messages in form.errors.items()}
        return JsonResponse({"errors": errors}, status=400)
    return JsonResponse({"sentence": rule_sentence(ScoringRule(**form.rule_data()))})


def _rule_initial(rule: ScoringRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "event_type": rule.event_type,
        "gate": rule.gate.slug if rule.gate else "",
        "section": rule.section_key,
        "file": rule.file_key,
        "event_name": rule.event_name,
        "profile_condition": rule.profile_condition,
        "points": rule.points,
        "max_points": rule.max_points,
        "min_duration_s": rule.min_duration_ms / 1000 if rule.min_duration_ms is not None else None,
        "makes_hot": rule.makes_hot,
        "is_active": rule.is_active,
    }
