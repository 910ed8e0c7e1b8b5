"""Calling a WSGI application directly, as a server would: for the tests of what the
production entry point (config/wsgi.py) does before and around Django's handler."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.util import setup_testing_defaults


def wsgi_call(
    app: Callable[..., Iterable[bytes]], environ: dict[str, Any], headers: dict[str, str] | None
) -> tuple[str, dict[str, str], bytes]:
    """Run `app` on `environ` (plus `headers` as HTTP_* keys and wsgiref's defaults for
    the rest): the status line, the headers and the whole body, the iterable closed."""
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        seen["status"], seen["headers"] = status, response_headers

    chunks = app(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return seen["status"], dict(seen["headers"]), content
