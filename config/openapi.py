"""OpenAPI post-processing: publish the contract's exact paths.

Routes accept an optional trailing slash (`/?$`), which drf-spectacular renders as a
slash; the contract writes collections with one (`/api/v1/gates/`) and items without
(`/api/v1/gates/{slug}`), so the document says exactly that.
"""

from __future__ import annotations

from typing import Any

COLLECTIONS = (
    "/api/v1/gates/",
    "/api/v1/scoring-rules/",
    "/api/v1/webhooks/",
    "/api/v1/leads/",
    "/api/v1/quarantine/",
)


def contract_paths(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    paths = result.get("paths", {})
    fixed: dict[str, Any] = {}
    for path, item in paths.items():
        if path.endswith("/") and not path.endswith(COLLECTIONS) and path.startswith("/api/v1/"):
            path = path.rstrip("/")
        fixed[path] = item
    result["paths"] = fixed
    return result


# The contract's error shape, {"errors": {"<field or __all__>": ["message", ...]}}, for
# the plain views' `extend_schema(responses=...)`.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }
    },
    "required": ["errors"],
}
