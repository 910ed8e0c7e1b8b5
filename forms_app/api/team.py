"""Marketer API: the team (members and their roles, invitations). Thin views over
forms_app/services/team.py, which holds every rule (the workspace's Team page uses the
same services)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import django_validation_errors, error_body
from config.openapi import errors
from config.pagination import Pagination
from config.roles import MarketerOnly
from forms_app.links import base_url
from forms_app.models import Invitation, TeamRole
from forms_app.selectors import Member, invitations_pending, role_of, team_members
from forms_app.services.team import (
    MAX_EMAIL,
    invitation_create,
    invitation_revoke,
    member_remove,
    member_role_set,
)

REFUSED = errors(401, (403, "Not a marketer."))
NO_INVITATION = errors((404, "No invitation with this id."))
NO_MEMBER = errors((404, "No team member with this id (never one, or removed)."))


class InvitationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=TeamRole.choices)
    invited_by = serializers.CharField(source="invited_by.username", allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class MemberOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.pk")
    username = serializers.CharField(source="user.username")
    email = serializers.CharField(source="user.email")
    name = serializers.CharField()
    role = serializers.CharField(help_text="marketer, sales, or empty: no role yet")
    is_admin = serializers.BooleanField(
        help_text="A staff or superuser account: always a marketer, changed in the admin only."
    )
    last_login = serializers.DateTimeField(source="user.last_login", allow_null=True)


class TeamInvitationListApi(APIView):
    permission_classes = [MarketerOnly]
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=MAX_EMAIL)
        role = serializers.ChoiceField(choices=TeamRole.choices)

    @extend_schema(
        description="The pending invitations (links that still work), newest first.",
        responses={200: InvitationOutputSerializer(many=True), **REFUSED},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(invitations_pending(), request)
        return paginator.get_paginated_response(InvitationOutputSerializer(page, many=True).data)

    @extend_schema(
        description=(
            "Invite a colleague: they get an email with a link that works once, for 7 days, "
            "where they choose a password (or, for an existing account, enter theirs). A new "
            "invitation to an address replaces its pending one. At most 30 an hour per "
            "marketer."
        ),
        request=InputSerializer,
        responses={
            201: InvitationOutputSerializer,
            **errors(
                (400, "An invalid address or role, a member already in that role, or too many.")
            ),
            **REFUSED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            invitation, _ = invitation_create(
                invited_by=request.user,
                email=data.validated_data["email"],
                role=data.validated_data["role"],
                base=base_url(request),
            )
        except DjangoValidationError as exc:
            return Response(error_body(django_validation_errors(exc)), status=400)
        return Response(InvitationOutputSerializer(invitation).data, status=201)


class TeamInvitationDetailApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(
        description="Revoke an invitation: its link stops working (again: nothing to do).",
        request=None,
        responses={
            204: None,
            **errors((400, "The invitation was already accepted.")),
            **NO_INVITATION,
            **REFUSED,
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        invitation = Invitation.objects.filter(pk=pk).first()
        if invitation is None:
            return Response(error_body("No invitation with this id."), status=404)
        try:
            invitation_revoke(actor=request.user, invitation=invitation)
        except DjangoValidationError as exc:
            return Response(error_body(django_validation_errors(exc)), status=400)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamMemberListApi(APIView):
    permission_classes = [MarketerOnly]

    @extend_schema(
        description="Everyone who can log in, with their role.",
        responses={200: MemberOutputSerializer(many=True), **REFUSED},
    )
    def get(self, request: Request) -> Response:
        return Response(MemberOutputSerializer(team_members(), many=True).data)


def _member(pk: int) -> Any:
    return get_user_model().objects.filter(pk=pk, is_active=True).first()


def _member_out(user: Any) -> dict[str, Any]:
    member = Member(
        user=user, role=role_of(user), is_admin=bool(user.is_staff or user.is_superuser)
    )
    return dict(MemberOutputSerializer(member).data)


class TeamMemberDetailApi(APIView):
    permission_classes = [MarketerOnly]

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=TeamRole.choices)

    @extend_schema(
        description=(
            "Change a member's role. Refused (400) for oneself, for an admin account, and "
            "when it would leave no marketer."
        ),
        request=InputSerializer,
        responses={
            200: MemberOutputSerializer,
            **errors((400, "An invalid role, or a change the team's rules refuse.")),
            **NO_MEMBER,
            **REFUSED,
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        member = _member(pk)
        if member is None:
            return Response(error_body("No team member with this id."), status=404)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            member_role_set(actor=request.user, member=member, role=data.validated_data["role"])
        except DjangoValidationError as exc:
            return Response(error_body(django_validation_errors(exc)), status=400)
        return Response(_member_out(member))

    @extend_schema(
        description=(
            "Remove a member: the account is deactivated, its roles and API key removed, its "
            "sessions stop working. Refused (400) for oneself, for an admin account, and for "
            "the last marketer."
        ),
        request=None,
        responses={
            204: None,
            **errors((400, "A removal the team's rules refuse.")),
            **NO_MEMBER,
            **REFUSED,
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        member = _member(pk)
        if member is None:
            return Response(error_body("No team member with this id."), status=404)
        try:
            member_remove(actor=request.user, member=member)
        except DjangoValidationError as exc:
            return Response(error_body(django_validation_errors(exc)), status=400)
        return Response(status=status.HTTP_204_NO_CONTENT)
