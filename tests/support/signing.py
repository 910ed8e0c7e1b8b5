"""Signed values made in the past, for the links that expire (Django's TimestampSigner)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.core import signing


def signed_days_ago(make: Callable[[], str], monkeypatch: pytest.MonkeyPatch, days: int) -> str:
    """What `make()` signs, stamped `days` days ago (the signer reads its clock through
    `TimestampSigner.timestamp`; nothing else's time moves)."""
    real_time = time.time
    with monkeypatch.context() as patch:
        patch.setattr(
            signing.TimestampSigner,
            "timestamp",
            lambda self: signing.b62_encode(int(real_time() - days * 24 * 3600)),
        )
        return str(make())
