"""Full rescore benchmark: 100,000 leads with 1,000,000 events, re-graded set-based in SQL.

Generates the data in its own database (`<DATABASE_URL's name>_scoring`, created and
migrated if missing, its tables emptied on every run) with `INSERT ... SELECT
generate_series` (not the ORM), then times:
- the full rescore (`leads_rescore`: per database session, one scoring statement over its
  range of leads, then chunked `UPDATE ... FROM` with the grade changes written in the
  same statements): the first scoring of the generated leads, again with nothing to
  change, after a rule edit (the goal's measure: under 5 s), and the same kind of edit on
  a single session;
- the baseline: the per-lead ORM loop (`lead_score` for each lead) over a sample of leads,
  measured in the same run and extrapolated to all leads;
- a what-if preview (nothing written), against its previous way (both rule sets scored
  in full) in the same run;
- the rescore after the same rule edit at ten times the leads and events (1,000,000 and
  10,000,000), regenerated in the same database and emptied after the timing, for how
  its time grows (the goal: no worse than linear); then both sizes again on a private
  server of the same PostgreSQL version whose buffer pool holds the larger data
  (bench/_private_postgres.py), which tells the rescore's own growth from the machine's
  buffer pool's. Rule edits are timed three times per size: the median.

    ./scripts/bench.sh scoring            # full size
    ./scripts/bench.sh scoring --quick    # 5,000 leads, 50,000 events (and 50,000 / 500,000)
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from bench._scoring_data import scoring_data_generate
from bench.common import setup_django, use_own_database

LEADS_FULL = 100_000
LEADS_QUICK = 5_000
# The rescore is also timed at this many times the leads and events, for its growth.
GROWTH = 10
SAMPLE_FULL, SAMPLE_QUICK = 1_000, 200
# Rule edits timed per size: the median.
EDITS = 3
# The buffer pool of the private server the growth is also measured on (at most a
# quarter of the machine's memory): it holds the million leads' tables and indexes.
ROOMY_BUFFERS_MB = 4096


# The reference point: a bare `UPDATE ... FROM` over a capped, decayed aggregate
# (no distinct sections, no reasons, no grade changes), rolled back.
_BARE = """
WITH agg AS (
    SELECT e.lead_id, e.type, sum(
        CASE e.type WHEN 'section_view' THEN 10 WHEN 'download' THEN 15
             WHEN 'page_view' THEN 2 ELSE -1 END
        * power(0.5::float8, greatest(date_part('epoch', now() - e.occurred_at), 0)
                / (30 * 86400.0))) AS pts
    FROM profiling_event e WHERE e.lead_id IS NOT NULL GROUP BY 1, 2)
UPDATE profiling_lead l SET score = t.score
FROM (SELECT lead_id, round(sum(greatest(least(pts, 60), -60)))::int AS score
      FROM agg GROUP BY 1) t
WHERE l.id = t.lead_id
"""


def _bare_update() -> None:
    from django.db import connection, transaction

    from profiling.services.scoring_sql import scoring_statement_settings

    with transaction.atomic(), connection.cursor() as c:
        scoring_statement_settings(c)
        c.execute(_BARE)
        transaction.set_rollback(True)


def _timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _blocks_read() -> int:
    """Blocks this database has read from outside PostgreSQL's buffer pool so far (the
    operating system's cache or the disk)."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT pg_stat_clear_snapshot()")
        c.execute("SELECT blks_read FROM pg_stat_database WHERE datname = current_database()")
        return int(c.fetchone()[0])


def _edits() -> dict[str, Any]:
    """The goal's measure, EDITS times: a marketer edits a rule (its points go 10 -> 12,
    back to 10, to 12 again) and every lead is re-graded. The median time (one run is at
    the mercy of a checkpoint or a busy neighbour), the last run's result, and the
    median of the blocks each run read from outside the buffer pool."""
    from profiling.models import ScoringRule
    from profiling.services.rescore import leads_rescore

    times, reads, result = [], [], None
    for i in range(EDITS):
        ScoringRule.objects.filter(name="Read sections").update(points=12 if i % 2 == 0 else 10)
        before = _blocks_read()
        elapsed, result = _timed(lambda: leads_rescore())
        times.append(elapsed)
        reads.append(_blocks_read() - before)
    return {"edit_s": statistics.median(times), "edit": result, "reads": statistics.median(reads)}


