"""The production web process as the contract starts it: `gunicorn config.wsgi:application`
from the project root, which reads gunicorn.conf.py (gevent workers, pooled connections,
the beacon's own writer connections), after `collectstatic` as README lists it. A real
server on the test database, real HTTP."""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
from django.conf import settings
from django.db import connection

from profiling.models import Event, Lead, Visitor
from tests.support.celery_worker import database_url_for
from tests.support.factories import (
    make_gate,
    make_lead,
    make_marketer,
    make_rule,
    make_visitor,
    set_thresholds,
)
from tests.support.gunicorn import Server, gunicorn_server

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db(transaction=True)


# Kept between runs (one per checkout): the first collectstatic compresses every file
# (tens of seconds of brotli), later ones only what changed (config/static_storage.py).
COLLECTED_STATIC = Path(tempfile.gettempdir()) / (
    "leadgate-test-static-" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
)


@pytest.fixture(scope="session")
def collected_static() -> Path:
    """`python manage.py collectstatic --noinput`, the production step, into a folder of
    its own; once per xdist worker, one worker at a time."""
    COLLECTED_STATIC.mkdir(exist_ok=True)
    with (COLLECTED_STATIC.parent / (COLLECTED_STATIC.name + ".lock")).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "LEADGATE_STATIC_ROOT": str(COLLECTED_STATIC),
            },
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return COLLECTED_STATIC


@pytest.fixture
def production_server(tmp_path: Path, collected_static: Path) -> Iterator[Server]:
    with gunicorn_server(
        database_url=database_url_for(connection.settings_dict),
        redis_url=settings.CELERY_BROKER_URL,
        log=tmp_path / "gunicorn.log",
        env={"LEADGATE_STATIC_ROOT": str(collected_static), "WEB_CONCURRENCY": "2"},
    ) as server:
        yield server


def _batch(gate_slug: str, n: int) -> tuple[str, bytes]:
    visitor = str(uuid.uuid4())
    events = [
        {"id": str(uuid.uuid4()), "type": "section_view", "gate": gate_slug, "section": "part-1"}
        for _ in range(n)
    ]
    return visitor, json.dumps({"visitor_id": visitor, "events": events}).encode()


def test_gunicorn_reads_the_production_settings_and_serves_beacons_and_pages_concurrently(
    production_server: Server,
) -> None:
    gate = make_gate(allowed_origins=[], sections=["part-1"])
    assert "Using worker: gevent" in production_server.log_text()

    # Many 1-event beacons at once (they share statements and commits), and big batches
    # beside them (their own statement), from 32 client connections.
    batches = [_batch(gate.slug, 1) for _ in range(150)] + [
        _batch(gate.slug, 100) for _ in range(3)
    ]

    def post(batch: tuple[str, bytes]) -> httpx.Response:
        with httpx.Client(base_url=production_server.url, timeout=30) as client:
            return client.post(
                "/api/v1/public/events",
                content=batch[1],
                headers={"Content-Type": "application/json"},
            )

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(post, batches))
    assert [a.status_code for a in answers] == [202] * len(batches), production_server.log_text()
    assert all(a.json()["duplicates"] == 0 for a in answers)
    # Durable before the answer: every accepted event is in PostgreSQL now.
    assert Event.objects.filter(gate=gate).count() == 150 + 300
    assert Visitor.objects.filter(id__in=[b[0] for b in batches]).count() == len(batches)
    # Not chunked: the beacon's answer says its length, as every other page's does.
    assert answers[0].headers["content-length"] == str(len(answers[0].content))
    assert "transfer-encoding" not in answers[0].headers

    # A retried batch changes nothing.
    again = post(batches[0])
    assert (again.status_code, again.json()) == (202, {"accepted": 0, "duplicates": 1})

    # Pages that read the database, many at once: each request borrows a pooled
    # connection and gives it back (more requests than the pool has connections).
    def page(_: int) -> int:
        with httpx.Client(base_url=production_server.url, timeout=30) as client:
            return client.get(f"/g/{gate.slug}").status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        assert set(pool.map(page, range(48))) == {200}

    # The marketer API (token auth, ORM reads) on the same pooled connections: the lead
    # list shows the lead, and the anonymous visitors above did not become leads.
    marketer = make_marketer()
    lead = make_lead()

    def leads(_: int) -> httpx.Response:
        with httpx.Client(base_url=production_server.url, timeout=30) as client:
            return client.get("/api/v1/leads/", headers=marketer.auth_header)

    with ThreadPoolExecutor(max_workers=16) as pool:
        listed = list(pool.map(leads, range(32)))
    assert {a.status_code for a in listed} == {200}
    assert str(lead.id) in listed[0].text
    assert listed[0].json()["count"] == 1, listed[0].text
    assert "Traceback" not in production_server.log_text()


