"""The spam quarantine: submissions held back by the spam guards, released or deleted by
a marketer (forms_app/services/quarantine.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from forms_app.links import base_url
from forms_app.models import Gate, QuarantineReason
from forms_app.selectors import quarantine_list, spam_tally_totals
from forms_app.services.quarantine import quarantine_delete, quarantine_release
from forms_app.workspace.access import marketer_required
from forms_app.workspace.common import page, validation_messages

PAGE_SIZE = 50


class QuarantineFilterForm(forms.Form):
    gate = forms.ChoiceField(required=False)
    reason = forms.ChoiceField(
        choices=[("", "any reason"), *QuarantineReason.choices], required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gates = list(Gate.objects.order_by("title").values_list("slug", "title"))
        self.fields["gate"].choices = [("", "any gate"), *gates]  # type: ignore[attr-defined]


def _back(request: HttpRequest) -> str:
    """The list as it was (filters, page): only our own query string, never a URL."""
    query = {k: request.POST.get(k, "") for k in ("gate", "reason", "page")}
    query = {k: v[:100] for k, v in query.items() if v}
    url = reverse("workspace:quarantine")
    return f"{url}?{urlencode(query)}" if query else url


@marketer_required
@require_GET
def quarantine_page(request: HttpRequest) -> HttpResponseBase:
    form = QuarantineFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    gate = Gate.objects.filter(slug=data["gate"]).first() if data.get("gate") else None
    rows = quarantine_list(gate=gate, reason=data.get("reason") or "")
    paginator = Paginator(rows, PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    pairs = (("gate", gate.slug if gate else ""), ("reason", data.get("reason") or ""))
    filters = {k: v for k, v in pairs if v}
    return page(
        request,
        "quarantine.html",
        {
            "form": form,
            "rows": current,
            "total": paginator.count,
            "filters": filters,
            "filter_query": urlencode(filters),
            "page_number": current.number,
            "tally": spam_tally_totals(gate=gate),
        },
        section="quarantine",
    )


@marketer_required
@require_POST
def quarantined_release(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        result = quarantine_release(item_id=pk, base_url=base_url(request))
    except ValidationError as exc:
        for message in validation_messages(exc).get("__all__", []):
            messages.error(request, message)
        return redirect(_back(request))
    if result is None:
        messages.info(request, "That submission was already released or deleted.")
    else:
        messages.success(
            request,
            "Released: the visitor is now a lead, scored and pushed like any other lead."
            if result.created
            else "Released: the submission was added to the existing lead.",
        )
    return redirect(_back(request))


@marketer_required
@require_POST
def quarantined_remove(request: HttpRequest, pk: int) -> HttpResponseBase:
    if quarantine_delete(item_id=pk):
        messages.success(request, "Deleted: the submission is gone.")
    else:
        messages.info(request, "That submission was already released or deleted.")
    return redirect(_back(request))
