"""The confirmation email: the owner of an address confirms what a submission claimed.

A submission that would change an existing lead from a browser that has not proven the
address (a name, an opt-in), or that opts in on a double opt-in gate, is kept as a claim
(profiling/services/identity). This module emails the address a signed link to
`/confirm/<token>`: opening it shows a page with one button (mail scanners prefetch links,
so a GET changes nothing); its POST confirms the claim once (submission_confirm), which
verifies the address, applies the claim and proves the browser that made it.

The confirmation is the one email to a lead without List-Unsubscribe: it is not
marketing, it asks whether the person wants anything at all.
"""

from __future__ import annotations

import enum
import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from forms_app.models import Gate, Submission
from profiling.models import EmailKind, Lead, OutboundEmail
from profiling.services.identity import lead_claim_confirm
from profiling.services.mail import email_queue

log = logging.getLogger(__name__)

# One salt per purpose: a confirmation token opens no content and unsubscribes no one.
_SALT = "leadgate.confirm.v1"
CONFIRM_PATH = "/confirm/"
CONFIRM_MAX_AGE = timedelta(days=7)
# Anyone can type an address into a form: at most this many confirmation emails per
# lead and hour, so a form cannot be used to flood someone's mailbox.
MAX_CONFIRMATIONS_PER_HOUR = 3


class ConfirmState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


class ConfirmOutcome(enum.Enum):
    CONFIRMED = "confirmed"
    ALREADY = "already"  # confirmed before (a second click, a retried POST)
    GONE = "gone"  # the submission or the lead was erased meanwhile


def confirmation_token_make(*, submission_id: int, language: str = "") -> str:
    # The submission names the lead, the claiming browser and what was claimed; the
    # timestamp makes the link expire. The email's language rides along (signed, so it
    # is the one the email was written in): the page speaks it even when the submission
    # is gone with its gate and no row tells the language any more.
    value = f"{submission_id}-{language}" if language else str(submission_id)
    return signing.TimestampSigner(salt=_SALT).sign(value)


def _token_unsign(token: str) -> tuple[ConfirmState, str | None]:
    if not token or len(token) > 200:
        return ConfirmState.INVALID, None
    signer = signing.TimestampSigner(salt=_SALT)
    try:
        return ConfirmState.VALID, signer.unsign(token, max_age=CONFIRM_MAX_AGE)
    except signing.SignatureExpired:
        return ConfirmState.EXPIRED, signer.unsign(token)
    except signing.BadSignature:
        return ConfirmState.INVALID, None


def confirmation_token_read(token: str) -> tuple[ConfirmState, int | None]:
    """(state, submission id): VALID, EXPIRED (genuine but too old: the id only tells
    which form to fill in again), or INVALID (forged, another purpose's, malformed: no
    id)."""
    state, value = _token_unsign(token)
    if value is None:
        return ConfirmState.INVALID, None
    # Links made before the language rode along carry the id alone.
    number = value.partition("-")[0]
    if not number.isdigit() or len(number) > 18:
        return ConfirmState.INVALID, None
    return state, int(number)


def confirmation_token_language(token: str) -> str | None:
    """The language of the email a genuine link (expired or not) came in, if it says."""
    language = (_token_unsign(token)[1] or "").partition("-")[2]
    return language if language in dict(settings.LANGUAGES) else None


def confirmation_url(*, submission_id: int, base: str, language: str = "") -> str:
    token = confirmation_token_make(submission_id=submission_id, language=language)
    return f"{base}{CONFIRM_PATH}{token}"


def confirmation_email_queue(
    *, gate: Gate, submission: Submission, lead: Lead, to: str, base: str
) -> bool:
    """Queue the confirmation email in the caller's transaction (which holds the lead's
    row lock, so the hourly cap is counted once per lead); False if none is sent."""
    base = (base or settings.LEADGATE_BASE_URL).rstrip("/")
    if not base:
        log.warning("no base URL for gate %s: confirmation email not queued", gate.slug)
        return False
    recent = OutboundEmail.objects.filter(
        lead=lead,
        kind=EmailKind.CONFIRMATION,
        created_at__gte=timezone.now() - timedelta(hours=1),
    ).count()
    if recent >= MAX_CONFIRMATIONS_PER_HOUR:
        log.info("confirmation cap reached for lead %s", lead.pk)
        return False
    new_name = submission.claimed_name if submission.claimed_name != lead.name else ""
    context = {
        "gate": gate,
        # The person the address belongs to, as known: the claim may be someone else's.
        "name": lead.name,
        "new_name": new_name,
        "subscribe": submission.subscribed,
        "confirm_url": confirmation_url(
            submission_id=submission.pk, base=base, language=gate.language
        ),
        "days": CONFIRM_MAX_AGE.days,
        "site": base,
    }
    with translation.override(gate.language):
        subject = (
            gettext("Please confirm your subscription")
            if submission.subscribed
            else gettext("Please confirm it was you")
        )
        text = render_to_string("forms_app/email/confirmation.txt", context)
        html = render_to_string("forms_app/email/confirmation.html", context)
    email_queue(
        kind=EmailKind.CONFIRMATION,
        lead_id=lead.pk,
        to=to,
        subject=subject,
        text=text,
        html=html,
        language=gate.language,
    )
    return True


def submission_confirm(*, submission_id: int) -> ConfirmOutcome:
    """Confirm the submission's claim, once however often the button is pressed: the
    conditional UPDATE on `confirmed_at` lets exactly one request apply it."""
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = Submission.objects.filter(pk=submission_id, confirmed_at__isnull=True).update(
                confirmed_at=now, verified=True
            )
            submission = Submission.objects.filter(pk=submission_id).first()
            if submission is None:
                return ConfirmOutcome.GONE
            if not claimed:
                return ConfirmOutcome.ALREADY
            lead_claim_confirm(
                lead_id=submission.lead_id,
                visitor_id=submission.visitor_id,
                name=submission.claimed_name,
                subscribe=submission.subscribed,
                consent_text=submission.consent_text,
                gate_id=submission.gate_id,
                now=now,
            )
    except Lead.DoesNotExist:
        return ConfirmOutcome.GONE
    return ConfirmOutcome.CONFIRMED
