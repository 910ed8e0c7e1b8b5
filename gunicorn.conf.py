"""gunicorn's settings for leadgate in production.

`gunicorn config.wsgi:application` (the contract's web process) reads this file from the
working directory, the project root; options given on the command line override it.
It must not import Django, psycopg or anything that does: gevent patches the standard
library in each worker before the app is loaded, and psycopg chooses how it waits for
PostgreSQL when it is first imported (config/wsgi.py refuses to start if it was too early).

Worker: gevent. Each request is a greenlet in one thread per process, instead of one of a
few OS threads. The hot path, the events beacon, is answered only after PostgreSQL has
committed its events (group commit: profiling/ingest_writer/group.py), so most of a
beacon's time is waiting. With gthread (2 workers x 8 threads) the waits held the
threads, and the threads convoyed on the GIL: after each commit the writer needed the
GIL back while the requests it had just woken fought over it, so a statement's answer
took about 2 ms to reach Python under load against 0.5 ms with two clients (commit
included), and 16 threads capped the beacon at 16 requests in flight. On 2026-12-04,
`./scripts/bench.sh ingest` gave 1-event beacons at 37% of the trivial view's requests/s
under gthread and 82% under these settings (78% against the trivial view on gthread,
which it measures beside them: docs/benchmarks.md has the latest run). Under gevent,
Django's connections are per greenlet, so the web process borrows them from a pool
(config/settings.py).
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

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
    wait. Measured with 4 keep-alive connections on 2 workers, trivial view: without this
    p90 45 ms and p99 122 ms behind a p50 of 0.3 ms; with it p90 1.0 ms, p99 1.4 ms. It
    costs the trivial view 5-10% of its requests/s at full load (docs/benchmarks.md shows
    it beside the same view on gthread).
    """
    # The worker's own class (`-k` on the command line overrides worker_class above).
    if worker.cfg.worker_class_str == "gevent":
        import gevent  # the worker's own: already imported and patched by now

        gevent.sleep(0)
