"""The passive profile: what leadgate inferred about a person without asking."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from forms_app.models import Gate, Section
from profiling.enrichment import social_network, touch_channel
from profiling.models import Event, Lead
from profiling.selectors.activity import VISIT_GAP

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