def _rule_edit_rescore() -> dict[str, Any]:
    """As the timings at the base size run them: the generated leads' first scoring, a
    rescore with nothing to change (timed), then the rule edits (timed; the rule put back
    afterwards)."""
    from profiling.models import ScoringRule
    from profiling.services.rescore import leads_rescore

    leads_rescore()
    idle_s, _ = _timed(lambda: leads_rescore())
    edits = _edits()
    ScoringRule.objects.filter(name="Read sections").update(points=10)
    return {"idle_s": idle_s, **edits}


def _event_size() -> str:
    """The events table's size: its partitions' (a partitioned table has no storage)."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits"
            " WHERE inhparent = 'profiling_event'::regclass"
        )
        return str(c.fetchone()[0] or "0 bytes")


def _growth(n_leads: int, idle_s: float, edit_s: float) -> dict[str, Any]:
    """The rescore after a rule edit at ten times the leads and events, in the same run
    (the same database, regenerated; emptied afterwards: several GB at full size)."""
    from django.db import connection

    big = n_leads * GROWTH
    data = scoring_data_generate(big)
    event_size = _event_size()
    try:
        measured = _rule_edit_rescore()
    finally:
        with connection.cursor() as c:
            c.execute(
                "TRUNCATE profiling_event, profiling_visitor, profiling_gradechange, "
                "profiling_delivery, profiling_lead CASCADE"
            )
    return {
        **data,
        **measured,
        "event_size": event_size,
        "growth": measured["edit_s"] / edit_s,
        "idle_growth": measured["idle_s"] / idle_s,
    }


def _server_setting(name: str) -> str:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT current_setting(%s)", [name])
        return str(c.fetchone()[0])


def _growth_with_room(n_leads: int) -> dict[str, Any]:
    """The same growth on a private server of the same PostgreSQL version whose buffer
    pool holds the larger data (the machine's own keeps its settings; docs/deploy.md
    sizes shared_buffers so): both sizes generated and timed there, in this run. Tells
    what the rescore's work grows by from what the machine's buffer pool adds."""
    from django.db import connection

    from bench._private_postgres import PrivatePostgresUnavailable, private_postgres

    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    buffers_mb = min(ROOMY_BUFFERS_MB, ram // 4 // 2**20)
    major = int(_server_setting("server_version_num")) // 10000
    settings_dict = connection.settings_dict
    saved = {k: settings_dict.get(k) for k in ("HOST", "PORT", "USER", "PASSWORD", "NAME")}
    try:
        with private_postgres(
            major=major,
            settings={
                "shared_buffers": f"'{buffers_mb}MB'",
                # A checkpoint in the middle of a rescore (forced by the WAL's volume or
                # due by time) makes the next change of every page log the whole page.
                "max_wal_size": "'8GB'",
                "checkpoint_timeout": "'30min'",
                # As on the machine's server: only the buffer pool and the WAL differ.
                "autovacuum": _server_setting("autovacuum"),
            },
        ) as server:
            connection.close()
            settings_dict.update(server, NAME=saved["NAME"])
            database = use_own_database("scoring")
            scoring_data_generate(n_leads)
            small = _rule_edit_rescore()
            scoring_data_generate(n_leads * GROWTH)
            big = _rule_edit_rescore()
            connection.close()
    except PrivatePostgresUnavailable as exc:
        return {"skipped": str(exc)}
    finally:
        connection.close()
        settings_dict.update(saved)
    return {
        "database": database,
        "major": major,
        "buffers_mb": buffers_mb,
        "small": small,
        "big": big,
        "growth": big["edit_s"] / small["edit_s"],
    }


def run(quick: bool) -> str:
    setup_django()
    database = use_own_database("scoring")
    from django.conf import settings
    from django.db.models import Count
    from django.utils import timezone

    from profiling.models import GradeChange, Lead, ScoringRule
    from profiling.services.rescore import leads_rescore
    from profiling.services.scoring import lead_score, rules_load, thresholds_load
    from profiling.services.whatif import Comparison, _what_if_separate, scoring_what_if

    n_leads = LEADS_QUICK if quick else LEADS_FULL
    sample_n = SAMPLE_QUICK if quick else SAMPLE_FULL
    data = scoring_data_generate(n_leads)

    bare_s, _ = _timed(_bare_update)
    # 1. The first scoring of the generated leads: every lead goes from 0/cold and empty
    #    reasons to its score (every row is rewritten and grows).
    first_s, first = _timed(lambda: leads_rescore())
    grades = dict(Lead.objects.values_list("grade").order_by().annotate(n=Count("id")))
    # 2. Nothing changed since: the same statements, no row written.
    idle_s, idle = _timed(lambda: leads_rescore())
    # 3. The operation the goal is about: a marketer edits a rule, every lead is re-graded
    #    (the median of EDITS edits).
    edits = _edits()
    edit_s, edit = edits["edit_s"], edits["edit"]
    # 4. The same kind of edit on one database session, for the parallel sessions' gain.
    ScoringRule.objects.filter(name="Read sections").update(points=10)
    single_s, single = _timed(lambda: leads_rescore(sessions=1))
    # 5. What-if: a draft that doubles the pricing download points; the shared scoring
    #    (what scoring_what_if runs) against both rule sets scored in full, side by side
    #    (what it ran before, and still runs for a draft with another half-life).
    active = rules_load()
    draft = [r if r.name != "Pricing" else type(r)(**{**r.__dict__, "points": 30}) for r in active]
    whatif_s, whatif = _timed(lambda: scoring_what_if(rules=draft, sample_size=20))
    now = timezone.now()
    t = thresholds_load()
    separate_s, separate = _timed(
        lambda: _what_if_separate(Comparison(draft, t, active, t, now, 20))
    )
    whatif_same = (
        "the same counts"
        if (separate.transitions == whatif.transitions and separate.leads == whatif.leads)
        else "DIFFERENT counts"
    )
    whatif_goal = "met" if whatif_s < 3.0 and whatif_s <= edit_s else "NOT met"

    # Baseline: the per-lead ORM loop on a sample, extrapolated to every lead.
    ScoringRule.objects.filter(name="Read sections").update(points=11)
    sample = list(Lead.objects.order_by("id").values_list("id", flat=True)[:sample_n])
    loop_s, _ = _timed(lambda: [lead_score(lead_id=lead_id, push=False) for lead_id in sample])
    per_lead_ms = loop_s / len(sample) * 1000
    loop_all_s = loop_s / len(sample) * n_leads
    ratio = loop_all_s / edit_s
    goal = "met" if edit_s < 5.0 else "NOT met"
    first_goal = "also under 5 s" if first_s < 5.0 else "over 5 s"
    sessions = settings.LEADGATE_RESCORE_SESSIONS
    changes = GradeChange.objects.count()
    event_size = _event_size()
    load_mid = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    # 6. Ten times the data: the rescore after the same rule edit, for its growth.
    ScoringRule.objects.filter(name="Read sections").update(points=10)
    big = _growth(n_leads, idle_s, edit_s)
    linear = "no worse than linear" if big["growth"] <= GROWTH * 1.1 else "WORSE than linear"
    buffers = _server_setting("shared_buffers")
    # 7. The same growth on a server whose buffer pool holds the larger data.
    roomy = _growth_with_room(n_leads)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    if "skipped" in roomy:
        roomy_row = (
            f"| the same growth on a private server whose buffer pool holds the data | "
            f"not measured | {roomy['skipped']} |"
        )
        roomy_text = ""
    else:
        small, large = roomy["small"], roomy["big"]
        roomy_linear = (
            "no worse than linear" if roomy["growth"] <= GROWTH * 1.1 else "WORSE than linear"
        )
        roomy_row = (
            f"| **the same growth on a private PostgreSQL {roomy['major']} whose buffer pool"
            f" holds the data** (shared_buffers {roomy['buffers_mb']:,} MB, max_wal_size 8 GB,"
            f" checkpoint_timeout 30 min;"
            f" both sizes generated there) | **{small['edit_s']:.2f} s -> {large['edit_s']:.2f} s**"
            f" | {roomy['growth']:.1f}x the time for {GROWTH}x the data: **{roomy_linear}**;"
            f" blocks read from outside the pool {small['reads']:,.0f} -> {large['reads']:,.0f} |"
        )
        roomy_text = f"""
