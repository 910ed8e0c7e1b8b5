"""What a locked-out login sees (django-axes' AXES_LOCKOUT_CALLABLE; settings.py).

API clients (the token endpoint) get 429 in the contract's error shape with Retry-After;
people get the workspace's login page again, with the reason and when to come back, not
axes' bare text. The admin's login page shows the same page: it posts back to itself.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from config.errors import error_body

LOGIN_TEMPLATE = "workspace/login.html"


def lockout_message() -> str:
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return (
        "Too many failed logins for this username from your network. It is locked for "
        f"{minutes} minute{'s' if minutes != 1 else ''}: try again later, or ask an "
        "administrator to unlock it."
    )


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    retry_after = str(math.ceil(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(error_body(lockout_message()), status=429)
    else:
        username = str((credentials or {}).get("username") or "")[:150]
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        response = render(
            request,
            LOGIN_TEMPLATE,
            {
                "form": AuthenticationForm(request, initial={"username": username}),
                "locked": lockout_message(),
                "next": next_url,
            },
            status=429,
        )
    response["Retry-After"] = retry_after
    return response
