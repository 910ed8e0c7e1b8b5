"""Browser fixtures: headless Debian Chromium driven by Playwright, and a host website.

The host website (a marketer's own site) is a tiny `http.server` on one loopback port;
leadgate is pytest-django's `live_server` on another, so every call from the embed script
is a real cross-origin request with CORS, exactly as on a customer's site.

Chromium is the system's `/usr/bin/chromium` (scripts/test.sh installs the Debian package
when it is missing); Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.ci import IN_CI

CHROMIUM = os.environ.get("LEADGATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The browser tests take screenshots as they go (a picture of each failure mode is the
# quickest review). Written into the tracked docs/screenshots/ only when asked
# (LEADGATE_SCREENSHOTS=docs, to refresh the README's pictures): an ordinary test run
# must not leave the checkout dirty with re-encoded PNGs.
SCREENSHOTS = (
    Path(__file__).resolve().parents[3] / "docs" / "screenshots"
    if os.environ.get("LEADGATE_SCREENSHOTS", "") == "docs"
    else Path(tempfile.gettempdir()) / "leadgate-screenshots"
)


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh headless Chromium per test (about half a second to start).

    Playwright's sync API keeps an asyncio loop on this thread while it runs, which trips
    Django's async-safety guard on the test's own ORM calls; those calls are ordinary
    synchronous ones, so the guard is lifted for the life of this fixture only.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        # scripts/test.sh installs it; CI must never silently lose the browser tests.
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
            # While Playwright runs, asgiref sees its event loop and hands the test's ORM
            # calls a context-local connection of their own: close it here, or it stays
            # open and the test database cannot be dropped at the end of the session.
            from django.db import connections

            connections.close_all()


@dataclass
class HostSite:
    """A marketer's website: `site.page("/blog", html)` then open `site.url("/blog")`."""

    server: ThreadingHTTPServer
    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{int(port)}"

    def url(self, path: str) -> str:
        return self.origin + path

    def page(self, path: str, body: str | bytes, content_type: str = "text/html") -> str:
        data = body.encode() if isinstance(body, str) else body
        self.pages[path] = (content_type, data)
        return self.url(path)


def _handler(site: HostSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            site.hits.append(path)
            found = site.pages.get(path)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            content_type, data = found
            self.send_response(200)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def host_site() -> Iterator[HostSite]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    site = HostSite(server=server)
    server.RequestHandlerClass = _handler(site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening: leadgate 'down'."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
