"""Spam without captchas: a signed render-time token with a minimum fill time.

Every rendered form (the hosted page, the iframe, the embed script's config fetch) carries
a token signed with the site's secret that says *which gate* and *when* it was rendered.
A submission whose token is missing (in strict mode), forged, for another gate, or arrives
sooner than a person could have filled the form is *suspect*: the caller answers it exactly
like a success, so a bot learns nothing it could adapt to, and holds it in the quarantine
(services/quarantine.py) instead of making a lead. A person whose browser autofilled the
form and who clicked at once is not lost: a marketer can release them. A filled honeypot
is only counted.

An expired token (a tab left open for days) is the one case answered with a real error:
that is a person, and the embed script fetches a fresh token and submits again.
"""

from __future__ import annotations

import enum
import time

from django.conf import settings
from django.core import signing

SALT = "leadgate.form-token.v1"
FIELD = "form_token"


class TokenVerdict(enum.Enum):
    OK = "ok"
    MISSING = "missing"
    FORGED = "forged"  # bad signature, garbage, or made for another gate
    TOO_FAST = "too_fast"
    EXPIRED = "expired"

    @property
    def suspect(self) -> bool:
        """Look like a success, make no lead: quarantine (the value names the reason)."""
        return self in (TokenVerdict.MISSING, TokenVerdict.FORGED, TokenVerdict.TOO_FAST)


def _now_ms() -> int:
    return int(time.time() * 1000)


def form_token_make(*, gate_slug: str, issued_at_ms: int | None = None) -> str:
    """A token for one render of `gate_slug`'s form."""
    issued = _now_ms() if issued_at_ms is None else issued_at_ms
    return signing.dumps({"g": gate_slug, "t": issued}, salt=SALT, compress=False)


def form_token_check(
    token: str | None, *, gate_slug: str, now_ms: int | None = None
) -> TokenVerdict:
    """How a submission's token looks for `gate_slug` (never raises)."""
    if not token:
        return TokenVerdict.MISSING
    if not isinstance(token, str) or len(token) > 300:
        return TokenVerdict.FORGED
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return TokenVerdict.FORGED
    if not isinstance(payload, dict) or payload.get("g") != gate_slug:
        return TokenVerdict.FORGED
    issued = payload.get("t")
    if not isinstance(issued, int) or isinstance(issued, bool):
        return TokenVerdict.FORGED
    now = _now_ms() if now_ms is None else now_ms
    elapsed = now - issued
    # A token from the future is not one we made (clock skew between our own servers is
    # far below a second); treat it like a forgery.
    if elapsed < -1000:
        return TokenVerdict.FORGED
    if elapsed < settings.LEADGATE_FORM_MIN_FILL_MS:
        return TokenVerdict.TOO_FAST
    if elapsed > settings.LEADGATE_FORM_TOKEN_MAX_AGE_S * 1000:
        return TokenVerdict.EXPIRED
    return TokenVerdict.OK


def token_suspect(verdict: TokenVerdict) -> bool:
    """Whether this verdict sends the submission to the quarantine under the settings.

    Without `LEADGATE_FORM_TOKEN_REQUIRED` (the default: the contract's body has no
    token) a *missing* token is forgiven; a forged or too-fast one is always suspect.
    """
    if verdict is TokenVerdict.MISSING and not settings.LEADGATE_FORM_TOKEN_REQUIRED:
        return False
    return verdict.suspect
