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

The statement runs on one of the process's writer connections (connections.py), never
on the writing request's own Django connection: under the gevent worker that one would
be a new connection per request.

Failure stays per request: if a shared statement fails (a deadlock, a lost connection),
each of its requests runs its own batch alone, as if there had been no grouping.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from profiling.services.ingest.connections import writer_connections
from profiling.services.ingest.parse import NewEvent
from profiling.services.ingest.prepared import statement_row, uuid_list
from profiling.services.ingest.rows import EVENT_RECORD_SQL, event_columns_sql

# Batches bigger than this write alone: their commit is already shared by their own
# events (a 100-event batch costs PostgreSQL ~0.05 ms per event), and a group would
# only make the small batches queued behind them wait longer.
GROUP_MAX_BATCH = 10
# Events per shared statement; a bigger document only delays the requests that share it.
GROUP_MAX_EVENTS = 200
# Statements in flight per process (and so its writer connections, connections.py). One
# would make the process's throughput its batches per statement divided by the commit's
# fsync latency, and a slow disk (or another process's fsync) then idles the CPU; a second
# writer keeps it busy while one waits.
GROUP_WRITERS = int(os.environ.get("LEADGATE_INGEST_GROUP_WRITERS", "2"))


@dataclass
class GroupOutcome:
    """What the shared statement did for one request's batch."""

    new_ids: set[str]  # as text (NewEvent.id_text)
    lead_id: uuid.UUID | None
    # Did this batch create its lead's score-pending mark? (Only one batch per lead and
    # statement is told so: one enqueue, as with separate statements.)
    mark_created: bool


@dataclass(eq=False)
class _Job:
    visitor_id: uuid.UUID
    events: list[NewEvent]
    rows: list[dict[str, Any]]
    received: datetime
    # Held until the writer has stored this batch (or hands this job the writer role).
    wake: threading.Lock = field(default_factory=threading.Lock)
    outcome: GroupOutcome | None = None
    error: BaseException | None = None
    lead: bool = False  # woken to be the next writer
    alone: bool = False  # the shared statement failed: store this batch by itself


# The single-visitor statement (store._INGEST_ONE) generalised to many visitors. Rows
# carry their own visitor, receive time and source. Visitors are upserted in id order
# and events inserted in id order, so two processes' group statements (or a group and a
# single-batch statement) take their row locks in the same order and cannot deadlock.
GROUP_SQL = (
    "WITH x AS ("  # noqa: S608 (constants only)
    " SELECT * FROM json_to_recordset($1::json)"
    " AS x(i uuid, v uuid, r timestamptz, src text, " + EVENT_RECORD_SQL + ")"
    "), v AS ("
    " INSERT INTO profiling_visitor (id, lead_id, first_seen, last_seen)"
    " SELECT x.v, NULL, max(x.r), max(x.r) FROM x GROUP BY x.v ORDER BY x.v"
    " ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen RETURNING id, lead_id"
    "), e AS ("
    " INSERT INTO profiling_event (received_at, source, visitor_id, lead_id, id,"
    " type, name, gate_id, section_key, file_key, duration_ms, occurred_at, url, touch)"
    " SELECT x.r, x.src, x.v, v.lead_id, x.i, "
    + event_columns_sql("x.r")
    + " FROM x JOIN v ON v.id = x.v ORDER BY x.i"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
    "), p AS ("
    " INSERT INTO profiling_scorepending (lead_id, since)"
    " SELECT DISTINCT v.lead_id, $2::timestamptz FROM v"
    " JOIN x ON x.v = v.id JOIN e ON e.id = x.i WHERE v.lead_id IS NOT NULL ORDER BY 1"
    " ON CONFLICT (lead_id) DO UPDATE SET since = profiling_scorepending.since"
    " RETURNING lead_id, (xmax = 0) AS created"
    # Every answer column is text (ids joined by commas): prepared.statement_row reads
    # text and nothing else, so no type loaders run on the hot path.
    ") SELECT (SELECT array_to_string(array_agg(id), ',') FROM e),"
    " (SELECT array_to_string(array_agg(id), ',') FROM v WHERE lead_id IS NOT NULL),"
    " (SELECT array_to_string(array_agg(lead_id), ',') FROM v WHERE lead_id IS NOT NULL),"
    " (SELECT array_to_string(array_agg(lead_id), ',') FROM p WHERE created)"
)


def _group_execute(jobs: list[_Job]) -> None:
    """Store every job's batch in one statement; set each job's outcome."""
    owner: dict[str, _Job] = {}  # event id (text) -> the job whose row stores it
    rows: list[dict[str, Any]] = []
    received: datetime | None = None
    for job in jobs:
        for row in job.rows:
            # The same id in two waiting batches (a retry racing its original): the
            # first one stores it, the later one counts it as a duplicate, exactly as if
            # the two statements had run one after the other.
            if row["i"] not in owner:
                owner[row["i"]] = job
                rows.append(row)
        received = job.received if received is None else max(received, job.received)
    assert received is not None  # jobs is never empty
    # On a writer connection of this process, not the request's own (connections.py).
    with writer_connections.take() as pg:
        answer = statement_row(
            pg, "group", GROUP_SQL, [json.dumps(rows, separators=(",", ":")), received.isoformat()]
        )
    new_ids, lead_visitors, lead_ids, created = answer or (None, None, None, None)
    leads = {
        uuid.UUID(v): uuid.UUID(lead)
        for v, lead in zip(uuid_list(lead_visitors), uuid_list(lead_ids), strict=True)
    }
    unmarked = {uuid.UUID(lead) for lead in uuid_list(created)}
    per_job: dict[int, set[str]] = {id(job): set() for job in jobs}
    for event_id in uuid_list(new_ids):
        per_job[id(owner[event_id])].add(event_id)
    for job in jobs:
        lead_id = leads.get(job.visitor_id)
        mine = per_job[id(job)]
        mark_created = lead_id is not None and bool(mine) and lead_id in unmarked
        if mark_created:
            unmarked.discard(lead_id)
        job.outcome = GroupOutcome(new_ids=mine, lead_id=lead_id, mark_created=mark_created)


class GroupCommit:
    """Per-process leader/follower queue of public batches (see the module docstring)."""

    def __init__(
        self,
        execute: Callable[[list[_Job]], None] = _group_execute,
        writers: int = GROUP_WRITERS,
    ) -> None:
        self._mutex = threading.Lock()
        self._queue: list[_Job] = []
        self._writing = 0
        self.writers = writers
        self._execute = execute

    def store(
        self,
        *,
        visitor_id: uuid.UUID,
        events: list[NewEvent],
        rows: list[dict[str, Any]],
        received: datetime,
    ) -> GroupOutcome | None:
        """Store one batch, possibly together with other threads' batches.

        `rows` are the batch's event rows with their visitor ("v"), receive time ("r")
        and source ("src"). None means: the shared statement failed; store it alone.
        """
        job = _Job(visitor_id=visitor_id, events=events, rows=rows, received=received)
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

    def _result(self, job: _Job) -> GroupOutcome | None:
        if job.error is not None:
            raise job.error
        return None if job.alone else job.outcome

    def _write(self, job: _Job) -> None:
        """As the writer: store this job and those queued, then pass the role on."""
        with self._mutex:
            jobs = [job]
            total = len(job.events)
            while self._queue and total + len(self._queue[0].events) <= GROUP_MAX_EVENTS:
                queued = self._queue.pop(0)
                jobs.append(queued)
                total += len(queued.events)
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
