"""Reads for the dashboard and the lead list: set-based aggregates, fast at a million leads.

- The dashboard reads the daily rollups (profiling/models/rollups.py) up to their last
  fold and only the rows since then live (cohort.split), so a range costs what its days
  cost, not what its leads cost.
- Everything is grouped in the database (one query per table); Python only classifies
  the (few) distinct source groups and formats.
- One read of the range's cohort (cohort.cohort_groups) feeds the funnel's lead steps,
  the sources table and the grade mix.
- Time to warm/hot comes from the rollups' histograms; speed-to-lead percentiles read a
  bounded window of the latest deliveries.
- The lead list pages by keyset on (created_at, id), never OFFSET.

One module per report: cohort (the shared building blocks), funnel, sources, grades (the
grade mix), timing (time to warm and hot), speed (speed to lead), spend (return on spend)
and lead_list. The names the views use are here.
"""

from __future__ import annotations

from forms_app.workspace.reports.cohort import (
    CohortGroup,
    cohort,
    cohort_groups,
    live_leads,
    report_reads,
)
from forms_app.workspace.reports.funnel import FunnelStep, funnel
from forms_app.workspace.reports.grades import GradeBucket, grade_mix
from forms_app.workspace.reports.lead_list import LeadFilters, gate_titles, keyset_page, lead_search
from forms_app.workspace.reports.numbers import percentile, rate
from forms_app.workspace.reports.sources import (
    SOCIAL,
    SOURCE_ROWS,
    SourceRow,
    SourcesReport,
    sources,
)
from forms_app.workspace.reports.speed import Speed, speed_to_lead
from forms_app.workspace.reports.spend import Spend, spend
from forms_app.workspace.reports.timing import Timing, time_to_grade

__all__ = [
    "SOCIAL",
    "SOURCE_ROWS",
    "CohortGroup",
    "FunnelStep",
    "GradeBucket",
    "LeadFilters",
    "SourceRow",
    "SourcesReport",
    "Speed",
    "Spend",
    "Timing",
    "cohort",
    "cohort_groups",
    "funnel",
    "gate_titles",
    "grade_mix",
    "keyset_page",
    "lead_search",
    "live_leads",
    "percentile",
    "rate",
    "report_reads",
    "sources",
    "speed_to_lead",
    "spend",
    "time_to_grade",
]
