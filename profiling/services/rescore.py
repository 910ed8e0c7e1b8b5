"""Full rescore: every lead re-graded in a few set-based SQL statements.

After a rule or threshold change (or, periodically, for decay) every lead's score is
recomputed by PostgreSQL itself, no Python loop over leads:
1. one read-only statement scores every lead of a range of ids (a capped, decayed,
   distinct aggregate of the events, with the reasons' texts) into a temporary table,
   in one pass; a range of more than DEFAULT_SLICE leads a slice of them at a time;
2. per chunk of leads, one transaction locks the chunk's lead rows and runs one
   `UPDATE ... FROM` that writes what changed and, in the same statement, the grade
   changes (`INSERT ... SELECT`); progress is reported per chunk.
The leads are split into as many id ranges as there are sessions
(LEADGATE_RESCORE_SESSIONS, default 2): each range runs both phases on its own database
connection, in parallel, since one SQL statement mostly uses one core.
The pure engine in profiling/scoring_engine.py is the reference: the SQL mirrors it step
by step (same float decay counted in integer billionths, the same caps, rounding and
reason texts) and tests/profiling/test_scoring_properties.py proves SQL == Python on
generated data.

Concurrency: a chunk first locks its lead rows (`SELECT ... FOR UPDATE`, in id order),
then writes in a second statement whose fresh snapshot sees the latest committed grades
of the rows it now owns, so a grade change is recorded once. Incremental scoring
(`lead_score`) takes the same row lock and stamps `scored_at`; a lead it scored after
phase 1 began has a result at least as new as ours and is left alone, so neither path
overwrites a newer result with an older one. Events that arrive during a rescore are
scored by their own `score_lead` task.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.metrics import GRADE_CHANGES, labelled
from profiling.models import GradeChange, Lead
from profiling.scoring_engine import RuleSpec, Thresholds
from profiling.services.scoring_sql import scored_ctes, scoring_params, scoring_statement_settings
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


# Phase 1: the new result of every lead in a range of ids, in one statement (one pass
# over the events), kept in the session's temporary table for phase 2.
_SCORE_RANGE = """
INSERT INTO rescore_scored
WITH {ctes}
SELECT lead_id, score, grade, reasons, last_counted_at FROM scored
"""

# Phase 2, per chunk of leads whose rows this transaction has just locked: write what
# changed and record the grade changes. The previous grade is read here, after the lock,
# so it is the latest committed one. A lead scored since phase 1 began (by `lead_score`,
# from events phase 1 may not have seen) already has a newer result: left alone.
_APPLY = """
WITH cur AS (
    SELECT n.lead_id, n.score, n.grade, n.reasons, n.last_counted_at,
           o.grade AS old_grade, o.score AS old_score, o.reasons AS old_reasons
    FROM rescore_scored n
    JOIN profiling_lead o ON o.id = n.lead_id
    WHERE o.erased_at IS NULL
      AND (o.scored_at IS NULL OR o.scored_at < %(started)s)
      -- The bounds on both tables let PostgreSQL read only this chunk's leads through
      -- the primary key instead of scanning every lead once per chunk.
      AND (%(lo)s::uuid IS NULL OR (n.lead_id > %(lo)s::uuid AND o.id > %(lo)s::uuid))
      AND (%(hi)s::uuid IS NULL OR (n.lead_id <= %(hi)s::uuid AND o.id <= %(hi)s::uuid))
),
upd AS (
    UPDATE profiling_lead l
    SET score = c.score, grade = c.grade, reasons = c.reasons,
        scored_at = %(now)s, updated_at = %(now)s
    FROM cur c
    WHERE l.id = c.lead_id
      AND (%(lo)s::uuid IS NULL OR l.id > %(lo)s::uuid)
      AND (%(hi)s::uuid IS NULL OR l.id <= %(hi)s::uuid)
      AND (c.old_grade <> c.grade OR c.old_score <> c.score OR c.old_reasons <> c.reasons)
    RETURNING l.id, c.old_grade, c.grade, c.score, c.reasons, c.last_counted_at
),
ins AS (
    INSERT INTO profiling_gradechange
        (lead_id, previous_grade, grade, score, reasons, triggered_at, created_at)
    SELECT id, old_grade, grade, score, reasons, last_counted_at, %(now)s
    FROM upd WHERE old_grade <> grade
    RETURNING id
)
SELECT (SELECT count(*) FROM cur), (SELECT count(*) FROM upd),
       (SELECT coalesce(array_agg(id), '{}') FROM ins)
