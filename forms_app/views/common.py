"""What the hosted pages share (and the PDF reader, forms_app/reader.py): the visitor
and access cookies, and the private, not-found and base-template helpers."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from forms_app.access import Access, access_token_read
from forms_app.models import Gate

VISITOR_COOKIE = "lg_vid"

VISITOR_COOKIE_MAX_AGE = 365 * 24 * 3600


def access_cookie_name(slug: str) -> str:
    return f"lg_access_{slug}"


def parse_uuid(raw: str | None) -> uuid.UUID | None:
    if not raw or len(raw) > 64:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def visitor_id_from(request: HttpRequest) -> uuid.UUID | None:
    """The tracker's visitor id from the first-party cookie, if it is a valid UUID."""
    return parse_uuid(request.COOKIES.get(VISITOR_COOKIE))


def access_for(request: HttpRequest, gate: Gate) -> tuple[Access | None, str]:
    """The access granted by the `t` query parameter or the gate's cookie, and its token."""
    for token in (request.GET.get("t"), request.COOKIES.get(access_cookie_name(gate.slug))):
        access = access_token_read(token, gate_slug=gate.slug)
        if access is not None:
            return access, str(token)
    return None, ""


def _set_cookie(
    response: HttpResponseBase,
    request: HttpRequest,
    name: str,
    value: str,
    *,
    max_age: int,
    httponly: bool,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        samesite="Lax",
        httponly=httponly,
        secure=request.is_secure(),
    )


def _set_visitor_cookie(response: HttpResponseBase, request: HttpRequest, vid: uuid.UUID) -> None:
    _set_cookie(
        response, request, VISITOR_COOKIE, str(vid), max_age=VISITOR_COOKIE_MAX_AGE, httponly=False
    )


def _set_access_cookie(
    response: HttpResponseBase, request: HttpRequest, slug: str, token: str
) -> None:
    _set_cookie(
        response,
        request,
        access_cookie_name(slug),
        token,
        max_age=settings.LEADGATE_ACCESS_TOKEN_MAX_AGE_S,
        httponly=True,
    )


def _private(response: HttpResponseBase) -> HttpResponseBase:
    # The page differs per visitor (form or content, a token in links): never cache it
    # in a shared cache.
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _not_found(request: HttpRequest, *, embed: bool = False) -> HttpResponse:
    return render(
        request,
        "forms_app/not_found.html",
        {"base_template": _base(embed)},
        status=404,
    )


def _base(embed: bool) -> str:
    return "forms_app/base_embed.html" if embed else "forms_app/base.html"
