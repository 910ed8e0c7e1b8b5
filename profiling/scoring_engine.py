"""The pure scoring function: a lead's score is a function of its events, its passive
profile, the rules and the time, nothing else. Same events in any order, any number of
duplicates, give the same score.

Semantics (documented for marketers in docs/scoring.md):
- a rule matches an event by type, and optionally gate, section, file and track name,
  and by a minimum dwell for events that carry a duration; a `profile` rule matches the
  lead's passive profile (a disposable email address, a company domain);
- an event id counts once (the same report delivered twice is one report);
- reading is *active time*, reported in parts (the tracker's heartbeats; see
  profiling/reading.py): the
  `section_view` events of one section (or PDF page: gate, file key, section key) add up,
  and the section counts once, when that sum reaches its read threshold
  (forms_app/reading.py; a report without a duration, from a client that does not
  measure time, counts it as read) and the rule's `min_duration_ms`; how the time was
  split into reports, and in what order they came, changes nothing;
- a rule naming a file counts its pages read (each on its own sum); naming also a
  chapter (`pages`: the chapter's page keys) it counts the chapter once, when at least
  one of its pages is read; a rule without a file counts a gate's sections, never pages;
- reading the same section or downloading the same file again adds nothing: interest
  is in *how many* sections or files, and re-reads must not inflate a score; the newest
  occurrence is the one that counts (the least decayed);
- each event's points decay with its age when a half-life is set;
- a rule's total is capped by its max_points (towards zero for negative rules);
- a makes-hot match makes the lead hot whatever the score.

This module is also the *reference* for the set-based SQL rescore
(profiling/services/rescore/): every arithmetic step is chosen so that PostgreSQL
computes bit-for-bit the same result, and property tests check that it does:
- an event's age in seconds is computed as PostgreSQL's `date_part('epoch', now - at)`
  does (whole days times 86400 plus the rest in microseconds / 1e6, in float8);
- its decayed points are a float (`points * 0.5 ** (age / half-life)`, the same libm
  `pow` on both sides), counted in whole *billionths of a point* (rounded half to even,
  as both Python's round() and PostgreSQL's round(float8) do);
- those integers are added exactly, so a sum cannot depend on the order of the events
  (float addition would), and caps compare integers;
- scores and the points shown in reasons round half away from zero, in integers;
- reasons only use integer arithmetic and code-point ordering (COLLATE "C" there).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from profiling.reading import EventFact, GateReading, ReadFact, reads_of, unique_events

COLD, WARM, HOT = "cold", "warm", "hot"
# Section views are summed into reads (reads_of); a file counts once per gate.
DISTINCT_TYPES = frozenset({"download"})
PROFILE = "profile"
DISPOSABLE_EMAIL = "disposable_email"
COMPANY_DOMAIN = "company_domain"
PROFILE_CONDITIONS = frozenset({DISPOSABLE_EMAIL, COMPANY_DOMAIN})

# Points are added as integers in billionths of a point: exact and order-independent.
NANO = 1_000_000_000
_DAY_US = 86_400_000_000
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class ProfileFact:
    """What leadgate inferred about the person (never asked)."""

    is_disposable_email: bool = False
    company_domain: str = ""


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
    profile_condition: str = ""
    # A section_view rule naming a file and a chapter of its PDF (section_key): the
    # chapter's pages as section keys ("p5", "p6"), loaded with the rule.
    pages: tuple[str, ...] = ()

    def matches(self, e: EventFact) -> bool:
        if e.type != self.event_type:
            return False
        if self.gate_id is not None and e.gate_id != self.gate_id:
            return False
        if (
            self.section_key
            and e.section_key != self.section_key
            and e.section_key not in self.pages
        ):
            return False
        if self.file_key:
            if e.file_key != self.file_key:
                return False
        elif e.file_key and self.event_type == "section_view":
            # The pages of a PDF read inline are counted by rules that name its file; a
            # rule on a gate's sections does not count them as sections.
            return False
        if self.event_name and e.name != self.event_name:
            return False
        # A section's reports add up: its minimum applies to the sum (matches_read).
        return e.type == "section_view" or not (
            self.min_duration_ms is not None
            and (e.duration_ms is None or e.duration_ms < self.min_duration_ms)
        )

    def matches_read(self, r: ReadFact) -> bool:
        """A read section (or PDF page) that this `section_view` rule counts."""
        return (
            r.read
            and self.event_type == "section_view"
            and (self.gate_id is None or r.gate_id == self.gate_id)
            and (
                not self.section_key
                or r.section_key == self.section_key
                or r.section_key in self.pages
            )
            # A rule naming a file counts its pages; one without a file counts the gate's
            # sections, never a PDF's pages.
            and r.file_key == self.file_key
            and not self.event_name
            and (self.min_duration_ms is None or r.active_ms >= self.min_duration_ms)
        )

    def matches_profile(self, p: ProfileFact) -> bool:
        if self.event_type != PROFILE:
            return False
        if self.profile_condition == DISPOSABLE_EMAIL:
            return p.is_disposable_email
        if self.profile_condition == COMPANY_DOMAIN:
            return bool(p.company_domain)
        return False


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
    # received_at of the newest event that matched a rule: where "speed to lead" starts.
    last_counted_at: datetime | None


def age_seconds(now: datetime, at: datetime) -> float:
    """`date_part('epoch', now - at)` as PostgreSQL computes it: the interval is justified
    into whole days and microseconds, then `us / 1e6 + days * 86400` in float8. 0 for
    events from the future (clock skew): they do not decay."""
    us = (now - at) // _ONE_US
    if us <= 0:
        return 0.0
    days, rest = divmod(us, _DAY_US)
    return rest / 1e6 + days * 86400.0


def decay_factor(age_seconds: float, half_life_days: int) -> float:
    if half_life_days <= 0 or age_seconds <= 0:
        return 1.0
    return math.pow(0.5, age_seconds / (half_life_days * 86400.0))


def decayed_nanos(points: int, age_s: float, half_life_days: int) -> int:
    """One event's points after decay, in billionths of a point (round half to even)."""
    return round(points * decay_factor(age_s, half_life_days) * 1e9)


