"""Erasure (contract: DELETE /leads/{id} erases the person, keeps anonymous counts)."""

from __future__ import annotations

import uuid
from functools import reduce
from operator import or_

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from forms_app.models import QuarantinedSubmission, Submission
from profiling.models import (
    Consent,
    Delivery,
    Event,
    Grade,
    GradeChange,
    IdentityProof,
    Lead,
    OutboundEmail,
    SandboxEmail,
    SandboxMessage,
    ScorePending,
    Visitor,
)
from profiling.selectors.person import person_lead_ids, person_root
from profiling.services.rollups import rollup_days_mark


def _any_of(field: str, values: list[str]) -> Q:
    return reduce(or_, (Q(**{field: v}) for v in values), Q(pk__in=[]))


def lead_erase(*, lead: Lead) -> None:
    """Remove everything that identifies the person; keep events as anonymous counts.

    The person is the lead's whole merge tree: the surviving lead and every lead merged
    into it (each kept its own email and name), whichever of their ids is given. The lead
    rows stay as tombstones (marked erased, do-not-contact, holding nothing about the
    person: no touch, consent, score or domain) so a replayed scoring task or a stale
    delivery can never resurrect or push the person; everything else that held a piece
    of them is deleted or blanked here, in one transaction.
    """
    with transaction.atomic():
        root = person_root(lead_id=lead.pk)
        if root is None:
            return
        ids = person_lead_ids(root_id=root.pk)
        rows = list(Lead.objects.select_for_update().filter(pk__in=ids).order_by("id"))
        ids = [r.pk for r in rows]
        emails = [r.email for r in rows if r.erased_at is None and r.email]
        visitor_ids = list(Visitor.objects.filter(lead_id__in=ids).values_list("id", flat=True))
        # Events keep type, gate, section, file, duration and time (the anonymous counts)
        # and lose every link to the person: lead, visitor (a new anonymous visitor per
        # person), page URL and touch (a referrer or a UTM value can carry the email).
        anonymous = Visitor.objects.create(id=uuid.uuid4())
        Event.objects.filter(Q(lead_id__in=ids) | Q(visitor_id__in=visitor_ids)).update(
            lead=None, url="", touch={}, visitor=anonymous
        )
        Visitor.objects.filter(pk__in=visitor_ids).delete()
        # The dashboard's rollups counted these leads and submissions on their days.
        rollup_days_mark(
            days=[timezone.localdate(r.created_at) for r in rows]
            + [
                timezone.localdate(at)
                for at in Submission.objects.filter(lead_id__in=ids).values_list(
                    "created_at", flat=True
                )
            ]
        )
        Submission.objects.filter(lead_id__in=ids).delete()
        Consent.objects.filter(lead_id__in=ids).delete()
        # Proofs that other browsers own the address: gone with the address.
        IdentityProof.objects.filter(lead_id__in=ids).delete()
        ScorePending.objects.filter(lead_id__in=ids).delete()
        GradeChange.objects.filter(lead_id__in=ids).update(reasons=[])
        if emails:
            # Held by the spam guards, not yet a lead: found by the address the person gave.
            QuarantinedSubmission.objects.filter(_any_of("email__iexact", emails)).delete()
            # Copies in the sandbox inboxes (CRM and mail) of what was sent about them.
            SandboxEmail.objects.filter(
                _any_of("to__icontains", emails) | _any_of("text__icontains", emails)
            ).delete()
        SandboxMessage.objects.filter(
            _any_of("body__icontains", [*emails, *(str(i) for i in ids)])
        ).delete()
        Delivery.objects.filter(lead_id__in=ids).update(
            payload={"erased": True}, last_response_body="", last_error=""
        )
        OutboundEmail.objects.filter(Q(lead_id__in=ids) | _any_of("to__iexact", emails)).delete()
        # The admin's history names the lead ("Name <email>") in each change it logged.
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Lead),
            object_id__in=[str(i) for i in ids],
        ).delete()
        now = timezone.now()
        for row in rows:
            if row.erased_at is None:
                row.erased_at = now
            row.name = ""
            row.email = f"erased-{row.pk.hex}@erased.invalid"
            row.subscribed = False
            row.consent_text = ""
            row.consented_at = None
            row.email_verified_at = None
            row.do_not_contact = True
            row.utm_source = row.utm_medium = row.utm_campaign = ""
            row.referrer = row.landing_url = row.company_domain = ""
            row.last_utm_source = row.last_utm_medium = row.last_utm_campaign = ""
            row.last_referrer = ""
            row.last_touch_at = None
            row.is_disposable_email = False
            row.score = 0
            row.grade = Grade.COLD
            row.reasons = []
            row.scored_at = None
            row.save()