On the machine's server (shared_buffers {buffers}) the {n_leads:,} leads' tables and
indexes fit in the buffer pool and the {big["leads"]:,} leads' do not: the rule edit read
{edits["reads"]:,.0f} blocks from outside the pool at {n_leads:,} leads and
{big["reads"]:,.0f} at {big["leads"]:,} ({big["reads"] / max(edits["reads"], 1):.0f}x for
{GROWTH}x the data), each through the operating system, many of them written back and read
again. On a private server of the same version whose pool holds the larger data (started
by the benchmark, database `{roomy["database"]}`, deleted afterwards), the same edits take
{roomy["growth"]:.1f}x for {GROWTH}x the data ({roomy_linear}), against {big["growth"]:.1f}x
on the machine's server. docs/deploy.md sizes shared_buffers to hold the lead and event
tables for that reason."""
    return f"""## Scoring: full rescore (`bench/scoring.py`)

{data["leads"]:,} leads with {data["events"]:,} events (events table {event_size}, loaded in
{data["load_s"]:.1f} s with `INSERT ... SELECT generate_series`), 7 active rules (section
reads with a cap and a minimum dwell, a makes-hot download, page and form views, a negative
capped rule, two profile rules), decay with a 30-day half-life, events spread over 120 days.
Database `{database}`, emptied and regenerated on every run{" (quick run)" if quick else ""}.

