"""What-if: how would a draft rule set (and thresholds) re-grade the leads? Changes nothing.

Both rule sets are scored at the same instant, so the comparison shows only what the
draft changes (not what decay changed since the lead was last scored). It is one
read-only statement: the set-based scoring CTEs (profiling/services/rescore.py) twice,
joined per lead; the Python engine per lead (_what_if_python) is the tests' reference.

Like the full rescore, the statement runs once per id range of the leads on as many
database sessions (LEADGATE_RESCORE_SESSIONS), in parallel threads, since one statement
mostly uses one core; the ranges' counts add up and their samples merge (each range's
sample holds its own top moves, so the merged top is the whole's).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from profiling.models import Lead
from profiling.scoring_engine import RuleSpec, Thresholds
from profiling.services.rescore import Bound, lead_id_ranges
from profiling.services.scoring_sql import scored_ctes, scoring_params, scoring_statement_settings
from profiling.sessions import in_sessions

MAX_SAMPLE = 100


@dataclass(frozen=True)
class WhatIfResult:
    leads: int
    would_change: int
    transitions: dict[str, int]  # "cold->warm": n
    sample: list[dict[str, Any]] = field(default_factory=list)


_SQL = """
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


def _what_if_range(
    sql: str, params: dict[str, Any], bound: Bound, serial_plans: bool
) -> tuple[int, dict[str, int], list[dict[str, Any]]]:
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


def _what_if_sql(
    rules: Sequence[RuleSpec],
    thresholds: Thresholds,
    current_rules: Sequence[RuleSpec],
    current: Thresholds,
    now: datetime,
    sample_size: int,
    sessions: int | None = None,
) -> WhatIfResult:
    sql = _SQL.format(
        current=scored_ctes("cur_", lead_range=True), draft=scored_ctes("new_", lead_range=True)
    )
    params = {
        **scoring_params("cur_", current_rules, current),
        **scoring_params("new_", rules, thresholds),
        "now": now,
        "sample": sample_size,
    }
    wanted = sessions if sessions is not None else settings.LEADGATE_RESCORE_SESSIONS
    # Inside a transaction (the caller's, or a test's) other sessions could not see its
    # uncommitted rows: the caller's connection alone.
    bounds: list[Bound] = (
        [(None, None)] if wanted <= 1 or connection.in_atomic_block else lead_id_ranges(wanted)
    )
    results: list[tuple[int, dict[str, int], list[dict[str, Any]]]] = []
    if len(bounds) == 1:
        results.append(_what_if_range(sql, params, bounds[0], False))
    else:
        in_sessions(
            lambda bound: results.append(_what_if_range(sql, params, bound, True)),
            bounds,
            name="whatif",
        )
    transitions: Counter[str] = Counter()
    for _, t, _ in results:
        transitions.update(t)
    # Each range's sample is its top moves (ORDER BY move DESC, lead_id), so the top of
    # their union is the top of all the leads.
    sample = sorted(
        (x for _, _, s in results for x in s), key=lambda x: (-x["move"], str(x["lead_id"]))
    )[:sample_size]
    return WhatIfResult(
        leads=sum(r[0] for r in results),
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
