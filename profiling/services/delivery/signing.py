"""Standard Webhooks v1 signing (HMAC-SHA256 over "{id}.{timestamp}.{body}")."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature; byte for byte what `standardwebhooks` makes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(*, secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one space-separated entry per secret.

    During a secret rotation both the new and the old secret sign (the spec allows
    several entries), so a CRM still holding the old secret keeps verifying.
    """
    return " ".join(
        sign(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets if s
    )
