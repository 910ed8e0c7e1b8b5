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
import re
import threading
import zlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from config.cors import request_origin
from config.errors import error_body
from config.parsers import json_loads_safe
from profiling.caches import source_lookup
from profiling.refusals import SEGMENT, batch_refusals_record
from profiling.services.ingest import _parse_time
from profiling.services.segment import segment_ingest
from profiling.throttle import segment_wait_seconds

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 500 * 1024  # decompressed (contract)
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_MESSAGES = 2500  # Segment's own limit per batch
MAX_WRITE_KEY = 100  # Source.write_key's column
# What the browser SDKs send beyond the CORS-safelisted headers, so the preflight must
# allow it or the browser drops the request unsent: the write key as Basic auth
# (analytics.js, RudderStack), JSON bodies (RudderStack), gzip (server SDKs), and
# RudderStack's base64 `AnonymousId` and `SentAt` on every event. Retries add more
# (analytics.js `X-Retry-Count`, RudderStack `Rsa-Retry-*` and `Rsa-Since-*`), and a new
# SDK release may add others: the preflight also allows whatever well-formed header names
# it is asked for. That opens nothing: these endpoints take any origin and no cookies, and
# a script that is not a browser can send any header anyway.
SDK_REQUEST_HEADERS = "Authorization, Content-Type, Content-Encoding, AnonymousId, SentAt"
_HEADER_NAMES = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*")
MAX_REQUESTED_HEADERS = 1000  # characters of Access-Control-Request-Headers echoed back
# Chromium caps it at 2 hours, Firefox at 24: one preflight per SDK page per couple of hours.
PREFLIGHT_MAX_AGE = "86400"

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


def basic_auth_write_key(request: HttpRequest) -> str | None:
    """The write key of `Authorization: Basic base64(key + ":")`, or None: the SDKs send
    it so (RudderStack also on its config request)."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return _usable_key(decoded.split(":", 1)[0])


def _write_key(request: HttpRequest, payload: dict[str, Any]) -> str | None:
    if request.headers.get("Authorization", "")[:6].lower() == "basic ":
        return basic_auth_write_key(request)
    return _usable_key(payload.get("writeKey") or payload.get("api_key"))


def _usable_key(key: Any) -> str | None:
    # A key no source can have (too long, or a NUL PostgreSQL cannot compare) is unknown.
    return (
        key
        if isinstance(key, str) and 0 < len(key) <= MAX_WRITE_KEY and "\x00" not in key
        else None
    )


def cors_preflight(
    response: HttpResponseBase, request: HttpRequest, methods: str
) -> HttpResponseBase:
    """Answer a browser SDK's preflight: any origin, the headers the SDKs send and those
    the browser asks for (see SDK_REQUEST_HEADERS)."""
    allowed = SDK_REQUEST_HEADERS
    requested = request.META.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").strip()
    if requested and len(requested) <= MAX_REQUESTED_HEADERS and _HEADER_NAMES.fullmatch(requested):
        allowed = f"{allowed}, {requested}"
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = methods
    response["Access-Control-Allow-Headers"] = allowed
    response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    # The answer depends on what was asked: no cache may give one preflight's to another.
    patch_vary_headers(response, ["Access-Control-Request-Headers"])
    return response


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
        cors_preflight(response, request, "POST, OPTIONS")
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
    source = source_lookup(key) if key else None
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
    if result.refused:
        # Messages dropped for a gate's sake: counted for its builder, as the beacon's.
        batch_refusals_record(
            request_origin(request) or "",
            result.refused,
            channel=SEGMENT,
            source_id=source.id,
        )
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
