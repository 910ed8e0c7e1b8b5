"""API token authentication that refuses malformed keys before touching the database."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> Any:
        # DRF keys are 40 hex characters; anything else (a NUL byte, which PostgreSQL
        # rejects in text, or a megabyte of junk) is a bad token, answered with 401.
        if len(key) > 64 or not key.isalnum():
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)
