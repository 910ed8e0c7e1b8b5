"""Enqueue Celery tasks by name, only after the surrounding transaction commits.

By name, so services need not import `tasks` (which imports services): no cycle.
After commit, so a worker never looks for a row that is not visible yet, and a rolled
back write enqueues nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from config.celery import app

log = logging.getLogger(__name__)


def enqueue_now(task_name: str, *args: Any, **options: Any) -> bool:
    try:
        app.tasks[task_name].apply_async(args=args, **options)
    except Exception:
        # Broker down: the periodic sweeps find the work from the database later, so a
        # lost enqueue delays work instead of losing it.
        log.exception("could not enqueue %s%r; the sweep will pick it up", task_name, args)
        return False
    return True


def enqueue_after_commit(task_name: str, *args: Any, **options: Any) -> None:
    transaction.on_commit(lambda: enqueue_now(task_name, *args, **options))
