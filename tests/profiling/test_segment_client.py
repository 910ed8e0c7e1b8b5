"""The Segment-compatible endpoints driven by the unmodified `segment-analytics-python`
client against the live server: its /v1/batch shape, gzip on and off, its retries, and
an identify that turns an anonymous visitor into a lead."""

from __future__ import annotations

import http.server
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from profiling.models import Event, Lead, Source, Visitor
from profiling.services.segment import segment_id
from tests.support.factories import make_gate

segment_client = pytest.importorskip("segment.analytics.client")

pytestmark = pytest.mark.django_db(transaction=True)


class Errors(list[tuple[Any, Any]]):
    """The client's on_error callback, recording (error, batch)."""

    def __call__(self, error: Any, batch: Any) -> None:
        self.append((error, batch))

    def __bool__(self) -> bool:
        # The client tests `if self.on_error:`; an empty list would read as "no callback".
        return True


def _client(host: str, key: str, errors: Errors, **kw: Any) -> Any:
    return segment_client.Client(
        write_key=key, host=host, on_error=errors, upload_interval=0.05, **kw
    )


def _finish(client: Any) -> None:
    client.flush()
    client.join()


@pytest.fixture
def source() -> Source:
    return Source.objects.create(name="website")


@pytest.mark.parametrize("gzip", [False, True])
def test_client_batch_is_stored_with_its_mapping(
    live_server: Any, source: Source, gzip: bool
) -> None:
    gate = make_gate()
    errors = Errors()
    client = _client(live_server.url, source.write_key, errors, gzip=gzip)
    anon = str(uuid.uuid4())
    campaign = {"name": "spring", "source": "linkedin", "medium": "social"}
    client.page(
        anonymous_id=anon,
        name="Pricing",
        properties={"url": "https://www.example-fibre.com/pricing", "gate": gate.slug},
        context={"campaign": campaign, "page": {"referrer": "https://www.linkedin.com/feed/"}},
        message_id="page-msg-1",
    )
    client.track(
        anonymous_id=anon,
        event="Section Viewed",
        properties={"gate": gate.slug, "section": "section-2", "duration_ms": 42000},
    )
    client.track(
        anonymous_id=anon,
        event="File Downloaded",
        properties={"gate": gate.slug, "file": "network-map"},
    )
    client.track(anonymous_id=anon, event="Webinar Joined", properties={"webinar": "fibre-101"})
    _finish(client)
    assert list(errors) == []
    events = {e.type: e for e in Event.objects.filter(visitor_id=uuid.UUID(anon))}
    assert set(events) == {"page_view", "section_view", "download", "track"}
    assert all(e.source == "segment" and e.lead_id is None for e in events.values())
    page = events["page_view"]
    assert page.id == segment_id("page-msg-1", "msg")
    assert page.gate_id == gate.id
    assert page.url == "https://www.example-fibre.com/pricing"
    assert page.touch == {
        "utm_source": "linkedin",
        "utm_medium": "social",
        "utm_campaign": "spring",
        "referrer": "https://www.linkedin.com/feed/",
    }
    assert (events["section_view"].section_key, events["section_view"].duration_ms) == (
        "section-2",
        42000,
    )
    assert events["download"].file_key == "network-map"
    assert events["track"].name == "Webinar Joined"


def test_identify_turns_the_anonymous_visitor_into_a_lead(live_server: Any, source: Source) -> None:
    gate = make_gate()
    errors = Errors()
    client = _client(live_server.url, source.write_key, errors)
    anon = "ajs-anon-7"  # not a UUID: Segment ids may be any string
    client.track(
        anonymous_id=anon,
        event="Section Viewed",
        properties={"gate": gate.slug, "section": "section-1", "duration_ms": 9000},
    )
    client.identify(
        user_id="user_42",
        anonymous_id=anon,
        traits={"email": "Grace@Acme-Networks.io", "name": "Grace Hopper"},
        context={"campaign": {"source": "newsletter", "medium": "email", "name": "q3"}},
    )
    _finish(client)
    # After identify, a message with only the userId still lands on the same person.
    client = _client(live_server.url, source.write_key, errors)
    client.track(
        user_id="user_42",
        event="File Downloaded",
        properties={"gate": gate.slug, "file": "network-map"},
    )
    _finish(client)
    assert list(errors) == []
    lead = Lead.objects.get(email="grace@acme-networks.io")
    assert lead.name == "Grace Hopper"
    assert lead.company_domain == "acme-networks.io"
    assert not lead.subscribed  # no consent unless traits.subscribe is true
    assert lead.utm_source == "newsletter"
    assert sorted(Event.objects.filter(lead=lead).values_list("type", flat=True)) == [
        "download",
        "section_view",
    ]
    visitors = set(Visitor.objects.filter(lead=lead).values_list("id", flat=True))
    assert segment_id(anon, "anon") in visitors
    assert segment_id("user_42", f"user:{source.id}") in visitors


def test_unknown_write_key_is_refused_and_not_retried(live_server: Any) -> None:
    errors = Errors()
    client = _client(live_server.url, "wk_nope", errors, max_retries=3)
    client.track(anonymous_id="a-1", event="Webinar Joined")
    _finish(client)
    assert len(errors) == 1
    assert getattr(errors[0][0], "status", None) == 401
    assert Event.objects.count() == 0


class _FlakyProxy:
    """Forwards every request to the app, but answers the first one 503 anyway: the
    batch was stored, the client did not hear it, so it retries the same messageIds."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.seen: list[tuple[dict[str, str], bytes, int]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                upstream = httpx.post(proxy.target + self.path, content=body, headers=headers)
                status = 503 if not proxy.seen else upstream.status_code
                proxy.seen.append((dict(self.headers.items()), body, upstream.status_code))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(upstream.content if status != 503 else b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _FlakyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky_proxy(live_server: Any) -> Iterator[_FlakyProxy]:
    with _FlakyProxy(live_server.url) as proxy:
        yield proxy


def test_a_retried_batch_changes_nothing(flaky_proxy: _FlakyProxy, source: Source) -> None:
    gate = make_gate()
    errors = Errors()
    client = _client(flaky_proxy.url, source.write_key, errors, max_retries=3)
    for key in ("section-1", "section-2", "section-3"):
        client.track(
            anonymous_id=str(uuid.uuid4()),
            event="Section Viewed",
            properties={"gate": gate.slug, "section": key},
        )
    _finish(client)
    assert list(errors) == []
    # Two POSTs of the same batch: the 503 one and its retry, both answered 200 upstream.
    assert len(flaky_proxy.seen) == 2
    assert [s[2] for s in flaky_proxy.seen] == [200, 200]
    assert flaky_proxy.seen[1][0].get("X-Retry-Count") == "1"
    first, second = (httpx.Response(200, content=s[1]).json() for s in flaky_proxy.seen)
    assert [m["messageId"] for m in first["batch"]] == [m["messageId"] for m in second["batch"]]
    assert Event.objects.count() == 3
