"""The what-if's SQL statements, their text only (set_based.py runs them): both rule sets
scored in full side by side, the union of both scored once, and the sample's leads scored
in full by id. Only code-made fragments go into the text; values are bound (psycopg
named parameters).
"""

# The first two columns of both comparisons, from their `diff` (lead_id, old_grade,
# grade, ...): the number of leads and the grade changes per transition ({{}}: the
# statements are formatted with str.format).
DIFF_TOTALS = """SELECT
    (SELECT count(*) FROM diff),
    (SELECT coalesce(jsonb_object_agg(k, n), '{{}}'::jsonb) FROM (
        SELECT old_grade || '->' || grade AS k, count(*) AS n
        FROM diff WHERE old_grade <> grade GROUP BY 1) t),
"""

# Both rule sets scored in full (the scoring CTEs with the prefixes `cur_` and `new_`),
# joined per lead: the number of leads, the grade changes per transition, the sample of
# the biggest moves with their reasons (its columns in SAMPLE's order, and the move).
SEPARATE = (
    """
WITH {current}, {draft},
diff AS (
    SELECT c.lead_id, c.score AS old_score, c.grade AS old_grade, c.reasons AS old_reasons,
           d.score, d.grade, d.reasons
    FROM cur_scored c JOIN new_scored d USING (lead_id)
)
"""  # noqa: S608 (code-made fragments only)
    + DIFF_TOTALS
    + """    (SELECT coalesce(jsonb_agg(x ORDER BY x.move DESC, x.lead_id), '[]'::jsonb) FROM (
        SELECT d.lead_id, l.email, l.name, d.old_score, d.old_grade, d.old_reasons,
               d.score, d.grade, d.reasons, abs(d.score - d.old_score) AS move
        FROM diff d JOIN profiling_lead l ON l.id = d.lead_id
        WHERE d.old_grade <> d.grade
        ORDER BY abs(d.score - d.old_score) DESC, d.lead_id
        LIMIT %(sample)s) x)
"""
)


def grade_case(score: str, hot: str, p: str) -> str:
    """The grade of `score` (hot also when `hot` holds) under the `{p}` side's thresholds."""
    return (
        f"CASE WHEN coalesce({hot}, false) OR {score} >= %({p}hot)s::integer THEN 'hot'"
        f" WHEN {score} >= %({p}warm)s::integer THEN 'warm' ELSE 'cold' END"
    )


# One scoring of the union of both rule sets (`u_`): each lead's lines summed per side.
# A line belongs to the current side unless its rule is only the draft's, and to the
# draft unless it is only the current side's. Only scores and grades: the reasons' texts
# are not selected, so PostgreSQL does not build them.
SHARED = (
    """
WITH {union},
per_lead AS (
    SELECT lead_id,
        {old_score} AS old_score,
        bool_or(makes_hot) FILTER (WHERE NOT rule_id = ANY(%(new_only)s::integer[])) AS old_hot,
        {new_score} AS score,
        bool_or(makes_hot) FILTER (WHERE NOT rule_id = ANY(%(old_only)s::integer[])) AS hot
    FROM u_lines
    GROUP BY lead_id
),
diff AS (
    SELECT s.id AS lead_id,
        coalesce(pl.old_score, 0) AS old_score,
        {old_grade} AS old_grade,
        coalesce(pl.score, 0) AS score,
        {new_grade} AS grade
    FROM u_scope s LEFT JOIN per_lead pl ON pl.lead_id = s.id
)
"""  # noqa: S608 (code-made fragments only)
    + DIFF_TOTALS
    + """    (SELECT coalesce(jsonb_agg(x ORDER BY x.move DESC, x.lead_id), '[]'::jsonb) FROM (
        SELECT d.lead_id, abs(d.score - d.old_score) AS move
        FROM diff d
        WHERE d.old_grade <> d.grade
        ORDER BY abs(d.score - d.old_score) DESC, d.lead_id
        LIMIT %(sample)s) x)
"""
)

# The sample's leads, by id, scored in full on both sides for their reasons.
SAMPLE = """
WITH {current}, {draft}
SELECT c.lead_id, l.email, l.name, c.score, c.grade, c.reasons, d.score, d.grade, d.reasons
FROM cur_scored c JOIN new_scored d USING (lead_id) JOIN profiling_lead l ON l.id = c.lead_id
"""
