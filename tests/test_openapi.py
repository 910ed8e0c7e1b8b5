"""config/openapi.py: every 4xx an operation answers is in /api/schema/, in the error shape.

Two halves: the document itself (what each operation promises, the events body), and real
answers of each kind checked against it (the status is documented for that operation and
the body validates against the documented schema). tests/test_api_fuzz.py explores the
same with generated requests; the cases it found are pinned here.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from django.test import Client

from config.openapi import ERROR_SCHEMA
from forms_app.models import Stage
from tests.support.factories import DEFAULT_ORIGIN, make_endpoint, make_gate, make_marketer

pytestmark = pytest.mark.django_db

_CACHE: dict[str, Any] = {}
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}
OTHER_ORIGIN = "https://not-allowed.example.org"


def _schema() -> dict[str, Any]:
    """The served document (generated once per run: it does not depend on data)."""
    if "doc" not in _CACHE:
        response = Client().get("/api/schema/", {"format": "json"})
        assert response.status_code == 200
        _CACHE["doc"] = json.loads(response.content)
    return _CACHE["doc"]


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in _schema()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """A response schema with its `$ref`s inlined (the error shapes have no cycles)."""
    components = _schema()["components"]["schemas"]

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(components[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)


# --- the document -------------------------------------------------------------------------


def test_the_error_component_is_the_contracts_shape() -> None:
    error = _schema()["components"]["schemas"]["Error"]
    # One shape, whether the hook added it or a view's ErrorSerializer did.
    assert error == ERROR_SCHEMA
    jsonschema.validate({"errors": {"sections.0.key": ["This field is required."]}}, error)
    for wrong in ({}, {"errors": {"slug": "not a list"}}, {"errors": ["x"]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, error)


def test_every_4xx_is_in_the_error_shape() -> None:
    for path, method, operation in _operations():
        for code, response in operation["responses"].items():
            if not code.startswith("4"):
                continue
            body = _resolve(response["content"]["application/json"]["schema"])
            assert "errors" in body.get("required", []), (method, path, code)
            assert response["description"], (method, path, code)


def test_the_framework_errors_are_documented_for_every_operation() -> None:
    """What DRF and the API's policies answer, whatever the view: a new endpoint cannot
    leave them out."""
    for path, method, operation in _operations():
        codes = set(operation["responses"])
        label = f"{method.upper()} {path}"
        if operation.get("security"):
            assert {"401", "403"} <= codes, label
        if "{" in path:
            assert "404" in codes, label
        if "requestBody" in operation:
            assert {"400", "413"} <= codes, label
            if path != "/api/v1/public/events":
                assert "415" in codes, label
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "400" in codes, label


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/v1/public/events", "post", {"202", "400", "403", "413", "429"}),
        ("/api/v1/public/gates/{slug}", "get", {"200", "400", "403", "404"}),
        (
            "/api/v1/public/gates/{slug}/submissions",
            "post",
            {"201", "400", "403", "404", "413", "415", "429"},
        ),
        ("/api/v1/webhooks/{id}/secret/retire-previous", "post", {"200", "400", "404"}),
        ("/api/v1/gates/{slug}", "patch", {"200", "400", "401", "403", "404", "413", "415"}),
    ],
)
def test_operations_document_their_own_errors(path: str, method: str, codes: set[str]) -> None:
    assert codes <= set(_schema()["paths"][path][method]["responses"])


def test_the_events_body_is_documented_per_the_contract() -> None:
    operation = _schema()["paths"]["/api/v1/public/events"]["post"]
    body = _resolve(operation["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["required"]) == {"visitor_id", "events"}
    assert body["properties"]["visitor_id"]["format"] == "uuid"
    events = body["properties"]["events"]
    assert (events["type"], events["minItems"], events["maxItems"]) == ("array", 1, 100)
    event = events["items"]
    assert set(event["required"]) == {"id", "type", "gate"}
    assert event["properties"]["id"]["format"] == "uuid"
    assert set(event["properties"]["type"]["enum"]) == {
        "page_view",
        "section_view",
        "download",
        "form_view",
    }
    assert {"section", "file", "duration_ms", "occurred_at", "url"} <= set(event["properties"])
    assert event["properties"]["duration_ms"]["type"] == "integer"
    assert event["properties"]["occurred_at"]["format"] == "date-time"
    accepted = _resolve(operation["responses"]["202"]["content"]["application/json"]["schema"])
    assert set(accepted["required"]) == {"accepted", "duplicates"}


def test_collections_are_published_with_their_slash() -> None:
    paths = _schema()["paths"]
    assert "/api/v1/sources/" in paths
    assert "/api/v1/sources/{id}" in paths


# --- real answers, checked against the document ------------------------------------------


def _documented(path: str, method: str, response: Any) -> None:
    operation = _schema()["paths"][path][method]
    code = str(response.status_code)
    assert code in operation["responses"], (method, path, code, sorted(operation["responses"]))
    assert response["Content-Type"].startswith("application/json")
    schema = _resolve(operation["responses"][code]["content"]["application/json"]["schema"])
    jsonschema.validate(response.json(), schema)


def _json(client: Client, method: str, url: str, body: Any, **extra: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    content_type = extra.pop("content_type", "application/json")
    return getattr(client, method)(url, data=data, content_type=content_type, **extra)


def test_marketer_api_errors_are_documented() -> None:
    marketer = make_marketer()
    headers = marketer.auth_header
    auth: dict[str, Any] = {"headers": headers}
    gate = make_gate(stage=Stage.DECISION)
    endpoint = make_endpoint(url="https://crm.example.com/hook")
    api = Client()
    cases = [
        ("/api/v1/gates/", "get", 401, api.get("/api/v1/gates/")),
        (
            "/api/v1/gates/",
            "get",
            401,
            api.get("/api/v1/gates/", headers={"Authorization": "Token wrong"}),
        ),
        (
            "/api/v1/gates/{slug}",
            "get",
            404,
            api.get("/api/v1/gates/no-such-gate", headers=headers),
        ),
        ("/api/v1/gates/", "post", 400, _json(api, "post", "/api/v1/gates/", {}, **auth)),
        (
            "/api/v1/gates/",
            "post",
            415,
            _json(api, "post", "/api/v1/gates/", "slug=x", content_type="text/plain", **auth),
        ),
        (
            "/api/v1/gates/",
            "post",
            413,
            _json(api, "post", "/api/v1/gates/", {"description": "x" * 700_000}, **auth),
        ),
        # Once a 500: nested items were validated as partial under PATCH.
        (
            "/api/v1/gates/{slug}",
            "patch",
            400,
            _json(api, "patch", f"/api/v1/gates/{gate.slug}", {"sections": [{}]}, **auth),
        ),
        # Found by the fuzz: undocumented.
        (
            "/api/v1/webhooks/{id}/secret/retire-previous",
            "post",
            400,
            api.post(f"/api/v1/webhooks/{endpoint.pk}/secret/retire-previous", headers=headers),
        ),
        (
            "/api/v1/leads/",
            "get",
            400,
            api.get("/api/v1/leads/", {"since": "soon"}, headers=headers),
        ),
    ]
    session = Client(enforce_csrf_checks=True)
    session.force_login(marketer.user)
    cases.append(
        ("/api/v1/gates/", "post", 403, _json(session, "post", "/api/v1/gates/", {"slug": "x"}))
    )
    for path, method, status, response in cases:
        assert response.status_code == status, (method, path, response.content[:300])
        _documented(path, method, response)


def test_public_errors_are_documented(settings: Any) -> None:
    settings.LEADGATE_SUBMIT_LIMIT_PER_IP = 1
    gate = make_gate(stage=Stage.INTEREST)
    submissions = f"/api/v1/public/gates/{gate.slug}/submissions"
    person = {"name": "Ada", "email": "ada@example-fibre.com", "subscribe": False}
    public, events = "/api/v1/public/gates/{slug}", "/api/v1/public/events"
    client = Client()
    cases = [
        (public, "get", 400, client.get(f"/api/v1/public/gates/{gate.slug}?visitor_id=x")),
        (public, "get", 404, client.get("/api/v1/public/gates/no-such-gate")),
        (
            public,
            "get",
            403,
            client.get(f"/api/v1/public/gates/{gate.slug}", headers={"Origin": OTHER_ORIGIN}),
        ),
        (
            public + "/submissions",
            "post",
            403,
            _json(client, "post", submissions, person, headers={"Origin": OTHER_ORIGIN}),
        ),
        (
            public + "/submissions",
            "post",
            404,
            _json(client, "post", "/api/v1/public/gates/no-such-gate/submissions", person),
        ),
        (public + "/submissions", "post", 400, _json(client, "post", submissions, {"name": ""})),
        (
            public + "/submissions",
            "post",
            429,
            _json(client, "post", submissions, person, headers={"Origin": DEFAULT_ORIGIN}),
        ),
        (events, "post", 400, _json(client, "post", events, "{")),
        (events, "post", 400, _json(client, "post", events, {"visitor_id": "x", "events": []})),
        (events, "post", 413, _json(client, "post", events, {"pad": "x" * 70_000})),
        (
            events,
            "post",
            403,
            _json(
                client,
                "post",
                events,
                {
                    "visitor_id": "6f1d1c4e-5b9e-4f4a-9c51-2f0f3c9b7a11",
                    "events": [
                        {
                            "id": "7f1d1c4e-5b9e-4f4a-9c51-2f0f3c9b7a11",
                            "type": "page_view",
                            "gate": gate.slug,
                        }
                    ],
                },
                headers={"Origin": OTHER_ORIGIN},
            ),
        ),
    ]
    for path, method, status, response in cases:
        assert response.status_code == status, (method, path, response.content[:300])
        _documented(path, method, response)
