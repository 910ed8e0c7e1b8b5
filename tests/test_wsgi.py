"""config/wsgi.py: the production WSGI app serves the events beacon before Django's handler.

Driven with real WSGI environ dicts, as gunicorn calls it. The database tests commit for
real (transaction=True): the dispatch manages the connection as Django's handler does,
and the beacon's hot path (group commit) runs only outside a transaction.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from django.db import connection

from config.wsgi import application
from profiling.beacon import BeaconFirst
from profiling.models import Event
from tests.support.api import SECURITY_HEADERS
from tests.support.factories import DEFAULT_ORIGIN, make_gate
from tests.support.wsgi import wsgi_call

URL = "/api/v1/public/events"
db_committed = pytest.mark.django_db(transaction=True)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def error_messages(self) -> list[str]:
        """The contract's error shape: {"errors": {field: [message, ...]}}."""
        assert self.headers["Content-Type"].startswith("application/json"), self.headers
        errors = self.json()["errors"]
        assert isinstance(errors, dict), errors
        assert errors, errors
        return [m for messages in errors.values() for m in messages]


def call(
    app: Callable[..., Iterable[bytes]],
    path: str,
    body: bytes = b"",
    *,
    method: str = "POST",
    host: str = "testserver",
    headers: dict[str, str] | None = None,
    content_length: str | None = None,
) -> Answer:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_HOST": host,
        "SERVER_NAME": host,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": content_length if content_length is not None else str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    status, answer_headers, content = wsgi_call(app, environ, headers)
    code, _, reason = status.partition(" ")
    assert reason, status  # "202 Accepted", never a bare number
    return Answer(status=int(code), headers=answer_headers, body=content)


def batch(gate: Any, *, events: int = 1) -> bytes:
    return json.dumps(
        {
            "visitor_id": str(uuid.uuid4()),
            "events": [
                {"id": str(uuid.uuid4()), "type": "page_view", "gate": gate.slug}
                for _ in range(events)
            ],
        }
    ).encode()


@db_committed
@pytest.mark.parametrize("path", [URL, URL + "/"])
def test_the_beacon_is_stored_before_the_202_with_the_pages_security_headers(path: str) -> None:
    gate = make_gate()
    beacon = call(application, path, batch(gate, events=3), headers={"Origin": DEFAULT_ORIGIN})
    assert beacon.status == 202, beacon.body
    assert beacon.json() == {"accepted": 3, "duplicates": 0}
    assert Event.objects.filter(gate=gate).count() == 3
    assert beacon.headers["Access-Control-Allow-Origin"] == DEFAULT_ORIGIN
    assert "Set-Cookie" not in beacon.headers
    # The same headers as a page served by Django's handler and its whole chain.
    page = call(application, f"/api/v1/public/gates/{gate.slug}", method="GET")
    assert page.status == 200, page.body
    for header in SECURITY_HEADERS:
        assert beacon.headers.get(header), header
        assert beacon.headers[header] == page.headers[header], header
    # Sized like every page (else gunicorn answers chunked).
    assert beacon.headers["Content-Length"] == str(len(beacon.body))


def test_every_other_path_goes_to_django_untouched() -> None:
    seen: list[str] = []

    def django_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"django"]

    app = BeaconFirst(django_app)
    paths = ["/api/v1/public/events/x", "/api/v1/public/eventsx", "/app/", "/api/v1/public/Events"]
    for path in paths:
        assert call(app, path, method="GET").body == b"django"
    assert seen == paths


@db_committed
def test_an_unknown_host_is_a_400_and_nothing_is_stored() -> None:
    gate = make_gate()
    answer = call(
        application, URL, batch(gate), host="attacker.example", headers={"Origin": DEFAULT_ORIGIN}
    )
    assert answer.status == 400
    assert not Event.objects.exists()


@db_committed
def test_refusals_keep_the_error_shape_and_store_nothing() -> None:
    gate = make_gate()
    too_big = call(application, URL, b"{}", content_length=str(10 * 1024 * 1024))
    assert too_big.status == 413
    assert any("exceeds" in m for m in too_big.error_messages())
    assert call(application, URL, b"{not json").status == 400
    wrong_method = call(application, URL, method="GET")
    assert wrong_method.status == 405
    assert wrong_method.headers["Allow"] == "POST, OPTIONS"
    assert wrong_method.error_messages()
    foreign = call(application, URL, batch(gate), headers={"Origin": "https://evil.example.net"})
    assert foreign.status == 403
    assert foreign.error_messages()
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert not Event.objects.exists()
    preflight = call(application, URL, method="OPTIONS", headers={"Origin": DEFAULT_ORIGIN})
    assert preflight.status == 204


