"""Signed unsubscribe links: `List-Unsubscribe` with one-click POST (RFC 8058)."""

from __future__ import annotations

import uuid

from django.core import signing

from profiling.services.consent import lead_subscription_withdraw

# One salt per purpose: an unsubscribe token never opens content, and no other token
# unsubscribes.
_SALT = "leadgate.unsubscribe.v1"
UNSUBSCRIBE_PATH = "/u/"


def unsubscribe_token_make(*, lead_id: uuid.UUID) -> str:
    # No timestamp (the link never expires): short enough for one header line.
    return signing.Signer(salt=_SALT).sign(lead_id.hex)


def unsubscribe_token_read(token: str) -> uuid.UUID | None:
    """The lead a token unsubscribes, or None if forged or malformed. No expiry: an
    unsubscribe link in an old email must keep working."""
    if not token or len(token) > 512:
        return None
    try:
        return uuid.UUID(hex=signing.Signer(salt=_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def unsubscribe_url(*, lead_id: uuid.UUID, base: str) -> str:
    return f"{base}{UNSUBSCRIBE_PATH}{unsubscribe_token_make(lead_id=lead_id)}"


def unsubscribe_headers(*, lead_id: uuid.UUID, base: str) -> dict[str, str]:
    """The RFC 8058 headers every email to a lead carries (except a confirmation)."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(lead_id=lead_id, base=base)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def lead_unsubscribe(*, lead_id: uuid.UUID) -> bool:
    """Turn the person's subscription off and withdraw their consents in force; False if
    there is no such lead (or it was erased). Idempotent.

    Emails the person asked for (the content link of a form just sent) still go out:
    unsubscribing stops marketing, not the answer to a request.
    """
    return lead_subscription_withdraw(lead_id=lead_id) is not None
