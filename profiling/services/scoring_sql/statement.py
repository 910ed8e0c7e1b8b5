"""Running the scoring CTEs: the statement's settings (work_mem, no JIT, no nested loops),
its parameters for one rule set (`scoring_params`), and every lead's score computed by
PostgreSQL (`leads_score_sql`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from profiling.scoring_engine import RuleSpec, Thresholds
from profiling.services.scoring_sql.ctes import scored_ctes

# For the scoring transaction only (SET LOCAL): the distinct aggregate, the sorts and the
# hashes over a million events then stay in memory instead of spilling to disk (with the
# default 4 MB the same statement spilled ~100 MB and ran several times slower).
WORK_MEM = "256MB"


def scoring_statement_settings(cursor: Any) -> None:
    cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
    # JIT compiling this statement costs more than it saves at these sizes.
    cursor.execute("SET LOCAL jit = off")
    # Every join in the scoring statement is on equality with a small side (rules, gates)
    # or a lead id; the planner, misled by the aggregates' row estimates, otherwise loops
    # over ~200k rows against a rescanned gate list (a tenth of the statement's time).
    cursor.execute("SET LOCAL enable_nestloop = off")


def _rules_json(rules: Iterable[RuleSpec]) -> str:
    return json.dumps(
        [
            {
                "rule_id": r.id,
                "name": r.name,
                "event_type": r.event_type,
                "points": r.points,
                "gate_id": r.gate_id,
                "section_key": r.section_key,
                "file_key": r.file_key,
                "event_name": r.event_name,
                "max_points": r.max_points,
                "min_duration_ms": r.min_duration_ms,
                "makes_hot": r.makes_hot,
                "profile_condition": r.profile_condition,
                "pages": list(r.pages),
            }
            for r in rules
        ]
    )


def scoring_params(p: str, rules: Sequence[RuleSpec], thresholds: Thresholds) -> dict[str, Any]:
    return {
        f"{p}rules": _rules_json(rules),
        f"{p}nrules": len(rules),
        f"{p}hl": thresholds.half_life_days,
        f"{p}warm": thresholds.warm,
        f"{p}hot": thresholds.hot,
    }


@dataclass(frozen=True)
class Scored:
    score: int
    grade: str
    reasons: list[str]
    last_counted_at: datetime | None


def leads_score_sql(
    *, rules: Sequence[RuleSpec], thresholds: Thresholds, now: datetime
) -> dict[uuid.UUID, Scored]:
    """Every lead's score under the given rules, computed by PostgreSQL (no writes)."""
    ctes = scored_ctes("")
    sql = f"WITH {ctes} SELECT lead_id, score, grade, reasons, last_counted_at FROM scored"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        scoring_statement_settings(cursor)
        cursor.execute(sql, {**scoring_params("", rules, thresholds), "now": now})
        rows = cursor.fetchall()
    return {
        row[0]: Scored(
            score=row[1],
            grade=row[2],
            reasons=json.loads(row[3]) if isinstance(row[3], str) else row[3],
            last_counted_at=row[4],
        )
        for row in rows
    }