| what | time | notes |
|---|---:|---|
| reference: bare `UPDATE ... FROM` over a capped, decayed aggregate (rolled back) | {bare_s:.2f} s | no distinct sections, reasons or grade changes; one session |
| **full rescore after a rule edit** ({sessions} sessions, chunks of 25,000 leads; the median of {EDITS}) | **{edit_s:.2f} s** | {edit.updated:,} leads written, {edit.grade_changes:,} grade changes; goal < 5 s: **{goal}** |
| same kind of edit, one session | {single_s:.2f} s | {single.updated:,} leads written, {single.grade_changes:,} grade changes |
| first scoring of the never-scored generated leads ({sessions} sessions) | {first_s:.2f} s | {first.updated:,} leads written, {first.grade_changes:,} grade changes; {first_goal} |
| rescore with nothing to change | {idle_s:.2f} s | {idle.updated:,} rows written |
| **what-if** (draft rule set vs active, nothing written): the rules both share scored once, the sample's reasons after | **{whatif_s:.2f} s** | {whatif.would_change:,} leads would change grade; goal < 3 s and no slower than the rescore after a rule edit: **{whatif_goal}** |
| what-if, both rule sets scored in full side by side (the previous way; still used for a draft with another half-life) | {separate_s:.2f} s | {separate.would_change:,} leads would change grade ({whatif_same}) |
| **full rescore after the same rule edit at {big["leads"]:,} leads, {big["events"]:,} events** ({sessions} sessions; the machine's server, shared_buffers {buffers}) | **{big["edit_s"]:.2f} s** | {big["edit"].updated:,} leads written, {big["edit"].grade_changes:,} grade changes; {big["growth"]:.1f}x the time for {GROWTH}x the data: **{linear}** |
{roomy_row}
| baseline: per-lead ORM loop (`lead_score`), sample of {len(sample):,} leads | {loop_s:.2f} s | {per_lead_ms:.2f} ms per lead |
| baseline extrapolated to {n_leads:,} leads | {loop_all_s:.1f} s | |

**Rescore after a rule edit vs per-lead loop: {ratio:.0f}x faster**; it costs
{edit_s / bare_s:.1f}x the bare reference `UPDATE` measured in the same run, and the
{sessions} parallel sessions make it {single_s / edit_s:.1f}x faster than one. The what-if takes
{whatif_s / separate_s:.2f}x the time of scoring both rule sets in full and {whatif_s / edit_s:.2f}x
the rescore's. At {big["leads"]:,} leads and {big["events"]:,} events (events table
{big["event_size"]}, loaded in {big["load_s"]:.1f} s, emptied after the timing) the rescore
after the rule edit takes {big["growth"]:.1f}x its time at {n_leads:,}; the rescore with
nothing to change (the scoring statements alone, nearly) {big["idle_s"]:.2f} s, {big["idle_growth"]:.1f}x. Grades after the first
scoring: {", ".join(f"{k} {v:,}" for k, v in sorted(grades.items()))}; {changes:,} grade
changes in total.
{roomy_text}

How: each session scores its range of lead ids in one statement (one pass over the
events) per slice of at most 100,000 leads (so that its sorts and hashes stay in memory as
the leads grow), then writes a chunk of leads per transaction, in the order of the leads'
rows on disk (a chunk of random ids would touch every page of the table), locking,
reading and writing each lead's row at its address (where the scoring saw it; through
the primary key only if a write moved it since), not through the primary key, whose
depth grows with the leads; lead pages keep half their room
free (fillfactor 50) so a re-graded lead is a heap-only (HOT) update that touches no index
unless its grade changed. The first scoring is slower because every row grows (empty
reasons become text) and moves, so each one is re-indexed, trigram indexes included; after
that, rows keep their size. The what-if scores the union of both rule sets in one statement
per session: a lead's score is the sum of its lines, one per rule, and a rule the draft
keeps gives the same line on both sides; it builds no reasons' texts but for its sample.
Load average {load_mid} after the {n_leads:,}-lead timings, {load} at the end; absolute times vary with the
machine, the ratios are measured in the same run."""
