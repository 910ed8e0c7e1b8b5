"""Full rescore: every lead re-graded in a few set-based SQL statements.

Modules: `statements` (the SQL), `set_based` (both phases, the sessions), `runs` (the
active rules' rescore with progress, the decay re-grade, the per-lead reference path).

After a rule or threshold change (or, periodically, for decay) every lead's score is
recomputed by PostgreSQL itself, no Python loop over leads:
1. one read-only statement scores every lead of a range of ids (a capped, decayed,
   distinct aggregate of the events, with the reasons' texts) into a temporary table,
   in one pass; a range of more than DEFAULT_SLICE leads a slice of them at a time;
2. per chunk of leads, taken in the order of their rows on disk, one transaction locks
   the chunk's lead rows and runs one `UPDATE ... FROM` that writes what changed and, in
   the same statement, the grade changes (`INSERT ... SELECT`); progress is reported per
   chunk.
The leads are split into as many id ranges as there are sessions
(LEADGATE_RESCORE_SESSIONS, default 2): each range runs both phases on its own database
connection, in parallel, since one SQL statement mostly uses one core.
The pure engine in profiling/scoring_engine.py is the reference: the SQL mirrors it step
by step (same float decay counted in integer billionths, the same caps, rounding and
reason texts) and tests/profiling/test_scoring_properties.py proves SQL == Python on
generated data.

Concurrency: a chunk first locks its lead rows (`SELECT ... FOR UPDATE`, in id order),
then writes in a second statement whose fresh snapshot sees the latest committed grades
of the rows it now owns, so a grade change is recorded once; it reads and writes them at
the addresses the lock returned (a locked row cannot move), so a row that another write
moved since phase 1 is still found. Incremental scoring
(`lead_score`) takes the same row lock and stamps `scored_at`; a lead it scored after
phase 1 began has a result at least as new as ours and is left alone, so neither path
overwrites a newer result with an older one. Events that arrive during a rescore are
scored by their own `score_lead` task: a lead whose events scoring has not seen yet (a
score-pending mark, committed with the events) is left to that task, which delivers the
grade change they make.
"""

from profiling.services.rescore.runs import (
    PROGRESS_KEY,
    PROGRESS_TTL_S,
    leads_regrade_decayed,
    leads_rescore,
    leads_rescore_python,
    rescore_run,
    rescore_status,
)
from profiling.services.rescore.set_based import (
    DEFAULT_CHUNK,
    DEFAULT_SLICE,
    Bound,
    Progress,
    RescoreResult,
    lead_id_ranges,
    leads_rescore_sql,
)

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_SLICE",
    "PROGRESS_KEY",
    "PROGRESS_TTL_S",
    "Bound",
    "Progress",
    "RescoreResult",
    "lead_id_ranges",
    "leads_regrade_decayed",
    "leads_rescore",
    "leads_rescore_python",
    "leads_rescore_sql",
    "rescore_run",
    "rescore_status",
]
