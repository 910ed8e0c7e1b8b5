"""Who may do what in the workspace: config/roles.py decides (the same policy as the
marketer API's); this module turns its answer into the workspace's responses, a redirect
to the login page for anonymous users and the workspace's own 403 page for the others."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from config.roles import Access, allows, can_edit, refusal_message

LOGIN_URL = "/app/login/"

View = Callable[..., HttpResponseBase]


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(
        request,
        "workspace/forbidden.html",
        {"message": message, "can_edit": can_edit(request.user)},
        status=403,
    )


def _guard(access: Access) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), LOGIN_URL)
            if not allows(access, request.user, request.method or "GET"):
                return forbidden(request, refusal_message(request.user))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# Leads and reports: sales users read them (and, like everyone but marketers, write nothing).
viewer_required = _guard(Access.SALES_READS)
# Gates, scoring, webhooks, sources, costs: marketers only.
marketer_required = _guard(Access.MARKETER)
