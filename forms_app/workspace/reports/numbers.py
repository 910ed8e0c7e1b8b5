"""Small arithmetic shared by the reports."""

from __future__ import annotations

import math


def rate(part: int | float | None, whole: int | float | None) -> float | None:
    if not whole or part is None:
        return None
    return part / whole


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    rank = (len(sorted_values) - 1) * p
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)
