"""The process's Redis client for the default cache's server, for the few things that
need a Redis command on the hot path (rate-limit counters, the cache stamp).

One client per process: Django's cache object is made per thread (per greenlet under the
gevent worker), and each would open its own connections.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

REDIS_CACHE_BACKEND = "django.core.cache.backends.redis.RedisCache"
# What these commands protect is worth less than the request: never wait long for Redis.
REDIS_TIMEOUT_S = 0.5

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def default_cache_redis() -> tuple[Any, str] | None:
    """The process's Redis client for the default cache's server and its key prefix
    (with its colon), or None when the default cache is not Redis."""
    config = settings.CACHES["default"]
    if config.get("BACKEND") != REDIS_CACHE_BACKEND:
        return None
    location = config["LOCATION"]
    if isinstance(location, list | tuple):
        location = location[0]  # the primary: the callers write
    prefix = config.get("KEY_PREFIX", "")
    return redis_client(location), f"{prefix}:" if prefix else ""


def redis_client(location: str) -> Any:
    """The process's client for the Redis server at `location` (a redis:// URL), made
    once, with the short timeouts above."""
    client = _clients.get(location)
    if client is None:
        import redis

        with _clients_lock:
            client = _clients.get(location)
            if client is None:
                client = redis.Redis.from_url(
                    location,
                    socket_timeout=REDIS_TIMEOUT_S,
                    socket_connect_timeout=REDIS_TIMEOUT_S,
                )
                _clients[location] = client
    return client
