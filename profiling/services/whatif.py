"""What-if: how would a draft rule set (and thresholds) re-grade the leads? Changes nothing.

Both rule sets are scored at the same instant, so the comparison shows only what the
draft changes (not what decay changed since the lead was last scored); the Python engine
per lead (_what_if_python) is the tests' reference.

A lead's score is the rounded sum of its lines, one per rule, and a rule's line depends
on that rule and the lead's facts alone. So when both sides decay alike (the same
half-life), the rules the draft keeps unchanged give the same lines on both sides and are
scored once: one read-only statement scores the union of the two rule sets (each kept
rule once, each removed, added or changed rule on its own side) and sums each lead's
lines per side, without the reasons' texts (_what_if_shared). Only the sample, a few
leads, is then scored in full on both sides for its reasons, by id. With different
half-lives every line differs, and the two rule sets are scored in full, side by side
(_what_if_separate; the set-based scoring CTEs of profiling/services/scoring_sql.py
twice, joined per lead).

Like the full rescore, the statement runs once per id range of the leads on as many
database sessions (LEADGATE_RESCORE_SESSIONS), in parallel threads, since one statement
mostly uses one core; the ranges' counts add up and their samples merge (each range's
sample holds its own top moves, so the merged top is the whole's).

The stored scores on the leads are not used for the active side: they were computed when
each lead was last scored, and with a half-life they have decayed since, while the
preview compares both sides at one instant.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from profiling.models import Lead
from profiling.scoring_engine import RuleSpec, Thresholds
from profiling.services.rescore import Bound, lead_id_ranges
from profiling.services.scoring_sql import (
    points_of_sum,
    scored_ctes,
    scoring_params,
    scoring_statement_settings,
)
from profiling.sessions import in_sessions

MAX_SAMPLE = 100


@dataclass(frozen=True)
class WhatIfResult:
    leads: int
    would_change: int
    transitions: dict[str, int]  # "cold->warm": n
    sample: list[dict[str, Any]] = field(default_factory=list)


_SEPARATE_SQL = """
WITH {current}, {draft},
diff AS (
    SELECT c.lead_id, c.score AS old_score, c.grade AS old_grade, c.reasons AS old_reasons,
           d.score, d.grade, d.reasons
    FROM cur_scored c JOIN new_scored d USING (lead_id)
)
SELECT
    (SELECT count(*) FROM diff),
    (SELECT coalesce(jsonb_object_agg(k, n), '{{}}'::jsonb) FROM (
        SELECT old_grade || '->' || grade AS k, count(*) AS n
        FROM diff WHERE old_grade <> grade GROUP BY 1) t),
    (SELECT coalesce(jsonb_agg(x ORDER BY x.move DESC, x.lead_id), '[]'::jsonb) FROM (
        SELECT d.lead_id, l.email, l.name, d.old_score, d.old_grade, d.old_reasons,
               d.score, d.grade, d.reasons, abs(d.score - d.old_score) AS move
        FROM diff d JOIN profiling_lead l ON l.id = d.lead_id
        WHERE d.old_grade <> d.grade
        ORDER BY abs(d.score - d.old_score) DESC, d.lead_id
        LIMIT %(sample)s) x)
"""


def _grade(score: str, hot: str, p: str) -> str:
    return (
        f"CASE WHEN coalesce({hot}, false) OR {score} >= %({p}hot)s::integer THEN 'hot'"
        f" WHEN {score} >= %({p}warm)s::integer THEN 'warm' ELSE 'cold' END"
    )


# One scoring of the union of both rule sets (`u_`): each lead's lines summed per side.
# A line belongs to the current side unless its rule is only the draft's, and to the
# draft unless it is only the current side's. Only scores and grades: the reasons' texts
# are not selected, so PostgreSQL does not build them.
_SHARED_SQL = """
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
SELECT
    (SELECT count(*) FROM diff),
    (SELECT coalesce(jsonb_object_agg(k, n), '{{}}'::jsonb) FROM (
        SELECT old_grade || '->' || grade AS k, count(*) AS n
        FROM diff WHERE old_grade <> grade GROUP BY 1) t),
    (SELECT coalesce(jsonb_agg(x ORDER BY x.move DESC, x.lead_id), '[]'::jsonb) FROM (
        SELECT d.lead_id, abs(d.score - d.old_score) AS move
        FROM diff d
        WHERE d.old_grade <> d.grade
        ORDER BY abs(d.score - d.old_score) DESC, d.lead_id
        LIMIT %(sample)s) x)
