"""A month of plausible activity for the workspace's browser test and screenshots:
leads from social, email, search, paid and direct traffic, sections read, downloads,
grade changes and CRM deliveries. Deterministic (seeded), written in bulk."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from forms_app.models import CampaignCost, Gate, Submission
from profiling.models import Delivery, Event, GradeChange, Lead, Visitor, WebhookEndpoint

FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Linus",
    "Margaret",
    "Tim",
    "Hedy",
    "Claude",
    "Radia",
    "Barbara",
    "Dennis",
    "Frances",
    "Ken",
    "Sophie",
    "Vint",
    "Joan",
    "Edsger",
    "Mary",
    "John",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Berners",
    "Lamarr",
    "Shannon",
    "Perlman",
    "Liskov",
    "Ritchie",
    "Allen",
    "Thompson",
    "Wilson",
    "Cerf",
    "Clarke",
    "Dijkstra",
    "Keller",
    "Backus",
]
DOMAINS = [
    "northwind-logistics.com",
    "acme-clinics.de",
    "harbour-hotels.co.uk",
    "gmail.com",
    "brightfield.io",
    "stadtwerke-ost.de",
    "meridian-law.com",
    "outlook.com",
    "polar-foods.fi",
    "kestrel-design.com",
]
# (weight, utm_source, utm_medium, utm_campaign, referrer)
SOURCES = [
    (28, "linkedin", "social", "spring-fibre", ""),
    (9, "", "", "", "https://t.co/x1"),
    (6, "facebook", "social", "", ""),
    (3, "xing", "social", "", ""),
    (15, "newsletter", "email", "march", ""),
    (15, "", "", "", "https://www.google.com/"),
    (8, "google", "cpc", "fibre-ads", ""),
    (16, "", "", "", ""),
]


def seed_activity(
    *, gate: Gate, endpoint: WebhookEndpoint | None, leads: int = 220, seed: int = 8
) -> list[Lead]:
    rnd = random.Random(seed)
    now = timezone.now()
    sections = list(gate.sections.values_list("key", flat=True))
    files = list(gate.files.values_list("key", flat=True))
    weights = [s[0] for s in SOURCES]
    made: list[Lead] = []
    events: list[Event] = []
    changes: list[tuple[Lead, str, str, int]] = []
    created_at: dict[uuid.UUID, object] = {}
    used: set[str] = set()
    for i in range(leads):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        domain = rnd.choice(DOMAINS)
        email = f"{first}.{last}{i}@{domain}".lower()
        if email in used:
            continue
        used.add(email)
        _, src, med, camp, ref = rnd.choices(SOURCES, weights)[0]
        social = med == "social" or "t.co" in ref
        read = min(len(sections), max(0, int(rnd.gauss(3.2 if social else 2.2, 1.8))))
        downloaded = bool(files) and read >= 3 and rnd.random() < (0.45 if social else 0.3)
        score = read * 10 + (50 if downloaded else 0)
        grade = "hot" if downloaded or score >= 80 else "warm" if score >= 30 else "cold"
        reasons = []
        if downloaded:
            reasons.append(f"downloaded {files[0]} (makes hot) [Downloaded the network map: +50]")
        if read:
            reasons.append(
                f"read {read} of {len(sections)} sections of {gate.slug} [Read e-book sections: +{read * 10}]"
            )
        lead = Lead(
            email=email,
            name=f"{first} {last}",
            subscribed=rnd.random() < 0.6,
            utm_source=src,
            utm_medium=med,
            utm_campaign=camp,
            referrer=ref,
            first_gate=gate,
            company_domain="" if domain in ("gmail.com", "outlook.com") else domain,
            score=score,
            grade=grade,
            reasons=reasons,
            scored_at=now,
        )
        made.append(lead)
        # Recent days busier: a growing campaign.
        start = now - timedelta(days=29 * rnd.random() ** 1.4, hours=rnd.random() * 5)
        created_at[lead.id] = start + timedelta(minutes=2)
        visitor = Visitor(id=uuid.uuid4(), lead=lead)
        lead._visitor = visitor  # type: ignore[attr-defined]
        at = start
        touch = {
            k: v
            for k, v in (
                ("utm_source", src),
                ("utm_medium", med),
                ("utm_campaign", camp),
                ("referrer", ref),
            )
            if v
        }
        events.append(
            Event(
                id=uuid.uuid4(),
                visitor=visitor,
                lead=lead,
                type="page_view",
                gate=gate,
                occurred_at=at,
                received_at=at,
                touch=touch,
            )
        )
        events.append(
            Event(
                id=uuid.uuid4(),
                visitor=visitor,
                lead=lead,
                type="form_view",
                gate=gate,
                occurred_at=at,
                received_at=at,
            )
        )
        for key in sections[:read]:
            at += timedelta(
                minutes=rnd.randint(1, 90) if rnd.random() < 0.7 else rnd.randint(600, 4000)
            )
            events.append(
                Event(
                    id=uuid.uuid4(),
                    visitor=visitor,
                    lead=lead,
                    type="section_view",
                    gate=gate,
                    section_key=key,
                    duration_ms=rnd.randint(6000, 140000),
                    occurred_at=at,
                    received_at=at,
                )
            )
            if read >= 3 and key == sections[2]:
                changes.append((lead, "cold", "warm", 30))
                lead._warm_at = at  # type: ignore[attr-defined]
        if downloaded:
            at += timedelta(minutes=rnd.randint(1, 300))
            events.append(
                Event(
                    id=uuid.uuid4(),
                    visitor=visitor,
                    lead=lead,
                    type="download",
                    gate=gate,
                    file_key=files[0],
                    occurred_at=at,
                    received_at=at,
                )
            )
            changes.append((lead, "warm", "hot", score))
            lead._hot_at = at  # type: ignore[attr-defined]
    Lead.objects.bulk_create(made)
    for lead in made:
        Lead.objects.filter(pk=lead.pk).update(created_at=created_at[lead.id])
    Visitor.objects.bulk_create([lead._visitor for lead in made])  # type: ignore[attr-defined]
    # Visitors who looked but never filled the form.
    anon = [Visitor(id=uuid.uuid4()) for _ in range(leads * 2)]
    Visitor.objects.bulk_create(anon)
    for v in anon:
        at = now - timedelta(days=29 * rnd.random() ** 1.4)
        events.append(
            Event(
                id=uuid.uuid4(),
                visitor=v,
                type="page_view",
                gate=gate,
                occurred_at=at,
                received_at=at,
            )
        )
        if rnd.random() < 0.55:
            events.append(
                Event(
                    id=uuid.uuid4(),
                    visitor=v,
                    type="form_view",
                    gate=gate,
                    occurred_at=at,
                    received_at=at,
                )
            )
    Event.objects.bulk_create(events, batch_size=2000)
    Submission.objects.bulk_create(
        [
            Submission(
                gate=gate,
                lead=lead,
                subscribed=lead.subscribed,
                utm_source=lead.utm_source,
                utm_medium=lead.utm_medium,
                utm_campaign=lead.utm_campaign,
            )
            for lead in made
        ]
    )
    for lead, previous, grade, score in changes:
        when = lead._hot_at if grade == "hot" else lead._warm_at  # type: ignore[attr-defined]
        change = GradeChange.objects.create(
            lead=lead,
            previous_grade=previous,
            grade=grade,
            score=score,
            reasons=lead.reasons,
            triggered_at=when,
        )
        GradeChange.objects.filter(pk=change.pk).update(created_at=when)
        if endpoint is not None:
            speed = int(rnd.lognormvariate(6.4, 0.5))
            delivery = Delivery.objects.create(
                endpoint=endpoint,
                grade_change=change,
                lead=lead,
                payload={"type": "lead.grade_changed"},
                status="succeeded",
                attempts=1,
                last_status_code=200,
                triggered_at=when,
                delivered_at=when + timedelta(milliseconds=speed),
                speed_to_lead_ms=speed,
                last_latency_ms=speed // 3,
            )
            Delivery.objects.filter(pk=delivery.pk).update(created_at=when)
    today = now.date()
    CampaignCost.objects.create(
        utm_source="linkedin",
        utm_campaign="spring-fibre",
        period_start=today - timedelta(days=29),
        period_end=today,
        amount=Decimal("1800.00"),
        currency="EUR",
    )
    CampaignCost.objects.create(
        utm_source="google",
        utm_campaign="fibre-ads",
        period_start=today - timedelta(days=29),
        period_end=today,
        amount=Decimal("950.00"),
        currency="EUR",
    )
    return made
