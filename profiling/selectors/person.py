"""One person's rows: the lead, the leads merged into it, and everything stored about them.

A person is a tree of lead rows: the surviving lead and every lead merged into it (merges
can chain: a row merged into a row that was later merged itself). Rights act on the whole
tree, whichever of its ids they are given: an unsubscribe link in an email to a merged
address, an export, an erasure.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from forms_app.models import QuarantinedSubmission, Submission
from profiling.models import (
    Consent,
    Delivery,
    Event,
    GradeChange,
    Lead,
    OutboundEmail,
    Visitor,
)

MAX_MERGE_HOPS = 10
EXPORT_FORMAT = "leadgate.person-export.v1"

_L = Lead._meta.db_table
# Every row merged into the root, at any depth (a bounded depth: merges chain rarely,
# and a cycle, which the merge service never makes, must not loop forever).
_TREE_SQL = (
    f"WITH RECURSIVE tree(id, depth) AS (SELECT id, 0 FROM {_L} WHERE id = %(root)s"  # noqa: S608
    f" UNION SELECT l.id, t.depth + 1 FROM {_L} AS l JOIN tree AS t ON l.merged_into_id = t.id"
    " WHERE t.depth < %(hops)s) SELECT DISTINCT id FROM tree"
)


def person_root(*, lead_id: uuid.UUID) -> Lead | None:
    """The lead at the top of `lead_id`'s merge chain, erased or not; None if unknown."""
    lead = Lead.objects.filter(pk=lead_id).first()
    hops = 0
    while lead is not None and lead.merged_into_id is not None and hops < MAX_MERGE_HOPS:
        lead = Lead.objects.filter(pk=lead.merged_into_id).first()
        hops += 1
    return lead


def person_by_email(*, email: str) -> Lead | None:
    """The live person an address belongs to (following merges), or None."""
    lead = Lead.objects.filter(email=email.strip().lower(), erased_at__isnull=True).first()
    if lead is None:
        return None
    root = person_root(lead_id=lead.pk)
    return root if root is not None and root.erased_at is None else None


def person_lead_ids(*, root_id: uuid.UUID) -> list[uuid.UUID]:
    """The root and every lead merged into it, root first."""
    with connection.cursor() as cursor:
        cursor.execute(_TREE_SQL, {"root": root_id, "hops": MAX_MERGE_HOPS})
        ids = {row[0] for row in cursor.fetchall()}
    ids.discard(root_id)
    return [root_id, *sorted(ids)]


def person_erasable(*, lead_id: uuid.UUID) -> Lead | None:
    """The root of the person `lead_id` belongs to, if any row of it still holds personal
    data (is not erased yet); None when unknown or already fully erased."""
    root = person_root(lead_id=lead_id)
    if root is None:
        return None
    ids = person_lead_ids(root_id=root.pk)
    if not Lead.objects.filter(pk__in=ids, erased_at__isnull=True).exists():
        return None
    return root


# --- the export ---------------------------------------------------------------------------
def _rows(queryset: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in queryset]


def lead_export_document(*, lead: Lead) -> dict[str, Any]:
    """Everything stored about the person of `lead` (a live lead, as lead_get returns):
    one JSON-able dict whose `events` value is an iterator, so the caller can stream the
    person's events however many there are (the rest is small: bounded by what a person
    does through forms, grade changes and emails).

    Field names are the database's own (`values()`), so a field added to a model appears
    in the export without anyone remembering to add it here.
    """
    ids = person_lead_ids(root_id=lead.pk)
    leads = {row["id"]: row for row in Lead.objects.filter(pk__in=ids).values()}
    emails = [row["email"] for row in leads.values()]
    visitor_ids = list(Visitor.objects.filter(lead_id__in=ids).values_list("id", flat=True))
    quarantined = QuarantinedSubmission.objects.none()
    for email in emails:
        quarantined = quarantined | QuarantinedSubmission.objects.filter(email__iexact=email)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "lead": leads[lead.pk],
        "merged_leads": [leads[i] for i in ids[1:] if i in leads],
        "consents": _rows(
            Consent.objects.filter(lead_id__in=ids)
            .order_by("given_at", "id")
            .values(*_fields(Consent), gate_slug=F("gate__slug"))
        ),
        "submissions": _rows(
            Submission.objects.filter(lead_id__in=ids)
            .order_by("created_at", "id")
            .values(*_fields(Submission), gate_slug=F("gate__slug"))
        ),
        "quarantined_submissions": _rows(
            quarantined.order_by("submitted_at", "id").values(
                *_fields(QuarantinedSubmission), gate_slug=F("gate__slug")
            )
        ),
        "visitors": _rows(
            Visitor.objects.filter(pk__in=visitor_ids).order_by("first_seen").values()
        ),
        "grade_changes": _rows(
            GradeChange.objects.filter(lead_id__in=ids).order_by("created_at", "id").values()
        ),
        "deliveries": _rows(
            Delivery.objects.filter(lead_id__in=ids)
            .order_by("created_at", "id")
            .values(*_fields(Delivery), endpoint_url=F("endpoint__url"))
        ),
        "emails": _rows(
            OutboundEmail.objects.filter(lead_id__in=ids).order_by("created_at", "id").values()
        ),
        "events": _events(ids=ids, visitor_ids=visitor_ids),
    }


def _fields(model: Any) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _events(*, ids: list[uuid.UUID], visitor_ids: list[uuid.UUID]) -> Iterator[dict[str, Any]]:
    # The person's events by lead (their identified history) and by their browsers (a
    # visitor's events before it identified carry its lead too, once identified: this is
    # belt and braces for any that do not).
    events = (
        Event.objects.filter(
            Q(lead_id__in=ids) | Q(visitor_id__in=visitor_ids, lead_id__isnull=True)
        )
        .order_by("occurred_at", "id")
        .values(*_fields(Event), gate_slug=F("gate__slug"))
    )
    for row in events.iterator(chunk_size=2000):
        yield dict(row)
