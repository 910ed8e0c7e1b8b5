"""A lead's reading, from its events: the pure part scoring and the reading selectors share.

The tracker reports a section's active reading time in parts (a report at the gate's
minimum dwell, heartbeats, a flush when the page is hidden); `reads_of` adds the parts
up per (gate, file, section): a PDF page is a section of its file (`p<N>`). Whether the
sum counts as read is forms_app/reading.py's threshold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from forms_app.reading import DEFAULT_MIN_DWELL_MS, read_threshold_ms


@dataclass(frozen=True)
class EventFact:
    type: str
    gate_id: int | None
    occurred_at: datetime
    received_at: datetime
    section_key: str = ""
    file_key: str = ""
    name: str = ""
    duration_ms: int | None = None
    # The event's id: a report stored once counts once, however often it is handed in.
    id: str = ""


@dataclass(frozen=True)
class GateReading:
    """What a gate's read threshold depends on: its minimum dwell, its sections' words."""

    min_dwell_ms: int = DEFAULT_MIN_DWELL_MS
    section_words: Mapping[str, int] = field(default_factory=dict)

    def threshold_ms(self, file_key: str, section_key: str) -> int:
        # A PDF page (file_key set) has no word count: the minimum dwell alone.
        words = 0 if file_key else self.section_words.get(section_key, 0)
        return read_threshold_ms(min_dwell_ms=self.min_dwell_ms, words=words)


@dataclass(frozen=True)
class ReadFact:
    """One section (or PDF page) of one gate: the sum of its reports' active time."""

    gate_id: int | None
    file_key: str
    section_key: str
    active_ms: int
    occurred_at: datetime  # of the newest report
    received_at: datetime
    read: bool


def reads_of(
    events: Iterable[EventFact], gate_reading: Mapping[int, GateReading] | None = None
) -> list[ReadFact]:
    """The `section_view` reports summed per (gate, file, section); each id counts once."""
    gate_reading = gate_reading or {}
    totals: dict[tuple[int | None, str, str], list[EventFact]] = defaultdict(list)
    for e in unique_events(events):
        if e.type == "section_view":
            totals[(e.gate_id, e.file_key, e.section_key)].append(e)
    reads = []
    for (gate_id, file_key, section_key), reports in totals.items():
        active = sum(e.duration_ms or 0 for e in reports)
        rules_of_gate = gate_reading.get(gate_id) if gate_id is not None else None
        threshold = (rules_of_gate or GateReading()).threshold_ms(file_key, section_key)
        reads.append(
            ReadFact(
                gate_id=gate_id,
                file_key=file_key,
                section_key=section_key,
                active_ms=active,
                occurred_at=max(e.occurred_at for e in reports),
                received_at=max(e.received_at for e in reports),
                # A report without a duration comes from a client that does not measure
                # time (the contract's duration_ms is optional): its word is taken.
                read=active >= threshold or any(e.duration_ms is None for e in reports),
            )
        )
    return reads


def unique_events(events: Iterable[EventFact]) -> list[EventFact]:
    """Each id once (facts without an id are all distinct)."""
    seen: set[str] = set()
    out = []
    for e in events:
        if e.id:
            if e.id in seen:
                continue
            seen.add(e.id)
        out.append(e)
    return out
