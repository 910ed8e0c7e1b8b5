"""Submission rate limits shared by the JSON endpoint and the no-JavaScript HTML form,
so neither is a way around the other's limits."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from config.ratelimit import client_ip, rate_limit_hit


def submission_wait_seconds(request: HttpRequest, gate_id: int) -> int | None:
    """Count this submission; seconds to wait if this IP, or the gate as a whole, is over."""
    for key, limit in (
        (f"submit:{gate_id}:{client_ip(request)}", settings.LEADGATE_SUBMIT_LIMIT_PER_IP),
        (f"submit:{gate_id}", settings.LEADGATE_SUBMIT_LIMIT_PER_GATE),
    ):
        wait = rate_limit_hit(key=key, limit=limit, window_s=60)
        if wait is not None:
            return wait
    return None
