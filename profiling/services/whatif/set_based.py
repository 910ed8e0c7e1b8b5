"""The what-if's two SQL paths and what they share: `_what_if_shared` (the union of both
rule sets scored once, then the sample's reasons) and `_what_if_separate` (both rule sets
scored in full, side by side); each statement run once per id range of the leads on
database sessions, the ranges' results merged; the result (`WhatIfResult`) and its
sample's items, assembled alike for every path.
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

from profiling.scoring_engine import RuleSpec, Thresholds
from profiling.services.rescore import Bound, lead_id_ranges
from profiling.services.scoring_sql import (
    points_of_sum,
    scored_ctes,
    scoring_params,
    scoring_statement_settings,
)
from profiling.services.whatif.statements import SAMPLE, SEPARATE, SHARED, grade_case
from profiling.sessions import in_sessions


@dataclass(frozen=True)
class Comparison:
    """What a what-if compares: a draft rule set and thresholds against the current ones,
    both scored at the same instant, and how many of the leads that move it shows."""

    rules: Sequence[RuleSpec]
    thresholds: Thresholds
    current_rules: Sequence[RuleSpec]
    current: Thresholds
    now: datetime
    sample_size: int


@dataclass(frozen=True)
class WhatIfResult:
    leads: int
    would_change: int
    transitions: dict[str, int]  # "cold->warm": n
    sample: list[dict[str, Any]] = field(default_factory=list)


def what_if_result(
    total: int, transitions: Counter[str], sample: list[dict[str, Any]]
) -> WhatIfResult:
    """The result of any path: the leads counted, the grade changes per transition."""
    return WhatIfResult(
        leads=total,
        would_change=sum(transitions.values()),
        transitions=dict(sorted(transitions.items())),
        sample=sample,
    )


def sample_item(
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


# A sample lead's columns, in the order of the sample statement's row (SAMPLE), as the
# separate statement names them in its JSON.
_SAMPLE_KEYS = (
    "lead_id",
    "email",
    "name",
    "old_score",
    "old_grade",
    "old_reasons",
    "score",
    "grade",
    "reasons",
)


def _sample_item_of_row(row: Sequence[Any]) -> dict[str, Any]:
    """A sample lead's item from its row, in the order of _SAMPLE_KEYS."""
    lead_id, email, name, o_score, o_grade, o_reasons, score, grade, reasons = row
    return sample_item(
        str(lead_id),
        email,
        name,
        (o_score, o_grade, _json(o_reasons)),
        (score, grade, _json(reasons)),
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


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


def _ranges_merged(
    sql: str, params: dict[str, Any], sample_size: int, sessions: int | None
) -> tuple[int, Counter[str], list[Any]]:
    """A path's statement over the id ranges (its `params` and the sample's size, which
    both paths bind), the ranges' results merged."""
    return _merged(_in_ranges(sql, {**params, "sample": sample_size}, sessions), sample_size)


def _both_sides_params(c: Comparison) -> dict[str, Any]:
    return {
        **scoring_params("cur_", c.current_rules, c.current),
        **scoring_params("new_", c.rules, c.thresholds),
        "now": c.now,
    }


def _what_if_separate(c: Comparison, sessions: int | None = None) -> WhatIfResult:
    """Both rule sets scored in full, reasons included, side by side."""
    sql = SEPARATE.format(
        current=scored_ctes("cur_", lead_range=True), draft=scored_ctes("new_", lead_range=True)
    )
    params = _both_sides_params(c)
    total, transitions, sample = _ranges_merged(sql, params, c.sample_size, sessions)
    return what_if_result(
        total,
        transitions,
        [_sample_item_of_row([x[key] for key in _SAMPLE_KEYS]) for x in sample],
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


def _what_if_shared(c: Comparison, sessions: int | None = None) -> WhatIfResult:
    """One scoring of both rule sets' union (the same half-life on both sides), then
    the sample's reasons."""
    union, old_only, new_only = rules_union(c.current_rules, c.rules)
    sql = SHARED.format(
        union=scored_ctes("u_", lead_range=True, texts=False),
        old_score=points_of_sum("pts", "NOT rule_id = ANY(%(new_only)s::integer[])"),
        new_score=points_of_sum("pts", "NOT rule_id = ANY(%(old_only)s::integer[])"),
        old_grade=grade_case("coalesce(pl.old_score, 0)", "pl.old_hot", "cur_"),
        new_grade=grade_case("coalesce(pl.score, 0)", "pl.hot", "new_"),
    )
    params = {
        **scoring_params("u_", union, c.current),
        "cur_warm": c.current.warm,
        "cur_hot": c.current.hot,
        "new_warm": c.thresholds.warm,
        "new_hot": c.thresholds.hot,
        "old_only": old_only,
        "new_only": new_only,
        "now": c.now,
    }
    total, transitions, moved = _ranges_merged(sql, params, c.sample_size, sessions)
    sample: list[dict[str, Any]] = []
    if moved:
        sample_sql = SAMPLE.format(
            current=scored_ctes("cur_", lead_ids=True), draft=scored_ctes("new_", lead_ids=True)
        )
        ids = [str(x["lead_id"]) for x in moved]
        with transaction.atomic(), connection.cursor() as cursor:
            scoring_statement_settings(cursor)
            cursor.execute(
                sample_sql,
                {**_both_sides_params(c), "ids": ids},
            )
            rows = {str(row[0]): row for row in cursor.fetchall()}
        # A lead erased since the first statement is left out of the sample.
        sample = [_sample_item_of_row(rows[lead_id]) for lead_id in ids if lead_id in rows]
    return what_if_result(total, transitions, sample)
