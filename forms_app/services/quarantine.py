"""The spam quarantine: submissions the guards doubted, kept until a marketer decides.

A too-fast or forged form token (forms_app/spam.py) does not lose the submission: the
visitor gets the same answer as a success, and the submission waits here with no lead,
no score and no push. Release runs the normal submission path as if it had been accepted
when it was sent; delete forgets it. Both are idempotent: a double click, or two
marketers at once, act once (the row is locked, then removed in the same transaction).

Honeypot hits are not kept, only counted per gate and day (SpamTally), as are doubted
submissions beyond the daily cap (a flood is counted, never stored row by row).
"""

from __future__ import annotations

from datetime import datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.metrics import SUBMISSIONS, labelled
from forms_app.models import (
    Gate,
    QuarantinedSubmission,
    QuarantineReason,
    QuarantineVia,
    SpamTally,
    SpamTallyKind,
    Stage,
)
from forms_app.services.submissions import (
    SubmissionInput,
    SubmissionResult,
    gate_answers,
    submission_create,
)


def spam_tally_add(*, gate: Gate, kind: SpamTallyKind, at: datetime | None = None) -> None:
    """Count one spam submission that is not kept (a honeypot hit, a discarded one)."""
    day = timezone.localdate(at or timezone.now())
    with transaction.atomic():
        tally, created = SpamTally.objects.get_or_create(
            gate=gate, day=day, kind=kind, defaults={"count": 1}
        )
        if not created:
            # An UPDATE ... SET count = count + 1: concurrent hits are each counted.
            SpamTally.objects.filter(pk=tally.pk).update(count=F("count") + 1)


def quarantine_hold(
    *,
    gate: Gate,
    data: SubmissionInput,
    reason: QuarantineReason,
    via: QuarantineVia,
    submitted_at: datetime | None = None,
) -> QuarantinedSubmission | None:
    """Keep a doubted submission for review; None when the gate's daily cap is reached
    (then it is only counted as discarded). Makes no lead, visitor, score or push."""
    now = submitted_at or timezone.now()
    day_start = timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
    with transaction.atomic():
        kept_today = QuarantinedSubmission.objects.filter(
            gate=gate, submitted_at__gte=day_start
        ).count()
        if kept_today >= settings.LEADGATE_QUARANTINE_MAX_PER_GATE_DAY:
            spam_tally_add(gate=gate, kind=SpamTallyKind.DISCARDED, at=now)
            return None
        labelled(SUBMISSIONS, "quarantined").inc()
        return QuarantinedSubmission.objects.create(
            gate=gate,
            reason=reason,
            via=via,
            name=data.name,
            email=data.email,
            subscribed=data.subscribe,
            visitor_id=data.visitor_id,
            # The notice shown when the visitor sent it: release records this one, even
            # if the marketer has edited the gate's notice since.
            consent_text=gate.visitor_consent_text,
            answers=gate_answers(gate, data.answers),
            utm_source=data.utm_source,
            utm_medium=data.utm_medium,
            utm_campaign=data.utm_campaign,
            referrer=data.referrer,
            page_url=data.page_url,
            submitted_at=now,
        )


def quarantine_release(*, item_id: int, base_url: str = "") -> SubmissionResult | None:
    """Accept a held submission: lead, consent (at the time it was sent), submission,
    scoring, pushes and the content email as if it had never been doubted; then remove it.

    None when it is no longer held (released or deleted already): nothing happens twice.
    Raises ValidationError when its gate no longer has a form (now open content).
    """
    with transaction.atomic():
        item = (
            QuarantinedSubmission.objects.select_for_update(of=("self",))
            .select_related("gate")
            .filter(pk=item_id)
            .first()
        )
        if item is None:
            return None
        if item.gate.stage == Stage.EPIPHANY:
            raise ValidationError(
                f"The gate “{item.gate.title}” is open content now and takes no "
                "submissions; delete this one, or give the gate a form again first."
            )
        result = submission_create(
            gate=item.gate,
            data=SubmissionInput(
                name=item.name,
                email=item.email,
                subscribe=item.subscribed,
                visitor_id=item.visitor_id,
                answers=item.answers,
                utm_source=item.utm_source,
                utm_medium=item.utm_medium,
                utm_campaign=item.utm_campaign,
                referrer=item.referrer,
                page_url=item.page_url,
            ),
            submitted_at=item.submitted_at,
            consent_text=item.consent_text,
            base_url=base_url,
        )
        item.delete()
    return result


def quarantine_delete(*, item_id: int) -> bool:
    """Forget a held submission. False when it was already gone (released or deleted)."""
    with transaction.atomic():
        deleted, _ = QuarantinedSubmission.objects.filter(pk=item_id).delete()
    return deleted > 0
