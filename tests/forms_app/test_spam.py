"""The signed render-time form token (forms_app/spam.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core import signing

from forms_app.access import access_token_make
from forms_app.spam import SALT, TokenVerdict, form_token_check, form_token_make, token_suspect


def _ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(autouse=True)
def _fill_time(settings: Any) -> None:
    settings.LEADGATE_FORM_MIN_FILL_MS = 2000
    settings.LEADGATE_FORM_TOKEN_MAX_AGE_S = 3600


def test_a_token_older_than_the_fill_time_is_ok() -> None:
    token = form_token_make(gate_slug="ebook", issued_at_ms=_ms() - 2500)
    assert form_token_check(token, gate_slug="ebook") is TokenVerdict.OK
    assert not token_suspect(TokenVerdict.OK)


def test_a_fresh_token_is_too_fast_and_suspect() -> None:
    token = form_token_make(gate_slug="ebook")
    verdict = form_token_check(token, gate_slug="ebook")
    assert verdict is TokenVerdict.TOO_FAST
    assert token_suspect(verdict)


def test_the_fill_time_is_a_setting(settings: Any) -> None:
    token = form_token_make(gate_slug="ebook", issued_at_ms=_ms() - 600)
    assert form_token_check(token, gate_slug="ebook") is TokenVerdict.TOO_FAST
    settings.LEADGATE_FORM_MIN_FILL_MS = 500
    assert form_token_check(token, gate_slug="ebook") is TokenVerdict.OK


def test_a_token_for_another_gate_is_forged() -> None:
    token = form_token_make(gate_slug="other", issued_at_ms=_ms() - 5000)
    assert form_token_check(token, gate_slug="ebook") is TokenVerdict.FORGED


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a" * 301,
        "eyJnIjoiZWJvb2siLCJ0IjoxfQ:1abc:bad-signature",
        signing.dumps({"g": "ebook", "t": 1}, salt="another-salt"),
        signing.dumps({"g": "ebook", "t": "1"}, salt=SALT),
        signing.dumps({"g": "ebook", "t": True}, salt=SALT),
        signing.dumps(["ebook", 1], salt=SALT),
    ],
    # Stable ids: signed values embed a timestamp, and xdist workers must collect alike.
    ids=["garbage", "oversized", "bad-signature", "other-salt", "str-time", "bool-time", "list"],
)
def test_forged_tokens(token: str) -> None:
    verdict = form_token_check(token, gate_slug="ebook")
    assert verdict is TokenVerdict.FORGED
    assert token_suspect(verdict)


def test_a_tampered_timestamp_breaks_the_signature() -> None:
    token = form_token_make(gate_slug="ebook")
    payload, rest = token.split(":", 1)
    old = signing.b64_encode(b'{"g":"ebook","t":1}').decode()
    assert form_token_check(f"{old}:{rest}", gate_slug="ebook") is TokenVerdict.FORGED
    assert payload != old


def test_an_access_token_is_not_a_form_token() -> None:
    import uuid

    token = access_token_make(lead_id=uuid.uuid4(), visitor_id=uuid.uuid4(), gate_slug="ebook")
    assert form_token_check(token, gate_slug="ebook") is TokenVerdict.FORGED


def test_a_token_from_the_future_is_forged() -> None:
    token = form_token_make(gate_slug="ebook", issued_at_ms=_ms() + 60_000)
    assert form_token_check(token, gate_slug="ebook") is TokenVerdict.FORGED


def test_an_expired_token_is_a_real_error_not_suspect() -> None:
    token = form_token_make(gate_slug="ebook", issued_at_ms=_ms() - 3601 * 1000)
    verdict = form_token_check(token, gate_slug="ebook")
    assert verdict is TokenVerdict.EXPIRED
    assert not token_suspect(verdict)


@pytest.mark.parametrize("token", [None, ""])
def test_a_missing_token_is_suspect_when_required(settings: Any, token: str | None) -> None:
    verdict = form_token_check(token, gate_slug="ebook")
    assert verdict is TokenVerdict.MISSING
    settings.LEADGATE_FORM_TOKEN_REQUIRED = True
    assert token_suspect(verdict)
    settings.LEADGATE_FORM_TOKEN_REQUIRED = False
    assert not token_suspect(verdict)
    # Turning the requirement off never forgives a forged or too-fast token.
    assert token_suspect(TokenVerdict.FORGED)
    assert token_suspect(TokenVerdict.TOO_FAST)


def test_the_defaults_keep_the_contract_and_still_stop_bots() -> None:
    """The contract's submission body has no token: by default a missing one is accepted
    (strict mode is opt-in), while every form we render carries one and a too-fast or
    forged token is held in the quarantine."""
    from config import settings as project_settings

    assert project_settings.LEADGATE_FORM_TOKEN_REQUIRED is False
    assert project_settings.LEADGATE_FORM_MIN_FILL_MS >= 1000
