"""Group commit: concurrent public batches of one process share one statement and commit.

Measured on the benchmark set-up (docs/benchmarks.md), a 1-event batch in its own
statement cost PostgreSQL about 0.55 ms of CPU even prepared, almost all of it per
statement (executor start-up, foreign-key checks, commit and WAL flush, waking the
backend), while a 100-event batch costs about 0.05 ms per event. So while one statement
of this process is in flight (waiting on PostgreSQL and its fsync), the small batches
that arrive in other request threads queue up, and the next statement stores all of
them at once (measured: 0.55 -> 0.36 ms of PostgreSQL CPU per 1-event request).

Leader/follower, no writer thread: the request that finds nobody writing writes its own
batch at once (so an idle server adds no latency and no thread hop); requests that
arrive meanwhile wait on a lock of their own. When the writer is done it wakes the
requests it stored and hands the writer role to the oldest waiting one, which takes
everything queued by then. Every request still answers only after the statement that
holds its events has committed (one statement in autocommit is its own transaction):
durability before 202 is unchanged, only the commit is shared.

The statement (profiling/ingest_sql.py) runs on one of the process's writer connections
(connections.py), never
on the writing request's own Django connection: under the gevent worker that one
would be a new connection per request.

Failure stays per request: if a shared statement fails (a deadlock, a lost connection),
each of its requests runs its own batch alone, as if there had been no grouping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from profiling.ingest_sql import EVENTS_SQL, Batch, Written, events_write
from profiling.ingest_writer.connections import writer_connections
from profiling.ingest_writer.prepared import statement_row

# Batches bigger than this write alone: their commit is already shared by their own
# events (a 100-event batch costs PostgreSQL ~0.05 ms per event), and a group would
# only make the small batches queued behind them wait longer.
GROUP_MAX_BATCH = 10
# Events per shared statement; a bigger document only delays the requests that share it.
GROUP_MAX_EVENTS = 200


@dataclass(eq=False)
class _Job:
    batch: Batch
    # Held until the writer has stored this batch (or hands this job the writer role).
    wake: threading.Lock = field(default_factory=threading.Lock)
    outcome: Written | None = None
    error: BaseException | None = None
    lead: bool = False  # woken to be the next writer
    alone: bool = False  # the shared statement failed: store this batch by itself


def _group_execute(jobs: list[_Job]) -> None:
    """Store every job's batch in one statement; set each job's outcome."""
    # On a writer connection of this process, not the request's own (connections.py).
    with writer_connections.take() as pg:
        written = events_write(
            [job.batch for job in jobs],
            lambda params: statement_row(pg, "events", EVENTS_SQL, params),
        )
    for job, outcome in zip(jobs, written, strict=True):
        job.outcome = outcome


class GroupCommit:
    """Per-process leader/follower queue of public batches (see the module docstring)."""

    def __init__(
        self, execute: Callable[[list[_Job]], None] = _group_execute, writers: int | None = None
    ) -> None:
        self._mutex = threading.Lock()
        self._queue: list[_Job] = []
        self._writing = 0
        # Statements in flight per process (and so its writer connections). One would
        # make the process's throughput its batches per statement divided by the
        # commit's fsync latency, and a slow disk (or another process's fsync) then idles
        # the CPU; a second writer keeps it busy while one waits.
        self.writers = settings.LEADGATE_INGEST_GROUP_WRITERS if writers is None else writers
        self._execute = execute

    def store(self, batch: Batch) -> Written | None:
        """Store one batch, possibly together with other threads' batches. None means:
        the shared statement failed; store it alone."""
        job = _Job(batch=batch)
        job.wake.acquire()
        with self._mutex:
            if self._writing >= self.writers:
                self._queue.append(job)
                first = False
            else:
                self._writing += 1
                first = True
        if not first:
            job.wake.acquire()  # until stored, or made the writer
            if not job.lead:
                return self._result(job)
        self._write(job)
        return self._result(job)

    def _result(self, job: _Job) -> Written | None:
        if job.error is not None:
            raise job.error
        return None if job.alone else job.outcome

    def _write(self, job: _Job) -> None:
        """As the writer: store this job and those queued, then pass the role on."""
        with self._mutex:
            jobs = [job]
            total = len(job.batch.rows)
            while self._queue and total + len(self._queue[0].batch.rows) <= GROUP_MAX_EVENTS:
                queued = self._queue.pop(0)
                jobs.append(queued)
                total += len(queued.batch.rows)
        try:
            self._execute(jobs)
        except BaseException as exc:  # every waiter must be woken, whatever happened
            if len(jobs) == 1:
                job.error = exc
            else:
                for each in jobs:
                    each.alone = True
        finally:
            nxt: _Job | None = None
            with self._mutex:
                if self._queue:
                    nxt = self._queue.pop(0)
                    nxt.lead = True
                else:
                    self._writing -= 1
            for each in jobs[1:]:
                each.wake.release()
            if nxt is not None:
                nxt.wake.release()


group_commit = GroupCommit()
