"""Erasure (contract: DELETE /leads/{id} erases the person, keeps anonymous counts)."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from forms_app.models import QuarantinedSubmission, Submission
from profiling.models import (
    Delivery,
    Event,
    Lead,
    OutboundEmail,
    SandboxEmail,
    SandboxMessage,
    Visitor,
)


def lead_erase(*, lead: Lead) -> None:
    """Remove everything that identifies the person; keep events as anonymous counts.

    The lead row stays as a tombstone (marked erased, do-not-contact) so a replayed
    scoring task or a stale delivery can never resurrect or push the person.
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        # Events keep type, gate, section, file and time (the anonymous counts) and lose
        # every link to the person: lead, visitor (a new anonymous visitor per lead), url.
        anonymous = Visitor.objects.create(id=uuid.uuid4())
        Event.objects.filter(lead=lead).update(lead=None, url="", visitor=anonymous)
        Visitor.objects.filter(lead=lead).delete()
        Submission.objects.filter(lead=lead).delete()
        # Held by the spam guards, not yet a lead: found by the address the person gave.
        QuarantinedSubmission.objects.filter(email__iexact=lead.email).delete()
        # The sandbox CRM inbox keeps copies of what was pushed about the person.
        SandboxMessage.objects.filter(
            Q(body__icontains=lead.email) | Q(body__icontains=str(lead.pk))
        ).delete()
        Delivery.objects.filter(lead=lead).update(payload={"erased": True}, last_response_body="")
        # Emails to the person, queued or sent, and the sandbox mail inbox's copies.
        OutboundEmail.objects.filter(Q(lead=lead) | Q(to__iexact=lead.email)).delete()
        SandboxEmail.objects.filter(to__icontains=lead.email).delete()
        lead.name = ""
        lead.email = f"erased-{lead.pk.hex}@erased.invalid"
        lead.subscribed = False
        lead.consent_text = ""
        lead.do_not_contact = True
        lead.utm_source = lead.utm_medium = lead.utm_campaign = ""
        lead.referrer = lead.landing_url = lead.company_domain = ""
        lead.reasons = []
        lead.erased_at = timezone.now()
        lead.save()
