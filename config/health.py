"""GET /healthz, GET /readyz and GET /metrics: for load balancers, orchestrators and
Prometheus.

- /healthz: the process answers (nothing else is checked: a load balancer that took a
  node out whenever PostgreSQL hiccuped would take them all out at once).
- /readyz: PostgreSQL answers `SELECT 1` and Redis answers PING, each within about two
  seconds; 503 with the reasons otherwise.
- /metrics: Prometheus's text format (config/metrics.py), only with
  `Authorization: Bearer $LEADGATE_METRICS_TOKEN`; 404 while that setting is unset (the
  endpoint does not exist), 401 for a missing or wrong token.

None of them is rate-limited, redirected to HTTPS (SECURE_REDIRECT_EXEMPT) or behind a
session: probes come from inside the network, over plain HTTP, without cookies.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse

from config.errors import error_body
from config.shared_redis import default_cache_redis, redis_client

# Each dependency must answer within this (connect and query) for the node to be ready.
CHECK_TIMEOUT_S = 2
# kombu's Redis transport keeps a queue's priorities 3, 6 and 9 in lists named
# `<queue>\x06\x16<priority>` beside the queue's own (priority 0).
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)


def _json(data: Any, status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(data), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def _only_get(request: HttpRequest) -> HttpResponse | None:
    if request.method in ("GET", "HEAD"):
        return None
    response = _json(error_body(f'Method "{request.method}" not allowed.'), 405)
    response["Allow"] = "GET, HEAD"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    return _only_get(request) or _json({"status": "ok"})


def database_problem() -> str | None:
    """None if PostgreSQL answers `SELECT 1` within CHECK_TIMEOUT_S, else why not.

    On a connection of its own, not one of the process's: under the gevent worker
    those come from a pool that makes a request wait up to 30 s for a free one, and a
    probe must answer within its own timeout whatever the pool is doing.
    """
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    try:
        with psycopg.connect(**params, connect_timeout=CHECK_TIMEOUT_S, autocommit=True) as db:
            db.execute(f"SET statement_timeout = {CHECK_TIMEOUT_S * 1000}")
            db.execute("SELECT 1").fetchone()
    except Exception as exc:
        return f"postgresql: {type(exc).__name__}: {_first_line(exc)}"
    return None


def redis_problem() -> str | None:
    """None if every Redis leadgate uses (cache, broker) answers PING, else why not."""
    urls = []
    cache = default_cache_redis()
    clients = [cache[0]] if cache is not None else []
    broker = str(settings.CELERY_BROKER_URL)
    if broker.startswith(("redis://", "rediss://", "unix://")):
        location = settings.CACHES["default"].get("LOCATION")
        if broker != location:
            urls.append(broker)
    clients += [redis_client(url) for url in urls]
    for client in clients:
        try:
            client.ping()
        except Exception as exc:
            return f"redis: {type(exc).__name__}: {_first_line(exc)}"
    return None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def readyz(request: HttpRequest) -> HttpResponse:
    refused = _only_get(request)
    if refused is not None:
        return refused
    reasons = [r for r in (database_problem(), redis_problem()) if r]
    if reasons:
        return _json({"status": "unavailable", "reasons": reasons}, 503)
    return _json({"status": "ok"})


def queue_depths() -> dict[str, int]:
    """Messages waiting per Celery queue (all its priority lists); {} without Redis or
    when it does not answer (the scrape still answers with the rest)."""
    broker = str(settings.CELERY_BROKER_URL)
    if not broker.startswith(("redis://", "rediss://", "unix://")):
        return {}
    queues = (
        settings.LEADGATE_CELERY_DELIVERY_QUEUE,
        settings.LEADGATE_CELERY_SCORING_QUEUE,
        settings.CELERY_TASK_DEFAULT_QUEUE,
    )
    try:
        with redis_client(broker).pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.llen(queue)
                for step in PRIORITY_STEPS:
                    pipe.llen(f"{queue}{PRIORITY_SEPARATOR}{step}")
            lengths = pipe.execute()
    except Exception:
        return {}
    per = 1 + len(PRIORITY_STEPS)
    return {q: sum(int(n) for n in lengths[i * per : (i + 1) * per]) for i, q in enumerate(queues)}


def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.LEADGATE_METRICS_TOKEN
    if not token:
        return _json(error_body("Not found."), 404)
    refused = _only_get(request)
    if refused is not None:
        return refused
    given = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    ):
        response = _json(error_body("A valid metrics token is required."), 401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    from prometheus_client import CONTENT_TYPE_LATEST

    from config.metrics import metrics_text

    response = HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
