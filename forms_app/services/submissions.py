"""Form submissions: the capture path from a visitor's form to a lead."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from config.metrics import SUBMISSIONS, labelled
from forms_app.access import access_token_make
from forms_app.models import Gate, Stage, Submission
from forms_app.services.confirmation import confirmation_email_queue
from forms_app.services.content_email import content_email_queue
from forms_app.stage_policy import next_question
from profiling.services.identity import TouchSource, lead_identify


@dataclass(frozen=True)
class SubmissionInput:
    name: str
    email: str
    subscribe: bool = False
    visitor_id: uuid.UUID | None = None
    answers: dict[str, str] = field(default_factory=dict)
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    referrer: str = ""
    page_url: str = ""


@dataclass(frozen=True)
class SubmissionResult:
    lead_id: uuid.UUID
    visitor_id: uuid.UUID
    access_token: str
    created: bool
    # A confirmation email was queued: the claim (opt-in, name) waits for it.
    confirmation_sent: bool = False


def gate_answers(gate: Gate, answers: dict[str, str]) -> dict[str, str]:
    """The non-empty answers to questions this gate asks (only decision gates ask any)."""
    allowed = {f.name for f in gate.fields.all()} if gate.stage == Stage.DECISION else set()
    return {k: v for k, v in answers.items() if k in allowed and v}


def submission_create(
    *,
    gate: Gate,
    data: SubmissionInput,
    submitted_at: datetime | None = None,
    consent_text: str | None = None,
    base_url: str = "",
) -> SubmissionResult:
    """Identify the visitor as a lead, record the submission and the notice they saw.

    The caller has validated the input; the stage policy is enforced here too (an
    epiphany gate has no form, answers only to the question this gate asks). What the
    visitor claimed (name, opt-in) is applied only where nothing is taken over
    (profiling/services/identity); a claim left pending, or an opt-in on a double opt-in
    gate, gets the confirmation email.
    `submitted_at` and `consent_text` default to now and the gate's current notice; a
    released quarantined submission passes the time it was sent and the notice shown then.
    The content-link email (if the gate sends one) is queued in the same transaction;
    its links start with `base_url`, else LEADGATE_BASE_URL.
    """
    if gate.stage == Stage.EPIPHANY:
        raise ValueError("epiphany gates have no form")
    notice = gate.visitor_consent_text if consent_text is None else consent_text
    # A visitor without the tracker (no JavaScript, blocked script) still gets an id so
    # the tracked download can credit the right lead.
    visitor_id = data.visitor_id or uuid.uuid4()
    answers = gate_answers(gate, data.answers)
    with transaction.atomic():
        result = lead_identify(
            email=data.email,
            name=data.name,
            visitor_id=visitor_id,
            subscribed=data.subscribe,
            consent_text=notice,
            hold_opt_in=gate.double_opt_in,
            consented_at=submitted_at,
            source=TouchSource(
                utm_source=data.utm_source,
                utm_medium=data.utm_medium,
                utm_campaign=data.utm_campaign,
                referrer=data.referrer,
                landing_url=data.page_url,
            ),
            gate_id=gate.id,
        )
        submission = Submission.objects.create(
            gate=gate,
            lead_id=result.lead.id,
            visitor_id=visitor_id,
            claimed_name=data.name,
            subscribed=data.subscribe,
            consent_text=notice,
            verified=result.proven,
            answers=answers,
            utm_source=data.utm_source,
            utm_medium=data.utm_medium,
            utm_campaign=data.utm_campaign,
            referrer=data.referrer,
            page_url=data.page_url,
        )
        if submitted_at is not None:
            # created_at is auto_now_add (set on insert whatever is passed): back-date it
            # so reports count the submission on the day the visitor sent it.
            Submission.objects.filter(pk=submission.pk).update(created_at=submitted_at)
        access_token = access_token_make(
            lead_id=result.lead.id, visitor_id=visitor_id, gate_slug=gate.slug
        )
        confirmation_sent = result.pending and confirmation_email_queue(
            gate=gate, submission=submission, lead=result.lead, to=data.email, base=base_url
        )
        content_email_queue(
            gate=gate,
            lead_id=result.lead.id,
            to=data.email,
            # The lead's name, not the one typed: the address may be someone else's.
            name=result.lead.name,
            access_token=access_token,
            base=base_url,
        )
    labelled(SUBMISSIONS, "lead").inc()
    return SubmissionResult(
        lead_id=result.lead.id,
        visitor_id=visitor_id,
        access_token=access_token,
        created=result.created,
        confirmation_sent=confirmation_sent,
    )


def question_for(gate: Gate, lead_id: uuid.UUID | None) -> str | None:
    question = next_question(gate, lead_id)
    return question.name if question else None
