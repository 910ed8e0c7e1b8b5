"""The unsubscribe link of every email to a lead (`/u/<token>`, RFC 8058).

POST (a mail client's one-click, or the button of the page below): the signed token
authorises it, so no session, cookie or CSRF token is needed, and it answers 200.
GET (a person, or a mail scanner prefetching links) only shows the page with the button:
opening the link never unsubscribes by itself.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

from config.visitor_language import vary_on_language, visitor_language
from profiling.selectors import lead_language
from profiling.services.mail import lead_unsubscribe, unsubscribe_token_read


@csrf_exempt  # authorised by the signed token; RFC 8058 posts carry no cookies
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    lead_id = unsubscribe_token_read(token) if request.method in ("GET", "HEAD", "POST") else None
    # The lead's language if the link names one we still know; else the browser's.
    language, negotiated = visitor_language(
        request, lead_language(lead_id=lead_id) if lead_id is not None else None
    )
    with translation.override(language):
        return vary_on_language(_answer(request, lead_id), negotiated)


def _answer(request: HttpRequest, lead_id: uuid.UUID | None) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        response = render(request, "profiling/unsubscribe.html", {"state": "method"}, status=405)
        response["Allow"] = "GET, HEAD, POST"
        return response
    if lead_id is None:
        return render(request, "profiling/unsubscribe.html", {"state": "invalid"}, status=400)
    if request.method == "POST":
        if not lead_unsubscribe(lead_id=lead_id):
            return render(request, "profiling/unsubscribe.html", {"state": "gone"}, status=404)
        return render(request, "profiling/unsubscribe.html", {"state": "done"})
    return render(request, "profiling/unsubscribe.html", {"state": "confirm"})
