"""The set-based rescore: both phases on PostgreSQL, the leads split by id between
parallel database sessions (see the package's docstring)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.metrics import GRADE_CHANGES, labelled
from profiling.models import GradeChange
from profiling.scoring_engine import RuleSpec, Thresholds
from profiling.services.rescore.statements import (
    APPLY,
    CUTS,
    LOCK,
    SCORE_RANGE,
    SESSION_CUTS,
)
from profiling.services.scoring_sql import (
    WORK_MEM,
    scored_ctes,
    scoring_params,
    scoring_statement_settings,
)
from profiling.sessions import in_sessions

Progress = Callable[[int, int], None]
DEFAULT_CHUNK = 25_000
# At most this many leads per scoring statement: its sorts and hashes then stay within
# work_mem (scoring_sql.WORK_MEM), so the time grows with the leads, not faster. Half a
# million leads (five million events) in one statement spilled ~500 MB per session to
# disk and ran many times slower than the same leads in slices of this size.
DEFAULT_SLICE = 100_000


@dataclass(frozen=True)
class RescoreResult:
    leads: int  # leads scored
    updated: int  # leads whose score, grade or reasons changed
    grade_changes: int
    pushed: int  # deliveries created (push=True only)


Bound = tuple[str | None, str | None]


def _session_runs(slice_size: int, sessions: int) -> tuple[int, list[list[Bound]]]:
    """The number of leads, and keyset ranges (lo, hi] over their ids: the leads split
    evenly between `sessions`, each session's share cut into slices of at most
    slice_size leads."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Read the table in disk order and sort the ids in memory: walking the primary
        # key visits the rows in id order, all over the table (ids are random), which
        # beyond shared_buffers took three times as long at a million leads.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        cursor.execute(SESSION_CUTS, {"sessions": max(1, sessions), "slice": slice_size})
        rows = cursor.fetchall()
        if rows:
            total = int(rows[0][2])
        else:  # fewer leads than a slice or a share: no cut
            cursor.execute("SELECT count(*) FROM profiling_lead WHERE erased_at IS NULL")
            total = int(cursor.fetchone()[0])
    runs: list[list[Bound]] = [[]]
    lo: str | None = None
    for cut, ends_share, _ in rows:
        runs[-1].append((lo, str(cut)))
        lo = str(cut)
        if ends_share:
            runs.append([])
    runs[-1].append((lo, None))
    return total, runs


def _changes_count(cursor: Any, change_ids: list[int]) -> None:
    """Count a chunk's grade changes by grade for GET /metrics (a probe of the rows just
    written, by primary key)."""
    cursor.execute(
        "SELECT grade, count(*) FROM profiling_gradechange WHERE id = ANY(%s) GROUP BY grade",
        [change_ids],
    )
    for grade, n in cursor.fetchall():
        labelled(GRADE_CHANGES, grade).inc(n)


def lead_id_ranges(sessions: int) -> list[Bound]:
    """The leads' ids cut into `sessions` even keyset ranges (lo, hi], for reads that
    split the leads between database sessions the way the rescore does (the what-if)."""
    _, runs = _session_runs(2**31 - 1, sessions)
    return [(run[0][0], run[-1][1]) for run in runs]


def _push(change_ids: list[int]) -> int:
    # Deliveries only for the changes this rescore wrote, in the same transaction.
    from profiling.services.delivery import deliveries_create_for_change

    pushed = 0
    for change in GradeChange.objects.filter(id__in=change_ids).select_related("lead"):
        pushed += len(deliveries_create_for_change(change=change, lead=change.lead))
    return pushed


@dataclass
class _Tally:
    """Totals shared by the sessions of one rescore (updated under its lock)."""

    total: int
    progress: Progress | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    leads: int = 0
    updated: int = 0
    changes: int = 0
    pushed: int = 0

    def add(self, *, leads: int, updated: int, changes: int, pushed: int) -> None:
        with self.lock:
            self.leads += leads
            self.updated += updated
            self.changes += changes
            self.pushed += pushed
            if self.progress:
                self.progress(min(self.leads, self.total), self.total)


ChunkBound = tuple[str | None, str | None]  # (row address, lead id)


def _chunk_params(lo: ChunkBound, hi: ChunkBound) -> dict[str, Any]:
    return {"lo_tid": lo[0], "lo_id": lo[1], "hi_tid": hi[0], "hi_id": hi[1]}


