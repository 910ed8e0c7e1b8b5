"""OpenAPI post-processing: publish the contract's exact paths and every error answer.

Paths: routes accept an optional trailing slash (`/?$`), which drf-spectacular renders as
a slash; the contract writes collections with one (`/api/v1/gates/`) and items without
(`/api/v1/gates/{slug}`), so the document says exactly that.

Errors: every 4xx an operation can answer is documented, in the contract's one error
shape (the `Error` component). What the framework answers for every view is added here
from what the operation is, so a new endpoint cannot forget it: 401/403 when it needs
credentials (none or a bad token; a role that may not do it, a session without CSRF),
404 on paths with parameters, 400/413/415 when it takes a body, 400 when it takes query
parameters. What a view answers of its own (a public gate's 403 for an origin, 429 for
a rate limit) it declares with `extend_schema(responses=...)`, using ERRORS below.
"""

from __future__ import annotations

import inspect
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from profiling.beacon import BEACON_PATHS

COLLECTIONS = (
    "/api/v1/gates/",
    "/api/v1/scoring-rules/",
    "/api/v1/webhooks/",
    "/api/v1/leads/",
    "/api/v1/quarantine/",
    "/api/v1/sources/",
)
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class ErrorSerializer(serializers.Serializer):
    """The contract's error shape: `{"errors": {"<field or __all__>": ["message", ...]}}`.

    Field paths are dotted for nested input (`sections.0.key`)."""

    # Declared fields leave the class body (DRF's metaclass), so Serializer.errors stays.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField())
    )


# The component ErrorSerializer becomes: the hook adds it even when no view names it.
ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": inspect.cleandoc(ErrorSerializer.__doc__ or ""),
    "properties": {
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }
    },
    "required": ["errors"],
}

DESCRIPTIONS = {
    400: "Invalid input: messages keyed by field path (`__all__` for the whole request).",
    401: "No credentials, or a token that is not valid (`Authorization: Token <key>`).",
    403: "The user's role may not do this, or a session request came without its CSRF token.",
    404: "No such object.",
    413: "The request body is too large.",
    415: "The body is not JSON (`Content-Type: application/json`).",
    429: "Too many requests: retry after the `Retry-After` header's seconds.",
}


def errors(*codes: int | tuple[int, str]) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses=...)` entries in the error shape: `errors(403, 429)`, or
    with the operation's own wording: `errors((403, "This origin is not allowed."))`."""
    out: dict[int, OpenApiResponse] = {}
    for entry in codes:
        code, description = entry if isinstance(entry, tuple) else (entry, DESCRIPTIONS[entry])
        out[code] = OpenApiResponse(ErrorSerializer, description=description)
    return out


def _error_response(code: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[code],
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
        },
    }


def _framework_errors(path: str, operation: dict[str, Any]) -> set[int]:
    """The 4xx that DRF, Django and the API's own policies answer for this operation."""
    codes: set[int] = set()
    security = operation.get("security") or []
    if security and all(requirement for requirement in security):  # `{}`: optional auth
        codes |= {401, 403}
    if "{" in path:
        codes.add(404)
    if "requestBody" in operation:
        codes |= {400, 413}
        if path not in BEACON_PATHS:  # the beacon reads its body raw, whatever its type
            codes.add(415)
    parameters = operation.get("parameters") or []
    if any(p.get("in") == "query" for p in parameters):
        codes.add(400)
    return codes


def contract_paths(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    paths = result.get("paths", {})
    fixed: dict[str, Any] = {}
    for path, item in paths.items():
        if path.endswith("/") and not path.endswith(COLLECTIONS) and path.startswith("/api/v1/"):
            path = path.rstrip("/")
        fixed[path] = item
    result["paths"] = fixed
    return result


def error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in sorted(_framework_errors(path, operation)):
                responses.setdefault(str(code), _error_response(code))
    return result
