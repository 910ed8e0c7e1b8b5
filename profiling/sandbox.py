"""The sandbox CRM inbox (`/sandbox/crm/`): a built-in webhook receiver.

POST: store what arrived and verify its Standard Webhooks signature the way a receiving
CRM would (HMAC-SHA256 over "{id}.{timestamp}.{body}", constant-time compare, timestamp
within five minutes). Written against the spec, not the `standardwebhooks` package, so
the tests can check our verifier and our signer against the reference one.

GET (staff only): the latest messages, to watch hot leads arrive during a demo.

Only with LEADGATE_SANDBOX=1: anyone can post to an inbox, so it is off (404) unless the
operator asks for it, and it keeps only the newest KEPT_MESSAGES.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from profiling.capped import keep_newest
from profiling.models import SandboxMessage, WebhookEndpoint

MAX_BODY_BYTES = 256 * 1024
TIMESTAMP_TOLERANCE_S = 5 * 60
INBOX_PATH_SUFFIX = "/sandbox/crm/"
PAGE_SIZE = 100
# Older messages are deleted as new ones arrive: a public inbox must not grow without end.
KEPT_MESSAGES = 500
KEPT_HEADERS = ("content-type", "webhook-id", "webhook-timestamp", "webhook-signature")


class VerificationError(ValueError):
    pass


def _expected_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> bytes:
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError("The endpoint's secret is not valid base64.") from None
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def signature_verify(
    *, secret: str, headers: dict[str, str], body: bytes, now: float | None = None
) -> None:
    """Raise VerificationError unless the Standard Webhooks headers prove `body`."""
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not msg_id or not timestamp or not signatures:
        raise VerificationError("Missing webhook-id, webhook-timestamp or webhook-signature.")
    try:
        sent = int(timestamp)
    except ValueError:
        raise VerificationError("webhook-timestamp is not a whole number of seconds.") from None
    now = time.time() if now is None else now
    if abs(now - sent) > TIMESTAMP_TOLERANCE_S:
        raise VerificationError("webhook-timestamp is more than five minutes from now.")
    expected = _expected_signature(secret, msg_id, timestamp, body)
    # The header may carry several space-separated signatures (secret rotation).
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(given, expected):
            return
    raise VerificationError("No v1 signature matches the body.")


def _candidate_endpoints(request: HttpRequest) -> list[WebhookEndpoint]:
    """Endpoints pointing at this inbox: an exact URL match first, then by path."""
    here = request.build_absolute_uri(request.path)
    exact: list[WebhookEndpoint] = []
    by_path: list[WebhookEndpoint] = []
    for endpoint in WebhookEndpoint.objects.order_by("id"):
        if endpoint.url == here:
            exact.append(endpoint)
        elif urlsplit(endpoint.url).path.endswith(INBOX_PATH_SUFFIX):
            by_path.append(endpoint)
    return exact + by_path


@dataclass(frozen=True)
class Verdict:
    endpoint: WebhookEndpoint | None
    valid: bool
    error: str


def _verify(request: HttpRequest, headers: dict[str, str], body: bytes) -> Verdict:
    candidates = _candidate_endpoints(request)
    if not candidates:
        return Verdict(None, False, "No webhook endpoint points at this inbox.")
    first_error = ""
    for endpoint in candidates:
        # During a secret rotation the inbox, like a CRM that has either secret, accepts
        # a message that verifies with the new or with the old one.
        for secret in (endpoint.secret, endpoint.previous_secret):
            if not secret:
                continue
            try:
                signature_verify(secret=secret, headers=headers, body=body)
            except VerificationError as exc:
                first_error = first_error or str(exc)
                continue
            return Verdict(endpoint, True, "")
    return Verdict(candidates[0], False, first_error)


def _receive(request: HttpRequest) -> HttpResponse:
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return JsonResponse({"errors": {"__all__": ["Body larger than 256 KB."]}}, status=413)
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return JsonResponse({"errors": {"__all__": ["Body larger than 256 KB."]}}, status=413)
    headers = {
        name.lower(): value[:1000]
        for name, value in request.headers.items()
        if name.lower() in KEPT_HEADERS or name.lower().startswith("webhook-")
    }
    verdict = _verify(request, headers, body)
    sandbox_message_store(headers=headers, body=body, verdict=verdict)
    return JsonResponse({"ok": True})


def sandbox_message_store(*, headers: dict[str, str], body: bytes, verdict: Verdict) -> None:
    """Store one received message and drop all but the newest KEPT_MESSAGES, together."""
    with transaction.atomic():
        SandboxMessage.objects.create(
            webhook_id=headers.get("webhook-id", "")[:200],
            headers=headers,
            body=body.decode("utf-8", errors="replace"),
            endpoint=verdict.endpoint,
            signature_valid=verdict.valid,
            verification_error=verdict.error[:300],
        )
        keep_newest(SandboxMessage, KEPT_MESSAGES)


def _summary(message: SandboxMessage) -> dict[str, Any]:
    """What a CRM user wants to see at a glance, parsed from the delivery's JSON."""
    out: dict[str, Any] = {"message": message, "type": "", "grade": "", "previous_grade": ""}
    out.update(email="", name="", score=None, reasons=[], pretty=message.body)
    try:
        payload = json.loads(message.body)
    except ValueError:
        return out
    if not isinstance(payload, dict):
        return out
    out["pretty"] = json.dumps(payload, indent=2, ensure_ascii=False)
    out["type"] = str(payload.get("type", ""))
    data = payload.get("data")
    if isinstance(data, dict):
        lead_raw = data.get("lead")
        lead: dict[str, Any] = lead_raw if isinstance(lead_raw, dict) else {}
        reasons = data.get("reasons")
        out.update(
            grade=str(data.get("grade", "")),
            previous_grade=str(data.get("previous_grade", "")),
            email=str(lead.get("email", "")),
            name=str(lead.get("name", "")),
            score=data.get("score"),
            reasons=[str(r) for r in reasons] if isinstance(reasons, list) else [],
        )
    return out


@staff_member_required
def _inbox_page(request: HttpRequest) -> HttpResponse:
    messages = [_summary(m) for m in SandboxMessage.objects.all()[:PAGE_SIZE]]
    endpoints = _candidate_endpoints(request)
    return render(
        request,
        "profiling/sandbox_inbox.html",
        {
            "messages": messages,
            "endpoints": endpoints,
            "inbox_url": request.build_absolute_uri(request.path),
            "total": SandboxMessage.objects.count(),
        },
    )


@csrf_exempt  # a webhook receiver: authenticated by its signature, not a session
def crm_inbox(request: HttpRequest) -> HttpResponse:
    # Checked per request (not by leaving the route out) so that tests can switch it.
    if not settings.LEADGATE_SANDBOX:
        raise Http404("The sandbox inboxes are off (LEADGATE_SANDBOX).")
    if request.method == "POST":
        return _receive(request)
    if request.method in ("GET", "HEAD"):
        return _inbox_page(request)
    response = JsonResponse({"errors": {"__all__": ["Use POST (or GET to read)."]}}, status=405)
    response["Allow"] = "GET, HEAD, POST"
    return response
