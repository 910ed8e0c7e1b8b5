"""Keep the dashboard's daily rollups (profiling/models/rollups.py).

A beat task (profiling.tasks.rollups_fold, every minute) folds the days that changed
since its last run, today up to the moment it runs, recomputing each such day whole from
the source rows, so a fold is idempotent and can be re-run harmlessly (one at a time:
an advisory lock). Nothing is added to the event ingest path or to scoring: the fold
finds what changed by time, on indexes:

- today (up to now) and the day of its previous run, always;
- events: an event lands at most MAX_EVENT_AGE before it is received (ingest clamps it),
  so the gate counts of the last MAX_EVENT_AGE days are recounted on the
  (gate, type, occurred_at) index;
- submissions and leads are stamped when made: only today (or a day that has just ended)
  gains any;
- grade changes to warm or hot since the last run (gradechange_created index): the days
  their leads were created on (a cooling cannot lower "best grade reached");
- erasures and merges mark the days they change (RollupDirtyDay) in their transaction.

The dashboard reads the rollups up to the last fold and the rows since then live (a
minute's worth), so new leads show at once; a change to an already-folded day (a grade
change, a late event) shows within a fold period, a minute. Until the first fold (after
an upgrade, the first beat folds all history by itself; or `manage.py rollups
--rebuild`) the dashboard reads everything live, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count, F, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from forms_app.models import Gate, Submission  # the catalog layer: models only
from profiling.models import (
    DailyGateStats,
    DailyLeadStats,
    DailyTimingStats,
    Event,
    GradeChange,
    Lead,
    RollupDirtyDay,
    RollupState,
)
from profiling.models.rollups import STATE_KEY
from profiling.selectors.cohort import (
    TIMING_GRADES,
    first_reach_seconds,
    lead_day_groups,
    timing_bucket,
)
from profiling.services.ingest.parse import MAX_EVENT_AGE

# A write is stamped when it starts and seen when it commits: changes stamped up to this
# long before the previous run are looked at again (refolding a day is idempotent).
FOLD_OVERLAP = timedelta(minutes=15)
# One fold at a time (pg_try_advisory_xact_lock); the number only has to be unique here.
FOLD_LOCK = 0x726F6C6C


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _days(first: date, end: date) -> set[date]:
    """The days in [first, end)."""
    return {first + timedelta(days=i) for i in range(max(0, (end - first).days))}


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as contiguous [first, last] runs, one query per run."""
    out: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if out and out[-1][1] + timedelta(days=1) == day:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def _span(first: date, last: date, cutoff: datetime) -> tuple[datetime, datetime]:
    """Days [first, last] as times, the last one ending at the fold's cutoff (today)."""
    return _day_start(first), min(_day_start(last + timedelta(days=1)), cutoff)


def _fold_leads(days: Iterable[date], cutoff: datetime) -> None:
    for first, last in _runs(days):
        DailyLeadStats.objects.filter(day__gte=first, day__lte=last).delete()
        since, until = _span(first, last, cutoff)
        rows = lead_day_groups(since=since, until=until)
        DailyLeadStats.objects.bulk_create(
            [
                DailyLeadStats(
                    day=r["day"],
                    gate_id=r["gate"],
                    src=r["src"],
                    med=r["med"],
                    host=r["host"],
                    campaign=r["campaign"],
                    reached=r["reached"],
                    leads=r["n"],
                )
                for r in rows
            ],
            batch_size=2000,
        )


def _fold_timing(days: Iterable[date], cutoff: datetime) -> None:
    for first, last in _runs(days):
        counts: dict[tuple[date, int, str, int], int] = {}
        since, until = _span(first, last, cutoff)
        for grade, grades in TIMING_GRADES:
            for day, gate_id, seconds in first_reach_seconds(
                since=since, until=until, grades=grades
            ):
                key = (day, gate_id, grade, timing_bucket(seconds))
                counts[key] = counts.get(key, 0) + 1
        DailyTimingStats.objects.filter(day__gte=first, day__lte=last).delete()
        DailyTimingStats.objects.bulk_create(
            [
                DailyTimingStats(day=d, gate_id=g, grade=grade, bucket=b, leads=n)
                for (d, g, grade, b), n in counts.items()
            ],
            batch_size=2000,
        )


def _gate_row(
    counts: dict[tuple[date, int], DailyGateStats], day: date, gate_id: int
) -> DailyGateStats:
    return counts.setdefault((day, gate_id), DailyGateStats(day=day, gate_id=gate_id))