def test_a_hot_trigger_through_the_production_server_reaches_scoring_at_once(
    production_server: Server, celery_worker_process: Any, wait: Any
) -> None:
    """Under gevent the beacon still enqueues a makes-hot event's scoring at once (a Redis
    publish from a greenlet), and a real worker grades the lead hot."""
    set_thresholds(warm=30, hot=80)
    gate = make_gate(allowed_origins=[])
    make_rule(event_type="download", gate=gate, points=80, makes_hot=True)
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    event = {"id": str(uuid.uuid4()), "type": "download", "gate": gate.slug, "file": "network-map"}
    with httpx.Client(base_url=production_server.url, timeout=30) as client:
        answer = client.post(
            "/api/v1/public/events", json={"visitor_id": str(visitor.id), "events": [event]}
        )
    assert answer.status_code == 202, production_server.log_text()
    assert answer.json() == {"accepted": 1, "duplicates": 0}
    wait(
        lambda: Lead.objects.get(pk=lead.pk).grade == "hot",
        20,
        message=lambda: celery_worker_process.log_tail() + production_server.log_text(),
    )
    assert Event.objects.get(id=event["id"]).lead_id == lead.id


def _chunked(data: bytes, size: int = 4096) -> Iterator[bytes]:
    """A generator body: httpx sends it with Transfer-Encoding: chunked, no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_bodies_are_read_like_any_other(production_server: Server) -> None:
    """Segment SDKs and proxies may send bodies chunked: gunicorn de-chunks them and the
    events, submission and Segment endpoints read them to their end, under their caps."""
    from forms_app.models import Stage
    from profiling.models import Source

    gate = make_gate(allowed_origins=[], stage=Stage.INTEREST, sections=["part-1"])
    source = Source.objects.create(name="chunked")
    visitor, events = _batch(gate.slug, 100)
    message_id = str(uuid.uuid4())
    message = {
        "type": "track",
        "event": "Section Viewed",
        "anonymousId": str(uuid.uuid4()),
        "messageId": message_id,
        "properties": {"gate": gate.slug, "section": "part-1"},
    }
    submission = {"name": "Ada Chunked", "email": "ada@chunked.example.com", "subscribe": True}
    with httpx.Client(base_url=production_server.url, timeout=30) as client:
        answer = client.post(
            "/api/v1/public/events",
            content=_chunked(events),
            headers={"Content-Type": "application/json"},
        )
        assert answer.request.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in answer.request.headers
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"accepted": 100, "duplicates": 0}
        assert Event.objects.filter(visitor_id=visitor).count() == 100

        answer = client.post(
            "/v1/batch",
            content=_chunked(json.dumps({"batch": [message]}).encode(), 50),
            headers={"Content-Type": "text/plain"},
            auth=(source.write_key, ""),
        )
        assert (answer.status_code, answer.json()) == (200, {"success": True}), answer.text
        assert Event.objects.filter(id=message_id).exists()

        answer = client.post(
            f"/api/v1/public/gates/{gate.slug}/submissions",
            content=_chunked(json.dumps(submission).encode(), 10),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 201, answer.text
        assert Lead.objects.filter(email="ada@chunked.example.com").exists()
    assert "Traceback" not in production_server.log_text()


def test_oversized_chunked_bodies_are_refused_on_the_caps(production_server: Server) -> None:
    """Read to one byte past the cap and answered at once (not a hang, not a 500); the
    connection then serves the next request (gunicorn discards the rest of the body)."""
    from profiling.models import Source

    gate = make_gate(allowed_origins=[])
    source = Source.objects.create(name="chunked")
    cases = [
        ("/api/v1/public/events", 64 * 1024 + 1, 413),
        ("/api/v1/public/events", 5 * 1024 * 1024, 413),
        ("/v1/batch", 500 * 1024 + 1, 400),
        ("/v1/batch", 5 * 1024 * 1024, 400),
        (f"/api/v1/public/gates/{gate.slug}/submissions", 5 * 1024 * 1024, 413),
    ]
    with httpx.Client(base_url=production_server.url, timeout=30) as client:
        for path, size, status in cases:
            answer = client.post(
                path,
                content=_chunked(b" " * size, 64 * 1024),
                headers={"Content-Type": "application/json"},
                auth=(source.write_key, ""),
            )
            assert answer.status_code == status, (path, size, answer.text)
            assert answer.json()["errors"], (path, size)
            assert client.get(f"/api/v1/public/gates/{gate.slug}").status_code == 200
    assert not Event.objects.exists()
    assert not Lead.objects.exists()
    assert "Traceback" not in production_server.log_text()


def _raw_get(server: Server, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent (httpx would decompress `.content`)."""
    with (
        httpx.Client(base_url=server.url, timeout=30) as client,
        client.stream("GET", path, headers=headers) as response,
    ):
        return response, b"".join(response.iter_raw())