def round_half_up(nanos: int) -> int:
    """Billionths to whole points, half away from zero (integer arithmetic only)."""
    whole = (abs(nanos) + NANO // 2) // NANO
    return whole if nanos >= 0 else -whole


def grade_for(score: int, hot_trigger: bool, t: Thresholds) -> str:
    if hot_trigger or score >= t.hot:
        return HOT
    if score >= t.warm:
        return WARM
    return COLD


def _distinct_key(e: EventFact) -> tuple[object, ...]:
    # The same file of the same gate; a file key on two gates is two.
    return (e.type, e.gate_id, e.file_key)


def cap(total: int, max_points: int | None) -> int:
    """A rule's total (billionths) within +-|max_points| (towards zero for penalties)."""
    if max_points is None:
        return total
    bound = abs(max_points) * NANO
    return max(min(total, bound), -bound)


def dwell_text(ms: int) -> str:
    """Real time, as people say it: "40 s", "3 min 10 s", "1 h 5 min". Integer
    arithmetic only (whole seconds, truncated), so SQL can say the same."""
    seconds = ms // 1000
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if rest >= 60 else f"{hours} h"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _read_text(
    rule: RuleSpec,
    reads: list[ReadFact],
    gate_slugs: Mapping[int, str],
    gate_section_counts: Mapping[int, int],
) -> str:
    """ "read 4 of 6 sections of network-vbook, 3 min 10 s", "read 3 pages of
    network-map, 24 s" (a rule naming a file), "read chapter pricing of network-map, 12 s"
    (a rule naming a chapter of it)."""
    by_gate: dict[int | None, list[ReadFact]] = defaultdict(list)
    for r in reads:
        by_gate[r.gate_id].append(r)
    parts = []
    # Known gates by id, then reads whose gate was deleted.
    for gate_id in sorted(by_gate, key=lambda g: (g is None, g or 0)):
        of_gate = by_gate[gate_id]
        slug = gate_slugs.get(gate_id, "a deleted gate") if gate_id else "a deleted gate"
        total = gate_section_counts.get(gate_id, 0) if gate_id else 0
        # One read per (file, section): a rule's reads are all of its file, or all sections.
        n = len(of_gate)
        # The active time of what counts, re-reads included: real reading time.
        dwell = sum(r.active_ms for r in of_gate)
        if rule.pages:
            what = f"chapter {rule.section_key} of {rule.file_key}"
        elif rule.file_key:
            what = f"{_plural(n, 'page')} of {rule.file_key}"
        else:
            of = f" of {total}" if total else ""
            what = f"{n}{of} section{'s' if n != 1 else ''} of {slug}"
        parts.append(f"read {what}" + (f", {dwell_text(dwell)}" if dwell else ""))
    return "; ".join(parts)


def _reason_text(
    rule: RuleSpec,
    matched: list[EventFact],
    reads: list[ReadFact],
    profile: ProfileFact,
    gate_slugs: Mapping[int, str],
    gate_section_counts: Mapping[int, int],
) -> str:
    if rule.event_type == PROFILE:
        if rule.profile_condition == DISPOSABLE_EMAIL:
            return "uses a disposable email address"
        return f"company domain {profile.company_domain}"
    if rule.event_type == "download":
        return "downloaded " + ", ".join(sorted({e.file_key for e in matched}))
    if rule.event_type == "section_view":
        return _read_text(rule, reads, gate_slugs, gate_section_counts)
    if rule.event_type == "page_view":
        return f"viewed {_plural(len(matched), 'page')}"
    if rule.event_type == "form_view":
        return f"saw the form {_plural(len(matched), 'time')}"
    return f"{rule.event_name or 'custom event'} x{len(matched)}"


def reason_line(text: str, rule: RuleSpec, points: int) -> str:
    shown = round_half_up(points)
    suffix = " (makes hot)" if rule.makes_hot else ""
    return f"{text}{suffix} [{rule.name}: {'+' if shown >= 0 else ''}{shown}]"


def compute_score(
    events: Iterable[EventFact],
    rules: Iterable[RuleSpec],
    thresholds: Thresholds,
    now: datetime,
    gate_slugs: Mapping[int, str] | None = None,
    gate_section_counts: Mapping[int, int] | None = None,
    profile: ProfileFact | None = None,
    gate_reading: Mapping[int, GateReading] | None = None,
) -> ScoreResult:
    gate_slugs = gate_slugs or {}
    gate_section_counts = gate_section_counts or {}
    profile = profile or ProfileFact()
    events = unique_events(events)
    reads = reads_of(events, gate_reading)
    total = 0
    hot_trigger = False
    last_counted: datetime | None = None
    explained: list[tuple[bool, int, str]] = []
    for rule in rules:
        matched: list[EventFact] = []
        matched_reads: list[ReadFact] = []
        if rule.event_type == PROFILE:
            if not rule.matches_profile(profile):
                continue
            # A profile fact has no age: it does not decay.
            terms = [rule.points * NANO]
        elif rule.event_type == "section_view":
            # One term per section or page read (its newest report: the least decayed);
            # a chapter counts once, when any of its pages was read (its newest report).
            matched_reads = [r for r in reads if rule.matches_read(r)]
            if not matched_reads:
                continue
            newest_read: dict[tuple[object, ...], datetime] = {}
            for r in matched_reads:
                read_key: tuple[object, ...] = (
                    (r.gate_id, rule.section_key)
                    if rule.pages
                    else (r.gate_id, r.file_key, r.section_key)
                )
                if read_key not in newest_read or r.occurred_at > newest_read[read_key]:
                    newest_read[read_key] = r.occurred_at
            terms = [
                decayed_nanos(rule.points, age_seconds(now, at), thresholds.half_life_days)
                for at in newest_read.values()
            ]
            seen = max(r.received_at for r in matched_reads)
            last_counted = seen if last_counted is None else max(last_counted, seen)
        else:
            matched = [e for e in events if rule.matches(e)]
            if not matched:
                continue
            newest: dict[tuple[object, ...], datetime] = {}
            for i, e in enumerate(matched):
                key = _distinct_key(e) if e.type in DISTINCT_TYPES else (i,)
                # Only the newest occurrence counts: the least decayed, whatever the order.
                if key not in newest or e.occurred_at > newest[key]:
                    newest[key] = e.occurred_at
            terms = [
                decayed_nanos(rule.points, age_seconds(now, at), thresholds.half_life_days)
                for at in newest.values()
            ]
            seen = max(e.received_at for e in matched)
            last_counted = seen if last_counted is None else max(last_counted, seen)
        points = cap(sum(terms), rule.max_points)
        total += points
        hot_trigger = hot_trigger or rule.makes_hot
        text = _reason_text(rule, matched, matched_reads, profile, gate_slugs, gate_section_counts)
        explained.append((rule.makes_hot, points, reason_line(text, rule, points)))
    score = round_half_up(total)
    grade = grade_for(score, hot_trigger, thresholds)
    # Hot triggers first, then the biggest contributions: what sales should read first.
    explained.sort(key=lambda r: (not r[0], -abs(r[1]), r[2]))
    return ScoreResult(
        score=score,
        grade=grade,
        reasons=[text for _, _, text in explained],
        last_counted_at=last_counted,
    )
