"""Turning a visitor into a lead: form submissions and (later) Segment identify."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from profiling.enrichment import company_domain_for, email_domain, is_disposable_domain
from profiling.models import Event, Lead
from profiling.queue import enqueue_after_commit


@dataclass(frozen=True)
class TouchSource:
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    referrer: str = ""
    landing_url: str = ""


@dataclass(frozen=True)
class IdentifyResult:
    lead: Lead
    created: bool


def normalise_email(email: str) -> str:
    # Case-insensitive by product decision: Bob@X.com and bob@x.com are one person.
    return email.strip().lower()


def visitor_attach(*, visitor_id: uuid.UUID, lead_id: uuid.UUID) -> None:
    """Upsert the visitor and point it at the lead; then hand it its anonymous events.

    The visitor row is written first on purpose: event ingest upserts the same row, so
    the two serialise on its row lock and no event can slip in between with a stale
    lead (see ingest.events_ingest).
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO profiling_visitor (id, lead_id, first_seen, last_seen) "
            "VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET lead_id = EXCLUDED.lead_id, "
            "last_seen = EXCLUDED.last_seen",
            [_db_uuid(visitor_id), _db_uuid(lead_id), now, now],
        )
    Event.objects.filter(visitor_id=visitor_id, lead__isnull=True).update(lead_id=lead_id)


def _db_uuid(value: uuid.UUID) -> Any:
    # PostgreSQL has a uuid type; SQLite stores Django UUIDs as 32 hex characters.
    return value if connection.vendor == "postgresql" else value.hex


def lead_identify(
    *,
    email: str,
    name: str,
    visitor_id: uuid.UUID | None = None,
    subscribed: bool = False,
    consent_text: str = "",
    source: TouchSource | None = None,
    first_gate_id: int | None = None,
) -> IdentifyResult:
    """Find or create the lead for this email, attach the visitor, and rescore."""
    email_n = normalise_email(email)
    source = source or TouchSource()
    now = timezone.now()
    with transaction.atomic():
        created = False
        lead = Lead.objects.select_for_update().filter(email=email_n).first()
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
                        consented_at=now if subscribed else None,
                        utm_source=source.utm_source,
                        utm_medium=source.utm_medium,
                        utm_campaign=source.utm_campaign,
                        referrer=source.referrer,
                        landing_url=source.landing_url,
                        first_gate_id=first_gate_id,
                        company_domain=company_domain_for(email_n),
                        is_disposable_email=is_disposable_domain(domain),
                    )
                created = True
            except IntegrityError:
                lead = Lead.objects.select_for_update().get(email=email_n)
        if not created:
            update_fields = ["updated_at"]
            if name and name != lead.name:
                lead.name = name
                update_fields.append("name")
            # Opting in again records the newest notice; leaving the box unticked on a
            # later visit is not an unsubscribe (that is an explicit action).
            if subscribed:
                lead.subscribed = True
                lead.consent_text = consent_text
                lead.consented_at = now
                update_fields += ["subscribed", "consent_text", "consented_at"]
            lead.save(update_fields=update_fields)
        if visitor_id is not None:
            visitor_attach(visitor_id=visitor_id, lead_id=lead.id)
        enqueue_after_commit("profiling.tasks.score_lead", str(lead.id))
    return IdentifyResult(lead=lead, created=created)
