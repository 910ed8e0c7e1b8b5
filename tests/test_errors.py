"""The API's error shape everywhere, and the OpenAPI document.

Contract: every error is JSON `{"errors": {"<field or __all__>": [...]}}` with the right
4xx status, never a stack trace or an HTML page to an API client.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from rest_framework import exceptions
from rest_framework.authtoken.models import Token

from config.errors import _flatten, api_exception_handler, error_body, handler404, handler500
from tests.support.factories import make_gate, random_slug

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Client:
    return Client(raise_request_exception=False)


@pytest.fixture
def auth() -> dict[str, str]:
    user = User.objects.create(username=f"m-{random_slug()}", is_staff=True)
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


def assert_error(response, status: int) -> dict[str, list[str]]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"errors"}, body
    errors = body["errors"]
    assert isinstance(errors, dict)
    assert errors
    for key, messages in errors.items():
        assert isinstance(key, str)
        assert isinstance(messages, list)
        assert messages
        assert all(isinstance(m, str) and m for m in messages)
    assert b"Traceback" not in response.content
    assert b"<html" not in response.content.lower()
    return errors


# --- unknown URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v1/",
        "/api/v1/nope",
        "/api/v2/gates/",
        "/api/v1/gates/a/b/c",
        "/api/v1/public/gates/",
        "/api/v1/public/gates/UPPER",
        "/api/v1/leads/not-a-uuid",
        "/api/v1/scoring-rules/abc",
        "/api/v1/webhooks/1/deliveries/2",
        "/api/v1/deliveries/xyz/redeliver",
        "/api/%00",
        "/api/v1/" + "a" * 3000,
        "/api/v1/gates/..%2f..%2fetc%2fpasswd",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_urls_are_json_404(api: Client, auth, path: str, method: str) -> None:
    for headers in (None, auth):
        assert_error(getattr(api, method)(path, headers=headers), 404)


def test_unknown_url_with_a_json_accept_header_is_json_404(api: Client) -> None:
    response = api.get("/no-such-page", headers={"Accept": "application/json"})
    assert_error(response, 404)


def test_unknown_html_url_is_not_json(api: Client) -> None:
    response = api.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


# --- wrong methods ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/gates/"),
        ("put", "/api/v1/gates/"),
        ("post", "/api/v1/scoring-settings"),
        ("delete", "/api/v1/scoring-settings"),
        ("put", "/api/v1/webhooks/"),
        ("post", "/api/v1/leads/"),
        ("post", "/api/v1/leads/export.csv"),
        ("get", "/api/v1/public/events"),
        ("delete", "/api/v1/public/events"),
    ],
)
def test_wrong_methods_are_405_in_the_shape(api: Client, auth, method: str, path: str) -> None:
    response = getattr(api, method)(path, headers=auth)
    assert_error(response, 405)
    assert "Allow" in response


def test_wrong_method_on_public_gate_is_405(api: Client) -> None:
    gate = make_gate()
    assert_error(api.delete(f"/api/v1/public/gates/{gate.slug}"), 405)
    assert_error(api.get(f"/api/v1/public/gates/{gate.slug}/submissions"), 405)


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Token nope",
        "Token ",
        "Token a b",
        "Bearer abc",
        "Basic dXNlcjpwYXNz",
        "token" + "x" * 5000,
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/gates/",
        "/api/v1/scoring-rules/",
        "/api/v1/scoring-settings",
        "/api/v1/webhooks/",
        "/api/v1/leads/",
        "/api/v1/leads/export.csv",
    ],
)
def test_unauthenticated_is_401_in_the_shape(api: Client, authorization, path: str) -> None:
    headers = {"Authorization": authorization} if authorization else None
    response = api.get(path, headers=headers)
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Token")


def test_token_of_a_deleted_user_is_refused(api: Client) -> None:
    user = User.objects.create(username=f"m-{random_slug()}")
    key = Token.objects.create(user=user).key
    user.delete()
    assert_error(api.get("/api/v1/gates/", headers={"Authorization": f"Token {key}"}), 401)


def test_inactive_user_token_is_refused(api: Client) -> None:
    user = User.objects.create(username=f"m-{random_slug()}", is_active=False)
    key = Token.objects.create(user=user).key
    assert_error(api.get("/api/v1/gates/", headers={"Authorization": f"Token {key}"}), 401)


def test_session_without_csrf_is_403_in_the_shape() -> None:
    user = User.objects.create(username=f"m-{random_slug()}", is_staff=True)
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(user)
    assert client.get("/api/v1/scoring-settings").status_code == 200
    response = client.patch(
        "/api/v1/scoring-settings",
        data=json.dumps({"half_life_days": 3}),
        content_type="application/json",
    )
    assert_error(response, 403)


def test_nul_in_token_is_401(api: Client) -> None:
    assert_error(api.get("/api/v1/gates/", headers={"Authorization": "Token a\x00b"}), 401)


# --- the handlers themselves -------------------------------------------------------------------


def test_flatten_nested_errors_to_dotted_keys() -> None:
    detail = {
        "non_field_errors": ["top"],
        "sections": [{}, {"key": ["bad key"]}],
        "fields": {"0": {"choices": {"1": ["too long"]}}},
        "single": "just a string",
    }
    assert _flatten(detail) == {
        "__all__": ["top"],
        "sections.1.key": ["bad key"],
        "fields.0.choices.1": ["too long"],
        "single": ["just a string"],
    }
    assert error_body("oops") == {"errors": {"__all__": ["oops"]}}


def test_exception_handler_shapes_drf_errors() -> None:
    response = api_exception_handler(exceptions.Throttled(wait=3), {})
    assert response is not None
    assert response.status_code == 429
    assert list(response.data) == ["errors"]
    assert api_exception_handler(ValueError("a real bug"), {}) is None


def test_django_handlers_answer_json_under_api_and_html_elsewhere() -> None:
    factory = RequestFactory()
    api_404 = handler404(factory.get("/api/v1/x"), Exception("x"))
    assert api_404.status_code == 404
    assert json.loads(api_404.content) == {"errors": {"__all__": ["Not found."]}}
    api_500 = handler500(factory.get("/api/v1/x"))
    assert api_500.status_code == 500
    body = json.loads(api_500.content)
    assert list(body) == ["errors"]
    assert "Traceback" not in api_500.content.decode()
    html_500 = handler500(factory.get("/g/some-gate"))
    assert html_500.status_code == 500
    assert not html_500["Content-Type"].startswith("application/json")


# --- OpenAPI ---------------------------------------------------------------------------------

CONTRACT_PATHS = {
    "/api/v1/public/gates/{slug}": {"get"},
    "/api/v1/public/gates/{slug}/submissions": {"post"},
    "/api/v1/public/events": {"post"},
    "/api/v1/gates/": {"get", "post"},
    "/api/v1/gates/{slug}": {"get", "put", "patch", "delete"},
    "/api/v1/scoring-rules/": {"get", "post"},
    "/api/v1/scoring-rules/{id}": {"get", "put", "patch", "delete"},
    "/api/v1/scoring-settings": {"get", "put", "patch"},
    "/api/v1/webhooks/": {"get", "post"},
    "/api/v1/webhooks/{id}": {"get", "put", "patch", "delete"},
    "/api/v1/webhooks/{id}/deliveries": {"get"},
    "/api/v1/deliveries/{id}/redeliver": {"post"},
    "/api/v1/leads/": {"get"},
    "/api/v1/leads/{id}": {"get", "delete"},
    "/api/v1/leads/export.csv": {"get"},
}


_SCHEMA_CACHE: dict[str, Any] = {}


def _schema(api: Client) -> dict[str, Any]:
    """The served document (generated once per run: it does not depend on data)."""
    if "doc" not in _SCHEMA_CACHE:
        response = api.get("/api/schema/")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.oai.openapi")
        _SCHEMA_CACHE["doc"] = yaml.safe_load(response.content)
    return _SCHEMA_CACHE["doc"]


def test_schema_is_openapi_3_and_lists_the_contract_paths(api: Client) -> None:
    schema = _schema(api)
    assert str(schema["openapi"]).startswith("3.")
    assert schema["info"]["title"]
    paths = schema["paths"]
    for path, methods in CONTRACT_PATHS.items():
        assert path in paths, f"{path} missing; have {sorted(paths)}"
        assert methods <= set(paths[path]), (path, set(paths[path]))


def test_schema_as_json(api: Client) -> None:
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_schema_documents_auth_and_public_endpoints(api: Client) -> None:
    schema = _schema(api)
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("type") == "apiKey" or s.get("scheme") for s in schemes.values())
    events = schema["paths"]["/api/v1/public/events"]["post"]
    # public endpoints may be called without credentials
    assert {} in events.get("security", [{}]) or events.get("security") in (None, [])


def _response_schema(schema: dict[str, Any], path: str, method: str, code: str) -> dict:
    content = schema["paths"][path][method]["responses"][code]["content"]
    ref_or_schema = content["application/json"]["schema"]
    if "$ref" in ref_or_schema:
        name = ref_or_schema["$ref"].rsplit("/", 1)[-1]
        return schema["components"]["schemas"][name]
    return ref_or_schema


def test_schema_response_shapes_are_distinct(api: Client) -> None:
    schema = _schema(api)
    public = _response_schema(schema, "/api/v1/public/gates/{slug}", "get", "200")
    assert {"fields", "sections", "files", "stage"} <= set(public["properties"])
    detail = _response_schema(schema, "/api/v1/leads/{id}", "get", "200")
    assert {"score", "grade", "reasons", "visitors", "timeline"} <= set(detail["properties"])
    created = _response_schema(schema, "/api/v1/public/gates/{slug}/submissions", "post", "201")
    assert {"lead_id", "access_token", "content_url"} <= set(created["properties"])


@pytest.mark.parametrize("path", ["/api/v1/leads/", "/api/v1/webhooks/{id}/deliveries"])
def test_schema_documents_the_paginated_lists(api: Client, path: str) -> None:
    body = _response_schema(_schema(api), path, "get", "200")
    assert body.get("type") == "object"
    assert {"count", "results"} <= set(body.get("properties", {}))


def test_docs_page(api: Client) -> None:
    response = api.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"/api/schema/" in response.content
