"""A gate's public addresses: its hosted page and the snippet that embeds it on a site.

One place for every surface that shows them (the marketer API, the workspace, the
visitor API's content links), so they cannot drift apart.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.html import escape

from forms_app.models import Gate


def base_url(request: HttpRequest) -> str:
    """Where visitors reach this service: LEADGATE_BASE_URL, else the request's own host."""
    return settings.LEADGATE_BASE_URL or f"{request.scheme}://{request.get_host()}"


def gate_hosted_url(gate: Gate, *, base: str) -> str:
    return f"{base}/g/{gate.slug}"


def gate_embed_snippet(gate: Gate, *, base: str) -> str:
    return (
        f'<script src="{base}/static/leadgate.js" data-gate="{gate.slug}" async></script>\n'
        f'<div data-leadgate-form="{gate.slug}"></div>'
    )


def gate_iframe_snippet(gate: Gate, *, base: str) -> str:
    """The iframe variant, for sites that run no third-party form script: the small
    leadgate-frame.js sizes the frame to its content (it can be copied to the site)."""
    return (
        f'<iframe src="{base}/g/{gate.slug}/embed" title="{escape(gate.title)}"></iframe>\n'
        f'<script src="{base}/static/leadgate-frame.js" async></script>'
    )
