"""A request id per HTTP request, on every log line written while it is handled and in
every Celery task it leads to (and the tasks those lead to).

- The id comes from the request's `X-Request-ID` when that is sane (a load balancer's or
  a client's: letters, digits and `._:-`, at most 128), else a new one; the answer
  carries it back in `X-Request-ID`.
- It lives in a context variable: per thread, and per greenlet under the gevent worker.
- Log records get it as `request_id` (RequestIdFilter, on the root handlers: settings'
  LOGGING, and the Celery worker's handlers via config/celery.py).
- A task published while one is bound carries it in a message header; the worker binds
  it while the task runs, so a beacon's id is on its scoring task's lines and on the
  delivery that scoring enqueues.

Django's handler gets it from RequestIdMiddleware (first in MIDDLEWARE); the events
beacon, which under gunicorn is served before Django's handler (profiling/beacon.py),
calls request_id_bind itself.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
# The Celery message header that carries it.
TASK_HEADER = "leadgate_request_id"
_SANE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

REQUEST_ID: ContextVar[str | None] = ContextVar("leadgate_request_id", default=None)


class _Ids:
    """New ids: a random prefix per process and a counter. The events beacon makes one per
    request, and uuid4 costs a system call (os.urandom) each; this costs a format."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.count = itertools.count(1)

    def new(self) -> str:
        return f"{self.prefix}{next(self.count):08x}"


_ids = _Ids()
# A forked child (a prefork Celery worker, a gunicorn worker) must not repeat its parent's.
os.register_at_fork(after_in_child=_ids.renew)


def request_id_bind(given: str | None) -> tuple[str, Token[str | None]]:
    """Bind `given` if it is sane, else a new id; returns it and the token to reset."""
    rid = given if given and _SANE.fullmatch(given) else _ids.new()
    return rid, REQUEST_ID.set(rid)


def request_id_reset(token: Token[str | None]) -> None:
    REQUEST_ID.reset(token)


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        rid, token = request_id_bind(request.META.get(META_KEY))
        try:
            response = self.get_response(request)
        finally:
            request_id_reset(token)
        response[HEADER] = rid
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (None outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


# --- Celery: the id travels in the task's headers -----------------------------------------
def on_before_task_publish(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    rid = REQUEST_ID.get()
    if rid is not None and headers is not None:
        headers[TASK_HEADER] = rid


_task_tokens: dict[str, Token[str | None]] = {}


def on_task_prerun(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    rid = getattr(getattr(task, "request", None), TASK_HEADER, None)
    if task_id is not None and isinstance(rid, str) and _SANE.fullmatch(rid):
        _task_tokens[task_id] = REQUEST_ID.set(rid)


def on_task_postrun(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        try:
            REQUEST_ID.reset(token)
        except ValueError:  # set in another context (a different thread): just clear
            REQUEST_ID.set(None)
