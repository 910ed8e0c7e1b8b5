"""Event ingest: validate a batch (parse), make it durable in one statement (store).

A package because the public path is both the hottest and the most defended code in the
product; see docs/benchmarks.md for why it is written the way it is.
"""

from __future__ import annotations

from profiling.services.ingest.parse import (
    MAX_DURATION_MS,
    MAX_EVENT_AGE,
    MAX_URL,
    PUBLIC_EVENT_TYPES,
    GateKeys,
    IngestResult,
    NewEvent,
    ParsedBatch,
    _parse_time,
    clean_str,
    events_parse,
    gate_keys_fresh,
    gate_keys_load,
    occurred_at_correct,
    parse_uuid,
    text_ok,
)
from profiling.services.ingest.store import StoreResult, events_ingest, events_store

__all__ = [
    "MAX_DURATION_MS",
    "MAX_EVENT_AGE",
    "MAX_URL",
    "PUBLIC_EVENT_TYPES",
    "GateKeys",
    "IngestResult",
    "NewEvent",
    "ParsedBatch",
    "StoreResult",
    "_parse_time",
    "clean_str",
    "events_ingest",
    "events_parse",
    "events_store",
    "gate_keys_fresh",
    "gate_keys_load",
    "occurred_at_correct",
    "parse_uuid",
    "text_ok",
]
