"""`POST /api/v1/auth/token`: a marketer's API token for a username and password.

DRF's ObtainAuthToken, written out so that it has the contract's error shape, explicit
input limits, and django-axes' login throttling: authenticate() gets the underlying
Django request, on which axes counts failures per username and address and marks a
locked-out pair (answered by config.lockout: 429 with Retry-After).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.lockout import lockout_response
from config.openapi import errors

MAX_USERNAME = 150  # Django's User.username
MAX_PASSWORD = 1024


class TokenCreateApi(APIView):
    """Public by nature (it is how a script gets credentials): no session, so no CSRF;
    the credentials in the body are the whole check."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    class TokenCreateInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=MAX_USERNAME, trim_whitespace=False)
        password = serializers.CharField(
            max_length=MAX_PASSWORD, trim_whitespace=False, style={"input_type": "password"}
        )

    class TokenOutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        request=TokenCreateInputSerializer,
        # 429: too many wrong passwords for this username from this address.
        responses={
            200: TokenOutputSerializer,
            **errors((400, "Wrong username or password, or a missing field."), 429),
        },
        auth=[],
    )
    def post(self, request: Request) -> Any:
        data = self.TokenCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        django_request = request._request
        user = authenticate(
            django_request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            if getattr(django_request, "axes_locked_out", False):
                return lockout_response(django_request, credentials=data.validated_data)
            raise ValidationError(
                {"__all__": ["Unable to log in with that username and password."]}
            )
        # DRF keeps one token per user: the existing one, or a new one.
        token, _ = Token.objects.get_or_create(user=user)
        return Response(self.TokenOutputSerializer({"token": token.key}).data)
