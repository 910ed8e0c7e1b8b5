"""The landing page: the active gates."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.roles import MARKETER
from forms_app.demo.logins import demo_logins_shown
from forms_app.models import Gate


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    gates = Gate.objects.filter(is_active=True).order_by("title")
    # In the demo (sandbox on), say how a marketer logs in: `manage.py demo` made the
    # account (named only while it still has the demo's password).
    demo_login = next((x for x in demo_logins_shown() if x.group == MARKETER), None)
    return render(
        request,
        "forms_app/home.html",
        {
            "gates": gates,
            "sandbox": settings.LEADGATE_SANDBOX,
            "demo_login": demo_login,
        },
    )
