"""Who may frame a page: the Content-Security-Policy's frame-ancestors per response.

The site-wide policy (CONTENT_SECURITY_POLICY in config/settings.py) lets no one frame
leadgate's pages. A gate's iframe variant may be framed by the sites its marketer listed
in the gate's `allowed_origins`, and only by them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from csp.constants import NONE
from django.http import HttpResponseBase

from config.cors import normalise_origin

# An origin that is safe to write into the header as a CSP source: scheme, host (a DNS
# name or a bracketed IPv6 address) and an optional port, nothing else. The allow-list
# can be edited in the admin without the API's validation, and a stray space or `;`
# would otherwise add sources or directives to the policy.
_ORIGIN = re.compile(r"https?://(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")


def frame_ancestors_sources(origins: Iterable[str]) -> list[str]:
    """The CSP sources for `origins`: each well-formed one, normalised; 'none' if none."""
    sources = []
    for origin in origins:
        if not isinstance(origin, str):
            continue
        normal = normalise_origin(origin)
        if _ORIGIN.fullmatch(normal) and normal not in sources:
            sources.append(normal)
    return sources or [NONE]


def frame_ancestors_allow(response: HttpResponseBase, origins: Iterable[str]) -> None:
    """Let only `origins` frame `response` (and no one when the list is empty).

    What django-csp's csp_replace decorator does, for a policy known only once the view
    has found its gate: the middleware reads this attribute when it writes the header.
    """
    replace = dict(getattr(response, "_csp_replace", None) or {})
    replace["frame-ancestors"] = frame_ancestors_sources(origins)
    response._csp_replace = replace  # type: ignore[attr-defined]
