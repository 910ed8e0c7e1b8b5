"""Events link to their visitor, lead and gate without database constraints (see the
comment on profiling.models.Event): none exists in PostgreSQL, and what the constraints
would have guarded still holds through the ingest statement and the ORM's cascades."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from profiling.models import Event, Visitor
from profiling.services.ingest import events_ingest
from profiling.services.ingest.parse import NewEvent
from tests.support.factories import make_event, make_gate, make_lead, make_visitor

pytestmark = pytest.mark.django_db


def test_the_events_table_has_no_foreign_key_constraints() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint"
            " WHERE conrelid = 'profiling_event'::regclass AND contype = 'f'"
        )
        assert cursor.fetchall() == []


def test_ingest_creates_the_visitor_its_events_name_and_reads_its_lead() -> None:
    gate = make_gate()
    lead = make_lead()
    known = make_visitor(lead=lead)
    new_visitor = uuid.uuid4()
    for visitor_id in (known.id, new_visitor):
        events_ingest(
            visitor_id=visitor_id,
            events=[NewEvent(id=uuid.uuid4(), type="page_view", gate_id=gate.id)],
        )
    # Every event's visitor exists (the statement upserted it first) and its lead is the
    # visitor's: nothing dangles without the constraints.
    assert Visitor.objects.filter(id=new_visitor, lead=None).exists()
    assert Event.objects.get(visitor_id=known.id).lead_id == lead.id
    assert Event.objects.get(visitor_id=new_visitor).lead_id is None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM profiling_event e"
            " LEFT JOIN profiling_visitor v ON v.id = e.visitor_id"
            " LEFT JOIN forms_app_gate g ON g.id = e.gate_id"
            " WHERE v.id IS NULL OR (e.gate_id IS NOT NULL AND g.id IS NULL)"
        )
        assert cursor.fetchone() == (0,)


def test_deleting_a_gate_or_a_visitor_still_cascades_as_on_delete_says() -> None:
    gate = make_gate()
    kept = make_visitor()
    gone = make_visitor()
    event = make_event(visitor=kept, gate=gate)
    make_event(visitor=gone, gate=gate)
    gate.delete()
    event.refresh_from_db()
    assert event.gate_id is None  # SET_NULL, by the ORM's collector
    gone.delete()
    assert not Event.objects.filter(visitor_id=gone.id).exists()  # CASCADE
    assert Event.objects.filter(visitor_id=kept.id).exists()
