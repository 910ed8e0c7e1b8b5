"""The scoring CTEs' text: `scored_ctes()` and the fragments it is built of (the caps,
the decay, the rounding to whole points, the reasons' texts), and `points_of_sum()` for a
statement that sums the lines itself. Only code-made fragments and the prefix go into the
text; values are bound (psycopg named parameters, see statement.py).
"""

from __future__ import annotations

from forms_app.reading import DEFAULT_MIN_DWELL_MS, read_threshold_sql


def _cap(expr: str) -> str:
    # cap(): +-|max_points| in billionths (numeric: sums of bigint are numeric).
    return (
        f"CASE WHEN r.max_points IS NULL THEN {expr} ELSE greatest(least({expr}, "
        f"abs(r.max_points)::numeric * 1000000000), -abs(r.max_points)::numeric * 1000000000) END"
    )


def _dwell_text(ms: str) -> str:
    # dwell_text(): "40 s", "3 min 10 s", "1 h 5 min", on whole seconds (bigint division).
    return (
        f"CASE WHEN {ms} >= 3600000 THEN ({ms} / 3600000) || ' h'"
        f" || CASE WHEN {ms} / 60000 %% 60 > 0 THEN ' ' || ({ms} / 60000 %% 60) || ' min'"
        " ELSE '' END"
        f" WHEN {ms} >= 60000 THEN ({ms} / 60000) || ' min'"
        f" || CASE WHEN {ms} / 1000 %% 60 > 0 THEN ' ' || ({ms} / 1000 %% 60) || ' s'"
        " ELSE '' END"
        f" ELSE ({ms} / 1000) || ' s' END"
    )


def _points(expr: str) -> str:
    # round_half_up(): billionths to whole points, half away from zero, integers only.
    return f"(sign({expr}) * div(abs({expr}) + 500000000, 1000000000))::integer"


def _per_rule_reads(p: str) -> str:
    """Per rule, the reads' and downloads' lines with their texts: the gates' sums in
    gate id order."""
    return f"""    SELECT g.lead_id, g.rule_id, sum(g.nanos) AS raw, max(g.received_at) AS received_at,
        CASE WHEN min(g.event_type) = 'download' THEN 'downloaded ' || min(g.files)
        ELSE string_agg(
            'read ' || CASE WHEN g.rchapter <> '' THEN 'chapter ' || g.rchapter || ' of '
                            || g.rfile ELSE g.n::text END
            || CASE WHEN g.rchapter <> '' THEN ''
                    WHEN g.rfile <> '' THEN ' page' || CASE WHEN g.n <> 1 THEN 's' ELSE '' END
                    || ' of ' || g.rfile
               ELSE CASE WHEN coalesce(g.total, 0) > 0 THEN ' of ' || g.total ELSE '' END
                    || ' section' || CASE WHEN g.n <> 1 THEN 's' ELSE '' END
                    || ' of ' || coalesce(g.slug, 'a deleted gate') END
            || CASE WHEN g.dwell > 0 THEN ', ' || {_dwell_text("g.dwell")} ELSE '' END,
            '; ') END AS text
    -- Gates in id order within a lead's rule, from the sorted subquery (see per_lead).
    FROM (
        SELECT b.*, gt.slug, gt.total, rr.file_key AS rfile,
            CASE WHEN cardinality(rr.pages) > 0 THEN rr.section_key ELSE '' END AS rchapter
        FROM {p}by_gate b
        LEFT JOIN {p}gates gt ON gt.id = b.gate_id
        JOIN {p}rules rr ON rr.rule_id = b.rule_id
        ORDER BY b.lead_id, b.rule_id, b.gate_id NULLS LAST
    ) g
    GROUP BY g.lead_id, g.rule_id
"""  # noqa: S608 (code-made fragments and the prefix only)


