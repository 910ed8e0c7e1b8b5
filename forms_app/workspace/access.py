"""Who may do what in the workspace.

Two roles, as Django groups made by the `i8_roles` migration: "marketer" edits gates,
scoring, webhooks and sources; "sales" sees leads and reports only. Superusers and
staff users count as marketers (they already run the admin, the fallback back office).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

MARKETER = "marketer"
SALES = "sales"
LOGIN_URL = "/app/login/"

View = Callable[..., HttpResponseBase]


def _groups(user: Any) -> set[str]:
    # Cached on the user object: one query per request however often it is asked.
    cached = getattr(user, "_workspace_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._workspace_groups = cached
    return cached


def can_edit(user: Any) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser or user.is_staff or MARKETER in _groups(user))


def can_view(user: Any) -> bool:
    return can_edit(user) or (user.is_authenticated and user.is_active and SALES in _groups(user))


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(
        request,
        "workspace/forbidden.html",
        {"message": message, "can_edit": can_edit(request.user)},
        status=403,
    )


def _guard(check: Callable[[Any], bool], message: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), LOGIN_URL)
            if not check(request.user):
                return forbidden(request, message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


viewer_required = _guard(
    can_view,
    "Your account has no workspace role yet. Ask an admin to add you to marketer or sales.",
)
marketer_required = _guard(
    can_edit, "Only marketers can change this. Sales users see leads and reports."
)
