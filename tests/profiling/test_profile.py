"""The passive profile and the readable timeline in the lead detail API."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from forms_app.models import Section
from profiling.enrichment import social_network, touch_channel
from profiling.models import Visitor
from profiling.services.identity import TouchSource, lead_identify
from tests.support.factories import make_event, make_gate

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("utm_source", "referrer", "network"),
    [
        ("", "https://www.linkedin.com/feed/", "LinkedIn"),
        ("", "https://lnkd.in/abc", "LinkedIn"),
        ("", "https://t.co/xyz", "X/Twitter"),
        ("", "https://x.com/someone/status/1", "X/Twitter"),
        ("", "https://twitter.com/a", "X/Twitter"),
        ("", "https://m.facebook.com/story", "Facebook"),
        ("", "https://l.facebook.com/l.php?u=x", "Facebook"),
        ("linkedin", "", "LinkedIn"),
        ("Facebook", "", "Facebook"),
        ("", "https://www.google.com/", ""),
        ("", "https://notlinkedin.com/", ""),
        ("", "not a url at all", ""),
        ("", "http://[::1", ""),
    ],
)
def test_social_networks_are_recognised(utm_source: str, referrer: str, network: str) -> None:
    assert social_network(utm_source=utm_source, referrer=referrer) == network


@pytest.mark.parametrize(
    ("kw", "channel"),
    [
        ({"referrer": "https://www.linkedin.com/"}, "social"),
        ({"utm_source": "google", "utm_medium": "cpc"}, "paid"),
        ({"utm_source": "newsletter", "utm_medium": "email"}, "email"),
        ({"referrer": "https://www.google.com/search?q=fibre"}, "search"),
        ({"utm_source": "partner"}, "campaign"),
        ({"referrer": "https://blog.example.org/post"}, "referral"),
        ({}, "direct"),
    ],
)
def test_touch_channels(kw: dict[str, str], channel: str) -> None:
    assert touch_channel(**kw) == channel


def _detail(lead_id: Any, marketer: Any) -> dict[str, Any]:
    response = Client().get(f"/api/v1/leads/{lead_id}", headers=marketer.auth_header)
    assert response.status_code == 200
    return response.json()


def test_profile_in_the_lead_detail(marketer: Any) -> None:
    now = timezone.now()
    vbook = make_gate(title="Network vBook", stage="interest", sections=["why-fiber", "costs"])
    Section.objects.filter(gate=vbook, key="why-fiber").update(topics=["fiber", "5g"])
    Section.objects.filter(gate=vbook, key="costs").update(topics=["pricing", "fiber"])
    decision = make_gate(stage="decision", sections=["roi"])
    Section.objects.filter(gate=decision, key="roi").update(topics=["pricing"])
    phone, laptop = uuid.uuid4(), uuid.uuid4()
    lead = lead_identify(
        email="jo@acme-telecom.example",
        name="Jo",
        visitor_id=laptop,
        source=TouchSource(utm_source="newsletter", utm_medium="email", utm_campaign="q3"),
    ).lead
    lead.created_at = lead.last_touch_at = now - timedelta(days=2)
    lead.save(update_fields=["created_at", "last_touch_at"])
    lead_identify(email="jo@acme-telecom.example", name="Jo", visitor_id=phone)
    v_laptop = Visitor.objects.get(id=laptop)
    v_phone = Visitor.objects.get(id=phone)
    # Visit 1 (laptop, 3 days ago, arrived from LinkedIn): reads why-fiber for 60 s.
    t1 = now - timedelta(days=3)
    make_event(
        visitor=v_laptop,
        type="page_view",
        gate=vbook,
        occurred_at=t1,
        touch={"referrer": "https://www.linkedin.com/feed/"},
    )
    make_event(
        visitor=v_laptop,
        gate=vbook,
        section_key="why-fiber",
        duration_ms=60_000,
        occurred_at=t1 + timedelta(minutes=2),
    )
    # Visit 2 (laptop, 2 hours later): reads costs for 20 s.
    make_event(
        visitor=v_laptop,
        gate=vbook,
        section_key="costs",
        duration_ms=20_000,
        occurred_at=t1 + timedelta(hours=2),
    )
    # Visit 3 (phone, today, from an X campaign link): the decision-stage ROI section.
    make_event(
        visitor=v_phone,
        type="page_view",
        gate=decision,
        occurred_at=now - timedelta(minutes=5),
        url="https://www.example.com/roi?utm_source=twitter&utm_medium=social&utm_campaign=roi",
    )
    make_event(
        visitor=v_phone,
        gate=decision,
        section_key="roi",
        duration_ms=30_000,
        occurred_at=now - timedelta(minutes=4),
    )
    data = _detail(lead.id, marketer)
    profile = data["profile"]
    assert profile["company_domain"] == "acme-telecom.example"
    assert profile["visits"] == 3
    assert profile["devices"] == 2
    # Dwell-weighted: fiber 60+20, pricing 20+30, 5g 60.
    assert [(t["topic"], t["dwell_s"]) for t in profile["topics"]] == [
        ("fiber", 80.0),
        ("5g", 60.0),
        ("pricing", 50.0),
    ]
    assert profile["buying_stage"] == "decision"
    assert profile["stage_dwell_s"] == {"interest": 80.0, "decision": 30.0}
    first, last = profile["first_touch"], profile["last_touch"]
    assert first["social_network"] == "LinkedIn"
    assert first["channel"] == "social"
    assert last["utm_source"] == "twitter"
    assert last["social_network"] == "X/Twitter"
    # The timeline reads like sentences, newest first.
    texts = [e["text"] for e in data["timeline"]]
    assert texts[0] == f"Read “Roi” in “{decision.title}” (30 s)"
    assert "Read “Why Fiber” in “Network vBook” (1 min)" in texts


def test_free_mail_leaves_the_company_blank(marketer: Any) -> None:
    lead = lead_identify(email="someone@gmail.com", name="S").lead
    profile = _detail(lead.id, marketer)["profile"]
    assert profile["company_domain"] is None
    assert profile["is_free_or_disposable_email"] is True
    assert profile["buying_stage"] is None
    assert profile["topics"] == []
    assert profile["visits"] == 0


def test_hostile_touch_data_is_inert(marketer: Any) -> None:
    gate = make_gate()
    vid = uuid.uuid4()
    lead = lead_identify(email="x@acme.example", name="<script>", visitor_id=vid).lead
    make_event(
        visitor=Visitor.objects.get(id=vid),
        type="page_view",
        gate=gate,
        url="http://[::1/?utm_source=<img src=x>",
        touch={"referrer": "javascript:alert(1)"},
    )
    profile = _detail(lead.id, marketer)["profile"]
    assert profile["first_touch"]["referrer"] == "javascript:alert(1)"
    assert profile["first_touch"]["channel"] in {"referral", "direct"}
