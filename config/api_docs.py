"""The API reader at /api/docs/: Redoc, served by leadgate itself.

drf-spectacular's own Redoc page links Google Fonts and, without the sidecar, a CDN's
`@latest` Redoc: a blank page offline or behind a corporate proxy, and third-party hosts
on a page whose CSP allows none. This page loads Redoc from /static/
(drf-spectacular-sidecar, pinned) and nothing else.

What Redoc needs beyond the site-wide policy, on this page only:
- style-src 'unsafe-inline': the bundle inserts <style> elements the moment it loads,
  before any option (Redoc's `nonce` included) can reach it, and its components set style
  attributes. A nonce would not cover those, and a nonce in style-src would make browsers
  ignore 'unsafe-inline'. The page shows only leadgate's own schema.
- worker-src blob:: Redoc's search index runs in a worker made from a blob: URL.
Scripts stay 'self' only.
"""

from __future__ import annotations

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularRedocView

REDOC_POLICY = {"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]}


@method_decorator(csp_update(REDOC_POLICY), name="dispatch")
class ApiDocsView(SpectacularRedocView):
    template_name = "api_docs/redoc.html"
