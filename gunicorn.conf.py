"""gunicorn's settings for leadgate in production.

`gunicorn config.wsgi:application` (the contract's web process) reads this file from the
working directory, the project root; options given on the command line override it.
It must not import Django, psycopg or anything that does: gevent patches the standard
library in each worker before the app is loaded, and psycopg chooses how it waits for
PostgreSQL when it is first imported (config/wsgi.py refuses to start if it was too early).

Worker: gevent. Each request is a greenlet in one thread per process, instead of one of a
few OS threads. The hot path, the events beacon, is answered only after PostgreSQL has
committed its events (group commit: profiling/services/ingest/group.py), so most of a
beacon's time is waiting. With gthread (2 workers x 8 threads) the waits held the
threads, and the threads convoyed on the GIL: after each commit the writer needed the
GIL back while the requests it had just woken fought over it, so a statement's answer
took about 2 ms to reach Python instead of about 0.2 ms, and 16 threads capped the
beacon at 16 requests in flight. Measured side by side on this project's benchmark
(bench/ingest.py, docs/benchmarks.md), 2026-12-04: the trivial Django view served about
the same under both (7,278 req/s gthread, 7,084-7,137 gevent), 1-event beacons 2,739
req/s with gthread and 4,999 with gevent. Under gevent, Django's connections are per
greenlet, so the web process borrows them from a pool (config/settings.py).
"""

from __future__ import annotations

import multiprocessing
import os

worker_class = os.environ.get("LEADGATE_WORKER_CLASS", "gevent")
# One process per core: a gevent worker uses one core, whatever its concurrency.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
# Greenlets (requests in flight) per process; gunicorn's default.
worker_connections = int(os.environ.get("LEADGATE_WORKER_CONNECTIONS", "1000"))
