"""The public events beacon's lean path (profiling/beacon.py): the same answers and
security headers as the full middleware chain, the host check kept, the rest skipped."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from profiling.beacon import PublicBeaconMiddleware
from profiling.models import Event
from tests.support.api import SECURITY_HEADERS, assert_error
from tests.support.factories import DEFAULT_ORIGIN, make_gate

URL = "/api/v1/public/events"


def _batch(gate: Any) -> str:
    event = {"id": str(uuid.uuid4()), "type": "page_view", "gate": gate.slug}
    return json.dumps({"visitor_id": str(uuid.uuid4()), "events": [event]})


def _chain_not_expected(request: HttpRequest) -> HttpResponse:
    raise AssertionError(f"{request.path} went down the full middleware chain")


@pytest.mark.django_db
@pytest.mark.parametrize("path", [URL, URL + "/"])
def test_the_beacon_is_served_without_the_rest_of_the_chain(path: str) -> None:
    gate = make_gate()
    request = RequestFactory().post(
        path, _batch(gate), content_type="application/json", headers={"Origin": DEFAULT_ORIGIN}
    )
    response = PublicBeaconMiddleware(_chain_not_expected)(request)
    assert response.status_code == 202, getattr(response, "content", b"")
    assert Event.objects.filter(gate=gate).count() == 1
    # Sessions, auth and messages never ran: nothing of theirs is on the request.
    assert not hasattr(request, "session")
    assert not hasattr(request, "user")


def test_other_paths_take_the_full_chain() -> None:
    seen: list[str] = []

    def chain(request: HttpRequest) -> HttpResponse:
        seen.append(request.path)
        return HttpResponse("ok")

    middleware = PublicBeaconMiddleware(chain)
    for path in ("/api/v1/public/events/x", "/api/v1/public/eventsx", "/app/"):
        assert middleware(RequestFactory().get(path)).status_code == 200
    assert seen == ["/api/v1/public/events/x", "/api/v1/public/eventsx", "/app/"]


@pytest.mark.django_db
def test_the_beacon_carries_the_same_security_headers_as_other_pages(api: Client) -> None:
    gate = make_gate()
    beacon = api.post(
        URL, _batch(gate), content_type="application/json", headers={"Origin": DEFAULT_ORIGIN}
    )
    other = api.get("/api/v1/public/gates/" + gate.slug)
    assert beacon.status_code == 202
    assert other.status_code == 200
    for header in SECURITY_HEADERS:
        assert beacon.headers.get(header), header
        assert beacon.headers[header] == other.headers[header], header
    assert "Set-Cookie" not in beacon.headers
    assert beacon.headers["Content-Length"] == str(len(beacon.content))


@pytest.mark.django_db
def test_an_unknown_host_is_refused_and_nothing_stored(api: Client) -> None:
    gate = make_gate()
    response = api.post(
        URL,
        _batch(gate),
        content_type="application/json",
        headers={"Origin": DEFAULT_ORIGIN},
        HTTP_HOST="attacker.example",
    )
    assert response.status_code == 400
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_a_crash_in_the_endpoint_is_a_500_in_the_error_shape(monkeypatch) -> None:
    def broken(request: HttpRequest) -> HttpResponse:
        raise RuntimeError("boom")

    monkeypatch.setattr("profiling.api.events.events_post", broken)
    client = Client(raise_request_exception=False)
    response = client.post(URL, "{}", content_type="application/json")
    assert_error(response, 500)
    assert b"boom" not in response.content