def _fold_gates(days: Iterable[date], cutoff: datetime) -> None:
    # Naming the gates lets PostgreSQL use the (gate, type, occurred_at) index: one range
    # scan per gate and type (there is no index on occurred_at alone). Events of a
    # deleted gate have lost their gate and count nowhere, as on the live dashboard.
    gate_ids = list(Gate.objects.values_list("id", flat=True))
    for first, last in _runs(days):
        since, until = _span(first, last, cutoff)
        counts: dict[tuple[date, int], DailyGateStats] = {}

        events = (
            Event.objects.filter(
                gate_id__in=gate_ids,
                type__in=("page_view", "form_view"),
                occurred_at__gte=since,
                occurred_at__lt=until,
            )
            .annotate(day=TruncDate("occurred_at"))
            .values("day", "gate_id")
            .annotate(
                pages=Count("id", filter=Q(type="page_view")),
                forms=Count("id", filter=Q(type="form_view")),
            )
            .order_by()
        )
        for e in events:
            r = _gate_row(counts, e["day"], e["gate_id"])
            r.page_views, r.form_views = e["pages"], e["forms"]
        subs = (
            Submission.objects.filter(created_at__gte=since, created_at__lt=until)
            .annotate(day=TruncDate("created_at"))
            .values("day", "gate_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        for s in subs:
            _gate_row(counts, s["day"], s["gate_id"]).submissions = s["n"]
        DailyGateStats.objects.filter(day__gte=first, day__lte=last).delete()
        DailyGateStats.objects.bulk_create(list(counts.values()), batch_size=2000)


def _first_day() -> date | None:
    """The earliest day anything the rollups count happened (a full rebuild's start)."""
    found = [
        Lead.objects.aggregate(m=Min("created_at"))["m"],
        Submission.objects.aggregate(m=Min("created_at"))["m"],
    ]
    for gate_id in Gate.objects.values_list("id", flat=True):  # the gate index, per gate
        found.append(Event.objects.filter(gate_id=gate_id).aggregate(m=Min("occurred_at"))["m"])
    times = [t for t in found if t is not None]
    return timezone.localdate(min(times)) if times else None


def _locked() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK])
        return bool(cursor.fetchone()[0])


def rollups_fold(*, now: datetime | None = None) -> int:
    """Fold the days that changed since the last run, today up to `now`; returns how
    many days were (re)computed. The first run (no state yet) folds all history."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    end = today + timedelta(days=1)
    with transaction.atomic():
        if not _locked():
            return 0  # another fold is running; the next beat catches up
        state = RollupState.objects.select_for_update().filter(key=STATE_KEY).first()
        marks = list(RollupDirtyDay.objects.values_list("id", "day"))
        if state is None:
            first = _first_day() or today
            lead_days = gate_days = _days(first, end)
        else:
            since = state.folded_at - FOLD_OVERLAP
            lead_days = _days(timezone.localdate(since), end)
            gate_days = _days(timezone.localdate(since - MAX_EVENT_AGE), end)
            changed = (
                GradeChange.objects.filter(created_at__gte=since, grade__in=("warm", "hot"))
                .annotate(day=TruncDate(F("lead__created_at")))
                .values_list("day", flat=True)
                .distinct()
            )
            lead_days |= {d for d in changed if d <= today}
        marked = {d for _, d in marks if d <= today}
        _fold_leads(lead_days | marked, now)
        _fold_timing(lead_days | marked, now)
        _fold_gates(gate_days | marked, now)
        RollupDirtyDay.objects.filter(id__in=[i for i, _ in marks]).delete()
        RollupState.objects.update_or_create(key=STATE_KEY, defaults={"folded_at": now})
        return len(lead_days | gate_days | marked)


def rollups_rebuild(*, now: datetime | None = None) -> int:
    """Drop the rollups and fold all history again (after restoring a backup, loading
    data with SQL, or to check them); returns how many days were computed."""
    with transaction.atomic():
        RollupState.objects.filter(key=STATE_KEY).delete()
        DailyLeadStats.objects.all().delete()
        DailyGateStats.objects.all().delete()
        DailyTimingStats.objects.all().delete()
        return rollups_fold(now=now)


def rollup_days_mark(*, days: Iterable[date]) -> None:
    """Mark past days for the next fold, in the caller's transaction: for writes the fold
    cannot find by time (erasing or merging leads changes the days they were created)."""
    RollupDirtyDay.objects.bulk_create([RollupDirtyDay(day=d) for d in set(days)])
