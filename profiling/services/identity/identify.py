"""A claim of identity (a form submission, a Segment identify): find or make the lead,
apply what the claim may change, attach the browser (rules: the package docstring)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from profiling.enrichment import company_domain_for, email_domain, is_disposable_domain
from profiling.models import Consent, ConsentMethod, Event, IdentityProof, Lead
from profiling.services.identity.merge import lead_resolve, leads_merge
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
    # The claiming browser had proven the address: what it claimed was applied.
    proven: bool = False
    # The claim asks for a change (name, opt-in) that was not applied: it waits for the
    # address's owner to confirm it from the email.
    pending: bool = False


def normalise_email(email: str) -> str:
    # Case-insensitive by product decision: Bob@X.com and bob@x.com are one person.
    return email.strip().lower()


def visitor_lead_locked(visitor_id: uuid.UUID) -> uuid.UUID | None:
    """The visitor's lead (None: no lead, or no row yet), the row locked until commit."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lead_id FROM profiling_visitor WHERE id = %s FOR UPDATE", [visitor_id]
        )
        row = cursor.fetchone()
    return row[0] if row else None


def visitor_attach(*, visitor_id: uuid.UUID, lead_id: uuid.UUID) -> uuid.UUID | None:
    """Upsert the visitor and point it at the lead; then hand it its anonymous events.

    Returns the other lead the visitor belonged to before, if any. Whether it should
    move is the caller's decision (the package docstring's rules). The visitor row is
    locked first on purpose: event ingest upserts the same row, so the two serialise on
    its row lock and no event can slip in between with a stale lead (see
    profiling/ingest_sql.py).
    """
    now = timezone.now()
    previous = visitor_lead_locked(visitor_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO profiling_visitor (id, lead_id, first_seen, last_seen) "
            "VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET lead_id = EXCLUDED.lead_id, "
            "last_seen = EXCLUDED.last_seen",
            [visitor_id, lead_id, now, now],
        )
    Event.objects.filter(visitor_id=visitor_id, lead__isnull=True).update(lead_id=lead_id)
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


def _lead_lock_or_create(
    *, email_n: str, name: str, source: TouchSource, gate_id: int | None, now: datetime
) -> tuple[Lead, bool]:
    # FOR NO KEY UPDATE, not FOR UPDATE: it serialises identifies of one person, but not
    # event ingest, whose rows reference the lead (a foreign key takes FOR KEY SHARE).
    # With FOR UPDATE, ingest (holding the visitor row, wanting the lead) and identify
    # (holding the lead, wanting the visitor) could deadlock.
    lead = Lead.objects.select_for_update(no_key=True).filter(email=email_n).first()
    if lead is not None:
        return lead_resolve(lead), False
    domain = email_domain(email_n)
    try:
        # Savepoint: two first submissions of one email may race; the unique index on
        # lower(email) lets exactly one insert win.
        with transaction.atomic():
            lead = Lead.objects.create(
                email=email_n,
                name=name,
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
                first_gate_id=gate_id,
                company_domain=company_domain_for(email_n),
                is_disposable_email=is_disposable_domain(domain),
            )
    except IntegrityError:
        lead = Lead.objects.select_for_update(no_key=True).get(email=email_n)
        return lead_resolve(lead), False
    return lead, True


def lead_opt_in(
    *,
    lead: Lead,
    text: str,
    given_at: datetime,
    method: str,
    gate_id: int | None,
) -> list[str]:
    """Subscribe the (locked) lead under this notice and record the consent; returns the
    fields to save. An older opt-in (released from the quarantine) does not replace a
    newer one."""
    if lead.consented_at is not None and given_at < lead.consented_at:
        return []
    lead.subscribed = True
    lead.consent_text = text
    lead.consented_at = given_at
    Consent.objects.create(lead=lead, text=text, given_at=given_at, method=method, gate_id=gate_id)
    return ["subscribed", "consent_text", "consented_at"]


def lead_identify(
    *,
    email: str,
    name: str,
    visitor_id: uuid.UUID | None = None,
    extra_visitor_ids: tuple[uuid.UUID, ...] = (),
    subscribed: bool = False,
    consent_text: str = "",
    consent_method: str = ConsentMethod.FORM,
    hold_opt_in: bool = False,
    source: TouchSource | None = None,
    gate_id: int | None = None,
    consented_at: datetime | None = None,
) -> IdentifyResult:
    """Find or make the lead for this email, apply what the claim may change, attach the
    visitor(s), merge what one browser proved, mark for scoring.

    `extra_visitor_ids`: other ids the same person is known by (a Segment userId).
    `hold_opt_in`: the opt-in waits for the emailed confirmation even where the claim
    could apply it (a double opt-in gate). `gate_id`: the claim's gate (the first gate of
    a new lead, the gate of its consent). `consented_at`: when the opt-in was given, if
    not now (a submission held for review and released later was agreed to when sent).
    """
    email_n = normalise_email(email)
    source = source or TouchSource()
    now = timezone.now()
    consent_time = consented_at or now
    visitor_ids = tuple(dict.fromkeys(v for v in (visitor_id, *extra_visitor_ids) if v is not None))
    with transaction.atomic():
        lead, created = _lead_lock_or_create(
            email_n=email_n, name=name, source=source, gate_id=gate_id, now=now
        )
        proofs = set(
            IdentityProof.objects.filter(visitor_id__in=visitor_ids).values_list(
                "visitor_id", "lead_id"
            )
        )
        proven = any((vid, lead.id) in proofs for vid in visitor_ids)
        may_apply = created or proven
        fields = ["updated_at"] if created else ["updated_at", *_touch_update(lead, source, now)]
        pending = False
        if name and name != lead.name:
            if may_apply:
                lead.name = name
                fields.append("name")
            else:
                pending = True
        # Leaving the box unticked on a later visit is not an unsubscribe (that is an
        # explicit action).
        if subscribed:
            if may_apply and not hold_opt_in:
                fields += lead_opt_in(
                    lead=lead,
                    text=consent_text,
                    given_at=consent_time,
                    method=consent_method,
                    gate_id=gate_id,
                )
            elif not lead.subscribed or consent_text != lead.consent_text:
                pending = True
        if len(fields) > 1 or not created:
            lead.save(update_fields=fields)
        others: set[uuid.UUID] = set()
        for vid in visitor_ids:
            current = visitor_lead_locked(vid)
            if current is None or current == lead.id:
                visitor_attach(visitor_id=vid, lead_id=lead.id)
                continue
            proves_this, proves_current = (vid, lead.id) in proofs, (vid, current) in proofs
            if proves_this and proves_current:
                others.add(current)
            elif not (proves_this or (created and not proves_current)):
                continue  # stays with the lead it belongs to (package docstring)
            visitor_attach(visitor_id=vid, lead_id=lead.id)
        merged: tuple[uuid.UUID, ...] = ()
        if others:
            lead = leads_merge(lead_ids=[lead.id, *others])
            merged = tuple(sorted(others | {lead.id}, key=str))
        # Durable mark + enqueue now: the replayed anonymous events reach scoring at once,
        # and a broker outage only delays them (the sweep finds the mark).
        score_pending_mark(lead_ids=[lead.id], hot_lead_ids=[lead.id], now=now)
    return IdentifyResult(
        lead=lead, created=created, merged_from=merged, proven=proven, pending=pending
    )
