"""The settings the browser SDKs fetch from leadgate (profiling/api/sdk_config.py):
analytics.js's `/v1/projects/{writeKey}/settings` and RudderStack's `/sourceConfig/`, and
the CORS preflight of the Segment ingest for the headers those SDKs send.

The SDKs themselves, unmodified in Chromium, are in tests/profiling/browser/.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client

from profiling.models import Source
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db

ORIGIN = "http://www.example-fibre.com"


@pytest.fixture
def source() -> Source:
    return Source.objects.create(name="website")


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def test_segment_settings_point_the_segment_io_destination_here(source: Source) -> None:
    response = Client().get(f"/v1/projects/{source.write_key}/settings", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "public, max-age=60"
    settings = response.json()
    assert settings["integrations"] == {
        "Segment.io": {"apiKey": source.write_key, "apiHost": "testserver/v1", "protocol": "http"}
    }
    # Only the Segment.io destination: no other integration, plugin or middleware for the
    # SDK to fetch from a CDN, and none of its own telemetry.
    assert settings["remotePlugins"] == []
    assert settings["enabledMiddleware"] == {}
    assert settings["metrics"] == {"sampleRate": 0}


def test_segment_settings_use_the_configured_base_url(source: Source, settings: Any) -> None:
    settings.LEADGATE_BASE_URL = "https://leadgate.example-fibre.com/lg"
    body = Client().get(f"/v1/projects/{source.write_key}/settings").json()
    segment_io = body["integrations"]["Segment.io"]
    assert segment_io["apiHost"] == "leadgate.example-fibre.com/lg/v1"
    assert segment_io["protocol"] == "https"


def test_segment_settings_for_an_unknown_or_inactive_key_are_404(source: Source) -> None:
    response = Client().get("/v1/projects/wk_nobody/settings", HTTP_ORIGIN=ORIGIN)
    assert_error(response, 404)
    # Readable cross-origin, so the SDK can log why it stopped.
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Cache-Control" not in response or "max-age=60" not in response["Cache-Control"]
    source.is_active = False
    source.save(update_fields=["is_active"])
    assert_error(Client().get(f"/v1/projects/{source.write_key}/settings"), 404)


def test_segment_settings_refuse_keys_that_are_not_write_keys() -> None:
    too_long = "k" * 101
    assert Client().get(f"/v1/projects/{too_long}/settings").status_code == 404
    assert Client().get("/v1/projects/a.b/settings").status_code == 404


def test_rudderstack_source_config_with_basic_auth(source: Source) -> None:
    response = Client().get(
        "/sourceConfig/?p=npm&v=3.34.1&build=modern&lockIntegrationsVersion=true",
        HTTP_AUTHORIZATION=_basic(source.write_key),
        HTTP_ORIGIN=ORIGIN,
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    config = response.json()["source"]
    # What the SDK validates before it sends anything, and no destination to load.
    assert config["enabled"] is True
    assert config["id"]
    assert config["destinations"] == []
    assert config["config"]["statsCollection"] == {
        "errors": {"enabled": False},
        "metrics": {"enabled": False},
    }


def test_rudderstack_source_config_with_the_key_in_the_query(source: Source) -> None:
    response = Client().get(f"/sourceConfig?writeKey={source.write_key}")
    assert response.status_code == 200
    assert response.json()["source"]["enabled"] is True


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": _basic("wk_nobody")},
        {"HTTP_AUTHORIZATION": "Basic %%%not-base64"},
        {"HTTP_AUTHORIZATION": _basic("k" * 101)},
    ],
)
def test_rudderstack_source_config_without_a_known_key_is_401(
    source: Source, headers: dict[str, Any]
) -> None:
    response = Client().get("/sourceConfig/", HTTP_ORIGIN=ORIGIN, **headers)
    assert_error(response, 401)
    assert response["Access-Control-Allow-Origin"] == "*"


def test_rudderstack_source_config_of_an_inactive_source_is_401(source: Source) -> None:
    source.is_active = False
    source.save(update_fields=["is_active"])
    response = Client().get("/sourceConfig/", HTTP_AUTHORIZATION=_basic(source.write_key))
    assert_error(response, 401)


def test_sdk_config_preflight_allows_the_basic_auth_header() -> None:
    """RudderStack sends its config request with Authorization: Basic."""
    response = Client().options(
        "/sourceConfig/",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert "authorization" in allowed


def _allowed(response: Any) -> set[str]:
    return {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}


def _preflight(path: str, requested: str) -> Any:
    return Client().options(
        path,
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=requested,
    )


# What Chromium asked before each SDK's events (seen in tests/profiling/browser/):
# RudderStack's first send and its retry, analytics.js's send and its retry.
SDK_PREFLIGHTS = [
    "anonymousid,authorization,content-type,sentat",
    "anonymousid,authorization,content-type,rsa-retry-attempt,rsa-retry-reason,"
    "rsa-since-first-attempt,rsa-since-last-attempt,sentat",
    "authorization,content-type",
    "authorization,content-type,x-retry-count",
]


@pytest.mark.parametrize("requested", SDK_PREFLIGHTS)
@pytest.mark.parametrize("path", ["/v1/batch", "/v1/p", "/v1/page", "/v1/t", "/v1/identify"])
def test_ingest_preflight_allows_what_the_browser_sdks_send(path: str, requested: str) -> None:
    """A header the preflight does not allow loses the event: the browser never sends it."""
    response = _preflight(path, requested)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert set(requested.split(",")) <= _allowed(response)
    assert int(response["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Request-Headers" in response["Vary"]


def test_ingest_preflight_allows_the_sdk_headers_whatever_is_asked() -> None:
    response = _preflight("/v1/t", "")
    assert {"authorization", "content-type", "anonymousid", "sentat"} <= _allowed(response)


@pytest.mark.parametrize("requested", ["x-a;x-b", "x a", "é-header", "x-" + "a" * 1000])
def test_ingest_preflight_does_not_echo_what_is_not_a_header_list(requested: str) -> None:
    response = _preflight("/v1/t", requested)
    assert response.status_code == 200
    allowed = _allowed(response)
    assert allowed == {"authorization", "content-type", "content-encoding", "anonymousid", "sentat"}


def test_the_settings_are_in_the_api_document() -> None:
    paths = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "/v1/projects/{write_key}/settings" in paths
    assert "/sourceConfig/" in paths
    described = paths["/sourceConfig/"]["get"]["description"]
    assert described.startswith("**Roles:** anyone")
