"""Reads for gates and forms."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from forms_app.models import Gate
from profiling.models import Visitor


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
