"""The configuration rows the public endpoints read on every request, cached per process.

Gates (their section and file keys and allowed origins: the events beacon and its CORS
check, Segment ingest), Segment sources by write key, and the makes-hot rules (score
triggers). The mechanism, and why it cannot lie for long, is config/stamped_cache.py:
a write to any of these models, in any process, drops the entries of every process once
it commits (the receivers are connected in ProfilingConfig.ready()); a caller about to
refuse something because of a cached row asks again with `fresh_since`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef
from django.db.models.signals import m2m_changed, post_delete, post_save

from config.stamped_cache import StampedCache, caches_invalidate
from forms_app.models import Gate, GateFile, Section
from profiling.models import ScoringRule, Source
from profiling.scoring_engine import RuleSpec

# Only for writes that fire no signal (a raw UPDATE, QuerySet.update): every other write
# drops the entries of every process when it commits.
CACHE_TTL_S = 60.0


@dataclass(frozen=True)
class GateKeys:
    id: int
    slug: str
    allowed_origins: tuple[str, ...]
    sections: frozenset[str]
    files: frozenset[str]
    # Files read inline, with their page count: "p1".."p<count>" are their sections.
    inline_pages: tuple[tuple[str, int], ...] = ()

    def has_section(self, section: str, file_key: str) -> bool:
        """A section of the gate, or a page ("p3") of the inline file `file_key`."""
        if section in self.sections:
            return True
        if not file_key or len(section) < 2 or section[0] != "p" or not section[1:].isdigit():
            return False
        if section[1] == "0":
            return False
        return any(key == file_key and int(section[1:]) <= n for key, n in self.inline_pages)


@dataclass(frozen=True)
class SourceInfo:
    id: int
    write_key: str
    all_gates: bool
    gate_ids: frozenset[int]


def _gate_keys_query(slugs: set[str]) -> dict[str, GateKeys]:
    """Active gates by slug with their section and file keys: one query."""
    rows = (
        Gate.objects.filter(slug__in=slugs, is_active=True)
        .annotate(
            section_keys=ArraySubquery(Section.objects.filter(gate=OuterRef("pk")).values("key")),
            file_keys=ArraySubquery(GateFile.objects.filter(gate=OuterRef("pk")).values("key")),
            inline_keys=ArraySubquery(
                GateFile.objects.filter(
                    gate=OuterRef("pk"), read_inline=True, pdf_page_count__gt=0
                ).values("key")
            ),
            inline_counts=ArraySubquery(
                GateFile.objects.filter(
                    gate=OuterRef("pk"), read_inline=True, pdf_page_count__gt=0
                ).values("pdf_page_count")
            ),
        )
        .values_list(
            "id",
            "slug",
            "allowed_origins",
            "section_keys",
            "file_keys",
            "inline_keys",
            "inline_counts",
        )
    )
    return {
        slug: GateKeys(
            id=gate_id,
            slug=slug,
            allowed_origins=tuple(origins or ()),
            sections=frozenset(sections),
            files=frozenset(files),
            inline_pages=tuple(zip(inline_keys, inline_counts, strict=True)),
        )
        for gate_id, slug, origins, sections, files, inline_keys, inline_counts in rows
    }


def _sources_query(write_keys: set[str]) -> dict[str, SourceInfo]:
    """Active sources by write key with the ids of the gates they may send for: one query."""
    through = Source.gates.through
    rows = (
        Source.objects.filter(write_key__in=write_keys, is_active=True)
        .annotate(
            gate_id_list=ArraySubquery(
                through.objects.filter(source_id=OuterRef("pk")).values("gate_id")
            )
        )
        .values_list("id", "write_key", "all_gates", "gate_id_list")
    )
    return {
        key: SourceInfo(id=source_id, write_key=key, all_gates=all_gates, gate_ids=frozenset(ids))
        for source_id, key, all_gates, ids in rows
    }


HOT_RULES = "makes_hot"


def _hot_rules_query(_: set[str]) -> dict[str, tuple[RuleSpec, ...]]:
    from profiling.services.scoring import rule_spec  # services build on this module

    rules = ScoringRule.objects.filter(is_active=True, makes_hot=True).order_by("id")
    return {HOT_RULES: tuple(rule_spec(r) for r in rules)}


gate_keys_cache: StampedCache[GateKeys] = StampedCache(load=_gate_keys_query, ttl_s=CACHE_TTL_S)
source_cache: StampedCache[SourceInfo] = StampedCache(load=_sources_query, ttl_s=CACHE_TTL_S)
hot_rules_cache: StampedCache[tuple[RuleSpec, ...]] = StampedCache(
    load=_hot_rules_query, ttl_s=CACHE_TTL_S
)


def cache_clock() -> float:
    """The moment, in the caches' clock, to pass as `fresh_since`: a request that starts
    its lookups now sees every write committed before it."""
    return gate_keys_cache.clock()


def since_received(received: datetime) -> float:
    """`received` (a request's arrival, wall clock) in the caches' clock."""
    return cache_clock() - max(0.0, time.time() - received.timestamp())


def source_lookup(write_key: str) -> SourceInfo | None:
    """The active source with this write key, as cached; an unknown key is read again from
    the database before it is refused, so a source made a moment ago in another process is
    known at once (the SDKs never retry a 4xx)."""
    since = cache_clock()
    source = source_cache.get(write_key)
    if source is None:
        source = source_cache.get(write_key, fresh_since=since)
    return source


def hot_rules() -> tuple[RuleSpec, ...]:
    """The active makes-hot rules as cached."""
    return hot_rules_cache.get(HOT_RULES) or ()


def hot_rules_if_changed(
    used: tuple[RuleSpec, ...], *, received: datetime
) -> tuple[RuleSpec, ...] | None:
    """For a batch that the makes-hot rules `used` (from hot_rules()) did not all make hot:
    the rules again if they changed since (the shared stamp is read unless that was done
    since `received`), else None. A rule made a moment ago anywhere triggers at once."""
    rules = hot_rules_cache.get(HOT_RULES, checked_since=since_received(received)) or ()
    return None if rules is used or rules == used else rules


def invalidation_connect() -> None:
    """Drop the caches of every process when a cached model is written (from
    ProfilingConfig.ready())."""
    for model in (Gate, Section, GateFile, Source, ScoringRule):
        label = model._meta.label_lower
        post_save.connect(caches_invalidate, sender=model, dispatch_uid=f"caches-save-{label}")
        post_delete.connect(caches_invalidate, sender=model, dispatch_uid=f"caches-del-{label}")
    m2m_changed.connect(
        caches_invalidate, sender=Source.gates.through, dispatch_uid="caches-source-gates"
    )
