"""The full rescore's SQL statements, their text only (set_based.py runs them): phase 1
scores a range of lead ids into the session's temporary table `rescore_scored`, phase 2
locks and writes a chunk of them. Only code-made fragments go into the text; values are
bound (psycopg named parameters).
"""

# Phase 1: the new result of every lead in a range of ids, in one statement (one pass
# over the events), kept in the session's temporary table for phase 2, with the block of
# the lead's row.
SCORE_RANGE = """
INSERT INTO rescore_scored
WITH {ctes}
SELECT lead_id, score, grade, reasons, last_counted_at, blk FROM scored
"""

# Phase 2 writes the session's leads in the order of their rows on disk, a chunk of
# CHUNK leads at a time: the cuts, as (block, lead id) keys. Lead ids are random UUIDs,
# so a chunk of consecutive ids has a row on nearly every page of the table: beyond
# shared_buffers, each page was then read, dirtied and written back once per chunk
# (at a million leads, 16 GB written for a 530 MB table, and the time grew with the
# square of the leads). In disk order, a page is visited by one chunk per session.
CUTS = """
SELECT blk, lead_id FROM (
    SELECT blk, lead_id, row_number() OVER (ORDER BY blk, lead_id) AS rn,
           count(*) OVER () AS total
    FROM rescore_scored
) t
WHERE rn %% %(chunk)s = 0 AND rn < total
ORDER BY blk, lead_id
"""

# A chunk's rows of the temporary table: (blk, lead_id) in (lo, hi], through its index.
IN_CHUNK = """(%(lo_blk)s::integer IS NULL
      OR (n.blk, n.lead_id) > (%(lo_blk)s::integer, %(lo_id)s::uuid))
  AND (%(hi_blk)s::integer IS NULL
      OR (n.blk, n.lead_id) <= (%(hi_blk)s::integer, %(hi_id)s::uuid))"""

# Lock first, in id order (as every other path that locks several leads does): the next
# statement's snapshot then sees the latest grades of rows nobody else can change until
# we commit. The locked rows' addresses (their latest versions', which cannot move while
# locked) let the next statement read and write them in disk order by address, instead
# of probing the primary key twice more per lead.
LOCK = f"""
SELECT count(*), coalesce(array_agg(ctid), '{{}}')::text FROM (
    SELECT ctid FROM profiling_lead
    WHERE erased_at IS NULL
      AND id IN (SELECT n.lead_id FROM rescore_scored n WHERE {IN_CHUNK})
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
WITH cur AS (
    SELECT n.lead_id, n.score, n.grade, n.reasons, n.last_counted_at, o.grade AS old_grade
    FROM rescore_scored n
    JOIN profiling_lead o ON o.id = n.lead_id
    WHERE o.ctid = ANY(%(tids)s::tid[])
      AND o.erased_at IS NULL
      AND (o.scored_at IS NULL OR o.scored_at < %(started)s)
      AND NOT EXISTS (SELECT 1 FROM profiling_scorepending sp WHERE sp.lead_id = n.lead_id)
      AND {IN_CHUNK}
),
upd AS (
    UPDATE profiling_lead l
    SET score = c.score, grade = c.grade, reasons = c.reasons,
        scored_at = %(now)s, updated_at = %(now)s
    FROM cur c
    -- Compared with the row being updated, not copies of its columns in `cur`.
    WHERE l.ctid = ANY(%(tids)s::tid[]) AND l.id = c.lead_id
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
