"""Fixed-window rate limits on the shared cache (Redis in production).

A window's counter is one key per limited thing and window (`rl:<key>:<window number>`),
raised with INCRBY and given an expiry just past the window's end. Several counters are
raised in one pipeline: one round trip to Redis however many limits a request checks,
which matters on the public events beacon (the product's hottest path). INCRBY is
atomic, so concurrent workers count each hit once.

The counters live in the Redis of the default cache, under its key prefix, through the
process's one client (config/shared_redis.py). Without Redis (the embedded
demo) the local-memory cache counts instead.

A cache outage must not take the public endpoints down: on error the hit passes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from config.shared_redis import default_cache_redis as _redis

log = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    if settings.LEADGATE_TRUST_X_FORWARDED_FOR:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            # The right-most address is the one our own proxy saw.
            return forwarded.split(",")[-1].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def _counts_add(keys: Sequence[str], amount: int, ttl_s: int) -> list[int]:
    """Add `amount` to each counter (made if missing, expiring in ttl_s); their new values."""
    redis_client = _redis()
    if redis_client is not None:
        client, prefix = redis_client
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.incrby(prefix + key, amount)
            pipe.expire(prefix + key, ttl_s)
        replies = pipe.execute()
        return [int(count) for count in replies[0::2]]
    counts = []
    for key in keys:
        if cache.add(key, amount, timeout=ttl_s):
            counts.append(amount)
            continue
        try:
            counts.append(cache.incr(key, amount))
        except ValueError:  # expired between add and incr: a new window
            cache.add(key, amount, timeout=ttl_s)
            counts.append(amount)
    return counts


def rate_limits_hit(
    *, limits: Sequence[tuple[str, int]], amount: int = 1, window_s: int = 60
) -> int | None:
    """Count `amount` hits against each (key, limit per window) at once; a limit of 0 or
    less is off and costs nothing. Returns the seconds to wait when any counter is over
    its limit, else None. Refused hits count too: a client that keeps pushing stays
    refused until the window ends."""
    active = [(key, limit) for key, limit in limits if limit > 0]
    if not active or amount <= 0:
        return None
    now = time.time()
    bucket = int(now // window_s)
    try:
        counts = _counts_add([f"rl:{key}:{bucket}" for key, _ in active], amount, window_s + 1)
    except Exception:
        log.warning("rate limit store unavailable; allowing %s", active[0][0], exc_info=True)
        return None
    if any(count > limit for count, (_, limit) in zip(counts, active, strict=True)):
        return max(1, int(window_s - (now % window_s)) + 1)
    return None


def rate_limit_hit(*, key: str, limit: int, window_s: int) -> int | None:
    """Count one hit. Returns the seconds to wait when over the limit, else None."""
    return rate_limits_hit(limits=[(key, limit)], amount=1, window_s=window_s)
