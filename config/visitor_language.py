"""The language of a visitor page that no gate decides (a confirmation or unsubscribe
link whose gate is gone, a forged or expired link).

A gate's `language` decides every visitor page it can; without one, the language of the
email the person came from (recorded with it), then what their browser asks for among
the shipped languages (settings.LANGUAGES), then English. Negotiated here, per view,
rather than by LocaleMiddleware: the workspace and the API stay in English whatever a
browser asks for.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers


def visitor_language(request: HttpRequest, *known: str | None) -> tuple[str, bool]:
    """(language, negotiated): the first of `known` that is shipped, else the browser's
    (negotiated is then True: the answer varies with Accept-Language)."""
    shipped = dict(settings.LANGUAGES)
    for language in known:
        if language and language in shipped:
            return language, False
    # Accept-Language (or the language cookie) against settings.LANGUAGES; the default
    # LANGUAGE_CODE ("en") when nothing matches.
    return translation.get_language_from_request(request), True


def vary_on_language(response: HttpResponse, negotiated: bool) -> HttpResponse:
    if negotiated:
        patch_vary_headers(response, ["Accept-Language"])
    return response
