"""Shared bits of the gate API modules."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def base_url(request: HttpRequest) -> str:
    return settings.LEADGATE_BASE_URL or f"{request.scheme}://{request.get_host()}"
