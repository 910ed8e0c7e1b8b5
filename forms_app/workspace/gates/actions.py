"""The builder page's other buttons: delete the gate, and the diagnostics' "Add it" (allow
an origin whose events were refused)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from forms_app.selectors import gate_get
from forms_app.services.gates import gate_delete, gate_save
from forms_app.workspace.access import marketer_required
from forms_app.workspace.common import validation_messages


@marketer_required
@require_POST
def gate_remove(request: HttpRequest, slug: str) -> HttpResponseBase:
    gate = gate_get(slug=slug)
    if gate is None:
        raise Http404("No gate with this slug.")
    title = gate.title
    gate_delete(gate=gate)
    messages.success(request, f"Deleted “{title}”.")
    return redirect("workspace:gates")


@marketer_required
@require_POST
def gate_origin_allow(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The diagnostics' "Add it": allow an origin whose events were refused."""
    gate = gate_get(slug=slug)
    if gate is None:
        raise Http404("No gate with this slug.")
    origin = str(request.POST.get("origin", ""))[:300]
    try:
        gate_save(gate=gate, data={"allowed_origins": [*gate.allowed_origins, origin]})
    except ValidationError as exc:
        for msgs in validation_messages(exc).values():
            for m in msgs:
                messages.error(request, f"{origin}: {m}")
    else:
        messages.success(request, f"{origin} may now send events and show the form.")
    return redirect("workspace:gate-edit", slug=gate.slug)
