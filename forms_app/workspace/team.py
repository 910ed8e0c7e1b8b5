"""The team page (marketers: members, roles, invitations) and the public page where an
invited colleague accepts (forms_app/services/team.py does every change)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.ratelimit import client_ip, rate_limit_hit
from forms_app.links import base_url
from forms_app.models import Invitation, TeamRole
from forms_app.selectors import account_for_email, invitations_pending, team_members
from forms_app.services.team import (
    INVITATION_TTL,
    MAX_EMAIL,
    MAX_NAME,
    MAX_PASSWORD,
    InvitationUnusable,
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_revoke,
    invitation_state,
    member_remove,
    member_role_set,
)
from forms_app.workspace.access import marketer_required
from forms_app.workspace.common import add_errors, page, validation_messages

# Accepting checks a password (an existing account's) or sets one: limited per address
# like the login, so the page is no way to guess passwords or tokens in bulk.
ACCEPT_LIMIT_PER_IP = 10
ACCEPT_WINDOW_S = 60
# The session ModelBackend restores: the accept page has checked who this is itself.
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=MAX_EMAIL, label="Colleague's email")
    role = forms.ChoiceField(choices=TeamRole.choices, initial=TeamRole.SALES)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=TeamRole.choices)


class NewAccountForm(forms.Form):
    name = forms.CharField(max_length=MAX_NAME, label="Your name")
    password = forms.CharField(
        max_length=MAX_PASSWORD,
        strip=False,
        label="Choose a password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=" ".join(password_validators_help_texts()),
    )
    password2 = forms.CharField(
        max_length=MAX_PASSWORD,
        strip=False,
        label="The password again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password2") != data["password"]:
            self.add_error("password2", "The two passwords differ.")
        return data


class ExistingAccountForm(forms.Form):
    password = forms.CharField(
        max_length=MAX_PASSWORD,
        strip=False,
        label="Your leadgate password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _team_page(
    request: HttpRequest, *, form: InviteForm | None = None, status: int = 200
) -> HttpResponse:
    return page(
        request,
        "team.html",
        {
            "members": team_members(),
            "invitations": invitations_pending(),
            "form": form or InviteForm(),
            "roles": TeamRole.choices,
        },
        section="team",
        status=status,
    )


@marketer_required
@require_http_methods(["GET", "POST"])
def team_home(request: HttpRequest) -> HttpResponseBase:
    """GET: members, pending invitations, the invite form. POST: send an invitation."""
    if request.method != "POST":
        return _team_page(request)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation, _ = invitation_create(
                invited_by=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                base=base_url(request),
            )
        except ValidationError as exc:
            add_errors(form, validation_messages(exc))
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email} as {invitation.role}: "
                f"the link works for {INVITATION_TTL.days} days.",
            )
            return redirect("workspace:team")
    return _team_page(request, form=form, status=400)


def _refused(request: HttpRequest, exc: ValidationError) -> HttpResponseBase:
    for message in validation_messages(exc).values():
        for text in message:
            messages.error(request, text)
    return redirect("workspace:team")


@marketer_required
@require_POST
def invitation_withdraw(request: HttpRequest, pk: int) -> HttpResponseBase:
    invitation = Invitation.objects.filter(pk=pk).first()
    if invitation is None:
        raise Http404("No invitation with this id.")
    try:
        invitation_revoke(actor=request.user, invitation=invitation)
    except ValidationError as exc:
        return _refused(request, exc)
    messages.success(
        request, f"Invitation to {invitation.email} withdrawn: its link no longer works."
    )
    return redirect("workspace:team")


def _member(pk: int) -> Any:
    member = get_user_model().objects.filter(pk=pk, is_active=True).first()
    if member is None:
        raise Http404("No team member with this id.")
    return member


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


@marketer_required
@require_POST
def member_role(request: HttpRequest, pk: int) -> HttpResponseBase:
    member = _member(pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose marketer or sales.")
        return redirect("workspace:team")
    try:
        member_role_set(actor=request.user, member=member, role=form.cleaned_data["role"])
    except ValidationError as exc:
        return _refused(request, exc)
    messages.success(request, f"{_name(member)} is now {form.cleaned_data['role']}.")
    return redirect("workspace:team")


@marketer_required
@require_http_methods(["GET", "POST"])
def member_remove_confirm(request: HttpRequest, pk: int) -> HttpResponseBase:
    """GET: what removing does, and the button. POST with confirm=remove: remove."""
    member = _member(pk)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") == "remove":
            try:
                member_remove(actor=request.user, member=member)
            except ValidationError as exc:
                return _refused(request, exc)
            messages.success(
                request, f"{_name(member)} was removed from the team and can no longer log in."
            )
            return redirect("workspace:team")
        error = "Confirm the removal with the button below."
    return page(
        request,
        "team_remove.html",
        {"member": member, "member_name": _name(member), "error": error},
        section="team",
        status=400 if error else 200,
    )


# --- the invited colleague's page (public: the token is the whole authorisation) ----------


def _unusable(request: HttpRequest, exc: InvitationUnusable) -> HttpResponse:
    return render(
        request,
        "workspace/invite_accept.html",
        {"unusable": str(exc)},
        status=404 if exc.reason == "unknown" else 410,
    )


@require_http_methods(["GET", "POST"])
def invitation_accept_page(request: HttpRequest, token: str) -> HttpResponseBase:
    """GET: the form (name and password, or an existing account's password). POST:
    accept, log in, land in the workspace."""
    try:
        invitation = invitation_for_token(token)
        state = invitation_state(invitation)
        if state != "pending":
            raise InvitationUnusable(state)
    except InvitationUnusable as exc:
        return _unusable(request, exc)
    account = account_for_email(invitation.email)
    existing = account is not None and account.is_active
    form_class = ExistingAccountForm if existing else NewAccountForm
    form: forms.Form = form_class()
    context: dict[str, Any] = {"invitation": invitation, "existing": existing}
    status = 200
    if request.method == "POST":
        form = form_class(request.POST)
        wait = rate_limit_hit(
            key=f"invite-accept:{client_ip(request)}",
            limit=ACCEPT_LIMIT_PER_IP,
            window_s=ACCEPT_WINDOW_S,
        )
        if wait is not None:
            response = render(
                request,
                "workspace/invite_accept.html",
                {
                    **context,
                    "form": form_class(),
                    "locked": f"Too many tries from your address: wait {wait} seconds.",
                },
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
        if form.is_valid():
            try:
                user = invitation_accept(
                    token=token,
                    name=form.cleaned_data.get("name", ""),
                    password=form.cleaned_data["password"],
                )
            except InvitationUnusable as exc:
                return _unusable(request, exc)
            except ValidationError as exc:
                add_errors(form, validation_messages(exc))
            else:
                login(request, user, backend=LOGIN_BACKEND)
                messages.success(
                    request, f"Welcome to the team. You log in with {user.get_username()}."
                )
                return redirect("workspace:dashboard")
        status = 400
    return render(request, "workspace/invite_accept.html", {**context, "form": form}, status=status)
