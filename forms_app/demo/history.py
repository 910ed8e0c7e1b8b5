"""Sixty days of history for the demo, so the dashboard, the content analytics and the
lead list show what they are for on the first visit.

What is made up: the visits (about two thousand anonymous visitors from search, ads, the
newsletter, LinkedIn, X, Facebook, a partner's site and direct traffic, with a weekday
rhythm, newsletter days and a LinkedIn campaign), what each visitor did (page and form
views, sections read with the tracker's repeated heartbeats, downloads of the map), who
submitted the form, and how the CRM answered. Everything else is leadgate's own doing:
each lead is scored by the real scoring service (profiling.services.scoring.lead_score)
at every moment its events arrived, so scores, grades, reasons and grade changes are
what leadgate computes from those events, and the deliveries of each grade change are
created by the real outbox (deliveries_create_for_change), then settled with a made-up
but consistent CRM answer (no request is sent).

The visits are planned in visits.py, the CRM's answers in crm.py. Deterministic: a
fixed random seed and times relative to `now`, so tests can rely on its shape (not on
its ids: fresh UUIDs never collide with rows already there). Written in bulk (one INSERT
per few thousand rows); scoring a few hundred leads at a few moments each is most of
the time it takes (a few seconds).
"""

from __future__ import annotations

import time as clock
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from forms_app.demo.crm import crm_answers
from forms_app.demo.people import CAMPAIGNS
from forms_app.demo.visits import HISTORY_DAYS, VisitPlanner
from forms_app.models import CampaignCost, Gate, Submission
from forms_app.services.costs import campaign_cost_create
from profiling.enrichment import company_domain_for
from profiling.models import (
    Consent,
    ConsentMethod,
    Delivery,
    DeliveryStatus,
    Event,
    GradeChange,
    Lead,
    Visitor,
)
from profiling.services.delivery import deliveries_create_for_change
from profiling.services.rollups import rollup_days_mark
from profiling.services.scoring import lead_score

__all__ = ["HISTORY_DAYS", "HistoryResult", "history_present", "history_seed"]

RANDOM_SEED = 7919
# A history exists (ours, or real use) once there are events older than this.
HISTORY_MARK_AGE = timedelta(days=1)


@dataclass(frozen=True)
class HistoryResult:
    visitors: int
    events: int
    leads: int
    warm: int
    hot: int
    grade_changes: int
    deliveries: int
    failed: int
    costs: int
    seconds: float


def history_present(*, now: datetime | None = None) -> bool:
    """Events older than a day: a history exists (seeded before, or real use)."""
    now = now or timezone.now()
    return Event.objects.filter(occurred_at__lt=now - HISTORY_MARK_AGE).exists()


def _set_times(model: Any, rows: Sequence[tuple[Any, ...]], columns: Sequence[str]) -> None:
    """Write the times that bulk_create replaced with now (auto_now_add and auto_now
    fields), one UPDATE per table: `rows` are (pk, time, ...) in `columns` order."""
    if not rows:
        return
    meta = model._meta
    pk_type = meta.pk.db_type(connection)
    arrays = ", ".join(f"%s::{t}[]" for t in [pk_type, *("timestamptz" for _ in columns)])
    names = ", ".join(["pk", *columns])
    sets = ", ".join(f"{c} = v.{c}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {meta.db_table} AS t SET {sets} FROM unnest({arrays}) AS v({names})"  # noqa: S608 (model names only)
            f" WHERE t.{meta.pk.column} = v.pk",
            [list(column) for column in zip(*rows, strict=True)],
        )


def _costs(today: date) -> int:
    """The paid campaigns' costs, unless the marketer already entered some."""
    if CampaignCost.objects.exists():
        return 0
    for c in CAMPAIGNS:
        campaign_cost_create(
            utm_source=c.utm_source,
            utm_campaign=c.utm_campaign,
            period_start=today - timedelta(days=c.start_days_ago),
            period_end=today - timedelta(days=c.end_days_ago),
            amount=Decimal(c.amount),
        )
    return len(CAMPAIGNS)


