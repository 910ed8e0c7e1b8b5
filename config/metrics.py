"""leadgate's Prometheus metrics: the counters the code increments where things happen,
and what GET /metrics (config/health.py) answers.

Counted across processes. gunicorn's workers and Celery's are separate processes, so
with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py sets a temporary one when it is
unset; deploy/leadgate.env sets one folder for the web and worker units of a machine)
each process writes its counts to a file there and a scrape adds the files up. The
variable must be set before prometheus_client is first imported: it picks its value
storage at import time. Without it (tests, `manage.py runserver`) counts live in the
process that serves the scrape.

Counters are cheap (a lock and a write to a memory-mapped file) but still not free:
the ingest path increments once per batch with the batch's count, never per event.

What a scrape reads from PostgreSQL and Redis instead of counting (queue depth, the
outboxes, the lags) is in the collector below: always the current value, whichever
process or machine did the work.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

log = logging.getLogger(__name__)

EVENTS_ACCEPTED = Counter(
    "leadgate_events_accepted_total",
    "Events stored (new ids), by ingest path.",
    ["source"],
)
EVENTS_DUPLICATE = Counter(
    "leadgate_events_duplicate_total",
    "Events whose id was already stored (a retry): answered, nothing changed.",
    ["source"],
)
EVENTS_REFUSED = Counter(
    "leadgate_events_refused_total",
    "Events refused by POST /api/v1/public/events, by reason: invalid (per event), "
    "origin and rate_limited (the batch's events), too_large and not_json (one per body).",
    ["reason"],
)
SUBMISSIONS = Counter(
    "leadgate_submissions_total",
    "Form submissions: lead (a lead was made or updated) or quarantined (held as suspect).",
    ["outcome"],
)
GRADE_CHANGES = Counter(
    "leadgate_grade_changes_total",
    "Grade changes recorded (a lead's scoring, a rescore, decay), by the new grade.",
    ["grade"],
)
DELIVERIES = Counter(
    "leadgate_deliveries_total",
    "CRM delivery attempts by outcome (succeeded, retry, gave-up, gone, failed, skipped).",
    ["outcome"],
)
SPEED_TO_LEAD = Histogram(
    "leadgate_speed_to_lead_seconds",
    "Hot and other pushed grade changes: the triggering event's arrival to the CRM's 2xx "
    "(first success of each delivery).",
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 86400),
)


_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def labelled(metric: Any, *values: str) -> Any:
    """`metric.labels(*values)`, kept: labels() validates and locks on every call (several
    microseconds in multiprocess mode, more than the increment itself)."""
    key = (id(metric), values)
    child = _children.get(key)
    if child is None:
        child = _children.setdefault(key, metric.labels(*values))
    return child


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class StateCollector(Collector):
    """Gauges read at scrape time: what is waiting, and for how long."""

    def collect(self) -> Iterator[Any]:
        # Here, not at the top: the apps' models are loaded by the time anyone scrapes.
        from django.utils import timezone

        from config.health import queue_depths
        from profiling.selectors import backlog_read

        depth = GaugeMetricFamily(
            "leadgate_queue_depth",
            "Celery messages waiting in Redis, by queue (every priority list).",
            labels=["queue"],
        )
        for queue, n in queue_depths().items():
            depth.add_metric([queue], n)
        yield depth
        try:
            backlog = backlog_read(now=timezone.now())
        except Exception:
            # PostgreSQL is down: the counters still answer (and /readyz says why).
            log.warning("metrics: could not read the backlog", exc_info=True)
            return
        outbox = GaugeMetricFamily(
            "leadgate_outbox_size",
            "Rows waiting to be sent: pending CRM deliveries and pending emails.",
            labels=["kind"],
        )
        outbox.add_metric(["deliveries"], backlog.deliveries_pending)
        outbox.add_metric(["emails"], backlog.emails_pending)
        yield outbox
        yield GaugeMetricFamily(
            "leadgate_scoring_lag_seconds",
            "Age of the oldest lead waiting to be scored (ScorePending); 0 when none waits.",
            value=backlog.scoring_lag_s,
        )
        yield GaugeMetricFamily(
            "leadgate_delivery_lag_seconds",
            "How long the most overdue pending CRM delivery has been due; 0 when none is.",
            value=backlog.delivery_lag_s,
        )


def metrics_text() -> bytes:
    """The exposition: the counters of every process (multiprocess mode) or of this one,
    then the scrape-time gauges."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ThisProcess())
    registry.register(StateCollector())
    return generate_latest(registry)


class _ThisProcess(Collector):
    """The default registry's leadgate_* metrics (this process's counts)."""

    def collect(self) -> Iterator[Any]:
        for family in REGISTRY.collect():
            if family.name.startswith("leadgate_"):
                yield family


def _zeros() -> None:
    """Every known label value starts at 0, so each series exists from the first scrape
    (a rate() or an alert on a series that appears only with its first event misses it)."""
    for source in ("tracker", "segment", "server"):
        labelled(EVENTS_ACCEPTED, source)
        labelled(EVENTS_DUPLICATE, source)
    for reason in ("invalid", "origin", "rate_limited", "too_large", "not_json"):
        labelled(EVENTS_REFUSED, reason)
    for outcome in ("lead", "quarantined"):
        labelled(SUBMISSIONS, outcome)
    for grade in ("cold", "warm", "hot"):
        labelled(GRADE_CHANGES, grade)
    for outcome in ("succeeded", "retry", "gave-up", "gone", "failed", "skipped"):
        labelled(DELIVERIES, outcome)


_zeros()