def test_static_files_go_out_compressed_and_cached_as_long_as_their_url_allows(
    production_server: Server,
) -> None:
    committed = (ROOT / "static" / "leadgate.js").read_bytes()

    # The contract's fixed URL: brotli or gzip by Accept-Encoding, the committed file.
    answer, body = _raw_get(production_server, "/static/leadgate.js", **{"Accept-Encoding": "br"})
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "br"
    assert brotli.decompress(body) == committed
    assert "Accept-Encoding" in answer.headers["vary"]
    # No hash in the URL: fresh for 5 minutes, then revalidated in the background.
    assert answer.headers["cache-control"] == ("max-age=300, public, stale-while-revalidate=86400")
    brotli_size = len(body)

    answer, body = _raw_get(
        production_server, "/static/leadgate.js", **{"Accept-Encoding": "gzip, deflate"}
    )
    assert answer.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == committed
    assert len(body) <= 6 * 1024  # the embed's budget, as sent
    assert brotli_size < len(body) < len(committed)

    answer, body = _raw_get(
        production_server, "/static/leadgate.js", **{"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in answer.headers
    assert body == committed
    # Revalidation costs a 304 and no body.
    again, body = _raw_get(
        production_server,
        "/static/leadgate.js",
        **{"If-None-Match": answer.headers["etag"], "Accept-Encoding": "br"},
    )
    assert (again.status_code, body) == (304, b"")

    # A page links its CSS and the tracker under content-hashed names: cached for good.
    gate = make_gate(allowed_origins=[])
    with httpx.Client(base_url=production_server.url, timeout=30) as client:
        page = client.get(f"/g/{gate.slug}")
    assert page.status_code == 200, production_server.log_text()
    for original, pattern in (
        ("leadgate-page.css", r'href="(/static/leadgate-page\.([0-9a-f]{12})\.css)"'),
        ("leadgate.js", r'src="(/static/leadgate\.([0-9a-f]{12})\.js)"'),
    ):
        found = re.search(pattern, page.text)
        assert found, (original, page.text)
        url, content_hash = found.groups()
        answer, body = _raw_get(production_server, url, **{"Accept-Encoding": "br"})
        assert answer.status_code == 200
        assert answer.headers["content-encoding"] == "br"
        assert answer.headers["cache-control"] == "max-age=315360000, public, immutable"
        served = brotli.decompress(body)
        assert hashlib.md5(served).hexdigest()[:12] == content_hash  # the name is the content
        assert served == (ROOT / "static" / original).read_bytes()
    assert "Traceback" not in production_server.log_text()
