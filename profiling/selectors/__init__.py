"""Reads for leads, rules, endpoints and deliveries; one person's rows and export in `person`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.db import connection
from django.db.models import Count, Max, QuerySet

from forms_app.models import Gate, GateFile, Section, Submission
from forms_app.reading import DEFAULT_MIN_DWELL_MS, read_threshold_sql
from profiling.enrichment import social_network, touch_channel
from profiling.models import (
    Delivery,
    DeliveryStatus,
    Event,
    Lead,
    OutboundEmail,
    ScoringRule,
    WebhookEndpoint,
)
from profiling.scoring_engine import dwell_text

TIMELINE_LIMIT = 500
VISIT_GAP = timedelta(minutes=30)  # the usual web-analytics session timeout


def lead_list(
    *, grade: str | None = None, gate: str | None = None, since: datetime | None = None
) -> QuerySet[Lead]:
    # Merged-away leads are pointers to their winner, not people of their own.
    leads = Lead.objects.filter(erased_at__isnull=True, merged_into__isnull=True)
    if grade:
        leads = leads.filter(grade=grade)
    if gate:
        # A lead "belongs" to a gate it submitted on or first arrived through.
        leads = leads.filter(submissions__gate__slug=gate).distinct()
    if since:
        leads = leads.filter(created_at__gte=since)
    return leads.order_by("-created_at", "id")


# The columns of a leads CSV export, in order: the same file from the API and the workspace.
LEAD_CSV_COLUMNS = (
    "id",
    "name",
    "email",
    "subscribed",
    "score",
    "grade",
    "company_domain",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "referrer",
    "created_at",
)


def lead_get(*, lead_id: uuid.UUID) -> Lead | None:
    """The lead, or the lead it was merged into (its id stays a valid link)."""
    lead = Lead.objects.filter(pk=lead_id, erased_at__isnull=True).first()
    hops = 0
    while lead is not None and lead.merged_into_id is not None and hops < 10:
        lead = Lead.objects.filter(pk=lead.merged_into_id, erased_at__isnull=True).first()
        hops += 1
    return lead


def _took(ms: int | None) -> str:
    return f" ({dwell_text(ms)})" if ms and ms >= 1000 else ""


def _describe(
    event: Event, titles: dict[tuple[str, int, str], str], duration_ms: int | None
) -> str:
    """One line a salesperson can read: what the person did, with titles, not keys."""
    gate = event.gate
    where = f"“{gate.title}”" if gate else "a deleted gate"
    if event.type == "section_view":
        if event.file_key:
            # A PDF's page: section key "p<N>" of the file.
            title = titles.get(("f", event.gate_id or 0, event.file_key), event.file_key)
            page = event.section_key.removeprefix("p")
            return f"Read page {page} of “{title}” in {where}{_took(duration_ms)}"
        title = titles.get(("s", event.gate_id or 0, event.section_key), event.section_key)
        return f"Read “{title}” in {where}{_took(duration_ms)}"
    if event.type == "download":
        title = titles.get(("f", event.gate_id or 0, event.file_key), event.file_key)
        return f"Downloaded “{title}” from {where}"
    if event.type == "page_view":
        if gate:
            return f"Viewed {where}"
        return f"Viewed {event.name or event.url or 'a page'}"
    if event.type == "form_view":
        return f"Saw the form of {where}"
    return f"Did “{event.name or 'a custom event'}”" + (f" on {where}" if gate else "")


def lead_timeline(*, lead_id: uuid.UUID, limit: int = TIMELINE_LIMIT) -> list[dict[str, Any]]:
    """Newest first: what the person read and downloaded, in words and in data.

    The tracker reports reading time in parts (heartbeats); the reports of one section
    on one device within a visit are one entry, with their summed time (`duration_ms`)
    and their number (`reports`), dated by the newest."""
    events = list(
        Event.objects.filter(lead_id=lead_id)
        .select_related("gate")
        .order_by("-occurred_at", "id")[:limit]
    )
    gate_ids = {e.gate_id for e in events if e.gate_id is not None}
    titles: dict[tuple[str, int, str], str] = {}
    for kind, model in (("s", Section), ("f", GateFile)):
        rows = model.objects.filter(gate_id__in=gate_ids).values_list("gate_id", "key", "title")
        titles.update({(kind, gate_id, key): title for gate_id, key, title in rows})
    entries: list[tuple[Event, dict[str, Any]]] = []
    # (visitor, gate, file, section) -> the entry its older reports join, and its oldest time
    reading: dict[tuple[object, ...], tuple[dict[str, Any], datetime]] = {}
    for e in events:
        if e.type == "section_view":
            key = (e.visitor_id, e.gate_id, e.file_key, e.section_key)
            found = reading.get(key)
            if found is not None and found[1] - e.occurred_at <= VISIT_GAP:
                entry = found[0]
                entry["duration_ms"] = (entry["duration_ms"] or 0) + (e.duration_ms or 0)
                entry["reports"] += 1
                reading[key] = (entry, e.occurred_at)
                continue
        entry = {
            "id": str(e.id),
            "at": e.occurred_at,
            "type": e.type,
            "text": "",
            "gate": e.gate.slug if e.gate else None,
            "section": e.section_key or None,
            "file": e.file_key or None,
            "name": e.name or None,
            "duration_ms": e.duration_ms,
            "reports": 1,
            "url": e.url or None,
            "visitor_id": str(e.visitor_id),
            "source": e.source,
        }
        if e.type == "section_view":
            reading[(e.visitor_id, e.gate_id, e.file_key, e.section_key)] = (entry, e.occurred_at)
        entries.append((e, entry))
    for e, entry in entries:
        entry["text"] = _describe(e, titles, entry["duration_ms"])
    return [entry for _, entry in entries]


def lead_reading(*, lead_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each section (and PDF page) the person spent time on: the summed active time of
    its reports and whether it counts as read (as scoring decides: the threshold of
    forms_app/reading.py, or a report without a duration). Sections in their gate's order, then pages by file and number."""
    threshold = read_threshold_sql(
        f"coalesce(g.min_dwell_ms, {DEFAULT_MIN_DWELL_MS})", "coalesce(s.words, 0)"
    )
    sql = f"""
        SELECT g.slug, d.file_key, d.section_key, d.active_ms,
               d.unmeasured OR d.active_ms >= {threshold}
        FROM (
            SELECT gate_id, file_key, section_key,
                   sum(coalesce(duration_ms, 0))::bigint AS active_ms,
                   bool_or(duration_ms IS NULL) AS unmeasured
            FROM {Event._meta.db_table}
            WHERE lead_id = %s AND type = 'section_view'
            GROUP BY 1, 2, 3
        ) d
        LEFT JOIN {Gate._meta.db_table} g ON g.id = d.gate_id
        LEFT JOIN {Section._meta.db_table} s
            ON s.gate_id = d.gate_id AND s.key = d.section_key AND d.file_key = ''
        ORDER BY g.slug NULLS LAST, d.file_key, s.position NULLS LAST,
                 length(d.section_key), d.section_key
    """  # noqa: S608 (table names and constants only)
    with connection.cursor() as cursor:
        cursor.execute(sql, [lead_id])
        rows = cursor.fetchall()
    return [
        {
            "gate": slug,
            "section": section_key,
            "active_ms": active_ms,
            "read": read,
            "file": file_key or None,
            "page": _page_number(section_key) if file_key else None,
        }
        for slug, file_key, section_key, active_ms, read in rows
    ]


