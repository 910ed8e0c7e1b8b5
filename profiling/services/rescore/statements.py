"""The full rescore's SQL statements, their text only (set_based.py runs them): phase 1
scores a range of lead ids into the session's temporary table `rescore_scored`, phase 2
locks and writes a chunk of them. Only code-made fragments go into the text; values are
bound (psycopg named parameters).
"""

# Phase 1: the new result of every lead in a range of ids, in one statement (one pass
# over the events), kept in the session's temporary table for phase 2, with the address
# of the lead's row as the statement saw it. Stored in the order phase 2 reads them (its
# chunks are ranges of (tid, lead_id)): a temporary table lives in the session's own
# small buffer pool (temp_buffers, 8 MB by default), where a chunk's rows spread over
# the whole table would each cost a read. Today's plan already emits the leads in that
# order (it scans them so); the sort makes it certain, at no cost measured.
SCORE_RANGE = """
INSERT INTO rescore_scored
WITH {ctes}
SELECT lead_id, score, grade, reasons, last_counted_at, tid FROM scored
ORDER BY tid, lead_id
"""

# Phase 2 writes the session's leads in the order of their rows on disk, a chunk of
# CHUNK leads at a time: the cuts, as (tid, lead id) keys. Lead ids are random UUIDs,
# so a chunk of consecutive ids has a row on nearly every page of the table: beyond
# shared_buffers, each page was then read, dirtied and written back once per chunk
# (at a million leads, 16 GB written for a 530 MB table, and the time grew with the
# square of the leads). In disk order, a page is visited by one chunk per session.
# (The id breaks ties: phase 1's slices are separate statements, so a row address freed
# and reused between them could be seen twice.)
CUTS = """
SELECT tid::text, lead_id FROM (
    SELECT tid, lead_id, row_number() OVER (ORDER BY tid, lead_id) AS rn,
           count(*) OVER () AS total
    FROM rescore_scored
) t
WHERE rn %% %(chunk)s = 0 AND rn < total
-- Qualified: `tid` alone would be the output column, the address as text.
ORDER BY t.tid, t.lead_id
"""

# A chunk's rows of the temporary table: (tid, lead_id) in (lo, hi], through its index.
IN_CHUNK = """(%(lo_tid)s::tid IS NULL
      OR (n.tid, n.lead_id) > (%(lo_tid)s::tid, %(lo_id)s::uuid))
  AND (%(hi_tid)s::tid IS NULL
      OR (n.tid, n.lead_id) <= (%(hi_tid)s::tid, %(hi_id)s::uuid))"""

# Lock first, in id order (as every other path that locks several leads does): the next
# statement's snapshot then sees the latest grades of rows nobody else can change until
# we commit. The rows are found where phase 1 saw them (a TID scan, one page visit per
# lead, in disk order); one written since (so moved) is found by its id through the
# primary key. Probing the primary key for every lead cost three more page visits each
# (four levels at a million leads, three at 100,000: the lock grew 12-13x for 10x the
# leads). The locked rows' addresses (their latest versions', which cannot move while
# locked) let the next statement read and write them by address too.
LOCK = f"""
SELECT count(*), coalesce(array_agg(ctid), '{{}}')::text FROM (
    SELECT ctid FROM profiling_lead
    WHERE erased_at IS NULL
      AND ctid = ANY(ARRAY(
          SELECT coalesce(
              (SELECT l.ctid FROM profiling_lead l WHERE l.ctid = n.tid AND l.id = n.lead_id),
              (SELECT l.ctid FROM profiling_lead l WHERE l.id = n.lead_id))
          FROM rescore_scored n WHERE {IN_CHUNK}))
    ORDER BY id FOR UPDATE
) locked
"""  # noqa: S608 (code-made fragments only)

# Phase 2, per chunk of leads whose rows this transaction has just locked: write what
# changed and record the grade changes. The previous grade is read here, after the lock,
# so it is the latest committed one. A lead scored since phase 1 began (by `lead_score`,
# from events phase 1 may not have seen) already has a newer result: left alone. So is a
# lead with a score-pending mark (written with its events): its own score task scores
# it and delivers the grade change those events make. Were the rescore to write it, a
# rescore after a rule edit (which records its changes without delivering them) would
# take a hot download's grade change from the CRM.
APPLY = f"""
WITH locked AS MATERIALIZED (
    -- The locked rows by their addresses, a TID scan each. Materialised, so that the
    -- planner cannot reach them through the primary key instead (by the join with the
    -- chunk's ids below: three more page visits per lead), nor read the whole table or
    -- walk its primary key for `ctid = ANY(...)` as it did where the table is small.
    SELECT o.id, o.grade, o.ctid
    FROM unnest(%(tids)s::tid[]) AS t(tid)
    JOIN profiling_lead o ON o.ctid = t.tid
    WHERE o.erased_at IS NULL
      AND (o.scored_at IS NULL OR o.scored_at < %(started)s)
),
cur AS (
    SELECT n.lead_id, n.score, n.grade, n.reasons, n.last_counted_at, o.grade AS old_grade,
        o.ctid AS tid
    FROM locked o
    JOIN rescore_scored n ON n.lead_id = o.id
    WHERE NOT EXISTS (SELECT 1 FROM profiling_scorepending sp WHERE sp.lead_id = n.lead_id)
      AND {IN_CHUNK}
),
upd AS (
    UPDATE profiling_lead l
    SET score = c.score, grade = c.grade, reasons = c.reasons,
        scored_at = %(now)s, updated_at = %(now)s
    FROM cur c
    -- By address (a probe of the primary key per lead visited three more pages). Compared
    -- with the row being updated, not copies of its columns in `cur`.
    WHERE l.ctid = c.tid
      AND (l.grade <> c.grade OR l.score <> c.score OR l.reasons <> c.reasons)
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
       (SELECT coalesce(array_agg(id), '{{}}') FROM ins)
"""  # noqa: S608 (code-made fragments only)


# The cuts between sessions and slices, and the number of leads, from one read of the
# table: the share of a session is the total over the number of sessions (rounded up).
SESSION_CUTS = """
SELECT id, rn %% share = 0, total FROM (
    SELECT id, rn, total, greatest(1, ceil(total::numeric / %(sessions)s))::bigint AS share
    FROM (
        SELECT id, row_number() OVER (ORDER BY id) AS rn, count(*) OVER () AS total
        FROM profiling_lead WHERE erased_at IS NULL
    ) t
) u
WHERE (rn %% share = 0 OR rn %% %(slice)s = 0) AND rn < total
ORDER BY id
"""
