"""The workspace's login page: Django's login view, plus the sandbox's demo logins."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import LoginView

from forms_app.demo.logins import demo_logins_shown


class WorkspaceLoginView(LoginView):
    template_name = "workspace/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # Empty outside the sandbox (LEADGATE_SANDBOX=1): a real server never shows one.
        context["demo_logins"] = demo_logins_shown()
        return context
