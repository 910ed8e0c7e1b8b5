"""Reads for gates and forms."""

from __future__ import annotations

import uuid
from datetime import date

from django.db.models import QuerySet, Sum

from forms_app.models import (
    Gate,
    GateFile,
    PdfPage,
    PdfStatus,
    QuarantinedSubmission,
    SpamTally,
    SpamTallyKind,
)
from profiling.models import Visitor


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
