"""Reads for gates and forms, the keys scoring rules can name, and for the team (its members
and pending invitations)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from config.roles import MARKETER, SALES
from forms_app.models import (
    Gate,
    GateFile,
    Invitation,
    PdfChapter,
    PdfPage,
    PdfStatus,
    QuarantinedSubmission,
    Section,
    SpamTally,
    SpamTallyKind,
    Submission,
)
from profiling.models import Delivery, DeliveryStatus, Event, Grade, Lead, Visitor, WebhookEndpoint
from profiling.services.delivery.payloads import TEST_EVENT


def gate_list() -> QuerySet[Gate]:
    return Gate.objects.prefetch_related("sections", "files", "fields").order_by("slug")


def gate_get(*, slug: str) -> Gate | None:
    return gate_list().filter(slug=slug).first()


def gate_get_active(*, slug: str) -> Gate | None:
    return gate_list().filter(slug=slug, is_active=True).first()


def gate_file_get(*, gate_slug: str, key: str, active_only: bool = False) -> GateFile | None:
    rows = GateFile.objects.select_related("gate").prefetch_related("pdf_chapters")
    if active_only:
        rows = rows.filter(gate__is_active=True)
    return rows.filter(gate__slug=gate_slug, key=key).first()


def pdf_pages(*, gate_file: GateFile) -> QuerySet[PdfPage]:
    return PdfPage.objects.filter(gate_file=gate_file).order_by("number")


def pdf_page_get(*, gate_file: GateFile, number: int) -> PdfPage | None:
    if gate_file.pdf_status not in (PdfStatus.PENDING, PdfStatus.READY):
        return None
    return PdfPage.objects.filter(gate_file=gate_file, number=number).first()


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


# --- the keys a scoring rule can name ----------------------------------------------------


@dataclass(frozen=True)
class RuleKey:
    """A section, file or PDF chapter by its key, with what it belongs to: the rule editor
    suggests these keys and checks a typed one against them."""

    key: str
    title: str
    gate_slug: str
    gate_title: str
    file_key: str = ""  # a chapter: the file whose PDF outline has it


@dataclass(frozen=True)
class RuleKeys:
    sections: list[RuleKey]
    files: list[RuleKey]
    # A section_view rule that names a file names one of its chapters as its section.
    chapters: list[RuleKey]


def rule_keys() -> RuleKeys:
    """Every gate's section, file and PDF chapter keys, gate by gate (by title), each in
    the order the gate shows them."""
    sections = Section.objects.order_by("gate__title", "gate_id", "position", "id")
    files = GateFile.objects.order_by("gate__title", "gate_id", "position", "id")
    chapters = PdfChapter.objects.order_by(
        "gate_file__gate__title",
        "gate_file__gate_id",
        "gate_file__position",
        "gate_file_id",
        "position",
    )
    return RuleKeys(
        sections=[
            RuleKey(key, title, slug, gate_title)
            for key, title, slug, gate_title in sections.values_list(
                "key", "title", "gate__slug", "gate__title"
            )
        ],
        files=[
            RuleKey(key, title, slug, gate_title)
            for key, title, slug, gate_title in files.values_list(
                "key", "title", "gate__slug", "gate__title"
            )
        ],
        chapters=[
            RuleKey(key, title, slug, gate_title, file_key)
            for key, title, slug, gate_title, file_key in chapters.values_list(
                "key", "title", "gate_file__gate__slug", "gate_file__gate__title", "gate_file__key"
            )
        ],
    )


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


# --- the team ----------------------------------------------------------------------------


def _role(user: Any, group_names: set[str]) -> str:
    if user.is_staff or user.is_superuser:
        return MARKETER
    return MARKETER if MARKETER in group_names else SALES if SALES in group_names else ""


def role_of(user: Any) -> str:
    """marketer, sales or "" (no role), read from the database (config/roles.py caches
    its answer on the user object for the request)."""
    names = set(user.groups.filter(name__in=(MARKETER, SALES)).values_list("name", flat=True))
    return _role(user, names)


def account_for_email(email: str) -> Any | None:
    """The account an invitation to `email` joins: the one whose username or email it is
    (an active one first, then the one named by the address itself)."""
    users = get_user_model().objects.filter(Q(username__iexact=email) | Q(email__iexact=email))
    found = list(users.order_by("-is_active", "pk")[:5])
    active = [u for u in found if u.is_active] or found
    named = [u for u in active if u.username.lower() == email.lower()]
    return next(iter(named or active), None)


@dataclass(frozen=True)
class Member:
    user: Any
    role: str  # marketer, sales or "" (no role yet)
    is_admin: bool  # staff or superuser: always a marketer, managed in the admin

    @property
    def name(self) -> str:
        return str(self.user.get_full_name() or self.user.get_username())


def team_members() -> list[Member]:
    """Everyone who can log in, by name."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .prefetch_related("groups")
        .order_by("first_name", "last_name", "username")
    )
    return [
        Member(
            user=u,
            role=_role(u, {g.name for g in u.groups.all()}),
            is_admin=bool(u.is_staff or u.is_superuser),
        )
        for u in users
    ]


def invitations_pending(*, now: datetime | None = None) -> QuerySet[Invitation]:
    """Invitations whose link still works, newest first."""
    return (
        Invitation.objects.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now or timezone.now()
        )
        .select_related("invited_by")
        .order_by("-created_at", "-id")
    )
