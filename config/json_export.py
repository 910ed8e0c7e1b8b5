"""Streamed JSON downloads: one document whose big lists are written as they are read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse

_ENCODER = DjangoJSONEncoder(ensure_ascii=False)
# Items per chunk handed to the server: few enough writes, small enough chunks.
ITEMS_PER_CHUNK = 200


def _encode(value: Any) -> str:
    return _ENCODER.encode(value)


def json_stream(document: Mapping[str, Any]) -> Iterator[str]:
    """`document` as JSON text in pieces: a value that is an iterator (not a list, dict or
    string) is written as a JSON array item by item, so memory stays flat however long it
    is. Everything else is encoded whole (dates, UUIDs and decimals as Django does)."""
    yield "{"
    for index, (key, value) in enumerate(document.items()):
        yield ("," if index else "") + _encode(str(key)) + ":"
        if isinstance(value, Iterator):
            yield from _array(value)
        else:
            yield _encode(value)
    yield "}\n"


def _array(items: Iterable[Any]) -> Iterator[str]:
    parts: list[str] = []
    first = True
    yield "["
    for item in items:
        parts.append(("" if first else ",") + _encode(item))
        first = False
        if len(parts) >= ITEMS_PER_CHUNK:
            yield "".join(parts)
            parts = []
    if parts:
        yield "".join(parts)
    yield "]"


def json_download(document: Mapping[str, Any], *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        json_stream(document), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # A person's data: never kept by a shared cache or the browser's.
    response["Cache-Control"] = "no-store"
    return response