@db_committed
def test_a_crash_in_the_endpoint_is_a_500_in_the_error_shape(monkeypatch) -> None:
    def broken(request: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("profiling.api.events.events_post", broken)
    answer = call(application, URL, b"{}")
    assert answer.status == 500
    assert answer.error_messages()
    assert b"boom" not in answer.body
    for header in SECURITY_HEADERS:  # the 500 still went through the security middleware
        assert answer.headers.get(header), header


@db_committed
def test_a_lost_database_connection_fails_one_request_and_the_next_one_reconnects() -> None:
    gate = make_gate()
    assert call(application, URL, batch(gate), headers={"Origin": DEFAULT_ORIGIN}).status == 202
    # PostgreSQL drops every session of the app (this thread's Django connection and the
    # group-commit writer's, both persistent), as on a server restart.
    connection.ensure_connection()
    params = connection.get_connection_params()
    admin = psycopg.connect(
        dbname=params["dbname"],
        user=params.get("user"),
        host=params.get("host"),
        port=params.get("port"),
        autocommit=True,
    )
    with admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert killed is not None
    assert killed[0] >= 2
    failed = call(application, URL, batch(gate), headers={"Origin": DEFAULT_ORIGIN})
    assert failed.status == 500
    assert failed.error_messages()
    # The broken writer connection was closed after that answer: the next one works.
    again = call(application, URL, batch(gate), headers={"Origin": DEFAULT_ORIGIN})
    assert again.status == 202, again.body
    # This thread's Django connection is broken too (its next query would fail once, as
    # any thread's after a restart); the test reads through a fresh one.
    connection.close()
    assert Event.objects.filter(gate=gate).count() == 2


@db_committed
def test_without_the_early_dispatch_the_beacon_takes_djangos_whole_chain(settings) -> None:
    """LEADGATE_BEACON_EARLY_DISPATCH=0 (read at start-up): the plain handler, whose
    middleware no longer holds the beacon's shortcut, serves it with the same answer."""
    from config.wsgi import _application

    settings.LEADGATE_BEACON_EARLY_DISPATCH = False
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("profiling.")]
    plain = _application()
    assert not isinstance(plain, BeaconFirst)
    assert isinstance(application, BeaconFirst)
    gate = make_gate()
    beacon = call(plain, URL, batch(gate, events=2), headers={"Origin": DEFAULT_ORIGIN})
    assert beacon.status == 202, beacon.body
    assert beacon.json() == {"accepted": 2, "duplicates": 0}
    assert Event.objects.filter(gate=gate).count() == 2
    early = call(application, URL, batch(gate), headers={"Origin": DEFAULT_ORIGIN})
    for header in (*SECURITY_HEADERS, "Access-Control-Allow-Origin"):
        assert beacon.headers.get(header) == early.headers[header], header
    assert beacon.headers["Content-Length"] == str(len(beacon.body))


def test_the_dispatched_paths_are_exactly_the_events_routes_of_the_urlconf() -> None:
    """BEACON_PATHS repeats profiling/urls.py's events route: the two must not drift."""
    from django.urls import Resolver404, resolve

    from profiling.api.events import PublicEventsApi
    from profiling.beacon import BEACON_PATHS

    for path in BEACON_PATHS:
        assert getattr(resolve(path).func, "view_class", None) is PublicEventsApi, path
    near = ["/api/v1/public/events//", "/api/v1/public/events/x", "/api/v1/public/event"]
    for path in near:
        try:
            match = resolve(path)
        except Resolver404:
            continue
        assert getattr(match.func, "view_class", None) is not PublicEventsApi, path


# --- the gevent worker (gunicorn.conf.py) ---------------------------------------------


class _Monkey:
    def __init__(self, patched: set[str]) -> None:
        self.patched = patched

    def is_module_patched(self, name: str) -> bool:
        return name in self.patched


def test_a_green_worker_is_told_by_gevents_own_patching(monkeypatch) -> None:
    import sys

    from config.env import green_worker

    monkeypatch.delitem(sys.modules, "gevent.monkey", raising=False)
    assert green_worker() is False  # never imported: not gevent's (and not imported now)
    assert "gevent.monkey" not in sys.modules
    monkeypatch.setitem(sys.modules, "gevent.monkey", _Monkey(set()))
    assert green_worker() is False  # imported, nothing patched
    monkeypatch.setitem(sys.modules, "gevent.monkey", _Monkey({"socket", "select"}))
    assert green_worker() is True


def test_a_green_worker_refuses_to_start_with_psycopgs_blocking_wait(settings) -> None:
    from psycopg import waiting

    from config.wsgi import green_worker_check

    # This process never patched anything: psycopg chose its C wait, which would block a
    # gevent worker whole.
    assert waiting.wait is waiting.wait_c
    settings.GREEN_WORKER = False
    green_worker_check()  # a threaded server: nothing to check
    settings.GREEN_WORKER = True
    with pytest.raises(RuntimeError, match="psycopg was imported before gevent"):
        green_worker_check()