"""

Bound = tuple[str | None, str | None]


def _session_runs(chunk_size: int, sessions: int) -> tuple[int, list[list[Bound]]]:
    """The number of leads, and keyset ranges (lo, hi] over their ids: the leads split
    evenly between `sessions`, each session's share cut into chunks of at most
    chunk_size leads."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM profiling_lead WHERE erased_at IS NULL")
        total = int(cursor.fetchone()[0])
        share = max(1, -(-total // max(1, sessions)))  # ceil: at most `sessions` shares
        # One walk of the primary key gives both kinds of cut.
        cursor.execute(
            "SELECT id, rn %% %(share)s = 0 FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn"
            " FROM profiling_lead WHERE erased_at IS NULL) t"
            " WHERE (rn %% %(share)s = 0 OR rn %% %(chunk)s = 0) AND rn < %(total)s ORDER BY id",
            {"share": share, "chunk": chunk_size, "total": total},
        )
        cuts = [(str(row[0]), bool(row[1])) for row in cursor.fetchall()]
    runs: list[list[Bound]] = [[]]
    lo: str | None = None
    for cut, ends_share in cuts:
        runs[-1].append((lo, cut))
        lo = cut
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


def _rescore_run_of_chunks(
    *,
    chunks: list[Bound],
    rules: Sequence[RuleSpec],
    thresholds: Thresholds,
    now: datetime,
    started: datetime,
    push: bool,
    tally: _Tally,
    serial_plans: bool,
    chunk_size: int,
    slice_size: int,
) -> None:
    """Score the leads of `chunks` (consecutive id ranges), a slice of chunks per
    statement, then write them a chunk per transaction. Runs on the calling thread's
    database connection."""
    per_slice = max(1, slice_size // chunk_size)
    slices: list[Bound] = [
        (chunks[i][0], chunks[min(i + per_slice, len(chunks)) - 1][1])
        for i in range(0, len(chunks), per_slice)
    ]
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
                " grade text, reasons jsonb, last_counted_at timestamptz)"
                " ON COMMIT PRESERVE ROWS"
            )
            sql = _SCORE_RANGE.format(ctes=scored_ctes("", lead_range=True))
            params = {**scoring_params("", rules, thresholds), "now": now}
            for lo, hi in slices:
                cursor.execute(sql, {**params, "lo": lo, "hi": hi})
            # Each chunk below reads its own leads' rows of the temporary table: through
            # this index, not a scan of the whole table per chunk (which grows with the
            # square of the leads: at a million, it was half of the rescore's time).
            # Built once filled, faster than kept up row by row.
            cursor.execute("CREATE INDEX rescore_scored_lead ON rescore_scored (lead_id)")
            # No ANALYZE of the temporary table (a fifth of a second per 50,000 leads):
            # the chunk statements below reach it and the leads through their id bounds
            # and the indexes, which need no statistics to be the right plan.
        for lo, hi in chunks:
            with transaction.atomic(), connection.cursor() as cursor:
                # Lock first, in id order: the next statement's snapshot then sees the
                # latest grades of rows nobody else can change until we commit.
                cursor.execute(
                    "SELECT 1 FROM profiling_lead WHERE erased_at IS NULL"
                    " AND (%(lo)s::uuid IS NULL OR id > %(lo)s::uuid)"
                    " AND (%(hi)s::uuid IS NULL OR id <= %(hi)s::uuid) ORDER BY id FOR UPDATE",
                    {"lo": lo, "hi": hi},
                )
                locked = cursor.rowcount
                cursor.execute(_APPLY, {"now": now, "started": started, "lo": lo, "hi": hi})
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
    total, runs = _session_runs(chunk_size, 1 if connection.in_atomic_block else wanted)
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
        "slice_size": slice_size,
    }
    if len(runs) == 1:
        _rescore_run_of_chunks(chunks=runs[0], **common)
    else:
        in_sessions(
            lambda chunks: _rescore_run_of_chunks(chunks=chunks, **common), runs, name="rescore"
        )
    return RescoreResult(
        leads=tally.leads, updated=tally.updated, grade_changes=tally.changes, pushed=tally.pushed
    )


def leads_rescore_python(
    *, push: bool = False, progress: Progress | None = None, batch_size: int = 500
) -> RescoreResult:
    """The reference path: the engine per lead, one lead per transaction."""
    from profiling.services.scoring import lead_score

    total = Lead.objects.filter(erased_at__isnull=True).count()
    leads = changes = pushed = 0
    last: uuid.UUID | None = None
    if progress:
        progress(0, total)
    while True:
        page = Lead.objects.filter(erased_at__isnull=True).order_by("id")
        if last is not None:
            page = page.filter(id__gt=last)
        ids = list(page.values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        for lead_id in ids:
            change = lead_score(lead_id=lead_id, push=push)
            if change is not None:
                changes += 1
                pushed += change.deliveries.count() if push else 0
        leads += len(ids)
        last = ids[-1]
        if progress:
            progress(min(leads, total), total)
    return RescoreResult(leads=leads, updated=leads, grade_changes=changes, pushed=pushed)


def leads_rescore(
    *,
    push: bool = False,
    progress: Progress | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    now: datetime | None = None,
    sessions: int | None = None,
) -> RescoreResult:
    """Re-grade every lead with the active rules and settings, set-based.

    push=False (after a marketer's rule edit, unless they ask) records grade changes
    without CRM deliveries; push=True delivers them to subscribed endpoints.
    """
    from profiling.services.scoring import rules_load, thresholds_load

    return leads_rescore_sql(
        rules=rules_load(),
        thresholds=thresholds_load(),
        now=now,
        push=push,
        chunk_size=chunk_size,
        progress=progress,
        sessions=sessions,
    )


# --- runs with progress (the Celery task, the management command, the API) -------------

PROGRESS_KEY = "leadgate:rescore:progress"
PROGRESS_TTL_S = 7 * 24 * 3600


def rescore_status() -> dict[str, Any] | None:
    """The latest full rescore: {state, done, total, push, reason, started_at, ...}."""
    from django.core.cache import cache

    status: dict[str, Any] | None = cache.get(PROGRESS_KEY)
    return status


def rescore_run(
    *, push: bool = False, reason: str = "rules", progress: Progress | None = None
) -> RescoreResult:
    """A full rescore that publishes its progress (cache) for the API and admin."""
    from django.core.cache import cache

    started = timezone.now().isoformat()
    state: dict[str, Any] = {
        "state": "running",
        "reason": reason,
        "push": push,
        "done": 0,
        "total": 0,
        "started_at": started,
        "finished_at": None,
    }

    def report(done: int, total: int) -> None:
        state.update(done=done, total=total)
        cache.set(PROGRESS_KEY, dict(state), PROGRESS_TTL_S)
        if progress:
            progress(done, total)

    try:
        result = leads_rescore(push=push, progress=report)
    except Exception:
        state.update(state="failed", finished_at=timezone.now().isoformat())
        cache.set(PROGRESS_KEY, dict(state), PROGRESS_TTL_S)
        raise
    state.update(
        state="finished",
        finished_at=timezone.now().isoformat(),
        updated=result.updated,
        grade_changes=result.grade_changes,
        pushed=result.pushed,
    )
    cache.set(PROGRESS_KEY, dict(state), PROGRESS_TTL_S)
    return result


def leads_regrade_decayed() -> RescoreResult | None:
    """Beat's periodic decay re-grade: scores cool down with time, so re-grade and push
    the grade changes (drops included) to the endpoints subscribed to the new grade.

    Only rows whose score, grade or reasons moved are written. Nothing to do without a
    half-life: then scores cannot change with time alone.
    """
    from profiling.services.scoring import thresholds_load

    if thresholds_load().half_life_days <= 0:
        return None
    return rescore_run(push=True, reason="decay")
