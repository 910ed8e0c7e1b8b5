"""Rescore runs: the active rules' rescore, its progress for the API and the admin (the
Celery task and the management command run it), the periodic decay re-grade, and the
per-lead reference path."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone

from profiling.models import Lead
from profiling.services.rescore.set_based import (
    DEFAULT_CHUNK,
    Progress,
    RescoreResult,
    leads_rescore_sql,
)


def leads_rescore_python(
    *, push: bool = False, progress: Progress | None = None, batch_size: int = 500
) -> RescoreResult:
    """The reference path: the engine per lead, one lead per transaction."""
    from profiling.services.scoring import lead_score

    total = Lead.objects.filter(erased_at__isnull=True).count()
    leads = changes = pushed = 0
    last: uuid.UUID | None = None
    if progress:
        progress(0, total)
    while True:
        page = Lead.objects.filter(erased_at__isnull=True).order_by("id")
        if last is not None:
            page = page.filter(id__gt=last)
        ids = list(page.values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        for lead_id in ids:
            change = lead_score(lead_id=lead_id, push=push)
            if change is not None:
                changes += 1
                pushed += change.deliveries.count() if push else 0
        leads += len(ids)
        last = ids[-1]
        if progress:
            progress(min(leads, total), total)
    return RescoreResult(leads=leads, updated=leads, grade_changes=changes, pushed=pushed)


def leads_rescore(
    *,
    push: bool = False,
    progress: Progress | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    now: datetime | None = None,
    sessions: int | None = None,
) -> RescoreResult:
    """Re-grade every lead with the active rules and settings, set-based.

    push=False (after a marketer's rule edit, unless they ask) records grade changes
    without CRM deliveries; push=True delivers them to subscribed endpoints.
    """
    from profiling.services.scoring import rules_load, thresholds_load

    return leads_rescore_sql(
        rules=rules_load(),
        thresholds=thresholds_load(),
        now=now,
        push=push,
        chunk_size=chunk_size,
        progress=progress,
        sessions=sessions,
    )


# --- runs with progress (the Celery task, the management command, the API) -------------

PROGRESS_KEY = "leadgate:rescore:progress"
PROGRESS_TTL_S = 7 * 24 * 3600


def rescore_status() -> dict[str, Any] | None:
    """The latest full rescore: {state, done, total, push, reason, started_at, ...}."""
    from django.core.cache import cache

    status: dict[str, Any] | None = cache.get(PROGRESS_KEY)
    return status


def rescore_run(
    *, push: bool = False, reason: str = "rules", progress: Progress | None = None
) -> RescoreResult:
    """A full rescore that publishes its progress (cache) for the API and admin."""
    from django.core.cache import cache

    started = timezone.now().isoformat()
    state: dict[str, Any] = {
        "state": "running",
        "reason": reason,
        "push": push,
        "done": 0,
        "total": 0,
        "started_at": started,
        "finished_at": None,
    }

    def report(done: int, total: int) -> None:
        state.update(done=done, total=total)
        cache.set(PROGRESS_KEY, dict(state), PROGRESS_TTL_S)
        if progress:
            progress(done, total)

    try:
        result = leads_rescore(push=push, progress=report)
    except Exception:
        state.update(state="failed", finished_at=timezone.now().isoformat())
        cache.set(PROGRESS_KEY, dict(state), PROGRESS_TTL_S)
        raise
    state.update(
        state="finished",
        finished_at=timezone.now().isoformat(),
        updated=result.updated,
        grade_changes=result.grade_changes,
        pushed=result.pushed,
    )
    cache.set(PROGRESS_KEY, dict(state), PROGRESS_TTL_S)
    return result


def leads_regrade_decayed() -> RescoreResult | None:
    """Beat's periodic decay re-grade: scores cool down with time, so re-grade and push
    the grade changes (drops included) to the endpoints subscribed to the new grade.

    Only rows whose score, grade or reasons moved are written. Nothing to do without a
    half-life: then scores cannot change with time alone.
    """
    from profiling.services.scoring import thresholds_load

    if thresholds_load().half_life_days <= 0:
        return None
    return rescore_run(push=True, reason="decay")
