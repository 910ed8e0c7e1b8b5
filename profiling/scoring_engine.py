"""The pure scoring function: a lead's score is a function of its events, the rules and
the time, nothing else. Same events in any order, any number of duplicates (ids are
unique in the database), give the same score.

Semantics (documented for marketers in docs/scoring.md):
- a rule matches an event by type, and optionally gate, section, file and track name,
  and by a minimum dwell for events that carry a duration;
- reading the same section or downloading the same file again adds nothing: interest
  is in *how many* sections or files, and re-reads must not inflate a score;
- each event's points decay with its age when a half-life is set;
- a rule's total is capped by its max_points (towards zero for negative rules);
- a makes-hot match makes the lead hot whatever the score.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

COLD, WARM, HOT = "cold", "warm", "hot"
DISTINCT_TYPES = frozenset({"section_view", "download"})


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


@dataclass(frozen=True)
class RuleSpec:
    id: int
    name: str
    event_type: str
    points: int
    gate_id: int | None = None
    section_key: str = ""
    file_key: str = ""
    event_name: str = ""
    max_points: int | None = None
    min_duration_ms: int | None = None
    makes_hot: bool = False

    def matches(self, e: EventFact) -> bool:
        if e.type != self.event_type:
            return False
        if self.gate_id is not None and e.gate_id != self.gate_id:
            return False
        if self.section_key and e.section_key != self.section_key:
            return False
        if self.file_key and e.file_key != self.file_key:
            return False
        if self.event_name and e.name != self.event_name:
            return False
        return not (
            self.min_duration_ms is not None
            and (e.duration_ms is None or e.duration_ms < self.min_duration_ms)
        )


@dataclass(frozen=True)
class Thresholds:
    warm: int
    hot: int
    half_life_days: int = 0


@dataclass(frozen=True)
class ScoreResult:
    score: int
    grade: str
    reasons: list[str]
    # received_at of the newest event that counted: where "speed to lead" starts.
    last_counted_at: datetime | None


def decay_factor(age_seconds: float, half_life_days: int) -> float:
    if half_life_days <= 0 or age_seconds <= 0:
        return 1.0
    return math.pow(0.5, age_seconds / (half_life_days * 86400.0))


def grade_for(score: int, hot_trigger: bool, t: Thresholds) -> str:
    if hot_trigger or score >= t.hot:
        return HOT
    if score >= t.warm:
        return WARM
    return COLD


def _distinct_key(e: EventFact) -> tuple[object, ...]:
    return (e.type, e.gate_id, e.section_key, e.file_key)


def _cap(total: float, max_points: int | None) -> float:
    if max_points is None:
        return total
    bound = abs(max_points)
    return max(min(total, bound), -bound)


def _minutes(ms: int) -> str:
    minutes = ms / 60000
    return f"{minutes:.0f} min" if minutes >= 1 else f"{ms // 1000} s"


def _reason(
    rule: RuleSpec,
    counted: list[EventFact],
    points: float,
    gate_slugs: Mapping[int, str],
    gate_section_counts: Mapping[int, int],
) -> str:
    pts = f"{'+' if points >= 0 else ''}{round(points)}"
    if rule.event_type == "download":
        files = sorted({e.file_key for e in counted})
        text = "downloaded " + ", ".join(files)
    elif rule.event_type == "section_view":
        by_gate: dict[int | None, list[EventFact]] = defaultdict(list)
        for e in counted:
            by_gate[e.gate_id].append(e)
        parts = []
        for gate_id, evs in sorted(by_gate.items(), key=lambda kv: str(kv[0])):
            slug = gate_slugs.get(gate_id, "a deleted gate") if gate_id else "a deleted gate"
            total = gate_section_counts.get(gate_id, 0) if gate_id else 0
            n = len({e.section_key for e in evs})
            dwell = sum(e.duration_ms or 0 for e in evs)
            of = f" of {total}" if total else ""
            parts.append(
                f"read {n}{of} section{'s' if n != 1 else ''} of {slug}"
                + (f", {_minutes(dwell)}" if dwell else "")
            )
        text = "; ".join(parts)
    elif rule.event_type == "page_view":
        text = f"viewed {len(counted)} page{'s' if len(counted) != 1 else ''}"
    elif rule.event_type == "form_view":
        text = f"saw the form {len(counted)} time{'s' if len(counted) != 1 else ''}"
    else:
        text = f"{rule.event_name or 'custom event'} x{len(counted)}"
    suffix = " (makes hot)" if rule.makes_hot else ""
    return f"{text}{suffix} [{rule.name}: {pts}]"


def compute_score(
    events: Iterable[EventFact],
    rules: Iterable[RuleSpec],
    thresholds: Thresholds,
    now: datetime,
    gate_slugs: Mapping[int, str] | None = None,
    gate_section_counts: Mapping[int, int] | None = None,
) -> ScoreResult:
    gate_slugs = gate_slugs or {}
    gate_section_counts = gate_section_counts or {}
    events = list(events)
    total = 0.0
    hot_trigger = False
    last_counted: datetime | None = None
    explained: list[tuple[bool, float, str]] = []
    for rule in rules:
        matched = [e for e in events if rule.matches(e)]
        if not matched:
            continue
        counted: dict[tuple[object, ...], EventFact] = {}
        for i, e in enumerate(matched):
            key = _distinct_key(e) if e.type in DISTINCT_TYPES else (i,)
            best = counted.get(key)
            # Keep the newest occurrence: the least decayed, and order-independent
            # (ties broken by the other fields so any order gives the same pick).
            if best is None or (e.occurred_at, e.duration_ms or 0) > (
                best.occurred_at,
                best.duration_ms or 0,
            ):
                counted[key] = e
        facts = list(counted.values())
        raw = sum(
            rule.points
            * decay_factor((now - e.occurred_at).total_seconds(), thresholds.half_life_days)
            for e in facts
        )
        points = _cap(raw, rule.max_points)
        total += points
        hot_trigger = hot_trigger or rule.makes_hot
        newest = max(e.received_at for e in facts)
        last_counted = newest if last_counted is None else max(last_counted, newest)
        explained.append(
            (rule.makes_hot, points, _reason(rule, facts, points, gate_slugs, gate_section_counts))
        )
    score = round(total)
    grade = grade_for(score, hot_trigger, thresholds)
    # Hot triggers first, then the biggest contributions: what sales should read first.
    explained.sort(key=lambda r: (not r[0], -abs(r[1]), r[2]))
    return ScoreResult(
        score=score,
        grade=grade,
        reasons=[text for _, _, text in explained],
        last_counted_at=last_counted,
    )