"""

# The sample's leads, by id, scored in full on both sides for their reasons.
_SAMPLE_SQL = """
WITH {current}, {draft}
SELECT c.lead_id, l.email, l.name, c.score, c.grade, c.reasons, d.score, d.grade, d.reasons
FROM cur_scored c JOIN new_scored d USING (lead_id) JOIN profiling_lead l ON l.id = c.lead_id
"""


def _sample_item(
    lead_id: str,
    email: str,
    name: str,
    old: tuple[int, str, list[str]],
    new: tuple[int, str, list[str]],
) -> dict[str, Any]:
    return {
        "lead": {"id": lead_id, "email": email, "name": name},
        "old": {"score": old[0], "grade": old[1], "reasons": old[2]},
        "new": {"score": new[0], "grade": new[1], "reasons": new[2]},
    }


RangeResult = tuple[int, dict[str, int], list[dict[str, Any]]]


def _what_if_range(
    sql: str, params: dict[str, Any], bound: Bound, serial_plans: bool
) -> RangeResult:
    """The what-if of the leads with lo < id <= hi, on this thread's connection."""
    with transaction.atomic(), connection.cursor() as cursor:
        scoring_statement_settings(cursor)
        if serial_plans:
            # The sessions already use every core: PostgreSQL's own parallel workers
            # would only compete with them.
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(sql, {**params, "lo": bound[0], "hi": bound[1]})
        total, transitions, sample = cursor.fetchone()
    if isinstance(transitions, str):
        transitions = json.loads(transitions)
    if isinstance(sample, str):
        sample = json.loads(sample)
    return int(total), transitions, sample


def _in_ranges(sql: str, params: dict[str, Any], sessions: int | None) -> list[RangeResult]:
    """`sql` for each id range of the leads, one database session per range."""
    wanted = sessions if sessions is not None else settings.LEADGATE_RESCORE_SESSIONS
    # Inside a transaction (the caller's, or a test's) other sessions could not see its
    # uncommitted rows: the caller's connection alone.
    bounds: list[Bound] = (
        [(None, None)] if wanted <= 1 or connection.in_atomic_block else lead_id_ranges(wanted)
    )
    results: list[RangeResult] = []
    if len(bounds) == 1:
        results.append(_what_if_range(sql, params, bounds[0], False))
    else:
        in_sessions(
            lambda bound: results.append(_what_if_range(sql, params, bound, True)),
            bounds,
            name="whatif",
        )
    return results


def _merged(results: list[RangeResult], sample_size: int) -> tuple[int, Counter[str], list[Any]]:
    transitions: Counter[str] = Counter()
    for _, t, _ in results:
        transitions.update(t)
    # Each range's sample is its top moves (ORDER BY move DESC, lead_id), so the top of
    # their union is the top of all the leads.
    sample = sorted(
        (x for _, _, s in results for x in s), key=lambda x: (-x["move"], str(x["lead_id"]))
    )[:sample_size]
    return sum(r[0] for r in results), transitions, sample


def _both_sides_params(
    rules: Sequence[RuleSpec],
    thresholds: Thresholds,
    current_rules: Sequence[RuleSpec],
    current: Thresholds,
    now: datetime,
) -> dict[str, Any]:
    return {
        **scoring_params("cur_", current_rules, current),
        **scoring_params("new_", rules, thresholds),
        "now": now,
    }


def _what_if_separate(
    rules: Sequence[RuleSpec],
    thresholds: Thresholds,
    current_rules: Sequence[RuleSpec],
    current: Thresholds,
    now: datetime,
    sample_size: int,
    sessions: int | None = None,
) -> WhatIfResult:
    """Both rule sets scored in full, reasons included, side by side."""
    sql = _SEPARATE_SQL.format(
        current=scored_ctes("cur_", lead_range=True), draft=scored_ctes("new_", lead_range=True)
    )
    params = {
        **_both_sides_params(rules, thresholds, current_rules, current, now),
        "sample": sample_size,
    }
    total, transitions, sample = _merged(_in_ranges(sql, params, sessions), sample_size)
    return WhatIfResult(
        leads=total,
        would_change=sum(transitions.values()),
        transitions=dict(sorted(transitions.items())),
        sample=[
            _sample_item(
                str(x["lead_id"]),
                x["email"],
                x["name"],
                (x["old_score"], x["old_grade"], x["old_reasons"]),
                (x["score"], x["grade"], x["reasons"]),
            )
            for x in sample
        ],
    )


def _rule_key(rule: RuleSpec) -> tuple[Any, ...]:
    # A rule's line depends on everything but its id (which only tells rules apart).
    return astuple(replace(rule, id=0))


def rules_union(
    current_rules: Sequence[RuleSpec], rules: Sequence[RuleSpec]
) -> tuple[list[RuleSpec], list[int], list[int]]:
    """The union of two rule sets with fresh ids: each rule both sets have (as many
    times as both have it: two identical rules are two rules) once; and the ids of the
    rules only the current set has, and of those only the draft has."""
    draft_left: Counter[tuple[Any, ...]] = Counter(_rule_key(r) for r in rules)
    union: list[RuleSpec] = []
    old_only: list[int] = []
    new_only: list[int] = []
    for rule in current_rules:
        key = _rule_key(rule)
        union.append(replace(rule, id=len(union) + 1))
        if draft_left[key] > 0:
            draft_left[key] -= 1
        else:
            old_only.append(len(union))
    for rule in rules:
        key = _rule_key(rule)
        if draft_left[key] > 0:
            draft_left[key] -= 1
            union.append(replace(rule, id=len(union) + 1))
            new_only.append(len(union))
    return union, old_only, new_only