def scored_ctes(
    p: str, *, lead_range: bool = False, lead_ids: bool = False, texts: bool = True
) -> str:
    """CTEs ending in `{p}scored(lead_id, score, grade, reasons, last_counted_at, tid)`,
    one row per lead that is not erased (`tid`: the address of the lead's row). On the
    way, `{p}lines(lead_id, rule_id, makes_hot, pts, name, received_at, text)` holds each
    lead's line per rule (its capped points in billionths): a rule's line depends on that
    rule and the lead's facts alone.

    Parameters (psycopg named): `{p}rules` (JSON rule list), `{p}nrules`, `{p}hl`
    (half-life days), `{p}warm`, `{p}hot`, `now`; with `lead_range`, also `lo` and `hi`
    (uuid or None): only leads with lo < id <= hi are scored (the full rescore splits
    the leads between database sessions that way); with `lead_ids`, also `ids` (a list
    of uuids): only those leads. `p` prefixes every name so that two rule sets can be
    scored in one statement. Without `texts`, the CTEs end in `{p}lines`, whose texts
    are NULL and not built (the sorts and the string work they need are a good part of
    the statement): only the lines' numbers, for the what-if's shared scoring.
    """
    # Leadgate binds on the client, so PostgreSQL plans with the bounds as constants and
    # folds a NULL bound's test away.
    in_range = (
        " AND (%(lo)s::uuid IS NULL OR {col} > %(lo)s::uuid)"
        " AND (%(hi)s::uuid IS NULL OR {col} <= %(hi)s::uuid)"
        if lead_range
        else ""
    )
    if lead_ids:
        in_range += " AND {col} = ANY(%(ids)s::uuid[])"
    event_in_range = in_range.format(col="e.lead_id")
    lead_in_range = in_range.format(col="l.id")

    # decayed_nanos(): points * 0.5 ^ (age / half-life) in float8 (libm pow, as in Python),
    # counted in billionths (round(float8) is half to even, like Python's round). The age
    # is date_part('epoch', interval), the formula the engine mirrors; future events
    # (negative age) do not decay: pow(0.5, 0) is exactly 1.
    def term(col: str, points: str) -> str:
        return (
            f"round({points}::float8 * CASE WHEN %({p}hl)s::integer <= 0 THEN 1.0::float8 "
            f"ELSE power(0.5::float8, greatest(date_part('epoch', %(now)s::timestamptz - {col}),"
            f" 0.0::float8) / (%({p}hl)s::integer::float8 * 86400.0::float8)) END"
            f" * 1e9::float8)::bigint"
        )

    match = """r.event_type = e.type
        AND (r.gate_id IS NULL OR e.gate_id = r.gate_id)
        AND (r.section_key = '' OR e.section_key = r.section_key
             OR e.section_key = ANY(r.pages))
        AND (e.file_key = r.file_key
             OR (r.file_key = '' AND (r.event_type <> 'section_view' OR e.file_key = '')))
        AND (r.event_name = '' OR e.name = r.event_name)
        AND (r.min_duration_ms IS NULL OR e.duration_ms >= r.min_duration_ms)"""
    per_rule_reads = (
        _per_rule_reads(p)
        if texts
        else f"""    -- The sum per rule of the sums per gate, without them (exact integers).
    SELECT u.lead_id, u.rule_id, sum({term("u.occurred_at", "u.points")}) AS raw,
        max(u.received_at) AS received_at, NULL::text AS text
    FROM {p}uniq u
    GROUP BY u.lead_id, u.rule_id
"""  # noqa: S608 (code-made fragments and the prefix only)
    )
    counted_text = (
        """CASE min(r.event_type)
               WHEN 'page_view' THEN 'viewed ' || count(*) || ' page'
                   || CASE WHEN count(*) <> 1 THEN 's' ELSE '' END
               WHEN 'form_view' THEN 'saw the form ' || count(*) || ' time'
                   || CASE WHEN count(*) <> 1 THEN 's' ELSE '' END
               ELSE coalesce(nullif(min(r.event_name), ''), 'custom event') || ' x' || count(*)
           END"""
        if texts
        else "NULL::text"
    )
    profile_text = (
        """CASE r.profile_condition WHEN 'disposable_email' THEN 'uses a disposable email address'
            ELSE 'company domain ' || s.company_domain END"""
        if texts
        else "NULL::text"
    )
    # Only code-made fragments and the prefix go into the text; values are bound.
    events = f"""
{p}rules AS NOT MATERIALIZED (
    SELECT * FROM jsonb_to_recordset(%({p}rules)s::jsonb) AS x(
        rule_id integer, name text, event_type text, points integer, gate_id integer,
        section_key text, file_key text, event_name text, max_points integer,
        min_duration_ms integer, makes_hot boolean, profile_condition text, pages text[])
    -- A set-returning function is estimated at 100 rows; the LIMIT (the real number of
    -- rules) gives the planner the true size, so it hashes the small joins instead of
    -- choosing nested loops over hundreds of thousands of rows.
    LIMIT %({p}nrules)s::integer
),
{p}scope AS NOT MATERIALIZED (
    -- `tid`: the address of the lead's row (block, then line), for writes in the order
    -- of the rows on disk that find them by address (profiling/services/rescore/).
    SELECT l.id, l.is_disposable_email, l.company_domain, l.ctid AS tid
    FROM profiling_lead l
    WHERE l.erased_at IS NULL{lead_in_range}
),
{p}reads AS (
    -- A section's (or PDF page's) reports add up: its active time, dated by the newest
    -- report (the least decayed). Event ids are unique in the table, so each counts once.
    SELECT e.lead_id, e.gate_id, e.file_key, e.section_key,
           sum(coalesce(e.duration_ms, 0))::bigint AS active_ms,
           bool_or(e.duration_ms IS NULL) AS unmeasured,
           max(e.occurred_at) AS occurred_at, max(e.received_at) AS received_at
    FROM profiling_event e
    WHERE e.type = 'section_view' AND e.lead_id IS NOT NULL{event_in_range}
    GROUP BY 1, 2, 3, 4
),
{p}done AS (
    -- The reads that reached their threshold (forms_app/reading.py; a deleted gate's
    -- sections the model's default minimum, a PDF page the gate's minimum alone), or
    -- that a client which does not measure time reported (no duration).
    SELECT d.*
    FROM {p}reads d
    LEFT JOIN forms_app_gate g ON g.id = d.gate_id
    LEFT JOIN forms_app_section s
        ON s.gate_id = d.gate_id AND s.key = d.section_key AND d.file_key = ''
    WHERE d.unmeasured OR d.active_ms >= {
        read_threshold_sql(
            f"coalesce(g.min_dwell_ms, {DEFAULT_MIN_DWELL_MS})", "coalesce(s.words, 0)"
        )
    }
),
{p}uniq AS (
    -- Sections and pages read count once per (lead, rule, gate, section); a chapter's
    -- pages once per (lead, rule, gate) as their chapter; re-downloads once per (lead,
    -- rule, gate, file); each dated by the newest occurrence (the least decayed). A rule
    -- naming a file counts its pages, one without a file the gate's sections only, so
    -- the section key alone tells a rule's reads apart. Erased leads' rows are dropped
    -- by the final join with scope (cheaper than joining here). `bgate` is the gate for
    -- sections, none for downloads.
    SELECT d.lead_id, r.rule_id, d.gate_id AS bgate, d.gate_id,
           (CASE WHEN cardinality(r.pages) > 0 THEN r.section_key ELSE d.section_key END)
               COLLATE "C" AS key,
           -- Functions of the rule: taken from the group, not sorted on.
           min(r.points) AS points, min(r.event_type) AS event_type,
           max(d.occurred_at) AS occurred_at, max(d.received_at) AS received_at,
           sum(d.active_ms)::bigint AS dwell
    FROM {p}done d
    JOIN {p}rules r ON r.event_type = 'section_view'
        AND (r.gate_id IS NULL OR d.gate_id = r.gate_id)
        AND (r.section_key = '' OR d.section_key = r.section_key
             OR d.section_key = ANY(r.pages))
        AND d.file_key = r.file_key
        AND r.event_name = ''
        AND (r.min_duration_ms IS NULL OR d.active_ms >= r.min_duration_ms)
    GROUP BY 1, 2, 3, 4, 5
    UNION ALL
    SELECT e.lead_id, r.rule_id, NULL, e.gate_id, e.file_key COLLATE "C",
           -- Functions of the rule: taken from the group, not sorted on.
           min(r.points), min(r.event_type),
           max(e.occurred_at), max(e.received_at), 0::bigint
    FROM profiling_event e
    JOIN {p}rules r ON {match} AND r.event_type = 'download'
    WHERE e.type = 'download' AND e.lead_id IS NOT NULL{event_in_range}
    GROUP BY e.lead_id, r.rule_id, e.gate_id, e.file_key
),
"""  # noqa: S608
    gate_texts = f"""{p}by_gate AS (
    -- Sections or pages read per gate (for "read 4 of 6 sections of network-vbook,
    -- 3 min 10 s", "read 3 pages of network-map, 24 s"); downloads per rule, with the
    -- distinct file keys in code-point order.
    SELECT lead_id, rule_id, min(event_type) AS event_type, bgate AS gate_id,
           count(*) AS n,
           sum(dwell)::bigint AS dwell,
           sum({term("occurred_at", "points")}) AS nanos, max(received_at) AS received_at,
           -- A lone file needs no sorting (the subquery runs once per group otherwise).
           CASE WHEN min(event_type) <> 'download' THEN NULL
                WHEN count(*) = 1 THEN min(key)
                ELSE (SELECT string_agg(k, ', ' ORDER BY k)
                      FROM (SELECT DISTINCT k COLLATE "C" AS k
                            FROM unnest(array_agg(key) FILTER (WHERE event_type = 'download')) k
                      ) f)
           END AS files
    FROM {p}uniq
    GROUP BY lead_id, rule_id, bgate
),
{p}gates AS (
    -- Each gate's slug and number of sections, joined once per (lead, gate) row.
    SELECT g.id, g.slug, count(s.id) AS total
    FROM forms_app_gate g LEFT JOIN forms_app_section s ON s.gate_id = g.id
    GROUP BY g.id
),
"""  # noqa: S608
    lines = f"""{p}per_rule AS (
{per_rule_reads}    UNION ALL
    -- Page views, form views and track events count each time.
    SELECT e.lead_id, r.rule_id, sum({term("e.occurred_at", "r.points")}),
           max(e.received_at),
           {counted_text}
    FROM profiling_event e
    JOIN {p}rules r ON {match} AND r.event_type NOT IN ('section_view', 'download', 'profile')
    WHERE e.lead_id IS NOT NULL{event_in_range}
    GROUP BY e.lead_id, r.rule_id
),
{p}lines AS (
    SELECT q.lead_id, r.rule_id, r.makes_hot, {_cap("q.raw")} AS pts, r.name, q.received_at,
        q.text
    FROM {p}per_rule q
    JOIN {p}rules r USING (rule_id)
    UNION ALL
    -- Profile rules: a fact about the person, not an event; it has no age, no decay.
    SELECT s.id, r.rule_id, r.makes_hot, {_cap("r.points::numeric * 1000000000")}, r.name,
        NULL, {profile_text}
    -- Each lead's conditions as rows, so that the rules join on equality: one pass over
    -- the leads and a hash, not a pass per profile rule.
    FROM {p}scope s
    CROSS JOIN LATERAL unnest(ARRAY[
        CASE WHEN s.is_disposable_email THEN 'disposable_email' END,
        CASE WHEN s.company_domain <> '' THEN 'company_domain' END]) AS c(condition)
    JOIN {p}rules r ON r.event_type = 'profile' AND r.profile_condition = c.condition
)"""  # noqa: S608
    if not texts:
        # Only what the lines' numbers need (an unreferenced CTE would still count as a
        # reference to the ones it reads, which PostgreSQL then materialises).
        return events + lines
    scored = f""",
{p}per_lead AS (
    -- The reasons' order (makes-hot first, then by weight, then by text) comes from the
    -- sorted subquery: aggregates consume their input in order, and GROUP BY over input
    -- already sorted by lead_id keeps it. `jsonb_agg(line ORDER BY ...)` would give the
    -- same result, but PostgreSQL 15 then runs a separate sort for every lead, which
    -- cost more than this one sort of all lines (the property tests compare the order
    -- with the engine's).
    SELECT lead_id, {_points("sum(pts)")} AS score, bool_or(makes_hot) AS hot,
        jsonb_agg(line) AS reasons, max(received_at) AS last_counted_at
    FROM (
        SELECT * FROM (
            SELECT lead_id, makes_hot, pts, received_at,
                text || CASE WHEN makes_hot THEN ' (makes hot)' ELSE '' END
                || ' [' || name || ': ' || CASE WHEN pts > -500000000 THEN '+' ELSE '' END
                || {_points("pts")} || ']' AS line
            FROM {p}lines
        ) l
        ORDER BY lead_id, makes_hot DESC, abs(pts) DESC, line COLLATE "C"
    ) x
    GROUP BY lead_id
),
{p}scored AS (
    SELECT s.id AS lead_id,
        coalesce(pl.score, 0) AS score,
        CASE WHEN coalesce(pl.hot, false) OR coalesce(pl.score, 0) >= %({p}hot)s::integer
                THEN 'hot'
             WHEN coalesce(pl.score, 0) >= %({p}warm)s::integer THEN 'warm'
             ELSE 'cold' END AS grade,
        coalesce(pl.reasons, '[]'::jsonb) AS reasons,
        pl.last_counted_at, s.tid
    FROM {p}scope s LEFT JOIN {p}per_lead pl ON pl.lead_id = s.id
)"""  # noqa: S608
    return events + gate_texts + lines + scored


def points_of_sum(pts: str, where: str) -> str:
    """The whole points of the sum of `pts` (billionths) over the rows matching `where`,
    rounded as the engine rounds a score (0 when no row matches)."""
    total = f"coalesce(sum({pts}) FILTER (WHERE {where}), 0)"
    return _points(total)
