"""What-if: how would a draft rule set (and thresholds) re-grade the leads? Changes nothing.

Modules: `statements` (the SQL), `set_based` (the two SQL paths, their sessions and the
result they assemble); here, the entry point (`scoring_what_if`), the choice of path and
the Python engine's path.

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
(_what_if_separate; the set-based scoring CTEs of profiling/services/scoring_sql/
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

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from profiling.models import Lead
from profiling.scoring_engine import RuleSpec, Thresholds
from profiling.services.whatif.set_based import (
    Comparison,
    WhatIfResult,
    _what_if_separate,
    _what_if_shared,
    rules_union,
    sample_item,
    what_if_result,
)

__all__ = [
    "MAX_SAMPLE",
    "Comparison",
    "WhatIfResult",
    "_what_if_python",
    "_what_if_separate",
    "_what_if_shared",
    "_what_if_sql",
    "rules_union",
    "scoring_what_if",
]

MAX_SAMPLE = 100


def _what_if_sql(c: Comparison, sessions: int | None = None) -> WhatIfResult:
    if c.thresholds.half_life_days == c.current.half_life_days:
        return _what_if_shared(c, sessions)
    return _what_if_separate(c, sessions)


def _what_if_python(c: Comparison) -> WhatIfResult:
    """The reference the tests hold the SQL to: the pure engine, lead by lead."""
    from profiling.services.scoring import lead_score_compute

    transitions: Counter[str] = Counter()
    moved: list[tuple[int, str, dict[str, Any]]] = []
    leads = Lead.objects.filter(erased_at__isnull=True).values_list("id", "email", "name")
    total = 0
    for lead_id, email, name in leads.iterator():
        total += 1
        old = lead_score_compute(
            lead_id, rules=list(c.current_rules), thresholds=c.current, now=c.now
        )
        new = lead_score_compute(lead_id, rules=list(c.rules), thresholds=c.thresholds, now=c.now)
        if old.grade == new.grade:
            continue
        transitions[f"{old.grade}->{new.grade}"] += 1
        item = sample_item(
            str(lead_id),
            email,
            name,
            (old.score, old.grade, old.reasons),
            (new.score, new.grade, new.reasons),
        )
        moved.append((abs(new.score - old.score), str(lead_id), item))
    moved.sort(key=lambda m: (-m[0], m[1]))
    return what_if_result(total, transitions, [item for _, _, item in moved[: c.sample_size]])


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
    return _what_if_sql(Comparison(rules, thresholds, rules_load(), current, now, sample_size))
