"""Reads for gates and forms."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet, Sum

from forms_app.models import Gate, QuarantinedSubmission, SpamTally, SpamTallyKind, Submission
from profiling.models import Delivery, DeliveryStatus, Event, Grade, Lead, Visitor, WebhookEndpoint
from profiling.services.delivery.payloads import TEST_EVENT


def gate_list() -> QuerySet[Gate]:
    return Gate.objects.prefetch_related("sections", "files", "fields").order_by("slug")


def gate_get(*, slug: str) -> Gate | None:
    return gate_list().filter(slug=slug).first()


def gate_get_active(*, slug: str) -> Gate | None:
    return gate_list().filter(slug=slug, is_active=True).first()


def lead_id_for_visitor(visitor_id: uuid.UUID | None) -> uuid.UUID | None:
    if visitor_id is None:
        return None
    return Visitor.objects.filter(pk=visitor_id).values_list("lead_id", flat=True).first()


def submission_for_confirmation(*, submission_id: int) -> Submission | None:
    """The claim an emailed confirmation link names (with its gate), or None if gone."""
    return Submission.objects.select_related("gate").filter(pk=submission_id).first()


def quarantine_list(
    *, gate: Gate | None = None, reason: str = ""
) -> QuerySet[QuarantinedSubmission]:
    """Submissions held by the spam guards, newest first."""
    rows = QuarantinedSubmission.objects.select_related("gate").order_by("-submitted_at", "-id")
    if gate is not None:
        rows = rows.filter(gate=gate)
    if reason:
        rows = rows.filter(reason=reason)
    return rows


def quarantine_count(*, gate: Gate | None = None) -> int:
    return quarantine_list(gate=gate).count()


def spam_tally_totals(
    *, start: date | None = None, end: date | None = None, gate: Gate | None = None
) -> dict[str, int]:
    """Spam submissions counted and not kept, per kind (honeypot, discarded), over the
    days start..end (inclusive; open-ended when not given)."""
    rows = SpamTally.objects.all()
    if start is not None:
        rows = rows.filter(day__gte=start)
    if end is not None:
        rows = rows.filter(day__lte=end)
    if gate is not None:
        rows = rows.filter(gate=gate)
    totals = {kind.value: 0 for kind in SpamTallyKind}
    for row in rows.values("kind").annotate(total=Sum("count")):
        totals[row["kind"]] = row["total"] or 0
    return totals


# --- the first run: what a new marketer still has to do ----------------------------------


@dataclass(frozen=True)
class FirstRunStep:
    key: str  # gate | snippet | webhook | warm
    done: bool


@dataclass(frozen=True)
class FirstRun:
    steps: list[FirstRunStep]
    # Where each step is done in the workspace: the first gate's builder (its embed
    # snippet) and the first endpoint's page (its "send a test event" button).
    gate_slug: str | None
    endpoint_id: int | None
    # The last test event's answer when none succeeded yet (None: never sent one).
    test_status_code: int | None
    test_error: str

    @property
    def done_count(self) -> int:
        return sum(1 for step in self.steps if step.done)

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)

    def step(self, key: str) -> FirstRunStep:
        return next(s for s in self.steps if s.key == key)


def first_run() -> FirstRun:
    """The four first steps, each read from what exists: a gate; an event from the
    tracker (the embed snippet or the hosted page) for any gate; a CRM webhook endpoint
    with a test event that the CRM accepted; a lead graded warm or hot."""
    gate_slug = Gate.objects.order_by("created_at", "pk").values_list("slug", flat=True).first()
    tracked = Event.objects.filter(source="tracker", gate__isnull=False).exists()
    endpoint_id = WebhookEndpoint.objects.order_by("pk").values_list("pk", flat=True).first()
    tests = Delivery.objects.filter(event_type=TEST_EVENT)
    tested = tests.filter(status=DeliveryStatus.SUCCEEDED).exists()
    last_test = None if tested else tests.order_by("-created_at").first()
    warm = Lead.objects.filter(grade__in=[Grade.WARM, Grade.HOT]).exists()
    return FirstRun(
        steps=[
            FirstRunStep("gate", gate_slug is not None),
            FirstRunStep("snippet", tracked),
            FirstRunStep("webhook", endpoint_id is not None and tested),
            FirstRunStep("warm", warm),
        ],
        gate_slug=gate_slug,
        endpoint_id=endpoint_id,
        test_status_code=last_test.last_status_code if last_test else None,
        test_error=last_test.last_error if last_test else "",
    )