def _page_number(section_key: str) -> int | None:
    digits = section_key.removeprefix("p")
    return int(digits) if digits.isdigit() and len(digits) < 7 else None


def rule_list() -> QuerySet[ScoringRule]:
    return ScoringRule.objects.select_related("gate").order_by("id")


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


def endpoint_deliveries(*, endpoint_id: int) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(endpoint_id=endpoint_id)
        .select_related("grade_change")
        .order_by("-created_at")
    )


SPEED_WINDOW = 1000


def _percentile(sorted_values: list[int], p: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    rank = (len(sorted_values) - 1) * p
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def endpoint_delivery_stats(*, endpoint_id: int, window: int = SPEED_WINDOW) -> dict[str, Any]:
    """Speed to lead (trigger -> CRM 2xx) p50/p95/p99 over the endpoint's latest `window`
    successes (partial index delivery_endpoint_speed), plus delivery counts by status.
    The percentiles are computed in Python over that bounded window."""
    speeds = sorted(
        ms
        for ms in Delivery.objects.filter(endpoint_id=endpoint_id, speed_to_lead_ms__isnull=False)
        .order_by("-delivered_at")
        .values_list("speed_to_lead_ms", flat=True)[:window]
        if ms is not None
    )
    counts = {
        row["status"]: row["n"]
        for row in Delivery.objects.filter(endpoint_id=endpoint_id)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    }
    return {
        "speed_to_lead_ms": {
            "count": len(speeds),
            "p50": _percentile(speeds, 0.50),
            "p95": _percentile(speeds, 0.95),
            "p99": _percentile(speeds, 0.99),
            "max": speeds[-1] if speeds else None,
        },
        "deliveries": {status: counts.get(status, 0) for status in DeliveryStatus.values},
    }


def endpoint_health(*, endpoint_id: int) -> dict[str, Any]:
    """The endpoint's last 2xx, and its failure streak: how many deliveries have been
    tried and not accepted since then (each retried until it succeeds or gives up). The
    endpoint's own failing_since says since when."""
    last_success = Delivery.objects.filter(
        endpoint_id=endpoint_id, status=DeliveryStatus.SUCCEEDED
    ).aggregate(at=Max("delivered_at"))["at"]
    failing = Delivery.objects.filter(endpoint_id=endpoint_id, attempts__gt=0).exclude(
        status__in=(DeliveryStatus.SUCCEEDED, DeliveryStatus.SKIPPED)
    )
    if last_success is not None:
        failing = failing.filter(last_attempt_at__gt=last_success)
    return {"last_success_at": last_success, "failure_streak": failing.count()}


# --- the passive profile -----------------------------------------------------------------
STAGE_ORDER = ("epiphany", "interest", "decision")
MIN_DWELL_MS = 1000  # a section "read" without a duration still counts a little
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")


def _touch_of(*, at: datetime, touch: dict[str, str], url: str = "") -> dict[str, Any] | None:
    """A touch from explicit fields, else from the UTM parameters of the page URL."""
    fields = {k: str(touch.get(k) or "") for k in (*UTM_KEYS, "referrer")}
    if url and not any(fields[k] for k in UTM_KEYS):
        try:
            query = parse_qs(urlsplit(url).query)
        except ValueError:
            query = {}
        for key in UTM_KEYS:
            if query.get(key):
                fields[key] = query[key][0][:200]
    if not any(fields.values()):
        return None
    return {
        "at": at,
        **fields,
        "channel": touch_channel(
            utm_source=fields["utm_source"],
            utm_medium=fields["utm_medium"],
            referrer=fields["referrer"],
        ),
        "social_network": social_network(
            utm_source=fields["utm_source"], referrer=fields["referrer"]
        )
        or None,
    }


def lead_profile(*, lead: Lead) -> dict[str, Any]:
    """What leadgate inferred about the person without asking.

    - company: the email's domain unless it is free or disposable mail;
    - topics: the topics of the sections read, weighted by dwell time;
    - buying stage: the most advanced stage of the content they engaged with (read or
      downloaded), with the dwell per stage;
    - first and last touch: UTM and referrer (social networks recognised), from the
      submissions/identifies and from the events' own touch data and page URLs;
    - visits: runs of events per device with no gap over 30 minutes.
    """
    rows = list(
        Event.objects.filter(lead_id=lead.id)
        .order_by("visitor_id", "occurred_at")
        .values_list(
            "visitor_id",
            "occurred_at",
            "type",
            "gate_id",
            "section_key",
            "file_key",
            "duration_ms",
            "touch",
            "url",
        )
    )
    gate_ids = {r[3] for r in rows if r[3] is not None}
    stages = dict(Gate.objects.filter(id__in=gate_ids).values_list("id", "stage"))
    section_topics = {
        (gate_id, key): topics
        for gate_id, key, topics in Section.objects.filter(gate_id__in=gate_ids).values_list(
            "gate_id", "key", "topics"
        )
    }
    topics: dict[str, float] = {}
    stage_dwell: dict[str, float] = {}
    visits = 0
    last: tuple[Any, datetime] | None = None
    touches: list[dict[str, Any]] = []
    section_ms: dict[tuple[int, str, str], int] = {}
    for visitor_id, at, etype, gate_id, section_key, file_key, duration_ms, touch, url in rows:
        if last is None or last[0] != visitor_id or at - last[1] > VISIT_GAP:
            visits += 1
        last = (visitor_id, at)
        found = _touch_of(at=at, touch=touch or {}, url=url or "")
        if found:
            touches.append(found)
        if gate_id is None:
            continue
        if etype == "section_view":
            # Reading comes in parts (heartbeats): summed per section first.
            key = (gate_id, file_key, section_key)
            section_ms[key] = section_ms.get(key, 0) + (duration_ms or 0)
        elif etype == "download":
            stage = stages.get(gate_id)
            if stage:
                dwell = max(duration_ms or 0, MIN_DWELL_MS) / 1000
                stage_dwell[stage] = stage_dwell.get(stage, 0.0) + dwell
    for (gate_id, file_key, section_key), ms in section_ms.items():
        dwell = max(ms, MIN_DWELL_MS) / 1000
        stage = stages.get(gate_id)
        if stage:
            stage_dwell[stage] = stage_dwell.get(stage, 0.0) + dwell
        for topic in (section_topics.get((gate_id, section_key)) or []) if not file_key else []:
            if isinstance(topic, str) and topic:
                topics[topic] = topics.get(topic, 0.0) + dwell
    lead_touches: tuple[tuple[datetime | None, str, str, str, str], ...] = (
        (lead.created_at, lead.utm_source, lead.utm_medium, lead.utm_campaign, lead.referrer),
        (
            lead.last_touch_at,
            lead.last_utm_source,
            lead.last_utm_medium,
            lead.last_utm_campaign,
            lead.last_referrer,
        ),
    )
    for when, source, medium, campaign, referrer in lead_touches:
        if when is None:
            continue
        found = _touch_of(
            at=when,
            touch={
                "utm_source": source,
                "utm_medium": medium,
                "utm_campaign": campaign,
                "referrer": referrer,
            },
        )
        if found:
            touches.append(found)
    touches.sort(key=lambda t: t["at"])
    total = sum(topics.values()) or 1.0
    engaged = [s for s in STAGE_ORDER if stage_dwell.get(s)]
    return {
        "company_domain": lead.company_domain or None,
        "is_free_or_disposable_email": not lead.company_domain,
        "is_disposable_email": lead.is_disposable_email,
        "topics": [
            {"topic": t, "dwell_s": round(w, 1), "share": round(w / total, 3)}
            for t, w in sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        ],
        "buying_stage": engaged[-1] if engaged else None,
        "stage_dwell_s": {s: round(stage_dwell[s], 1) for s in engaged},
        "first_touch": touches[0] if touches else None,
        "last_touch": touches[-1] if touches else None,
        "visits": visits,
        "devices": len({r[0] for r in rows}) or lead.visitors.count(),
        "events": len(rows),
    }


@dataclass(frozen=True)
class Backlog:
    """What waits in the database to be done (read by GET /metrics)."""

    deliveries_pending: int
    emails_pending: int
    # Seconds: the oldest lead waiting to be scored, the most overdue due delivery.
    scoring_lag_s: float
    delivery_lag_s: float


def backlog_read(*, now: datetime) -> Backlog:
    """One statement; each part probes a small table or a partial index on `pending`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM profiling_delivery WHERE status = 'pending'),
              (SELECT count(*) FROM profiling_outboundemail WHERE status = 'pending'),
              (SELECT min(since) FROM profiling_scorepending),
              (SELECT min(coalesce(next_attempt_at, created_at)) FROM profiling_delivery
                WHERE status = 'pending'
                  AND (next_attempt_at IS NULL OR next_attempt_at <= %s))
            """,
            [now],
        )
        deliveries, emails, oldest_mark, oldest_due = cursor.fetchone()

    def age(at: datetime | None) -> float:
        return max(0.0, (now - at).total_seconds()) if at is not None else 0.0

    return Backlog(
        deliveries_pending=int(deliveries),
        emails_pending=int(emails),
        scoring_lag_s=age(oldest_mark),
        delivery_lag_s=age(oldest_due),
    )


def lead_language(*, lead_id: uuid.UUID) -> str | None:
    """The language the lead's unsubscribe page speaks: their first gate's, else (every
    gate they used is gone) that of the latest email they were sent, else None."""
    first = (
        Submission.objects.filter(lead_id=lead_id)
        .order_by("created_at", "id")
        .values_list("gate__language", flat=True)
        .first()
    )
    if first:
        return first
    return (
        OutboundEmail.objects.filter(lead_id=lead_id)
        .exclude(language="")
        .order_by("-created_at")
        .values_list("language", flat=True)
        .first()
    )
