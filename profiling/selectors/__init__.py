"""Reads for the profiling app, one module per theme.

- leads: the leads list and its CSV columns, one lead by id, a lead's language;
- activity: a lead's timeline and reading; profiles: the passive profile;
- rules: the scoring rules; endpoints: webhook endpoints, their deliveries, speed, health;
- backlog: the work waiting in the database (GET /metrics);
- person: one person's rows and export; cohort: the dashboard's lead cohort.
"""

from __future__ import annotations

from profiling.selectors.activity import lead_reading, lead_timeline
from profiling.selectors.backlog import backlog_read
from profiling.selectors.endpoints import (
    endpoint_deliveries,
    endpoint_delivery_stats,
    endpoint_health,
    endpoint_list,
)
from profiling.selectors.leads import LEAD_CSV_COLUMNS, lead_get, lead_language, lead_list
from profiling.selectors.profiles import lead_profile
from profiling.selectors.rules import rule_list

__all__ = [
    "LEAD_CSV_COLUMNS",
    "backlog_read",
    "endpoint_deliveries",
    "endpoint_delivery_stats",
    "endpoint_health",
    "endpoint_list",
    "lead_get",
    "lead_language",
    "lead_list",
    "lead_profile",
    "lead_reading",
    "lead_timeline",
    "rule_list",
]
