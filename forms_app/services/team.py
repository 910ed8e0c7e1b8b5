"""The team: marketers invite colleagues by email, set their role and remove them.

Roles are the groups of config/roles.py. Every change to who is a marketer takes one
lock first (the marketer group's row), so two marketers removing each other at the
same moment cannot leave the workspace with none: the second sees the first's change.

An invitation is a random token sent by email (only its SHA-256 is stored). Accepting
claims it with a conditional UPDATE (`accepted_at IS NULL`) in the transaction that
makes or joins the account, so a token works once, and a failed accept (a weak
password) leaves it usable.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from rest_framework.authtoken.models import Token

from config.ratelimit import rate_limit_hit
from config.roles import MARKETER, MARKETERS_ONLY_MESSAGE, SALES, can_edit
from forms_app.models import Invitation, TeamRole
from forms_app.selectors import account_for_email, role_of
from profiling.models import EmailKind
from profiling.services.mail import email_queue

INVITATION_TTL = timedelta(days=7)
# A marketer's account must not become a way to mail strangers in bulk.
INVITATIONS_PER_HOUR = 30
MAX_EMAIL = 150  # the address becomes the username (150 characters in Django)
MAX_NAME = 150
MAX_PASSWORD = 256
ROLE_GROUPS = (MARKETER, SALES)


class InvitationUnusable(Exception):
    """The token names no invitation, or one that can no longer be accepted."""

    MESSAGES = {
        "unknown": "This invitation link is not valid. Check that you copied all of it, "
        "or ask the colleague who invited you for a new one.",
        "expired": "This invitation has expired (links work for 7 days). "
        "Ask the colleague who invited you to send a new one.",
        "revoked": "This invitation was withdrawn. Ask the colleague who invited you "
        "if you should have access.",
        "used": "This invitation was already accepted. Log in with your email address "
        "and the password you chose.",
    }

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(self.MESSAGES[reason])


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_state(invitation: Invitation, *, now: datetime | None = None) -> str:
    """pending, used, revoked or expired."""
    if invitation.accepted_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= (now or timezone.now()):
        return "expired"
    return "pending"


def invitation_url(*, token: str, base: str) -> str:
    return f"{base}/app/invite/{token}"


def _marketers() -> Any:
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_staff=True) | Q(is_superuser=True) | Q(groups__name=MARKETER))
        .distinct()
    )


def _lock_team() -> None:
    """Serialise every change to the team (call inside a transaction)."""
    group, _ = Group.objects.get_or_create(name=MARKETER)
    Group.objects.select_for_update().filter(pk=group.pk).first()


def _role_set(user: Any, role: str) -> None:
    others = Group.objects.filter(name__in=ROLE_GROUPS).exclude(name=role)
    user.groups.remove(*others)
    user.groups.add(Group.objects.get_or_create(name=role)[0])


def _require_marketer(actor: Any) -> None:
    if not can_edit(actor):
        raise PermissionDenied(MARKETERS_ONLY_MESSAGE)


def _clean_role(role: str) -> str:
    if role not in TeamRole.values:
        raise ValidationError({"role": ["Choose marketer or sales."]})
    return role


def _display(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


def invitation_create(
    *, invited_by: Any, email: str, role: str, base: str = ""
) -> tuple[Invitation, str]:
    """Invite `email` in `role`; returns the invitation and the raw token (emailed only).

    A new invitation to an address replaces its pending one (the older link stops
    working). The email is queued in the same transaction and sent after commit.
    """
    _require_marketer(invited_by)
    email = (email or "").strip().lower()
    if not email:
        raise ValidationError({"email": ["Enter your colleague's email address."]})
    if len(email) > MAX_EMAIL:
        raise ValidationError({"email": [f"Use an address of at most {MAX_EMAIL} characters."]})
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": ["Enter a valid email address."]}) from exc
    role = _clean_role(role)
    member = account_for_email(email)
    if member is not None and member.is_active and role_of(member) == role:
        raise ValidationError({"email": [f"{email} is already on the team as {role}."]})
    base = (base or settings.LEADGATE_BASE_URL).rstrip("/")
    if not base:
        raise ValidationError(
            "No address to put in the link: set LEADGATE_BASE_URL to this server's URL."
        )
    wait = rate_limit_hit(
        key=f"team-invite:{invited_by.pk}", limit=INVITATIONS_PER_HOUR, window_s=3600
    )
    if wait is not None:
        raise ValidationError(
            f"You sent {INVITATIONS_PER_HOUR} invitations this hour: try again in "
            f"{max(1, wait // 60)} minutes."
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            email=email,
            role=role,
            token_hash=token_hash(token),
            invited_by=invited_by,
            expires_at=now + INVITATION_TTL,
        )
        context = {
            "inviter": _display(invited_by),
            "role": role,
            "role_label": TeamRole(role).label,
            "accept_url": invitation_url(token=token, base=base),
            "days": INVITATION_TTL.days,
            "site": base,
        }
        # To a colleague, not a lead (no `lead_id`): no unsubscribe header, no
        # do-not-contact check; they asked to be let in.
        email_queue(
            kind=EmailKind.TEAM_INVITATION,
            to=email,
            subject=f"{_display(invited_by)} invited you to leadgate",
            text=render_to_string("forms_app/email/team_invitation.txt", context),
            html=render_to_string("forms_app/email/team_invitation.html", context),
            # The workspace, and so its invitations, speak English.
            language="en",
        )
    return invitation, token


def invitation_for_token(token: str) -> Invitation:
    """The invitation a token names, whatever its state; InvitationUnusable("unknown")."""
    if not token or len(token) > 128:
        raise InvitationUnusable("unknown")
    invitation = Invitation.objects.filter(token_hash=token_hash(token)).first()
    if invitation is None:
        raise InvitationUnusable("unknown")
    return invitation


def invitation_accept(
    *, token: str, password: str, name: str = "", now: datetime | None = None
) -> Any:
    """Accept an invitation: make the account (name and the chosen password, checked by
    Django's password validators), or give the invited role to the existing account
    with that address (its own password proves it is theirs). Returns the user.

    Raises InvitationUnusable when the token is unknown, expired, revoked or already
    used (a second accept changes nothing), ValidationError for the form's fields.
    """
    invitation = invitation_for_token(token)
    name = " ".join((name or "").split())
    if len(name) > MAX_NAME:
        raise ValidationError({"name": [f"Use at most {MAX_NAME} characters."]})
    if len(password or "") > MAX_PASSWORD:
        raise ValidationError({"password": [f"Use at most {MAX_PASSWORD} characters."]})
    now = now or timezone.now()
    with transaction.atomic():
        _lock_team()
        claimed = Invitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).update(accepted_at=now)
        if not claimed:
            invitation.refresh_from_db()
            raise InvitationUnusable(invitation_state(invitation, now=now))
        # Raising below rolls the claim back: the link keeps working for a second try.
        user = account_for_email(invitation.email)
        if user is not None and user.is_active:
            if not password or not user.check_password(password):
                raise ValidationError(
                    {"password": ["Enter the password of your existing leadgate account."]}
                )
        else:
            if not name:
                raise ValidationError({"name": ["Enter your name."]})
            user_model = get_user_model()
            first, _, last = name.partition(" ")
            if user is None:
                user = user_model(username=invitation.email, email=invitation.email)
            user.first_name, user.last_name = first[:150], last[:150]
            try:
                validate_password(password, user=user)
            except ValidationError as exc:
                raise ValidationError({"password": list(exc.messages)}) from exc
            # A removed member coming back starts afresh: a new password, active again.
            user.is_active = True
            user.set_password(password)
            user.save()
        _role_set(user, invitation.role)
        Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
    return user


def invitation_revoke(*, actor: Any, invitation: Invitation) -> None:
    """Withdraw a pending invitation: its link stops working. An accepted one cannot be."""
    _require_marketer(actor)
    with transaction.atomic():
        revoked = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        if not revoked:
            invitation.refresh_from_db()
            if invitation.accepted_at is not None:
                raise ValidationError(
                    f"{invitation.email} already accepted: remove them from the team instead."
                )


def _check_member(*, actor: Any, member: Any, doing: str) -> None:
    _require_marketer(actor)
    if member.pk == actor.pk:
        raise ValidationError(f"You cannot {doing} yourself: ask another marketer.")
    if member.is_staff or member.is_superuser:
        raise ValidationError(
            f"{_display(member)} is an admin account, always a marketer: change it in the admin."
        )
    if not member.is_active:
        raise ValidationError(f"{_display(member)} is no longer on the team.")


def _keep_a_marketer(member: Any) -> None:
    if not _marketers().exclude(pk=member.pk).exists():
        raise ValidationError(
            f"{_display(member)} is the last marketer: make someone else a marketer first."
        )


def member_role_set(*, actor: Any, member: AbstractBaseUser, role: str) -> None:
    """Make a member a marketer or a sales user (their groups follow)."""
    role = _clean_role(role)
    _check_member(actor=actor, member=member, doing="change the role of")
    with transaction.atomic():
        _lock_team()
        if role == SALES:
            _keep_a_marketer(member)
        _role_set(member, role)


def member_remove(*, actor: Any, member: Any) -> None:
    """Take a member off the team: the account is deactivated (its history, such as who
    sent an invitation, stays), its roles and API key go, and its sessions stop working."""
    _check_member(actor=actor, member=member, doing="remove")
    with transaction.atomic():
        _lock_team()
        _keep_a_marketer(member)
        get_user_model().objects.filter(pk=member.pk).update(is_active=False)
        member.is_active = False
        member.groups.clear()
        Token.objects.filter(user_id=member.pk).delete()
