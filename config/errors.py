"""One error shape for the whole API (contract): {"errors": {"<field or __all__>": [...]}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler

NON_FIELD = "__all__"


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested ErrorDetail structures into {"a.b.0.c": ["msg"]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = NON_FIELD if key in ("non_field_errors", NON_FIELD) else str(key)
            for k, v in _flatten(value, f"{prefix}.{name}" if prefix else name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or NON_FIELD] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    key = f"{prefix}.{index}" if prefix else str(index)
                    for k, v in _flatten(item, key).items():
                        out.setdefault(k, []).extend(v)
    else:
        out[prefix or NON_FIELD] = [str(detail)]
    return out


def error_body(errors: dict[str, list[str]] | str) -> dict[str, dict[str, list[str]]]:
    if isinstance(errors, str):
        return {"errors": {NON_FIELD: [errors]}}
    return {"errors": errors}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_default_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handler (JSON under /api/) answer
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": _flatten(exc.detail)}
    else:
        detail = getattr(exc, "detail", None) or str(exc)
        response.data = error_body(_flatten(detail) if isinstance(detail, dict) else str(detail))
    return response


def _wants_json(request: HttpRequest) -> bool:
    path = request.path
    return path.startswith(("/api/", "/v1/")) or "application/json" in request.headers.get(
        "Accept", ""
    )


def json_error(message: str, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(message), status=status_code)


# Django-level handlers: a 404/500 outside DRF views (unknown URL, crash in middleware)
# must still answer API clients in the contract's shape, never an HTML page.
def handler400(request: HttpRequest, exception: Exception | None = None) -> Any:
    if _wants_json(request):
        return json_error("Bad request.", 400)
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception("bad request"))


def handler403(request: HttpRequest, exception: Exception | None = None) -> Any:
    if _wants_json(request):
        return json_error("Forbidden.", 403)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception or Exception("forbidden"))


def handler404(request: HttpRequest, exception: Exception | None = None) -> Any:
    if _wants_json(request):
        return json_error("Not found.", 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request: HttpRequest) -> Any:
    if _wants_json(request):
        return json_error("Internal error; it has been logged.", 500)
    from django.views.defaults import server_error

    return server_error(request)


def django_validation_errors(exc: Any) -> dict[str, list[str]]:
    """A django.core.exceptions.ValidationError (from a service) in the contract's shape."""
    if hasattr(exc, "error_dict"):
        return {
            (NON_FIELD if key in ("__all__", "non_field_errors") else key): [
                str(m) for e in errors for m in e.messages
            ]
            for key, errors in exc.error_dict.items()
        }
    return {NON_FIELD: [str(m) for m in exc.messages]}