def _what_if_shared(
    rules: Sequence[RuleSpec],
    thresholds: Thresholds,
    current_rules: Sequence[RuleSpec],
    current: Thresholds,
    now: datetime,
    sample_size: int,
    sessions: int | None = None,
) -> WhatIfResult:
    """One scoring of both rule sets' union (the same half-life on both sides), then
    the sample's reasons."""
    union, old_only, new_only = rules_union(current_rules, rules)
    sql = _SHARED_SQL.format(
        union=scored_ctes("u_", lead_range=True, texts=False),
        old_score=points_of_sum("pts", "NOT rule_id = ANY(%(new_only)s::integer[])"),
        new_score=points_of_sum("pts", "NOT rule_id = ANY(%(old_only)s::integer[])"),
        old_grade=_grade("coalesce(pl.old_score, 0)", "pl.old_hot", "cur_"),
        new_grade=_grade("coalesce(pl.score, 0)", "pl.hot", "new_"),
    )
    params = {
        **scoring_params("u_", union, current),
        "cur_warm": current.warm,
        "cur_hot": current.hot,
        "new_warm": thresholds.warm,
        "new_hot": thresholds.hot,
        "old_only": old_only,
        "new_only": new_only,
        "now": now,
        "sample": sample_size,
    }
    total, transitions, moved = _merged(_in_ranges(sql, params, sessions), sample_size)
    sample: list[dict[str, Any]] = []
    if moved:
        sample_sql = _SAMPLE_SQL.format(
            current=scored_ctes("cur_", lead_ids=True), draft=scored_ctes("new_", lead_ids=True)
        )
        ids = [str(x["lead_id"]) for x in moved]
        with transaction.atomic(), connection.cursor() as cursor:
            scoring_statement_settings(cursor)
            cursor.execute(
                sample_sql,
                {**_both_sides_params(rules, thresholds, current_rules, current, now), "ids": ids},
            )
            rows = {str(row[0]): row for row in cursor.fetchall()}
        # A lead erased since the first statement is left out of the sample.
        for lead_id in ids:
            if lead_id in rows:
                _, email, name, o_score, o_grade, o_reasons, score, grade, reasons = rows[lead_id]
                sample.append(
                    _sample_item(
                        lead_id,
                        email,
                        name,
                        (o_score, o_grade, _json(o_reasons)),
                        (score, grade, _json(reasons)),
                    )
                )
    return WhatIfResult(
        leads=total,
        would_change=sum(transitions.values()),
        transitions=dict(sorted(transitions.items())),
        sample=sample,
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _what_if_sql(
    rules: Sequence[RuleSpec],
    thresholds: Thresholds,
    current_rules: Sequence[RuleSpec],
    current: Thresholds,
    now: datetime,
    sample_size: int,
    sessions: int | None = None,
) -> WhatIfResult:
    if thresholds.half_life_days == current.half_life_days:
        return _what_if_shared(
            rules, thresholds, current_rules, current, now, sample_size, sessions
        )
    return _what_if_separate(rules, thresholds, current_rules, current, now, sample_size, sessions)


def _what_if_python(
    rules: Sequence[RuleSpec],
    thresholds: Thresholds,
    current_rules: Sequence[RuleSpec],
    current: Thresholds,
    now: datetime,
    sample_size: int,
) -> WhatIfResult:
    """The reference the tests hold the SQL to: the pure engine, lead by lead."""
    from profiling.services.scoring import lead_score_compute

    transitions: Counter[str] = Counter()
    moved: list[tuple[int, str, dict[str, Any]]] = []
    leads = Lead.objects.filter(erased_at__isnull=True).values_list("id", "email", "name")
    total = 0
    for lead_id, email, name in leads.iterator():
        total += 1
        old = lead_score_compute(lead_id, rules=list(current_rules), thresholds=current, now=now)
        new = lead_score_compute(lead_id, rules=list(rules), thresholds=thresholds, now=now)
        if old.grade == new.grade:
            continue
        transitions[f"{old.grade}->{new.grade}"] += 1
        item = _sample_item(
            str(lead_id),
            email,
            name,
            (old.score, old.grade, old.reasons),
            (new.score, new.grade, new.reasons),
        )
        moved.append((abs(new.score - old.score), str(lead_id), item))
    moved.sort(key=lambda m: (-m[0], m[1]))
    return WhatIfResult(
        leads=total,
        would_change=sum(transitions.values()),
        transitions=dict(sorted(transitions.items())),
        sample=[item for _, _, item in moved[:sample_size]],
    )


def scoring_what_if(
    *,
    rules: Sequence[RuleSpec],
    thresholds: Thresholds | None = None,
    sample_size: int = 20,
    now: datetime | None = None,
) -> WhatIfResult:
    """Compare the active rules and settings with a draft rule set (which replaces the
    active set as a whole) and optional draft thresholds. Read-only."""
    from profiling.services.scoring import rules_load, thresholds_load

    current = thresholds_load()
    thresholds = thresholds or current
    sample_size = max(0, min(sample_size, MAX_SAMPLE))
    now = now or timezone.now()
    return _what_if_sql(rules, thresholds, rules_load(), current, now, sample_size)
