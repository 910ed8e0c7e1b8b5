"""The events table becomes partitioned by month of occurred_at; ids move to receipts.

docs/operations.md, "Partitioning an existing events table", says how long this takes
and what it locks. In one transaction: the old table is renamed, the partitioned one is
made with the same columns, a DEFAULT partition and one partition per month from the
oldest event (at most five years back; older rows go to the default) to two months
ahead, the rows are copied in one INSERT ... SELECT, the indexes are built once the rows
are in (faster than growing them row by row), the receipts of the last 30 days' events
are written (so a resend of an event stored just before the migration is still known),
and the old table is dropped. The reverse copies the rows back into an unpartitioned
table with the primary key on id.
"""

from django.db import migrations, models

FORWARD = """
ALTER TABLE profiling_event RENAME TO profiling_event_unpartitioned;
ALTER TABLE profiling_event_unpartitioned RENAME CONSTRAINT profiling_event_pkey
    TO profiling_event_unpartitioned_pkey;
ALTER INDEX event_lead_time RENAME TO event_lead_time_unpartitioned;
ALTER INDEX event_visitor_time RENAME TO event_visitor_time_unpartitioned;
ALTER INDEX event_gate_type_time RENAME TO event_gate_type_time_unpartitioned;

-- No primary key: a unique index of a partitioned table must hold the partition key,
-- and occurred_at is not the same on a retry (profiling/models/events.py, EventReceipt).
CREATE TABLE profiling_event (
    LIKE profiling_event_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS
    INCLUDING STORAGE
) PARTITION BY RANGE (occurred_at);
CREATE TABLE profiling_event_default PARTITION OF profiling_event DEFAULT;

DO $$
DECLARE
    first_month timestamp;
    last_month timestamp;
    m timestamp;
BEGIN
    -- Months in UTC, the bounds written with their zone (profiling/partitions.py names
    -- and bounds them the same way).
    SELECT greatest(
        date_trunc('month', least(min(occurred_at), now() - interval '7 days') AT TIME ZONE 'UTC'),
        date_trunc('month', now() AT TIME ZONE 'UTC') - interval '60 months'
    ) INTO first_month FROM profiling_event_unpartitioned;
    last_month := date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months';
    m := first_month;
    WHILE m <= last_month LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF profiling_event FOR VALUES FROM (%L) TO (%L)',
            'profiling_event_p' || to_char(m, 'YYYYMM'),
            to_char(m, 'YYYY-MM-DD') || ' 00:00:00+00',
            to_char(m + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00'
        );
        m := m + interval '1 month';
    END LOOP;
END
$$;

INSERT INTO profiling_event SELECT * FROM profiling_event_unpartitioned;

CREATE INDEX event_lead_time ON profiling_event (lead_id, occurred_at)
    WHERE lead_id IS NOT NULL;
CREATE INDEX event_visitor_time ON profiling_event (visitor_id, occurred_at);
CREATE INDEX event_gate_type_time ON profiling_event (gate_id, type, occurred_at);

INSERT INTO profiling_eventreceipt (id, received_at)
    SELECT id, received_at FROM profiling_event_unpartitioned
    WHERE received_at > now() - interval '30 days'
    ORDER BY received_at;

DROP TABLE profiling_event_unpartitioned;
ANALYZE profiling_event;
"""

# Back to one table with the primary key on id. Should two rows share an id (written
# by the ORM, past the receipts), the first received is kept.
REVERSE = """
CREATE TABLE profiling_event_unpartitioned (
    LIKE profiling_event INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE
);
INSERT INTO profiling_event_unpartitioned
    SELECT DISTINCT ON (id) * FROM profiling_event ORDER BY id, received_at;
DROP TABLE profiling_event;
ALTER TABLE profiling_event_unpartitioned RENAME TO profiling_event;
ALTER TABLE profiling_event ADD CONSTRAINT profiling_event_pkey PRIMARY KEY (id);
CREATE INDEX event_lead_time ON profiling_event (lead_id, occurred_at)
    WHERE lead_id IS NOT NULL;
CREATE INDEX event_visitor_time ON profiling_event (visitor_id, occurred_at);
CREATE INDEX event_gate_type_time ON profiling_event (gate_id, type, occurred_at);
ANALYZE profiling_event;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("profiling", "0015_email_kind_team_invitation"),
    ]

    operations = [
        migrations.CreateModel(
            name="EventReceipt",
            fields=[
                ("id", models.UUIDField(primary_key=True, serialize=False)),
                ("received_at", models.DateTimeField()),
            ],
            options={
                "verbose_name": "event receipt",
                "verbose_name_plural": "event receipts",
            },
        ),
        # The model's state is unchanged: Django keeps `id` as the primary key it names
        # rows by; only the database's table changes.
        migrations.RunSQL(FORWARD, REVERSE),
    ]
