"""What waits in the database to be done, for GET /metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection


@dataclass(frozen=True)
class Backlog:
    """What waits in the database to be done (read by GET /metrics)."""

    deliveries_pending: int
    emails_pending: int
    # Seconds: the oldest lead waiting to be scored, the most overdue due delivery.
    scoring_lag_s: float
    delivery_lag_s: float


def backlog_read(*, now: datetime) -> Backlog:
    """One statement; each part probes a small table or a partial index on `pending`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM profiling_delivery WHERE status = 'pending'),
              (SELECT count(*) FROM profiling_outboundemail WHERE status = 'pending'),
              (SELECT min(since) FROM profiling_scorepending),
              (SELECT min(coalesce(next_attempt_at, created_at)) FROM profiling_delivery
                WHERE status = 'pending'
                  AND (next_attempt_at IS NULL OR next_attempt_at <= %s))
            """,
            [now],
        )
        deliveries, emails, oldest_mark, oldest_due = cursor.fetchone()

    def age(at: datetime | None) -> float:
        return max(0.0, (now - at).total_seconds()) if at is not None else 0.0

    return Backlog(
        deliveries_pending=int(deliveries),
        emails_pending=int(emails),
        scoring_lag_s=age(oldest_mark),
        delivery_lag_s=age(oldest_due),
    )
