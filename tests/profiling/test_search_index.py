"""The lead search's trigram indexes exist (migration profiling 0005)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_lead_search_has_trigram_indexes() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'profiling_lead'"
        )
        indexes = dict(cursor.fetchall())
    # The expressions must be exactly what Django's icontains/istartswith compile to, or
    # the planner cannot use them.
    assert "gin_trgm_ops" in indexes["profiling_lead_name_trgm"]
    assert "upper((name)::text)" in indexes["profiling_lead_name_trgm"]
    assert "upper((email)::text)" in indexes["profiling_lead_email_trgm"]