def _rescore_run_of_slices(
    *,
    slices: list[Bound],
    rules: Sequence[RuleSpec],
    thresholds: Thresholds,
    now: datetime,
    started: datetime,
    push: bool,
    tally: _Tally,
    serial_plans: bool,
    chunk_size: int,
) -> None:
    """Score the leads of `slices` (consecutive id ranges), a statement per slice, then
    write them a chunk per transaction, in the order of their rows on disk. Runs on the
    calling thread's database connection."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            scoring_statement_settings(cursor)
            if serial_plans:
                # The sessions already use every core: PostgreSQL's own parallel workers
                # would only compete with them.
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            cursor.execute("DROP TABLE IF EXISTS rescore_scored")
            cursor.execute(
                "CREATE TEMPORARY TABLE rescore_scored (lead_id uuid, score integer,"
                " grade text, reasons jsonb, last_counted_at timestamptz, tid tid)"
                " ON COMMIT PRESERVE ROWS"
            )
            sql = SCORE_RANGE.format(ctes=scored_ctes("", lead_range=True))
            params = {**scoring_params("", rules, thresholds), "now": now}
            for lo, hi in slices:
                cursor.execute(sql, {**params, "lo": lo, "hi": hi})
            # Each chunk below reads its own rows of the temporary table: through this
            # index, not a scan of the whole table per chunk (which grows with the square
            # of the leads). Built once filled, faster than kept up row by row.
            cursor.execute("CREATE INDEX rescore_scored_chunk ON rescore_scored (tid, lead_id)")
            # And by lead: the write joins the locked leads to their new results by id.
            # Without it, the planner (no statistics, sequential scans off) probed the
            # chunk index by its second column for each lead, reading the whole chunk
            # per lead: 6.8 s for one chunk of 25,000 (a session's only chunk, so with
            # no bound to range on), where a probe of this index reads a few pages.
            cursor.execute("CREATE INDEX rescore_scored_lead ON rescore_scored (lead_id)")
            # No ANALYZE of the temporary table (a fifth of a second per 50,000 leads):
            # without statistics the planner guesses, so every way it can reach the
            # results (the chunk's range, or a lead's id) has an index of its own; with
            # one missing, a guess made the write quadratic (above).
            cursor.execute(CUTS, {"chunk": chunk_size})
            cuts: list[ChunkBound] = [(str(tid), str(lead_id)) for tid, lead_id in cursor]
        bounds: list[ChunkBound] = [(None, None), *cuts, (None, None)]
        for after, upto in itertools.pairwise(bounds):
            with transaction.atomic(), connection.cursor() as cursor:
                # A chunk's CTEs hold its 25,000 rows: in memory, not in temporary files.
                cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
                # The chunk statements' estimated costs grow with the tables (not with the
                # chunk): past PostgreSQL's thresholds, each was compiled with JIT
                # inlining and optimisation, which cost more than the statement itself.
                cursor.execute("SET LOCAL jit = off")
                # The chunk's leads are reached by address (TID scans), a page visit each.
                # Costed at a random page read per address, a chunk's addresses looked
                # dearer to the planner than reading the whole lead table (at 100,000
                # leads, and at a million for 50,000 addresses): a pass over every lead
                # per chunk would grow with the square of the leads.
                cursor.execute("SET LOCAL enable_seqscan = off")
                chunk = _chunk_params(after, upto)
                cursor.execute(LOCK, chunk)
                locked, tids = cursor.fetchone()
                cursor.execute(APPLY, {"now": now, "started": started, "tids": tids, **chunk})
                _, updated, change_ids = cursor.fetchone()
                if change_ids:
                    _changes_count(cursor, list(change_ids))
                pushed = _push(list(change_ids)) if push and change_ids else 0
            tally.add(leads=locked, updated=updated, changes=len(change_ids), pushed=pushed)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS rescore_scored")


def leads_rescore_sql(
    *,
    rules: Sequence[RuleSpec],
    thresholds: Thresholds,
    now: datetime | None = None,
    push: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    sessions: int | None = None,
    slice_size: int = DEFAULT_SLICE,
) -> RescoreResult:
    """Re-grade every lead on PostgreSQL: score all in one statement per session (per
    slice of at most `slice_size` leads of it), then write the changes a chunk of leads
    per transaction (short row locks, progress per chunk).

    The leads are split by id into `sessions` ranges (default LEADGATE_RESCORE_SESSIONS),
    each scored and written by its own database connection on its own thread, so the
    rescore uses every core PostgreSQL has (one statement runs on one core but for the
    few parts its parallel workers take). Inside a transaction (the caller's, or a
    test's) other sessions could not see its uncommitted rows, so it runs on the
    caller's connection alone.
    """
    started = timezone.now()
    now = now or started
    wanted = sessions if sessions is not None else settings.LEADGATE_RESCORE_SESSIONS
    total, runs = _session_runs(slice_size, 1 if connection.in_atomic_block else wanted)
    tally = _Tally(total=total, progress=progress)
    if progress:
        progress(0, total)
    common: dict[str, Any] = {
        "rules": rules,
        "thresholds": thresholds,
        "now": now,
        "started": started,
        "push": push,
        "tally": tally,
        "serial_plans": len(runs) > 1,
        "chunk_size": chunk_size,
    }
    if len(runs) == 1:
        _rescore_run_of_slices(slices=runs[0], **common)
    else:
        in_sessions(
            lambda slices: _rescore_run_of_slices(slices=slices, **common), runs, name="rescore"
        )
    return RescoreResult(
        leads=tally.leads, updated=tally.updated, grade_changes=tally.changes, pushed=tally.pushed
    )
