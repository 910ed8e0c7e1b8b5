"""Work split between database sessions, one thread each (Django's connections are per
thread): the full rescore and the what-if preview both read the leads in id ranges side by
side. Plumbing, not a service: it knows nothing of scoring."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def in_sessions(work: Callable[[T], None], shares: Sequence[T], *, name: str) -> None:
    """Run `work(share)` for every share, each on a thread (and so a session) of its own,
    all started together (a pool could run a short share after another on one thread).
    A share's error is raised here once every thread has ended; each thread closes its
    own connection."""
    errors: list[BaseException] = []

    def session(share: T) -> None:
        try:
            work(share)
        except BaseException as exc:  # re-raised on the calling thread below
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=session, args=(share,), name=f"{name}_{i}")
        for i, share in enumerate(shares)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
