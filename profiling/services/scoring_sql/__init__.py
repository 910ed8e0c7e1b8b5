"""The set-based scoring SQL: the pure engine (profiling/scoring_engine.py) in PostgreSQL.

`scored_ctes()` builds the CTEs that score every lead in one pass over the events: the
distinct reads and downloads, decay counted in integer billionths of a point, the caps,
the grades and the reasons' texts, mirroring the engine step by step (property tests in
tests/profiling/test_scoring_properties.py prove they agree). Used by the full rescore
(profiling/services/rescore/) and the what-if preview (profiling/services/whatif/).

Modules: `ctes` (the CTEs' text and the fragments they are built of), `statement` (the
scoring statement's settings and parameters, and every lead's score by PostgreSQL).
"""

from profiling.services.scoring_sql.ctes import points_of_sum, scored_ctes
from profiling.services.scoring_sql.statement import (
    WORK_MEM,
    Scored,
    leads_score_sql,
    scoring_params,
    scoring_statement_settings,
)

__all__ = [
    "WORK_MEM",
    "Scored",
    "leads_score_sql",
    "points_of_sum",
    "scored_ctes",
    "scoring_params",
    "scoring_statement_settings",
]
