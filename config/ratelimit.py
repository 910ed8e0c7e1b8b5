"""Fixed-window rate limits on the shared cache (Redis in production).

`cache.add` then `cache.incr` are atomic on Redis, so concurrent workers count each hit
once. A cache outage must not take the public form down: on error we let the hit pass.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

log = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    if settings.LEADGATE_TRUST_X_FORWARDED_FOR:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            # The right-most address is the one our own proxy saw.
            return forwarded.split(",")[-1].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def rate_limit_hit(*, key: str, limit: int, window_s: int) -> int | None:
    """Count one hit. Returns the seconds to wait when over the limit, else None."""
    if limit <= 0:
        return None
    now = time.time()
    bucket = int(now // window_s)
    cache_key = f"rl:{key}:{bucket}"
    try:
        count = 1 if cache.add(cache_key, 1, timeout=window_s + 1) else cache.incr(cache_key)
    except ValueError:  # the key expired between add and incr: a new window
        count = 1
    except Exception:
        log.warning("rate limit cache unavailable; allowing %s", key, exc_info=True)
        return None
    if count > limit:
        return max(1, int(window_s - (now % window_s)) + 1)
    return None
