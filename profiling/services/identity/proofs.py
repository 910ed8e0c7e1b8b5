"""Proofs: the owner of an address confirmed, from the emailed link, a browser's claim."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from profiling.models import ConsentMethod, IdentityProof, Lead
from profiling.services.identity.identify import lead_opt_in, visitor_attach, visitor_lead_locked
from profiling.services.identity.merge import lead_resolve, leads_merge
from profiling.services.score_triggers import score_pending_mark


def _live_lead_locked(lead_id: uuid.UUID) -> Lead:
    lead = Lead.objects.select_for_update(no_key=True).filter(pk=lead_id).first()
    if lead is not None:
        lead = lead_resolve(lead)
    if lead is None or lead.erased_at is not None:
        raise Lead.DoesNotExist("no such lead")
    return lead


def visitor_prove(
    *, visitor_id: uuid.UUID, lead_id: uuid.UUID, now: datetime | None = None
) -> Lead:
    """Record that this browser proved the lead's address. The browser then belongs to
    that lead, and every lead it has proven is one person: they are merged. Returns the
    surviving lead. Proving again changes nothing (one row per visitor and lead)."""
    now = now or timezone.now()
    with transaction.atomic():
        lead = _live_lead_locked(lead_id)
        visitor_lead_locked(visitor_id)
        with connection.cursor() as cursor:
            # The proof references the visitor row: make it if the browser never sent an
            # event (it keeps no lead here; visitor_attach below gives it one).
            cursor.execute(
                "INSERT INTO profiling_visitor (id, lead_id, first_seen, last_seen) "
                "VALUES (%s, NULL, %s, %s) ON CONFLICT (id) DO NOTHING",
                [visitor_id, now, now],
            )
        IdentityProof.objects.bulk_create(
            [IdentityProof(visitor_id=visitor_id, lead_id=lead.id, proved_at=now)],
            ignore_conflicts=True,
        )
        proven = IdentityProof.objects.filter(visitor_id=visitor_id).values_list(
            "lead_id", flat=True
        )
        # Merges move proofs to the winner, so proven leads are live or erased.
        live = set(
            Lead.objects.filter(
                pk__in=list(proven), erased_at__isnull=True, merged_into__isnull=True
            ).values_list("pk", flat=True)
        )
        if len(live) > 1:
            lead = leads_merge(lead_ids=sorted(live | {lead.id}, key=str))
        visitor_attach(visitor_id=visitor_id, lead_id=lead.id)
        score_pending_mark(lead_ids=[lead.id], hot_lead_ids=[lead.id], now=now)
    return lead


def lead_claim_confirm(
    *,
    lead_id: uuid.UUID,
    visitor_id: uuid.UUID | None,
    name: str,
    subscribe: bool,
    consent_text: str,
    gate_id: int | None,
    now: datetime | None = None,
) -> Lead:
    """The owner of the lead's address confirmed a claim from the emailed link: the
    address is verified, the claimed name and opt-in apply (a double opt-in consent), and
    the claiming browser has proven the address, which may merge leads (visitor_prove).
    Raises Lead.DoesNotExist for a lead that is gone (erased). The caller makes sure one
    claim is confirmed once."""
    now = now or timezone.now()
    with transaction.atomic():
        lead = _live_lead_locked(lead_id)
        fields = ["updated_at"]
        if lead.email_verified_at is None:
            lead.email_verified_at = now
            fields.append("email_verified_at")
        if name and name != lead.name:
            lead.name = name
            fields.append("name")
        if subscribe:
            fields += lead_opt_in(
                lead=lead,
                text=consent_text,
                given_at=now,
                method=ConsentMethod.DOUBLE_OPT_IN,
                gate_id=gate_id,
            )
        lead.save(update_fields=fields)
        if visitor_id is not None:
            lead = visitor_prove(visitor_id=visitor_id, lead_id=lead.id, now=now)
    return lead
