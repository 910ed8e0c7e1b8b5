"""The Celery app. Tasks are idempotent, so they are acknowledged late: a worker that
dies mid-task leaves the message on the broker and another worker redoes it."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

from config import request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Which queue each task goes to (the queue names are settings: config/settings.py).
# Deliveries alone on theirs, so a node can run only them (`-Q deliveries`) and a burst
# of scoring or a long rescore never sits between a hot lead and the CRM; per-lead
# scoring on its own; everything else (emails, their sweep, full rescores, decay) on the
# background queue. Beat's sweeps go where the work they hand out goes.
DELIVERY_TASKS = frozenset({"profiling.tasks.deliver", "profiling.tasks.deliveries_sweep"})
SCORING_TASKS = frozenset({"profiling.tasks.score_lead", "profiling.tasks.score_pending_sweep"})


def route_task(
    name: str, args: Any, kwargs: Any, options: dict[str, Any], task: Any = None, **kw: Any
) -> dict[str, str] | None:
    """Celery router: the queue for task `name` (None: the default queue, background).

    Read from the settings on each publish, not once, so a process whose settings are
    changed after start-up (the tests' per-worker queues) publishes where its workers read.
    A `queue=` given to apply_async still wins over this.
    """
    from django.conf import settings

    if name in DELIVERY_TASKS:
        return {"queue": settings.LEADGATE_CELERY_DELIVERY_QUEUE}
    if name in SCORING_TASKS:
        return {"queue": settings.LEADGATE_CELERY_SCORING_QUEUE}
    return None


app = Celery("leadgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # One slow CRM or a pathological lead must not wedge a worker forever.
    task_soft_time_limit=60,
    task_time_limit=90,
    worker_prefetch_multiplier=1,
    # Redis-transport priorities: 0 is served first (its own list, BRPOPed before the
    # others). Background work defaults to 6; a CRM delivery (about a millisecond of
    # work, the last hop to sales) is published at 0 so it never queues behind a burst
    # of scoring. A hot trigger's score task is published at 0 as well
    # (profiling/services/score_triggers.py, HOT_SCORE_PRIORITY).
    task_default_priority=6,
    task_routes=(route_task,),
    broker_connection_retry_on_startup=True,
    # Redis redelivers unacked messages after this; longer than task_time_limit.
    broker_transport_options={"visibility_timeout": 300},
    beat_schedule={
        # Retries are rows with a due time; beat hands the due ones to workers, so a
        # lost broker message delays a delivery by seconds instead of losing it.
        "deliveries-due": {"task": "profiling.tasks.deliveries_sweep", "schedule": 5.0},
        # Emails the same way: queued rows whose task was lost, and retries when due.
        "emails-due": {"task": "profiling.tasks.emails_sweep", "schedule": 10.0},
        # Events stored while Redis or the workers were down: scored late,
        # never lost. Cheap when idle (an index-only look at an empty table).
        "score-pending": {"task": "profiling.tasks.score_pending_sweep", "schedule": 10.0},
        # Decay: with a half-life set, grades cool down with time alone; an
        # hourly set-based re-grade records (and pushes) the changes. Half-lives are
        # days, so an hour's lag is far below what a grade can move in that time.
        "scores-decay": {"task": "profiling.tasks.leads_regrade_decayed", "schedule": 3600.0},
        # The dashboard's daily rollups: today and the days that changed since the last
        # run (profiling/services/rollups.py). New rows are read live until folded; a
        # minute is the lag of a late change to a folded day. The first run after an
        # upgrade folds all history.
        "rollups-fold": {"task": "profiling.tasks.rollups_fold", "schedule": 60.0},
        # Retention: anonymous visitors' events past LEADGATE_ANONYMOUS_RETENTION_DAYS,
        # deleted once a day in bounded batches (profiling/services/retention.py).
        # The events table's months (profiling/partitions.py): the current one and the
        # next ones created ahead, old ones dropped with LEADGATE_EVENT_RETENTION_DAYS,
        # the event receipts past their window deleted. Idempotent; hourly so a run that
        # could not get its lock has many more chances before a month is needed.
        "events-partitions": {
            "task": "profiling.tasks.event_partitions_maintain",
            "schedule": 3600.0,
        },
        "anonymous-retention": {
            "task": "profiling.tasks.anonymous_events_purge",
            "schedule": 86400.0,
        },
        # PDF pages whose render task was lost: enqueued again (forms_app/services/pdf.py).
        "pdf-render-stalled": {"task": "forms_app.tasks.pdf_render_sweep", "schedule": 60.0},
    },
)
# Celery's Django fixup closes every database connection before and after each task
# unless this is set: a new PostgreSQL backend per task, which dominated the latency of
# a scoring or delivery hop (a bare hop is ~3 ms here). With it, a worker process keeps
# its connection for 2 x this many tasks; Django's CONN_MAX_AGE and the broken-connection
# check still retire stale or failed ones. (Read by that exact key, not the namespace.)
app.conf.CELERY_DB_REUSE_MAX = 500
app.autodiscover_tasks()

# A web request's id travels with the tasks it publishes (config/request_id.py).
signals.before_task_publish.connect(request_id.on_before_task_publish, weak=False)
signals.task_prerun.connect(request_id.on_task_prerun, weak=False)
signals.task_postrun.connect(request_id.on_task_postrun, weak=False)


@signals.after_setup_logger.connect(weak=False)
@signals.after_setup_task_logger.connect(weak=False)
def _worker_log_format(logger: Any = None, **kwargs: Any) -> None:
    """The worker's handlers, as Celery has just made them: with the request id, and in
    JSON under LEADGATE_LOG_FORMAT=json (config/logs.py)."""
    from django.conf import settings

    from config.logs import celery_handlers_format

    if logger is not None:
        celery_handlers_format(logger, log_format=settings.LEADGATE_LOG_FORMAT)
