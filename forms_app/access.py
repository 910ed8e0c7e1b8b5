"""Access tokens for gated content: signed, expiring, carrying lead, visitor and gate."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

_SALT = "leadgate.access.v1"


@dataclass(frozen=True)
class Access:
    lead_id: uuid.UUID
    visitor_id: uuid.UUID
    gate_slug: str


def access_token_make(*, lead_id: uuid.UUID, visitor_id: uuid.UUID, gate_slug: str) -> str:
    return signing.dumps(
        {"l": lead_id.hex, "v": visitor_id.hex, "g": gate_slug}, salt=_SALT, compress=True
    )


def access_token_read(token: str | None, *, gate_slug: str) -> Access | None:
    """The access a token grants for this gate, or None if forged, expired or for another."""
    if not token or len(token) > 512:
        return None
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.LEADGATE_ACCESS_TOKEN_MAX_AGE_S)
        access = Access(
            lead_id=uuid.UUID(data["l"]), visitor_id=uuid.UUID(data["v"]), gate_slug=data["g"]
        )
    except (signing.BadSignature, KeyError, ValueError, TypeError):
        return None
    return access if access.gate_slug == gate_slug else None
