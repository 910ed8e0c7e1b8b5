"""An event as a row of the JSON document the ingest statements read, and back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from profiling.services.ingest.parse import NewEvent


def event_row(e: NewEvent, received: datetime) -> dict[str, Any]:
    """One event as a row of the JSON document the INSERT reads (json_to_recordset).

    Short keys, and only the fields the event has: the statements fill in the rest
    (empty text, `{}` touch, received time for occurred_at). A 100-event batch's
    document is then about half as long, which is less to encode here and less for
    PostgreSQL to parse (measured on bench/ingest.py's 100-event batches).
    """
    row: dict[str, Any] = {"i": e.id_text, "t": e.type}
    if e.gate_id is not None:
        row["g"] = e.gate_id
    if e.section_key:
        row["s"] = e.section_key
    if e.file_key:
        row["f"] = e.file_key
    if e.duration_ms is not None:
        row["d"] = e.duration_ms
    if e.occurred_at is not None and e.occurred_at != received:
        row["o"] = e.occurred_at.isoformat()
    if e.url:
        row["u"] = e.url
    if e.name:
        row["n"] = e.name
    if e.touch:
        row["c"] = e.touch
    return row


# The types of event_row's keys, for `json_to_recordset(...) AS x(i uuid, <these>)`;
# a statement adds the keys only it sends (v visitor, l lead, r received, src source).
EVENT_RECORD_SQL = (
    "t text, n text, g bigint, s text, f text, d integer, o timestamptz, u text, c jsonb"
)


# How every ingest statement turns a row of event_row's document into event columns
# (the statement's alias x, `received` the SQL for the receive time).
def event_columns_sql(received: str) -> str:
    return (
        "x.t, coalesce(x.n, ''), x.g, coalesce(x.s, ''), coalesce(x.f, ''), x.d,"
        f" coalesce(x.o, {received}), coalesce(x.u, ''), coalesce(x.c, '{{}}'::jsonb)"
    )
