"""pytest-django's live server, made to end its request threads (and their database
connections) when it stops.

Django's ThreadedWSGIServer serves each client connection in a daemon thread, which
keeps its own database connection (CONN_MAX_AGE) for as long as the client keeps the
connection alive, and closes it only when the client goes away (close_request). Clients
that pool connections (segment-analytics-python's module-level `requests` session,
Chromium) can keep one open past the end of the session; server_close does not wait for
daemon threads, so the thread, and its open session on the test database, outlived the
server, and dropping the test database at the end of the run failed with "database ... is
being accessed by other users" (seen as a PytestWarning in CI).

This server remembers the client connections it is serving; when it closes it shuts
them down, which ends each thread's keep-alive loop (EOF), and waits, up to a few
seconds, until every thread has closed its database connections.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from django.core.servers.basehttp import ThreadedWSGIServer

CLOSE_WAIT_S = 5.0


class ClosingThreadedWSGIServer(ThreadedWSGIServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._serving: set[Any] = set()
        self._serving_changed = threading.Condition()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._serving_changed:
            self._serving.add(request)
        super().process_request(request, client_address)

    def close_request(self, request: Any) -> None:
        try:
            super().close_request(request)  # Django closes this thread's connections first
        finally:
            with self._serving_changed:
                self._serving.discard(request)
                self._serving_changed.notify_all()

    def server_close(self) -> None:
        with self._serving_changed:
            serving = list(self._serving)
        for request in serving:
            with contextlib.suppress(OSError):  # the client closed it meanwhile
                request.shutdown(socket.SHUT_RDWR)
        with self._serving_changed:
            self._serving_changed.wait_for(lambda: not self._serving, CLOSE_WAIT_S)
        super().server_close()


def install() -> None:
    """Make every LiveServerThread (pytest-django's live_server) use this server."""
    from django.test.testcases import LiveServerThread

    LiveServerThread.server_class = ClosingThreadedWSGIServer
