from __future__ import annotations

# Importing the Celery app here makes @shared_task bind to it and lets
# `transaction.on_commit(task.delay)` work from any process that loads Django.
from config.celery import app as celery_app

__all__ = ["celery_app"]
