"""Segment-compatible ingest endpoints (contract: `/v1/batch`, `/v1/{track,identify,page}`
and the browser short forms `/v1/{b,t,i,p}`).

Plain Django views: the clients send `text/plain` (analytics.js, to avoid a CORS
preflight) or gzip (segment-analytics-python with gzip=True, RudderStack by default),
which DRF's parsers would refuse; and the answers are fixed by what the clients accept:
exactly `200 {"success": true}` (RudderStack and PostHog retry a 202), 400 for bad input
(never retried), 429/503 with Retry-After (always retried).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import zlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from config.errors import error_body
from config.parsers import json_loads_safe
from profiling.caches import SourceInfo, cache_clock, source_cache
from profiling.services.ingest import _parse_time
from profiling.services.segment import segment_ingest
from profiling.throttle import segment_wait_seconds

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 500 * 1024  # decompressed (contract)
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_MESSAGES = 2500  # Segment's own limit per batch

_inflight = 0
_inflight_lock = threading.Lock()


def _json(data: Any, status: int, **headers: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, separators=(",", ":")), status=status, content_type="application/json"
    )
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    # Browsers (analytics.js) post cross-origin with text/plain and the key in the body;
    # no cookies are involved, so any origin may call.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _write_key(request: HttpRequest, payload: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        key: Any = decoded.split(":", 1)[0]
    else:
        key = payload.get("writeKey") or payload.get("api_key")
    # A key no source can have (too long, or a NUL PostgreSQL cannot compare) is unknown.
    return key if isinstance(key, str) and 0 < len(key) <= 100 and "\x00" not in key else None


def _body(request: HttpRequest) -> bytes | HttpResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        return _json(error_body(f"The body exceeds {MAX_REQUEST_BYTES} bytes."), 400)
    raw = request.body
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        # Capped inflate: a 500 KB gzip bomb must not become gigabytes in memory.
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(raw, MAX_REQUEST_BYTES + 1)
        except zlib.error:
            return _json(error_body("The body is not valid gzip."), 400)
        if inflater.unconsumed_tail or not inflater.eof:
            if len(raw) > MAX_REQUEST_BYTES or inflater.unconsumed_tail:
                return _json(
                    error_body(f"The decompressed body exceeds {MAX_REQUEST_BYTES} bytes."), 400
                )
            return _json(error_body("The body is not valid gzip."), 400)
    if len(raw) > MAX_REQUEST_BYTES:
        return _json(error_body(f"The body exceeds {MAX_REQUEST_BYTES} bytes."), 400)
    return raw


def _handle(request: HttpRequest, default_type: str | None) -> HttpResponse:
    if request.method == "OPTIONS":
        response = _json({}, 200)
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, Authorization, Content-Encoding"
        return response
    if request.method != "POST":
        return _json(error_body("Use POST."), 405, Allow="POST, OPTIONS")
    body = _body(request)
    if isinstance(body, HttpResponse):
        return body
    try:
        payload = json_loads_safe(body)
    except (ValueError, UnicodeDecodeError):
        return _json(error_body("The body is not valid JSON."), 400)
    if not isinstance(payload, dict):
        return _json(error_body("Expected a JSON object."), 400)
    key = _write_key(request, payload)
    since = cache_clock()
    source: SourceInfo | None = source_cache.get(key) if key else None
    if source is None and key:
        # Unknown here: read it again, so a source made a moment ago in another process
        # is not refused (the Segment clients never retry a 4xx).
        source = source_cache.get(key, fresh_since=since)
    if source is None:
        return _json(error_body("Unknown or missing write key."), 401)
    if default_type is None:
        messages = payload.get("batch")
        if not isinstance(messages, list):
            return _json({"errors": {"batch": ["A list of messages is required."]}}, 400)
        if len(messages) > MAX_BATCH_MESSAGES:
            return _json(
                {"errors": {"batch": [f"At most {MAX_BATCH_MESSAGES} messages per batch."]}},
                400,
            )
    else:
        messages = [payload]
    # Segment drops messages over 32 KB; only big bodies can hold one, so only they
    # pay for measuring each message.
    if len(body) > MAX_MESSAGE_BYTES:
        messages = [
            m for m in messages if len(json.dumps(m, separators=(",", ":"))) <= MAX_MESSAGE_BYTES
        ]
    wait = segment_wait_seconds(request, count=len(messages)) if messages else None
    if wait is not None:
        return _json(
            error_body(f"Too many events; retry in {wait} seconds."), 429, Retry_After=str(wait)
        )
    received = timezone.now()
    try:
        result = segment_ingest(
            source=source,
            messages=messages,
            sent_at=_parse_time(payload.get("sentAt")),
            received=received,
            default_type=default_type,
        )
    except (OperationalError, DatabaseError):
        # The database is unreachable or overloaded: every client retries a 503.
        log.exception("segment ingest failed; the client will retry")
        return _json(error_body("Temporarily unavailable; retry."), 503, Retry_After="2")
    if result.dropped:
        log.info("segment ingest dropped %d messages: %s", len(result.dropped), result.dropped[:5])
    return _json({"success": True}, 200)


def _endpoint(default_type: str | None) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        # Back-pressure: past this many requests in flight in this process, ask the
        # client to come back (all Segment-style clients honour 429 + Retry-After).
        global _inflight
        limit = settings.LEADGATE_SEGMENT_MAX_INFLIGHT
        with _inflight_lock:
            if _inflight >= limit:
                busy = True
            else:
                busy = False
                _inflight += 1
        if busy:
            return _json(error_body("Too many requests in flight; retry."), 429, Retry_After="1")
        try:
            return _handle(request, default_type)
        finally:
            with _inflight_lock:
                _inflight -= 1

    return view


batch = _endpoint(None)
track = _endpoint("track")
identify = _endpoint("identify")
page = _endpoint("page")
alias = _endpoint("alias")