def history_seed(
    *, gate: Gate, now: datetime | None = None, seed: int = RANDOM_SEED
) -> HistoryResult:
    """Write the history: visitors and their events, leads with their submissions and
    consents, each lead scored by the scoring service at every moment its events
    arrived, the deliveries of its grade changes, and the campaigns' costs. One
    transaction: all of it or nothing."""
    began = clock.monotonic()
    now = now or timezone.now()
    planner = VisitPlanner(gate=gate, now=now, seed=seed)
    planner.plan()
    rng = planner.rng
    plans = planner.leads
    with transaction.atomic():
        # Never two leads for one email: the person may exist already (as a real lead).
        taken = set(
            Lead.objects.filter(email__in=[p.email for p in plans]).values_list("email", flat=True)
        )
        plans = [p for p in plans if p.email not in taken]
        lead_of_visitor = {p.visitor_id: p.id for p in plans}
        leads = [
            Lead(
                id=p.id,
                email=p.email,
                name=p.name,
                subscribed=p.subscribed,
                consent_text=gate.consent_text if p.subscribed else "",
                consented_at=p.created_at if p.subscribed else None,
                utm_source=p.channel.utm_source,
                utm_medium=p.channel.utm_medium,
                utm_campaign=p.channel.utm_campaign,
                referrer=p.channel.referrer,
                landing_url=p.landing_url,
                last_utm_source=p.channel.utm_source,
                last_utm_medium=p.channel.utm_medium,
                last_utm_campaign=p.channel.utm_campaign,
                last_referrer=p.channel.referrer,
                last_touch_at=p.created_at if p.channel.touch() else None,
                first_gate=gate,
                company_domain=company_domain_for(p.email),
            )
            for p in plans
        ]
        Lead.objects.bulk_create(leads, batch_size=1000)
        _set_times(
            Lead, [(p.id, p.created_at, p.created_at) for p in plans], ["created_at", "updated_at"]
        )

        visitors = [
            Visitor(id=vid, lead_id=lead_of_visitor.get(vid)) for vid, _, _ in planner.visitors
        ]
        Visitor.objects.bulk_create(visitors, batch_size=2000)
        _set_times(Visitor, planner.visitors, ["first_seen", "last_seen"])

        submissions = [
            Submission(
                gate=gate,
                lead_id=p.id,
                visitor_id=p.visitor_id,
                subscribed=p.subscribed,
                consent_text=gate.consent_text,
                utm_source=p.channel.utm_source,
                utm_medium=p.channel.utm_medium,
                utm_campaign=p.channel.utm_campaign,
                referrer=p.channel.referrer,
                page_url=p.landing_url,
            )
            for p in plans
        ]
        Submission.objects.bulk_create(submissions, batch_size=1000)
        _set_times(
            Submission,
            [(s.pk, p.created_at) for s, p in zip(submissions, plans, strict=True)],
            ["created_at"],
        )
        Consent.objects.bulk_create(
            Consent(
                lead_id=p.id,
                text=gate.consent_text,
                given_at=p.created_at,
                method=ConsentMethod.FORM,
                gate=gate,
            )
            for p in plans
            if p.subscribed
        )

        # Every event starts anonymous; a lead's become theirs as scoring reaches them.
        Event.objects.bulk_create(planner.events, batch_size=5000)

        changes = deliveries = failed = 0
        timeout_s = int(settings.LEADGATE_WEBHOOK_TIMEOUT_S)
        settled: list[Delivery] = []
        for p in plans:
            for checkpoint in p.checkpoints:
                Event.objects.filter(
                    visitor_id=p.visitor_id, lead__isnull=True, occurred_at__lte=checkpoint
                ).update(lead_id=p.id)
                change = lead_score(lead_id=p.id, push=False)
                if change is None:
                    continue
                changes += 1
                # Recorded when it happened: just after the event that caused it.
                triggered = change.triggered_at or checkpoint
                change.created_at = triggered + timedelta(milliseconds=rng.randint(150, 1200))
                GradeChange.objects.filter(pk=change.pk).update(created_at=change.created_at)
                for delivery in deliveries_create_for_change(
                    change=change, lead=change.lead, enqueue=False
                ):
                    delivery.created_at = change.created_at
                    for name, value in crm_answers(rng, delivery, now, timeout_s).items():
                        setattr(delivery, name, value)
                    delivery.next_attempt_at = None
                    failed += delivery.status == DeliveryStatus.FAILED
                    settled.append(delivery)
            # Events after the last moment scored (a skim, a re-read) are the lead's too.
            Event.objects.filter(visitor_id=p.visitor_id, lead__isnull=True).update(lead_id=p.id)
        Delivery.objects.bulk_update(
            settled,
            [
                "created_at",
                "status",
                "attempts",
                "next_attempt_at",
                "last_attempt_at",
                "last_status_code",
                "last_response_body",
                "last_error",
                "last_latency_ms",
                "delivered_at",
                "speed_to_lead_ms",
            ],
            batch_size=500,
        )
        deliveries = len(settled)
        costs = _costs(timezone.localdate(now))
        # The rows are dated in the past, where the rollups' fold does not look for new
        # ones by itself: mark the days (the next fold, within a minute, counts them).
        today = timezone.localdate(now)
        rollup_days_mark(days=[today - timedelta(days=i) for i in range(HISTORY_DAYS + 8)])
    grades = Lead.objects.filter(id__in=[p.id for p in plans]).values_list("grade", flat=True)
    return HistoryResult(
        visitors=len(planner.visitors),
        events=len(planner.events),
        leads=len(plans),
        warm=sum(1 for g in grades if g == "warm"),
        hot=sum(1 for g in grades if g == "hot"),
        grade_changes=changes,
        deliveries=deliveries,
        failed=failed,
        costs=costs,
        seconds=clock.monotonic() - began,
    )
