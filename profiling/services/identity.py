"""Turning a visitor into a lead (form submissions, Segment identify) and merging leads.

Identity rules:
- A visitor becomes known by a submission or an identify; its earlier anonymous events
  become the lead's and are replayed into scoring.
- A second device that submits the same email joins the same lead (one lead per email).
- A visitor that already belongs to lead B and identifies as lead A shows that A and B
  are one person (two addresses, one browser), as does a Segment userId seen with both.
  The two are merged: the older lead wins, the younger one's visitors, events and
  submissions move to it (moved, never copied: nothing is counted twice), and the
  younger row stays as a pointer (`merged_into`) so its email still finds the person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from profiling.enrichment import company_domain_for, email_domain, is_disposable_domain
from profiling.models import Event, Lead, Visitor
from profiling.services.score_triggers import score_pending_mark


@dataclass(frozen=True)
class TouchSource:
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    referrer: str = ""
    landing_url: str = ""

    def any(self) -> bool:
        return bool(self.utm_source or self.utm_medium or self.utm_campaign or self.referrer)


@dataclass(frozen=True)
class IdentifyResult:
    lead: Lead
    created: bool
    merged_from: tuple[uuid.UUID, ...] = ()


MAX_MERGE_HOPS = 10


def lead_resolve(lead: Lead) -> Lead:
    """Follow merge pointers to the surviving lead (locked, as the caller's lead was)."""
    hops = 0
    while lead.merged_into_id is not None and hops < MAX_MERGE_HOPS:
        lead = Lead.objects.select_for_update(no_key=True).get(pk=lead.merged_into_id)
        hops += 1
    return lead


def normalise_email(email: str) -> str:
    # Case-insensitive by product decision: Bob@X.com and bob@x.com are one person.
    return email.strip().lower()


def visitor_attach(*, visitor_id: uuid.UUID, lead_id: uuid.UUID) -> uuid.UUID | None:
    """Upsert the visitor and point it at the lead; then hand it its anonymous events.

    Returns the other lead the visitor belonged to before, if any (a merge: see the
    module docstring). The visitor row is locked first on purpose: event ingest upserts
    the same row, so the two serialise on its row lock and no event can slip in between
    with a stale lead (see profiling/ingest_sql.py).
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lead_id FROM profiling_visitor WHERE id = %s FOR UPDATE", [visitor_id]
        )
        row = cursor.fetchone()
        cursor.execute(
            "INSERT INTO profiling_visitor (id, lead_id, first_seen, last_seen) "
            "VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET lead_id = EXCLUDED.lead_id, "
            "last_seen = EXCLUDED.last_seen",
            [visitor_id, lead_id, now, now],
        )
    Event.objects.filter(visitor_id=visitor_id, lead__isnull=True).update(lead_id=lead_id)
    previous: uuid.UUID | None = row[0] if row else None
    return previous if previous != lead_id else None


def _touch_update(lead: Lead, source: TouchSource, now: Any) -> list[str]:
    if not source.any():
        return []
    lead.last_utm_source = source.utm_source
    lead.last_utm_medium = source.utm_medium
    lead.last_utm_campaign = source.utm_campaign
    lead.last_referrer = source.referrer
    lead.last_touch_at = now
    return [
        "last_utm_source",
        "last_utm_medium",
        "last_utm_campaign",
        "last_referrer",
        "last_touch_at",
    ]


def lead_identify(
    *,
    email: str,
    name: str,
    visitor_id: uuid.UUID | None = None,
    extra_visitor_ids: tuple[uuid.UUID, ...] = (),
    subscribed: bool = False,
    consent_text: str = "",
    source: TouchSource | None = None,
    first_gate_id: int | None = None,
    consented_at: datetime | None = None,
) -> IdentifyResult:
    """Find or create the lead for this email, attach the visitor(s), merge, rescore.

    `extra_visitor_ids`: other ids the same person is known by (a Segment userId).
    `consented_at`: when the opt-in was given, if not now (a submission held for review
    and released later was agreed to when it was sent).
    """
    email_n = normalise_email(email)
    source = source or TouchSource()
    now = timezone.now()
    consent_time = consented_at or now
    with transaction.atomic():
        created = False
        # FOR NO KEY UPDATE, not FOR UPDATE: it serialises identifies of one person, but
        # not event ingest, whose rows reference the lead (a foreign key takes FOR KEY
        # SHARE). With FOR UPDATE, ingest (holding the visitor row, wanting the lead) and
        # identify (holding the lead, wanting the visitor) could deadlock.
        lead = Lead.objects.select_for_update(no_key=True).filter(email=email_n).first()
        if lead is None:
            domain = email_domain(email_n)
            try:
                # Savepoint: two first submissions of one email may race; the unique
                # index on lower(email) lets exactly one insert win.
                with transaction.atomic():
                    lead = Lead.objects.create(
                        email=email_n,
                        name=name,
                        subscribed=subscribed,
                        consent_text=consent_text if subscribed else "",
                        consented_at=consent_time if subscribed else None,
                        utm_source=source.utm_source,
                        utm_medium=source.utm_medium,
                        utm_campaign=source.utm_campaign,
                        referrer=source.referrer,
                        landing_url=source.landing_url,
                        last_utm_source=source.utm_source,
                        last_utm_medium=source.utm_medium,
                        last_utm_campaign=source.utm_campaign,
                        last_referrer=source.referrer,
                        last_touch_at=now if source.any() else None,
                        first_gate_id=first_gate_id,
                        company_domain=company_domain_for(email_n),
                        is_disposable_email=is_disposable_domain(domain),
                    )
                created = True
            except IntegrityError:
                lead = Lead.objects.select_for_update(no_key=True).get(email=email_n)
        if not created:
            lead = lead_resolve(lead)
            update_fields = ["updated_at", *_touch_update(lead, source, now)]
            if name and name != lead.name:
                lead.name = name
                update_fields.append("name")
            # Opting in again records the newest notice; leaving the box unticked on a
            # later visit is not an unsubscribe (that is an explicit action). An older
            # opt-in released from the quarantine does not replace a newer one.
            if subscribed and (lead.consented_at is None or consent_time >= lead.consented_at):
                lead.subscribed = True
                lead.consent_text = consent_text
                lead.consented_at = consent_time
                update_fields += ["subscribed", "consent_text", "consented_at"]
            lead.save(update_fields=update_fields)
        others: set[uuid.UUID] = set()
        for vid in (visitor_id, *extra_visitor_ids):
            if vid is not None:
                previous = visitor_attach(visitor_id=vid, lead_id=lead.id)
                if previous is not None:
                    others.add(previous)
        merged: tuple[uuid.UUID, ...] = ()
        if others:
            lead = leads_merge(lead_ids=[lead.id, *others])
            merged = tuple(sorted(others | {lead.id}, key=str))
        # Durable mark + enqueue now: the replayed anonymous events reach scoring at once,
        # and a broker outage only delays them (the sweep finds the mark).
        score_pending_mark(lead_ids=[lead.id], hot_lead_ids=[lead.id], now=now)
    return IdentifyResult(lead=lead, created=created, merged_from=merged)


def leads_merge(*, lead_ids: list[uuid.UUID]) -> Lead:
    """Merge leads that are one person into the oldest; returns the winner.

    Rows are locked in id order (no deadlock with a concurrent merge or scoring). The
    losers' visitors, events and submissions are moved to the winner in three UPDATEs;
    each event keeps its id and so is counted once. First touch: the winner's, with its
    blanks filled from the losers; last touch: the most recent. Consent is not carried
    over: it was given for another address.
    """
    from forms_app.models import Submission  # the catalog layer: models only

    with transaction.atomic():
        leads = list(
            Lead.objects.select_for_update(no_key=True).filter(pk__in=set(lead_ids)).order_by("id")
        )
        leads = [lead_resolve(lead) for lead in leads]
        unique = {lead.id: lead for lead in leads if lead.erased_at is None}
        if not unique:
            raise Lead.DoesNotExist("no live lead to merge")
        ordered = sorted(unique.values(), key=lambda x: (x.created_at, str(x.id)))
        winner, losers = ordered[0], ordered[1:]
        if not losers:
            return winner
        loser_ids = [x.id for x in losers]
        Visitor.objects.filter(lead_id__in=loser_ids).update(lead_id=winner.id)
        Event.objects.filter(lead_id__in=loser_ids).update(lead_id=winner.id)
        Submission.objects.filter(lead_id__in=loser_ids).update(lead_id=winner.id)
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
