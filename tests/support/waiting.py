"""Polling instead of sleeping: wait until something is true, or fail with a clear message."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """Raised by `wait_for` when the predicate never became truthy."""


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    *,
    interval: float = 0.1,
    message: str | Callable[[], str] = "",
) -> T:
    """Call `predicate` until it returns something truthy; return that value.

    Raises `WaitTimeout` (an AssertionError, so pytest shows it as a failed check) after
    `timeout` seconds. `message` may be a callable so it can describe the state at the
    moment of failure (e.g. what a receiver did get).
    """
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise WaitTimeout(
                f"condition not met within {timeout:.1f}s"
                + (f": {text}" if text else "")
                + f" (last value: {last!r})"
            )
        time.sleep(interval)
        last = predicate()
    return last
