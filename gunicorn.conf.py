"""gunicorn's settings for leadgate in production.

`gunicorn config.wsgi:application` (the contract's web process) reads this file from the
working directory, the project root; options given on the command line override it.
It must not import Django, psycopg or anything that does: gevent patches the standard
library in each worker before the app is loaded, and psycopg chooses how it waits for
PostgreSQL when it is first imported (config/wsgi.py refuses to start if it was too early).

Worker: gevent. Each request is a greenlet in one thread per process, instead of one of a
few OS threads. The hot path, the events beacon, is answered only after PostgreSQL has
committed its events (group commit: profiling/ingest_writer/group.py), so most of a
beacon's time is waiting. Under a threaded worker (gthread) the waits hold the threads,
and the threads convoy on the GIL: after each commit the writer needs the GIL back while
the requests it has just woken fight over it, and the thread count caps the beacons in
flight. Under gevent a waiting beacon holds neither, which more than doubles the 1-event
beacon's share of the trivial view's requests/s (see docs/benchmarks.md, section
"Web worker: gevent against gthread"; the section "Event ingest" has the latest run).
Under gevent, Django's connections are per greenlet, so the web process borrows them
from a pool (config/settings.py).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from typing import Any

# GET /metrics adds up the counts of every worker process (config/metrics.py): each
# writes them to a file in this folder. Set here, in the master, so every worker inherits
# it before it first imports prometheus_client. Unset, a folder of this run's own;
# deploy/leadgate.env sets one shared with the machine's Celery workers, so their counts
# are served too.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="leadgate-metrics-")
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

worker_class = os.environ.get("LEADGATE_WORKER_CLASS", "gevent")
# One process per core: a gevent worker uses one core, whatever its concurrency.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
# Greenlets (requests in flight) per process; gunicorn's default.
worker_connections = int(os.environ.get("LEADGATE_WORKER_CONNECTIONS", "1000"))


def post_request(worker: Any, req: object, environ: dict[str, object], resp: object) -> None:
    """Under gevent, let the worker's other connections have a turn after each answer.

    A greenlet reads a keep-alive connection's next request as soon as it has answered;
    when that request is already there (a client or proxy on a fast link sending back to
    back) nothing blocks, the greenlet never yields, and the process's other connections
    wait: their p90 and p99 grow about a hundredfold. Yielding costs the trivial view a
    few percent of its requests/s at full load (see docs/benchmarks.md, section
    "Yielding after each answer under gevent").
    """
    # The worker's own class (`-k` on the command line overrides worker_class above).
    if worker.cfg.worker_class_str == "gevent":
        import gevent  # the worker's own: already imported and patched by now

        gevent.sleep(0)


def child_exit(server: Any, worker: Any) -> None:
    """A worker process ended: its live gauges no longer count (its counters do)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# LEADGATE_LOG_FORMAT=json: gunicorn's own lines (start-up, worker exits, timeouts) as JSON
# objects too, as the app's are (config/logs.py: the same fields; that module imports
# Django, so the format is spelled out here).
if os.environ.get("LEADGATE_LOG_FORMAT", "").strip().lower() == "json":
    _json = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    }
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": _json},
        "handlers": {
            "json": {"class": "logging.StreamHandler", "formatter": "json"},
        },
        "root": {"level": "INFO", "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["json"], "propagate": False},
        },
    }
