"""Withdrawing consent: unsubscribe, and do-not-contact.

Both act on the whole person (the lead and every lead merged into it: an unsubscribe link
in an old email to a merged address must still reach the person) and set `withdrawn_at`
on the consents that were in force, so the record shows when each opt-in ended.

- Unsubscribe stops marketing email. Emails the person asked for (the content link of a
  form just sent) still go out, and the CRM is still told about grade changes, with
  `subscribed: false` in the body.
- Do-not-contact also unsubscribes, and stops everything that reaches the person or is
  meant to: no email of any kind is sent (checked again at send time, so queued ones are
  skipped) and no grade change is pushed to the CRM (so no salesperson is prompted to
  call). Turning it off again does not resubscribe: only the person's own opt-in does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from profiling.models import Consent, Lead
from profiling.selectors.person import person_lead_ids, person_root


@dataclass(frozen=True)
class ContactState:
    lead_id: uuid.UUID
    subscribed: bool
    do_not_contact: bool
    consents_withdrawn: int


def _lock_person(lead_id: uuid.UUID) -> list[Lead] | None:
    """The person's live rows, locked in id order (as merges and erasure lock them)."""
    root = person_root(lead_id=lead_id)
    if root is None or root.erased_at is not None:
        return None
    ids = person_lead_ids(root_id=root.pk)
    rows = list(
        Lead.objects.select_for_update().filter(pk__in=ids, erased_at__isnull=True).order_by("id")
    )
    return sorted(rows, key=lambda r: r.pk != root.pk)  # root first


def _withdraw(ids: list[uuid.UUID]) -> int:
    return Consent.objects.filter(lead_id__in=ids, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now()
    )


def lead_subscription_withdraw(*, lead_id: uuid.UUID) -> ContactState | None:
    """Unsubscribe the person; None if there is no such (live) lead. Idempotent: a second
    call changes nothing (the consents' withdrawal time stays the first one)."""
    with transaction.atomic():
        rows = _lock_person(lead_id)
        if not rows:
            return None
        ids = [r.pk for r in rows]
        Lead.objects.filter(pk__in=ids).update(subscribed=False, updated_at=timezone.now())
        withdrawn = _withdraw(ids)
        return ContactState(
            lead_id=rows[0].pk,
            subscribed=False,
            do_not_contact=rows[0].do_not_contact,
            consents_withdrawn=withdrawn,
        )


def lead_contact_set(*, lead_id: uuid.UUID, do_not_contact: bool) -> ContactState | None:
    """Set or clear do-not-contact on the person; None if there is no such (live) lead.
    Setting it unsubscribes too; clearing it leaves the subscription off."""
    with transaction.atomic():
        rows = _lock_person(lead_id)
        if not rows:
            return None
        ids = [r.pk for r in rows]
        withdrawn = 0
        if do_not_contact:
            Lead.objects.filter(pk__in=ids).update(
                do_not_contact=True, subscribed=False, updated_at=timezone.now()
            )
            withdrawn = _withdraw(ids)
        else:
            Lead.objects.filter(pk__in=ids).update(do_not_contact=False, updated_at=timezone.now())
        root = Lead.objects.get(pk=rows[0].pk)
        return ContactState(
            lead_id=root.pk,
            subscribed=root.subscribed,
            do_not_contact=root.do_not_contact,
            consents_withdrawn=withdrawn,
        )
