"""config/chunked.py: bodies sent with `Transfer-Encoding: chunked` (no Content-Length).

Driven through the production WSGI app (config/wsgi.py) with environ dicts as gunicorn
makes them for a chunked request: no CONTENT_LENGTH, HTTP_TRANSFER_ENCODING, a de-chunked
`wsgi.input` and `wsgi.input_terminated`. tests/test_production_server.py sends real
chunked requests to a real gunicorn.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.conf import settings

from config.chunked import chunked_body_read, environ_sized
from config.wsgi import application
from forms_app.models import Stage
from profiling.api.segment import MAX_REQUEST_BYTES
from profiling.models import Event, Lead, Source
from tests.support.factories import DEFAULT_ORIGIN, make_gate
from tests.support.wsgi import wsgi_call

db_committed = pytest.mark.django_db(transaction=True)


class Body(io.RawIOBase):
    """A de-chunked wsgi.input that hands out at most `step` bytes a read (as a server's
    reader may) and counts what was read; `size=None` never ends."""

    def __init__(self, data: bytes = b"", *, size: int | None = 0, step: int = 1000) -> None:
        self.data, self.size, self.step, self.taken = data, size, step, 0

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            raise AssertionError("read to the end without a cap")
        n = min(n, self.step)
        part = b" " * n if self.size is None else self.data[self.taken : self.taken + n]
        self.taken += len(part)
        return part


def chunked_call(
    app: Callable[..., Iterable[bytes]],
    path: str,
    body: Body,
    *,
    terminated: bool = True,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "HTTP_HOST": "testserver",
        "SERVER_NAME": "testserver",
        "CONTENT_TYPE": content_type,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": body,
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    status, answer_headers, content = wsgi_call(app, environ, headers)
    return int(status.split()[0]), answer_headers, content


def events_body(gate: Any, n: int = 2) -> bytes:
    return json.dumps(
        {
            "visitor_id": str(uuid.uuid4()),
            "events": [
                {"id": str(uuid.uuid4()), "type": "page_view", "gate": gate.slug} for _ in range(n)
            ],
        }
    ).encode()


def segment_body(gate: Any) -> bytes:
    message = {
        "type": "track",
        "event": "Section Viewed",
        "anonymousId": str(uuid.uuid4()),
        "messageId": str(uuid.uuid4()),
        "properties": {"gate": gate.slug, "section": "section-1"},
    }
    return json.dumps({"batch": [message]}).encode()


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


# --- the helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize("step", [1, 7, 10_000])
def test_a_chunked_body_is_read_to_its_end_whatever_the_reads_return(step: int) -> None:
    data = b'{"a": 1}' * 100
    environ: dict[str, Any] = {
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input_terminated": True,
        "wsgi.input": Body(data, size=len(data), step=step),
    }
    environ_sized(environ, 10_000)
    assert environ["CONTENT_LENGTH"] == str(len(data))
    assert environ["wsgi.input"].read() == data


def test_a_longer_body_is_read_to_one_byte_past_the_cap_and_no_further() -> None:
    body = Body(size=None)
    environ: dict[str, Any] = {
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input_terminated": True,
        "wsgi.input": body,
    }
    environ_sized(environ, 5000)
    assert environ["CONTENT_LENGTH"] == "5001"
    assert body.taken == 5001


@pytest.mark.parametrize(
    "environ",
    [
        # wsgiref (runserver): the input is the socket, not terminated: never read to EOF.
        {"HTTP_TRANSFER_ENCODING": "chunked"},
        # No body at all (a GET): nothing to read.
        {"wsgi.input_terminated": True},
        {"HTTP_TRANSFER_ENCODING": "gzip", "wsgi.input_terminated": True},
    ],
)
def test_other_requests_are_left_as_they_were(environ: dict[str, Any]) -> None:
    body = Body(b"{}", size=2)
    environ = {**environ, "wsgi.input": body}
    assert chunked_body_read(environ, 100) is None
    environ_sized(environ, 100)
    assert "CONTENT_LENGTH" not in environ
    assert environ["wsgi.input"] is body
    assert body.taken == 0


# --- the three endpoints through the production WSGI app -------------------------------------


@db_committed
@pytest.mark.parametrize("path", ["/api/v1/public/events", "/api/v1/public/events/"])
def test_chunked_events_are_stored(path: str) -> None:
    gate = make_gate()
    data = events_body(gate, 3)
    status, headers, content = chunked_call(
        application, path, Body(data, size=len(data)), headers={"Origin": DEFAULT_ORIGIN}
    )
    assert status == 202, content
    assert json.loads(content) == {"accepted": 3, "duplicates": 0}
    assert Event.objects.filter(gate=gate).count() == 3
    assert headers["Access-Control-Allow-Origin"] == DEFAULT_ORIGIN


@db_committed
def test_endless_chunked_events_are_413_after_the_cap() -> None:
    body = Body(size=None)
    status, _, content = chunked_call(application, "/api/v1/public/events", body)
    assert status == 413, content
    assert json.loads(content)["errors"]["__all__"]
    assert body.taken == settings.LEADGATE_EVENTS_MAX_BYTES + 1


@db_committed
def test_chunked_events_without_a_terminated_input_are_not_read() -> None:
    """runserver's wsgiref: reading to the end would wait on the socket forever."""
    gate = make_gate()
    data = events_body(gate)
    body = Body(data, size=len(data))
    status, _, content = chunked_call(application, "/api/v1/public/events", body, terminated=False)
    assert status == 400, content
    assert body.taken == 0
    assert not Event.objects.exists()


@db_committed
@pytest.mark.parametrize("path", ["/v1/batch", "/v1/b"])
def test_chunked_segment_batches_are_stored(path: str) -> None:
    gate = make_gate()
    source = Source.objects.create(name="site")
    data = segment_body(gate)
    status, _, content = chunked_call(
        application,
        path,
        Body(data, size=len(data)),
        headers={"Authorization": basic(source.write_key)},
        content_type="text/plain",
    )
    assert (status, json.loads(content)) == (200, {"success": True})
    assert Event.objects.filter(gate=gate).count() == 1


@db_committed
def test_endless_chunked_segment_batch_is_400_after_the_cap() -> None:
    source = Source.objects.create(name="site")
    body = Body(size=None)
    status, _, content = chunked_call(
        application, "/v1/batch", body, headers={"Authorization": basic(source.write_key)}
    )
    assert status == 400, content
    assert str(MAX_REQUEST_BYTES) in content.decode()
    assert body.taken == settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1


@db_committed
def test_chunked_submissions_are_stored() -> None:
    gate = make_gate(stage=Stage.INTEREST)
    data = json.dumps(
        {"name": "Ada Chunked", "email": "ada@chunked.example.com", "subscribe": True}
    ).encode()
    status, _, content = chunked_call(
        application,
        f"/api/v1/public/gates/{gate.slug}/submissions",
        Body(data, size=len(data)),
        headers={"Origin": DEFAULT_ORIGIN},
    )
    assert status == 201, content
    assert Lead.objects.filter(email="ada@chunked.example.com").exists()


@db_committed
def test_endless_chunked_submission_is_413_after_the_cap() -> None:
    gate = make_gate(stage=Stage.INTEREST)
    body = Body(size=None)
    status, _, content = chunked_call(
        application,
        f"/api/v1/public/gates/{gate.slug}/submissions",
        body,
        headers={"Origin": DEFAULT_ORIGIN},
    )
    assert status == 413, content
    assert json.loads(content)["errors"]
    assert body.taken == settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    assert not Lead.objects.exists()
