"""A real CRM stand-in: an HTTP server on 127.0.0.1 that records every request.

Only the CRM is faked in the tests, and even it speaks real HTTP over a real socket:
leadgate's delivery code (httpx, timeouts, signatures) runs exactly as in production.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.waiting import wait_for


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    received_at: float  # time.time()
    status: int  # what the receiver answered

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class _Script:
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    delay_s: float = 0.0


class CrmReceiver:
    """Start with `start()`, stop with `stop()`; or use it as a context manager.

    - `url` is where to point a webhook endpoint (`/crm/leadgate` on the bound port).
    - `script(500, 500, 200)` answers the next requests with those statuses in order,
      then `default` (200 unless changed).
    - `requests` is a snapshot list of everything received, in arrival order.
    """

    def __init__(self, *, default_status: int = 200, path: str = "/crm/leadgate") -> None:
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._script = _Script(default=default_status)
        self._path = path
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> CrmReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                status, delay = receiver._next_answer()
                if delay:
                    time.sleep(delay)
                receiver._record(
                    ReceivedRequest(
                        method=self.command,
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        received_at=time.time(),
                        status=status,
                    )
                )
                answer = json.dumps({"received": True, "status": status}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output clean; every request is recorded instead

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="crm-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> CrmReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- configuration --------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None, "receiver not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + self._path

    def script(self, *statuses: int, default: int | None = None, delay_s: float = 0.0) -> None:
        """Answer the next requests with `statuses` in order, then `default`."""
        with self._lock:
            self._script.statuses = list(statuses)
            if default is not None:
                self._script.default = default
            self._script.delay_s = delay_s

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._script = _Script()

    # --- reading --------------------------------------------------------------------
    def _next_answer(self) -> tuple[int, float]:
        with self._lock:
            status = self._script.statuses.pop(0) if self._script.statuses else None
            return (status if status is not None else self._script.default), self._script.delay_s

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def deliveries(self, **match: Any) -> list[ReceivedRequest]:
        """Received JSON POSTs whose `data` matches every `match` item.

        Keys are `grade`, `previous_grade` (compared to `data[key]`) or `lead_id`
        (compared to `data.lead.id`).
        """
        found = []
        for request in self.requests:
            if request.method != "POST":
                continue
            try:
                data = request.json().get("data", {})
            except (ValueError, AttributeError):
                continue
            ok = True
            for key, expected in match.items():
                actual = data.get("lead", {}).get("id") if key == "lead_id" else data.get(key)
                if str(actual) != str(expected):
                    ok = False
                    break
            if ok:
                found.append(request)
        return found

    def wait_for_delivery(self, timeout: float = 10.0, **match: Any) -> ReceivedRequest:
        """The first received delivery matching `match`, waiting up to `timeout` seconds."""
        found = wait_for(
            lambda: self.deliveries(**match),
            timeout,
            message=lambda: f"no CRM delivery matching {match}; received: {self.describe()}",
        )
        return found[0]

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        wait_for(
            lambda: len(self.requests) >= count,
            timeout,
            message=lambda: f"expected {count} requests; received: {self.describe()}",
        )
        return self.requests

    def describe(self, requests: Iterable[ReceivedRequest] | None = None) -> str:
        lines = []
        for r in self.requests if requests is None else requests:
            lines.append(f"{r.method} {r.path} -> {r.status}: {r.body[:300]!r}")
        return "[" + "; ".join(lines) + "]" if lines else "nothing"
