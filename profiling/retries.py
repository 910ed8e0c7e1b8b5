"""Retry timing shared by the outboxes (webhook deliveries, emails): plumbing, no I/O."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta


def backoff_delay(schedule: Sequence[timedelta], attempts: int) -> timedelta | None:
    """The wait before attempt `attempts` + 1 after `attempts` failures, from `schedule`
    (one entry per retry), with +-10% jitter so a receiver coming back is not hit by every
    retry at once; None when the schedule is spent (give up)."""
    if attempts > len(schedule):
        return None
    return schedule[attempts - 1] * random.uniform(0.9, 1.1)
