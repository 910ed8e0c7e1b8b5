"""Event rate limits (events per minute, not requests: a batch of 100 counts 100).

So that a script cannot pump a visitor to hot at thousands of events a second, while a
person reading (a few events a minute with heartbeats) or an office behind one address
never meets them. One round trip to the rate-limit store per request, none when the
limits are 0 (the benchmarks and load tests turn them off).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest

from config.ratelimit import client_ip, rate_limits_hit

WINDOW_S = 60


def events_wait_seconds(request: HttpRequest, *, visitor_id: uuid.UUID, count: int) -> int | None:
    """Count a beacon batch for its visitor and its address; seconds to wait if over."""
    return rate_limits_hit(
        limits=(
            (f"ev:v:{visitor_id}", settings.LEADGATE_EVENT_LIMIT_PER_VISITOR),
            (f"ev:ip:{client_ip(request)}", settings.LEADGATE_EVENT_LIMIT_PER_IP),
        ),
        amount=count,
        window_s=WINDOW_S,
    )


def segment_wait_seconds(request: HttpRequest, *, count: int) -> int | None:
    """Count Segment messages for their sender's address; seconds to wait if over.

    Per address only: a batch carries many visitors (a server-side SDK sends everyone's).
    """
    return rate_limits_hit(
        limits=((f"seg:ip:{client_ip(request)}", settings.LEADGATE_EVENT_LIMIT_PER_IP),),
        amount=count,
        window_s=WINDOW_S,
    )
