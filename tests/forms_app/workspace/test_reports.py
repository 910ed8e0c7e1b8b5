"""Dashboard and lead list: the report math on factory data, CSV exports (streamed,
formula injection neutralised), filters and keyset pagination, the lead page."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from forms_app.models import CampaignCost, Submission
from forms_app.workspace import reports
from forms_app.workspace.common import DateRange
from profiling.models import Delivery, GradeChange, Lead
from tests.support.factories import make_endpoint, make_event, make_gate, make_lead, make_visitor

pytestmark = pytest.mark.django_db


def _at(lead: Lead, when: Any) -> None:
    Lead.objects.filter(pk=lead.pk).update(created_at=when)


def _change(lead: Lead, grade: str, when: Any, previous: str = "cold") -> GradeChange:
    change = GradeChange.objects.create(
        lead=lead, previous_grade=previous, grade=grade, score=0, reasons=[]
    )
    GradeChange.objects.filter(pk=change.pk).update(created_at=when)
    return change


@pytest.fixture
def world() -> dict[str, Any]:
    now = timezone.now().replace(microsecond=0)
    t0 = now - timedelta(days=3)
    gate = make_gate(slug="ebook", title="The fibre e-book")
    other = make_gate(slug="other")
    leads = {
        "l1": make_lead(
            name="Lin Kedin",
            utm_source="linkedin",
            utm_campaign="spring",
            grade="hot",
            first_gate=gate,
        ),
        "l2": make_lead(name="Tee Co", referrer="https://t.co/abc", grade="warm", first_gate=gate),
        "l3": make_lead(
            name="News Letter", utm_source="newsletter", utm_medium="email", first_gate=gate
        ),
        "l4": make_lead(name="Cooled Down", utm_source="LinkedIn", first_gate=gate),
        "l5": make_lead(name="Dee Rect", first_gate=other),
    }
    old = make_lead(name="Too Old", utm_source="linkedin", grade="hot")
    erased = make_lead(name="Erased", utm_source="linkedin", grade="hot", erased_at=now)
    for lead in leads.values():
        _at(lead, t0)
    _at(old, now - timedelta(days=40))
    _at(erased, t0)
    # First visits, then grade changes: to warm after 1 h, 2 h and 4 h; to hot after 3 h.
    for key in ("l1", "l2", "l4"):
        visitor = make_visitor(lead=leads[key])
        make_event(visitor=visitor, type="page_view", gate=gate, occurred_at=t0)
    _change(leads["l1"], "warm", t0 + timedelta(hours=1))
    _change(leads["l1"], "hot", t0 + timedelta(hours=3), previous="warm")
    _change(leads["l2"], "warm", t0 + timedelta(hours=2))
    _change(leads["l4"], "warm", t0 + timedelta(hours=4))
    _change(leads["l4"], "cold", t0 + timedelta(hours=30), previous="warm")  # decayed since
    anon = make_visitor()
    for _ in range(7):
        make_event(visitor=anon, type="page_view", gate=gate, occurred_at=t0)
    for _ in range(5):
        make_event(visitor=anon, type="form_view", gate=gate, occurred_at=t0)
    make_event(visitor=anon, type="page_view", gate=other, occurred_at=t0)
    for key in ("l1", "l2", "l3", "l4"):
        Submission.objects.create(gate=gate, lead=leads[key])
    endpoint = make_endpoint(url="https://crm.example.com/hook")
    for i, ms in enumerate((100, 200, 300, 400)):
        Delivery.objects.create(
            endpoint=endpoint,
            lead=leads["l1"],
            payload={},
            status="succeeded",
            speed_to_lead_ms=ms,
            delivered_at=now - timedelta(hours=i),
        )
    Delivery.objects.create(endpoint=endpoint, lead=leads["l2"], payload={}, status="failed")
    CampaignCost.objects.create(
        utm_source="linkedin",
        period_start=(now - timedelta(days=10)).date(),
        period_end=now.date(),
        amount=300,
        currency="EUR",
    )
    rng = DateRange(start=(now - timedelta(days=29)).date(), end=now.date())
    return {
        "gate": gate,
        "other": other,
        "leads": leads,
        "rng": rng,
        "endpoint": endpoint,
        "t0": t0,
    }


def test_funnel_counts_and_rates(world: dict[str, Any]) -> None:
    steps = {s.key: s for s in reports.funnel(world["rng"])}
    assert [steps[k].count for k in ("page_views", "form_views", "submissions", "warm", "hot")] == [
        11,
        5,
        4,
        3,
        1,
    ]
    assert steps["submissions"].rate_from_previous == pytest.approx(4 / 5)
    assert steps["hot"].rate_from_previous == pytest.approx(1 / 3)
    per_gate = {s.key: s.count for s in reports.funnel(world["rng"], world["other"])}
    assert per_gate == {"page_views": 1, "form_views": 0, "submissions": 0, "warm": 0, "hot": 0}


def test_sources_group_social_networks_and_the_share(world: dict[str, Any]) -> None:
    report = reports.sources(world["rng"])
    rows = {r.label: r for r in report.rows}
    assert report.total == 5
    assert report.social == 3
    assert report.social_share == pytest.approx(0.6)
    assert (rows["LinkedIn"].leads, rows["LinkedIn"].warm, rows["LinkedIn"].hot) == (2, 2, 1)
    assert rows["X/Twitter"].channel == "social"
    assert rows["X/Twitter"].leads == 1
    assert rows["newsletter"].channel == "email"
    assert rows["Direct"].leads == 1


def test_grade_mix_time_to_grade_speed_and_spend(world: dict[str, Any]) -> None:
    unit, buckets = reports.grade_mix(world["rng"])
    assert unit == "day"
    assert [(b.cold, b.warm, b.hot) for b in buckets] == [(2, 2, 1)]
    timing = {t.grade: t for t in reports.time_to_grade(world["rng"])}
    assert timing["warm"].count == 3
    assert timing["warm"].p50_s == 2 * 3600
    assert timing["hot"].count == 1
    assert timing["hot"].p50_s == 3 * 3600
    (speed,) = reports.speed_to_lead(world["rng"])
    assert (speed.count, speed.p50_ms, speed.p95_ms, speed.failed) == (
        4,
        250,
        pytest.approx(385),
        1,
    )
    (spend,) = reports.spend(world["rng"])
    assert (spend.leads, spend.warm, spend.hot) == (2, 2, 1)
    assert (str(spend.per_lead), str(spend.per_warm), str(spend.per_hot)) == (
        "150.00",
        "150.00",
        "300.00",
    )


def test_dashboard_page_shows_charts_tables_and_headline(
    sclient: Client, world: dict[str, Any]
) -> None:
    html = sclient.get("/app/").content.decode()
    assert html.count("<svg") >= 4
    assert "From social media" in html
    assert "60%" in html
    assert "LinkedIn" in html
    assert "X/Twitter" in html
    assert "150.00" in html  # cost per lead
    per_gate = sclient.get("/app/?gate=other").content.decode()
    assert "Gate <strong>Guide other</strong>" in per_gate
    bad = sclient.get("/app/?start=2026-13-45&end=nonsense&gate=<script>")
    assert bad.status_code == 200
    assert "<script>" not in bad.content.decode().split("<main", 1)[1].split("</main>")[0].replace(
        "<script src", ""
    )
    backwards = sclient.get("/app/?start=2026-05-01&end=2026-04-01").content.decode()
    assert "must not be after" in backwards


def _csv(response: Any) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_dashboard_csv_tables_are_safe(sclient: Client, world: dict[str, Any]) -> None:
    make_lead(name="Evil", utm_source='=HYPERLINK("http://x")')
    for table in ("funnel", "sources", "grades", "timing", "speed", "spend"):
        rows = _csv(sclient.get(f"/app/dashboard.csv?table={table}"))
        assert len(rows) >= 2, table
    sources = _csv(sclient.get("/app/dashboard.csv?table=sources"))
    labels = [r[0] for r in sources[1:]]
    assert any(label.startswith("'=hyperlink") for label in labels)
    assert not any(label.startswith("=") for label in labels)
    assert sclient.get("/app/dashboard.csv?table=../../etc").status_code == 404


def test_costs_are_added_validated_and_deleted(mclient: Client, world: dict[str, Any]) -> None:
    data = {
        "utm_source": " Twitter ",
        "utm_campaign": "",
        "period_start": "2026-01-01",
        "period_end": "2026-01-31",
        "amount": "99.50",
        "currency": "usd",
    }
    assert mclient.post("/app/costs/", data).status_code == 302
    cost = CampaignCost.objects.get(utm_source="twitter")
    assert cost.currency == "USD"
    for bad in (
        {"amount": "-5"},
        {"period_end": "2025-12-01"},
        {"currency": "EURO"},
        {"amount": "abc"},
    ):
        response = mclient.post("/app/costs/", {**data, **bad})
        assert response.status_code == 400
        assert "ws-error" in response.content.decode()
    assert CampaignCost.objects.count() == 2
    assert mclient.post(f"/app/costs/{cost.pk}/delete").status_code == 302
    assert not CampaignCost.objects.filter(pk=cost.pk).exists()


def test_lead_list_filters(sclient: Client, world: dict[str, Any]) -> None:
    def names(query: str) -> set[str]:
        html = sclient.get(f"/app/leads/?{query}").content.decode()
        return {lead.name for lead in Lead.objects.all() if f">{lead.name}<" in html}

    assert names("grade=hot") == {"Lin Kedin", "Too Old"}
    assert names("source=social") == {"Lin Kedin", "Tee Co", "Cooled Down", "Too Old"}
    assert names("source=LINKEDIN") == {"Lin Kedin", "Cooled Down", "Too Old"}
    assert names("gate=other") == {"Dee Rect"}
    assert names("q=kedin") == {"Lin Kedin"}
    lin = world["leads"]["l1"]
    assert names(f"q={lin.email.upper()}") == {"Lin Kedin"}
    start = (timezone.now() - timedelta(days=10)).date().isoformat()
    assert "Too Old" not in names(f"start={start}")
    assert names("grade=lukewarm&start=garbage") >= {"Lin Kedin"}  # bad filters: unfiltered


def test_lead_list_keyset_pages_cover_everything_once(
    sclient: Client, world: dict[str, Any]
) -> None:
    for i in range(110):
        make_lead(name=f"Bulk {i:03d}")
    seen: list[str] = []
    url = "/app/leads/?q=Bulk"
    for _ in range(5):
        response = sclient.get(url)
        html = response.content.decode()
        seen += [f"Bulk {i:03d}" for i in range(110) if f">Bulk {i:03d}<" in html]
        marker = 'href="?'
        nxt = [
            part.split('"')[0] for part in html.split(marker)[1:] if "after=" in part.split('"')[0]
        ]
        if not nxt:
            break
        url = "/app/leads/?" + nxt[0].replace("&amp;", "&")
    assert len(seen) == 110
    assert len(set(seen)) == 110
    assert sclient.get("/app/leads/?after=not-a-cursor").status_code == 200
    assert sclient.get("/app/leads/?after=2026-01-01T00:00:00_zzz").status_code == 200


def test_lead_export_is_streamed_filtered_and_safe(sclient: Client, world: dict[str, Any]) -> None:
    make_lead(name="=cmd|' /C calc'!A0", email="evil@example-fibre.com", grade="hot")
    response = sclient.get("/app/leads/export.csv?grade=hot")
    assert response.streaming
    rows = _csv(response)
    names = [r[1] for r in rows[1:]]
    assert "Lin Kedin" in names
    assert "Tee Co" not in names
    assert "'=cmd|' /C calc'!A0" in names


def test_lead_page_shows_profile_reasons_timeline_and_deliveries(
    sclient: Client, world: dict[str, Any]
) -> None:
    lead = world["leads"]["l1"]
    Lead.objects.filter(pk=lead.pk).update(
        reasons=["downloaded network-map (makes hot) [Map: +50]"], score=90
    )
    visitor = lead.visitors.first()
    make_event(
        visitor=visitor,
        type="section_view",
        gate=world["gate"],
        section_key="section-2",
        duration_ms=65000,
    )
    make_event(visitor=visitor, type="download", gate=world["gate"], file_key="network-map")
    html = sclient.get(f"/app/leads/{lead.pk}/").content.decode()
    assert "Lin Kedin" in html
    assert "downloaded network-map (makes hot)" in html
    assert "Read “Section 2” in “The fibre e-book” (1 min 5 s)" in html
    assert "Downloaded “Network Map”" in html
    # The webhook by its name (here its host): a URL can carry the CRM's credentials,
    # and this page is open to sales.
    assert '<td class="ws-ellipsis">crm.example.com</td>' in html
    assert "https://crm.example.com/hook" not in html
    assert "Succeeded" in html
    assert "LinkedIn" in html  # first touch, recognised as a social network
    assert sclient.get("/app/leads/00000000-0000-4000-8000-000000000000/").status_code == 404
    assert sclient.get("/app/leads/not-a-uuid/").status_code == 404


def test_slow_name_search_is_bounded_and_explained(
    sclient: Client, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connection

    from forms_app.workspace import leads as leads_view

    monkeypatch.setattr(leads_view, "SEARCH_TIMEOUT_MS", 50)
    real = reports.keyset_page

    def slow_page(*args: Any, **kwargs: Any) -> Any:
        with connection.cursor() as c:
            c.execute("SELECT pg_sleep(1)")  # a search slower than the bound
        return real(*args, **kwargs)

    monkeypatch.setattr(reports, "keyset_page", slow_page)
    response = sclient.get("/app/leads/?q=kedin")
    assert response.status_code == 200
    assert "took too long" in response.content.decode()
    # An exact email is an index lookup: never bounded.
    email = world["leads"]["l1"].email
    monkeypatch.setattr(reports, "keyset_page", real)
    assert "Lin Kedin" in sclient.get(f"/app/leads/?q={email}").content.decode()
