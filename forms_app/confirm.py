"""The emailed confirmation link's page (`/confirm/<token>`, forms_app/services/confirmation.py).

GET (a person, or a mail scanner prefetching links) shows what is confirmed and one
button: opening the link confirms nothing. POST (the button) confirms, once: the signed
token authorises it, so no session, cookie or CSRF token is needed. An expired link says
so (410) and points to the form.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from config.ratelimit import client_ip, rate_limit_hit
from config.visitor_language import vary_on_language, visitor_language
from forms_app.selectors import submission_for_confirmation
from forms_app.services.confirmation import (
    ConfirmOutcome,
    ConfirmState,
    confirmation_token_language,
    confirmation_token_read,
    submission_confirm,
)

# Confirmation pages per client address and minute: tokens are unguessable, this only
# stops one client hammering the page.
CONFIRM_LIMIT_PER_IP = 30


def _page(
    request: HttpRequest,
    state: str,
    *,
    status: int = 200,
    language: str | None = None,
    **context: Any,
) -> HttpResponse:
    # In the language of the form the address was entered in; with no gate to say it,
    # in the email's (the link carries it), else the browser's, else English.
    gate = context.get("gate")
    token = context.pop("token", "")
    chosen, negotiated = visitor_language(
        request,
        gate.language if gate is not None else language,
        confirmation_token_language(token) if token else None,
    )
    with translation.override(chosen):
        response = render(
            request, "forms_app/confirm.html", {"state": state, **context}, status=status
        )
    # Per person and per moment (ask, then done): never from a shared cache.
    patch_cache_control(response, private=True, no_cache=True)
    return vary_on_language(response, negotiated)


@csrf_exempt  # authorised by the signed token, like the unsubscribe link
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    wait = rate_limit_hit(
        key=f"confirm:{client_ip(request)}", limit=CONFIRM_LIMIT_PER_IP, window_s=60
    )
    if wait is not None:
        response = _page(request, "busy", status=429, wait=wait, token=token)
        response["Retry-After"] = str(wait)
        return response
    state, submission_id = confirmation_token_read(token)
    if state is ConfirmState.INVALID or submission_id is None:
        return _page(request, "invalid", status=400)
    submission = submission_for_confirmation(submission_id=submission_id)
    if state is ConfirmState.EXPIRED:
        if submission is None:
            return _page(request, "expired", status=410, token=token)
        # An archived gate still speaks its language, but its form is not offered again.
        gate = submission.gate if submission.gate.is_active else None
        return _page(request, "expired", status=410, gate=gate, language=submission.gate.language)
    if submission is None:
        return _page(request, "gone", status=404, token=token)
    context: dict[str, Any] = {"gate": submission.gate, "submission": submission}
    if request.method == "POST":
        if submission_confirm(submission_id=submission_id) is ConfirmOutcome.GONE:
            return _page(request, "gone", status=404, token=token)
        return _page(request, "done", **context)
    if submission.confirmed_at is not None:
        return _page(request, "done", **context)
    return _page(request, "ask", **context)
