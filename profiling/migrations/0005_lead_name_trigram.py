"""Trigram indexes for the workspace's lead search by name.

Django compiles `name__icontains` on PostgreSQL to `UPPER("name"::text) LIKE UPPER(%s)`;
a GIN index over exactly that expression with pg_trgm's operator class lets a substring
search skip the million-row scan. Optional: where the pg_trgm extension cannot be created
(a managed database without the contrib modules) search still works, just without the
index.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, transaction

INDEX = "profiling_lead_name_trgm"
# Search is `name icontains q OR email istartswith q`: both halves need an index for the
# planner to combine them (a BitmapOr); one unindexed half forces a full walk.
EMAIL_INDEX = "profiling_lead_email_trgm"


def create_index(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON profiling_lead "
                "USING gin ((UPPER((name)::text)) gin_trgm_ops)"
            )
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {EMAIL_INDEX} ON profiling_lead "
                "USING gin ((UPPER((email)::text)) gin_trgm_ops)"
            )
    except Exception as exc:  # no pg_trgm here: search works, unindexed
        print(f"  skipped {INDEX}: {exc}")


def drop_index(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")
        cursor.execute(f"DROP INDEX IF EXISTS {EMAIL_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("profiling", "0004_profile_rules")]

    operations = [migrations.RunPython(create_index, drop_index)]
