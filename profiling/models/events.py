"""Behaviour: events, the write keys of Segment-compatible sources, score-pending marks."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any, ClassVar

from django.db import models, transaction
from django.utils import timezone

from forms_app.models import Gate
from profiling.models.people import Lead, Visitor


class EventType(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    SECTION_VIEW = "section_view", "Section view"
    DOWNLOAD = "download", "Download"
    FORM_VIEW = "form_view", "Form view"
    # Extension: Segment `track` calls with other names, scored by name.
    TRACK = "track", "Custom track event"


class EventManager(models.Manager["Event"]):
    """Events written by the ORM (the demo's history, tests) get their receipts as the
    ingest statement's do, so a later resend of the same id through the beacon is known
    as a duplicate: the receipt rule lives here and in profiling/ingest_sql.py only."""

    def bulk_create(self, objs: Iterable[Event], *args: Any, **kwargs: Any) -> list[Event]:
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            now = timezone.now()
            EventReceipt.objects.using(self.db).bulk_create(
                [
                    EventReceipt(id=event.id, received_at=event.received_at or now)
                    for event in created
                ],
                ignore_conflicts=True,
                batch_size=kwargs.get("batch_size"),
            )
        return created

    def create(self, **kwargs: Any) -> Event:
        with transaction.atomic(using=self.db):
            event = super().create(**kwargs)
            EventReceipt.objects.using(self.db).get_or_create(
                id=event.id, defaults={"received_at": event.received_at or timezone.now()}
            )
        return event


class Event(models.Model):
    """One thing a visitor did. The table is partitioned by month of `occurred_at`
    (profiling/partitions.py; docs/operations.md, "Events partitioned by time").

    Partitioned, the table can have no unique index that leaves out `occurred_at`, and
    `occurred_at` is not the same on a retry: ingest corrects it for the client's clock
    skew with the receive time (profiling/services/ingest/parse.py), so a resent event
    lands milliseconds (or, near a month's end, a partition) away from its first copy.
    `id` is still the primary key for Django (the ORM only needs a column that names a
    row), but in the database it has no constraint: EventReceipt holds the uniqueness.
    """

    # Client-made UUID: a retried batch inserts nothing new (its EventReceipt row exists).
    id = models.UUIDField(primary_key=True)
    # The three foreign keys have no index of their own: each is the first column of one
    # of the composite indexes below, which serve the same lookups (and the cascades). An
    # event row is written on the hottest path; three fewer index entries per row matter.
    # Nor do they have a constraint in the database (db_constraint=False): PostgreSQL
    # checks a foreign key with a trigger per inserted row at commit, which was about a
    # third of its time for a 100-event batch (docs/benchmarks.md, "Event ingest").
    # Integrity holds without it: the one ingest statement (profiling/ingest_sql.py)
    # upserts the visitor before its events and reads the lead under that visitor's row
    # lock, gate ids come from the active gates just read, leads are never deleted (erased
    # and merged ones stay as tombstones), and deleting a visitor or a gate goes through
    # the ORM, whose collector still cascades and nulls as on_delete says.
    visitor = models.ForeignKey(
        Visitor,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    # Denormalised from visitor.lead so scoring reads one index range per lead; set when
    # the visitor identifies (earlier anonymous events then count).
    lead = models.ForeignKey(
        Lead,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    type = models.CharField(max_length=16, choices=EventType.choices)
    name = models.CharField(max_length=200, blank=True)  # track events: the event name
    gate = models.ForeignKey(
        Gate,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        db_constraint=False,
    )
    section_key = models.CharField(max_length=80, blank=True)
    file_key = models.CharField(max_length=80, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    url = models.CharField(max_length=2000, blank=True)
    source = models.CharField(max_length=16, default="tracker")  # tracker|server|segment
    # Where the visit came from, when the client said: {utm_source, utm_medium,
    # utm_campaign, referrer} (only the keys that were given). Read for the profile's
    # touches; one JSON column instead of four keeps the batch INSERT narrow.
    touch = models.JSONField(default=dict, blank=True)

    objects: ClassVar[EventManager] = EventManager()

    class Meta:
        ordering = ["occurred_at"]
        indexes = [
            # Partial: an anonymous visitor's events (most of the beacon's traffic) have
            # no lead, and nothing reads events by "no lead" through this index; every
            # read is one lead's events. Identify fills lead_id in later (an UPDATE).
            models.Index(
                fields=["lead", "occurred_at"],
                name="event_lead_time",
                condition=models.Q(lead__isnull=False),
            ),
            models.Index(fields=["visitor", "occurred_at"], name="event_visitor_time"),
            models.Index(fields=["gate", "type", "occurred_at"], name="event_gate_type_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class EventReceipt(models.Model):
    """The id of an event received in the last RECEIPT_DAYS: the unique index that the
    partitioned events table cannot have (Event says why).

    The one ingest statement (profiling/ingest_sql.py) inserts the receipts of a batch
    with ON CONFLICT (id) DO NOTHING and stores only the events whose receipt it made, so
    a resent event is stored once whatever `occurred_at` the retry computes. Rows older
    than profiling/partitions.py's RECEIPT_DAYS are deleted daily: the table (and its
    index, which every event insert touches) stays the size of a month of traffic and in
    memory, where the unpartitioned table's primary key grew with every event ever kept.
    A resend of an event first received longer ago than that is stored again.
    """

    id = models.UUIDField(primary_key=True)
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = "event receipt"
        verbose_name_plural = "event receipts"

    def __str__(self) -> str:
        return str(self.id)


class ScorePending(models.Model):
    """A lead with stored events that scoring has not seen yet.

    Written in the same transaction as the events, so it is exactly as durable as they
    are: if Redis or the workers are down, the periodic sweep finds the row later and
    scores the lead. The score task removes the row once the lead is scored
    (profiling/services/score_triggers.py).
    """

    lead = models.OneToOneField(Lead, primary_key=True, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField()

    class Meta:
        verbose_name = "score pending mark"
        verbose_name_plural = "score pending marks"

    def __str__(self) -> str:
        return f"score pending for {self.lead_id}"


def make_write_key() -> str:
    return "wk_" + secrets.token_urlsafe(24)


class Source(models.Model):
    """A Segment-compatible source: its write key authenticates /v1/batch and friends."""

    name = models.CharField(max_length=200)
    write_key = models.CharField(max_length=100, unique=True, default=make_write_key)
    # Contract: allowed_gates is a list of slugs, or null for all gates.
    all_gates = models.BooleanField(default=True)
    gates = models.ManyToManyField(Gate, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
