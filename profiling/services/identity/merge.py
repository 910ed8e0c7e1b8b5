"""Merging leads that are one person (see the package docstring for when that happens)."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from profiling.models import Event, IdentityProof, Lead, Visitor
from profiling.services.rollups import rollup_days_mark
from profiling.services.score_triggers import score_pending_mark

MAX_MERGE_HOPS = 10


def lead_resolve(lead: Lead) -> Lead:
    """Follow merge pointers to the surviving lead (locked, as the caller's lead was)."""
    hops = 0
    while lead.merged_into_id is not None and hops < MAX_MERGE_HOPS:
        lead = Lead.objects.select_for_update(no_key=True).get(pk=lead.merged_into_id)
        hops += 1
    return lead


def _proofs_move(*, loser_ids: list[uuid.UUID], winner_id: uuid.UUID) -> None:
    """A browser that proved a loser's address proved the winner's person: its proofs
    move (one row per visitor and lead: a browser that proved both keeps one)."""
    moved = list(
        IdentityProof.objects.filter(lead_id__in=loser_ids).values_list("visitor_id", "proved_at")
    )
    if not moved:
        return
    IdentityProof.objects.bulk_create(
        [
            IdentityProof(visitor_id=visitor_id, lead_id=winner_id, proved_at=at)
            for visitor_id, at in moved
        ],
        ignore_conflicts=True,
    )
    IdentityProof.objects.filter(lead_id__in=loser_ids).delete()


def leads_merge(*, lead_ids: list[uuid.UUID], into: uuid.UUID | None = None) -> Lead:
    """Merge leads that are one person; returns the winner: `into` when given (a
    marketer's choice, one of `lead_ids`), else the oldest.

    Rows are locked in id order (no deadlock with a concurrent merge or scoring). The
    losers' visitors, events, submissions and proofs are moved to the winner; each event
    keeps its id and so is counted once. First touch: the winner's, with its blanks filled
    from the losers; last touch: the most recent. Consent is not carried over: it was
    given for another address.
    """
    from forms_app.models import Submission  # the catalog layer: models only

    with transaction.atomic():
        leads = list(
            Lead.objects.select_for_update(no_key=True).filter(pk__in=set(lead_ids)).order_by("id")
        )
        resolved = {lead.id: lead_resolve(lead) for lead in leads}
        unique = {lead.id: lead for lead in resolved.values() if lead.erased_at is None}
        if not unique:
            raise Lead.DoesNotExist("no live lead to merge")
        ordered = sorted(unique.values(), key=lambda x: (x.created_at, str(x.id)))
        chosen = resolved.get(into) if into is not None else None
        winner = unique.get(chosen.id, ordered[0]) if chosen is not None else ordered[0]
        losers = [lead for lead in ordered if lead.id != winner.id]
        if not losers:
            return winner
        loser_ids = [x.id for x in losers]
        # The dashboard's rollups counted the losers (and the winner's first touch, which
        # may be filled in below) on the days they were created.
        rollup_days_mark(days=[timezone.localdate(x.created_at) for x in ordered])
        Visitor.objects.filter(lead_id__in=loser_ids).update(lead_id=winner.id)
        Event.objects.filter(lead_id__in=loser_ids).update(lead_id=winner.id)
        Submission.objects.filter(lead_id__in=loser_ids).update(lead_id=winner.id)
        _proofs_move(loser_ids=loser_ids, winner_id=winner.id)
        fields = ["updated_at"]
        for name in ("utm_source", "utm_medium", "utm_campaign", "referrer", "landing_url"):
            if not getattr(winner, name):
                for loser in losers:
                    if getattr(loser, name):
                        setattr(winner, name, getattr(loser, name))
                        fields.append(name)
                        break
        latest = max(ordered, key=lambda x: x.last_touch_at or x.created_at)
        if latest is not winner and latest.last_touch_at is not None:
            for name in (
                "last_utm_source",
                "last_utm_medium",
                "last_utm_campaign",
                "last_referrer",
                "last_touch_at",
            ):
                setattr(winner, name, getattr(latest, name))
                fields.append(name)
        if winner.first_gate_id is None:
            winner.first_gate_id = next((x.first_gate_id for x in losers if x.first_gate_id), None)
            fields.append("first_gate")
        winner.save(update_fields=fields)
        # The losers keep their email (so it still finds the person) but no score: their
        # events now count for the winner only.
        Lead.objects.filter(pk__in=loser_ids).update(
            merged_into_id=winner.id, score=0, reasons=[], updated_at=timezone.now()
        )
        score_pending_mark(lead_ids=[winner.id], hot_lead_ids=[winner.id], now=timezone.now())
    return winner
