"""Segment-compatible sources and their write keys (profiling.services.segment)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from forms_app.models import Gate
from forms_app.workspace.access import marketer_required
from forms_app.workspace.common import add_errors, page, validation_messages
from forms_app.workspace.forms import SourceForm
from profiling.models import Source
from profiling.services.segment import source_create, source_delete


def _gates() -> list[tuple[str, str]]:
    return list(Gate.objects.order_by("title").values_list("slug", "title"))


@marketer_required
@require_http_methods(["GET", "POST"])
def source_list(request: HttpRequest) -> HttpResponseBase:
    status = 200
    form = SourceForm(gates=_gates())
    if request.method == "POST":
        form = SourceForm(request.POST, gates=_gates())
        if form.is_valid():
            gates = form.cleaned_data.get("gates") or None
            try:
                source = source_create(name=form.cleaned_data["name"], allowed_gates=gates)
            except ValidationError as exc:
                add_errors(form, validation_messages(exc), {"allowed_gates": "gates"})
            else:
                messages.success(
                    request,
                    f"Source “{source.name}” added: give its write key to your analytics SDK.",
                )
                return redirect("workspace:sources")
        status = 400
    sources = Source.objects.prefetch_related("gates").order_by("id")
    return page(
        request,
        "sources.html",
        {"sources": sources, "form": form},
        section="sources",
        status=status,
    )


@marketer_required
@require_POST
def source_remove(request: HttpRequest, pk: int) -> HttpResponseBase:
    source = Source.objects.filter(pk=pk).first()
    if source is None:
        raise Http404("No source with this id.")
    source_delete(source=source)
    messages.success(request, f"Source “{source.name}” deleted: its write key no longer works.")
    return redirect("workspace:sources")
