"""Cache headers for static files: WhiteNoise's hook (WHITENOISE_ADD_HEADERS_FUNCTION).

WhiteNoise already answers a hashed name (what `{% static %}` links in production:
config/static_storage.py) with `max-age` of ten years and `immutable`: a new version is a
new URL. Files under fixed URLs cannot be cached like that, above all the contract's
`/static/leadgate.js`, embedded on customers' sites with no hash in its URL. For those
WhiteNoise sends `max-age=WHITENOISE_MAX_AGE, public`; this adds a window in which a
browser may still use its expired copy while it revalidates in the background (with the
ETag and Last-Modified WhiteNoise sends: a 304 when unchanged). The host page never waits
on leadgate for the tracker, and a release reaches a visitor within max-age, or on the
first page view after that.
"""

from __future__ import annotations

from wsgiref.headers import Headers

STALE_WHILE_REVALIDATE_S = 24 * 3600


def add_revalidation_window(headers: Headers, path: str, url: str) -> None:
    cache_control = headers.get("Cache-Control") or ""
    # Hashed files are immutable already; max-age=0 (debug) means "ask every time".
    if not cache_control.startswith("max-age=") or cache_control.startswith("max-age=0,"):
        return
    if "immutable" not in cache_control:
        headers["Cache-Control"] = (
            f"{cache_control}, stale-while-revalidate={STALE_WHILE_REVALIDATE_S}"
        )
