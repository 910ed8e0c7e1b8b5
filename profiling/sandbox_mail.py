"""The sandbox mail inbox (`/sandbox/mail/`): what leadgate sent with no mail server.

Staff only, and only with LEADGATE_SANDBOX=1, like the sandbox CRM inbox next to it.
The HTML part is shown as source, never rendered: the page runs nothing from an email.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from profiling.models import SandboxEmail

PAGE_SIZE = 100


@require_safe
def mail_inbox(request: HttpRequest) -> HttpResponse:
    # Checked per request (not by leaving the route out) so that tests can switch it.
    if not settings.LEADGATE_SANDBOX:
        raise Http404("The sandbox inboxes are off (LEADGATE_SANDBOX).")
    return _mail_page(request)


@staff_member_required
def _mail_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "profiling/sandbox_mail.html",
        {
            "emails": SandboxEmail.objects.all()[:PAGE_SIZE],
            "total": SandboxEmail.objects.count(),
            "sending": bool(settings.EMAIL_HOST),
        },
    )
