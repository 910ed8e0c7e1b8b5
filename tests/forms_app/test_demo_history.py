"""`manage.py demo`'s sixty days of history and the sandbox's demo logins.

Each test that needs the history seeds it (a few seconds): the rows live in the test's
transaction, so they cannot be shared between tests.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Max, Min
from django.utils import timezone

from forms_app.demo.history import HISTORY_DAYS
from forms_app.demo.logins import DEMO_LOGINS, demo_password
from forms_app.demo.visits import VisitPlanner
from forms_app.models import CampaignCost, Gate, Submission
from forms_app.workspace import reports
from forms_app.workspace.common import DateRange
from profiling.models import Delivery, Event, GradeChange, Lead, Visitor
from profiling.services.scoring import lead_score_compute

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def _run(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def _sixty_days() -> DateRange:
    today = timezone.localdate()
    return DateRange(start=today - timedelta(days=HISTORY_DAYS - 1), end=today)


def test_history_spans_sixty_days_of_visitors_sources_and_leads() -> None:
    output = _run()
    now = timezone.now()
    assert "History   60 days:" in output

    span = Event.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    assert now - timedelta(days=HISTORY_DAYS) <= span["first"] < now - timedelta(days=58)
    assert now - timedelta(days=1) < span["last"] <= now
    assert 1500 <= Visitor.objects.count() <= 3000
    assert Visitor.objects.filter(lead__isnull=True).count() > 1200  # mostly anonymous
    types = Counter(Event.objects.values_list("type", flat=True))
    assert types["page_view"] >= 1500
    assert types["form_view"] > 1000
    assert types["section_view"] > 1000
    assert types["download"] > 10
    downloads = Event.objects.filter(type="download")
    assert set(downloads.values_list("file_key", flat=True)) == {"network-map"}

    # Readers' heartbeats: several section_view events per section read, each with the
    # time read since the previous one.
    beats = (
        Event.objects.filter(type="section_view")
        .values("visitor_id", "section_key")
        .annotate(n=Count("id"))
    )
    assert sum(1 for b in beats if b["n"] >= 3) > 50
    assert not Event.objects.filter(type="section_view", duration_ms__isnull=True).exists()

    # Where visits came from: the touch of each visit's first event.
    touches = [t for t in Event.objects.filter(type="page_view").values_list("touch", flat=True)]
    sources = Counter(t.get("utm_source") or t.get("referrer", "direct") for t in touches)
    for source in ("linkedin", "facebook", "newsletter", "google", "https://t.co/", "direct"):
        assert sources[source] > 20, sources
    assert sources["https://www.google.com/"] > 100

    # Leads over time, with a weekday rhythm.
    leads = Lead.objects.all()
    assert 150 <= leads.count() <= 300
    assert Submission.objects.count() == leads.count()
    by_weekday = Counter(
        s.weekday() for s in Submission.objects.values_list("created_at", flat=True)
    )
    weekday_mean = sum(by_weekday[d] for d in range(5)) / 5
    weekend_mean = (by_weekday[5] + by_weekday[6]) / 2
    assert weekday_mean > 2 * weekend_mean
    for lead in leads.only("created_at"):
        submitted = Submission.objects.get(lead=lead).created_at
        assert submitted == lead.created_at

    # The dashboard's selectors over the sixty days: the funnel, sources with social
    # grouped, grades, time to grade, speed to lead and the return on spend.
    rng = _sixty_days()
    steps = {s.key: s.count for s in reports.funnel(rng)}
    assert steps["page_views"] > steps["form_views"] > steps["submissions"] > steps["warm"]
    assert steps["warm"] > steps["hot"] > 0
    src = reports.sources(rng)
    labels = {r.label for r in src.rows}
    assert {"LinkedIn", "Facebook", "X/Twitter", "newsletter", "Direct"} <= labels
    assert 0.15 < (src.social_share or 0) < 0.5
    unit, buckets = reports.grade_mix(rng)
    assert unit == "day"
    assert len(buckets) > 45
    timing = {t.grade: t for t in reports.time_to_grade(rng)}
    assert timing["warm"].count > 30
    assert timing["hot"].count > 10
    (speed,) = reports.speed_to_lead(rng)
    assert speed.count > 50
    assert speed.p50_ms is not None
    assert 200 < speed.p50_ms < 10_000
    spend = reports.spend(rng)
    assert CampaignCost.objects.count() == len(spend) >= 3
    assert all(s.per_lead is not None for s in spend)


def test_seeded_leads_are_scored_by_the_real_scoring() -> None:
    _run()
    leads = list(Lead.objects.all())
    grades = Counter(lead.grade for lead in leads)
    assert grades["cold"] > 30
    assert grades["warm"] > 30
    assert grades["hot"] > 10
    # What the scoring service computes from the stored events, now, is what is stored.
    for lead in leads:
        result = lead_score_compute(lead.id)
        assert (lead.score, lead.grade, lead.reasons) == (
            result.score,
            result.grade,
            result.reasons,
        ), lead.email
    hot = next(lead for lead in leads if lead.grade == "hot")
    assert any("downloaded network-map (makes hot)" in r for r in hot.reasons)
    warm = next(lead for lead in leads if lead.grade == "warm")
    assert re.search(r"read [3-6] of 6 sections of network-vbook", warm.reasons[0])

    # Leads warmed, then went hot: the changes are in order and back-dated to when the
    # event that caused them arrived.
    changes = Counter(GradeChange.objects.values_list("previous_grade", "grade"))
    assert changes[("cold", "warm")] > 30
    assert changes[("warm", "hot")] > 5
    history: dict[Any, list[GradeChange]] = defaultdict(list)
    for change in GradeChange.objects.order_by("created_at"):
        history[change.lead_id].append(change)
        assert change.triggered_at is not None
        assert timedelta(0) < change.created_at - change.triggered_at < timedelta(seconds=2)
    for lead in leads:
        steps = history.get(lead.id, [])
        assert [c.grade for c in steps][-1:] == ([lead.grade] if lead.grade != "cold" else [])
        for before, after in itertools.pairwise(steps):
            assert before.grade == after.previous_grade
    spread = GradeChange.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert spread["last"] - spread["first"] > timedelta(days=50)


def test_deliveries_were_settled_delivered_or_failed_without_a_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    _run("--no-history")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _run()  # the history alone: the rest exists
    # Nothing was handed to a worker: no delivery task, no scoring task.
    assert callbacks == []
    deliveries = Delivery.objects.select_related("grade_change")
    statuses = Counter(d.status for d in deliveries)
    assert statuses["succeeded"] > 50
    assert statuses["failed"] >= 1
    assert set(statuses) <= {"succeeded", "failed"}  # nothing left for a worker to send
    assert not deliveries.filter(next_attempt_at__isnull=False).exists()
    # One per grade change to a grade the sandbox webhook subscribes to (warm, hot).
    assert deliveries.count() == GradeChange.objects.filter(grade__in=("warm", "hot")).count()
    for d in deliveries:
        change = d.grade_change
        assert change is not None
        assert d.created_at == change.created_at
        assert d.payload["timestamp"] == change.created_at.isoformat()
        assert d.payload["data"]["grade"] == change.grade
        assert d.last_attempt_at is not None
        assert d.last_attempt_at >= d.created_at
        if d.status == "succeeded":
            assert d.last_status_code == 200
            assert d.delivered_at is not None
            assert d.triggered_at is not None
            assert d.speed_to_lead_ms == int(
                (d.delivered_at - d.triggered_at).total_seconds() * 1000
            )
        else:
            assert d.attempts == 8
            assert d.last_error or (d.last_status_code or 0) >= 500
            assert d.delivered_at is None
    retried = deliveries.filter(status="succeeded", attempts__gt=1)
    assert retried.exists()  # a timeout or the CRM's outage, then a success


def test_a_second_run_does_not_make_history_again() -> None:
    _run()
    counts = (Event.objects.count(), Lead.objects.count(), Delivery.objects.count())
    second = _run()
    assert (Event.objects.count(), Lead.objects.count(), Delivery.objects.count()) == counts
    assert "History" not in second.split("Kept", 1)[0]
    assert "history" in second.split("Kept", 1)[1].split("\n", 1)[0]
    assert CampaignCost.objects.count() == 4


def test_the_history_is_deterministic() -> None:
    _run("--no-history")
    gate = Gate.objects.get(slug="network-vbook")
    now = timezone.now()

    def shape() -> list[tuple[Any, ...]]:
        planner = VisitPlanner(gate=gate, now=now, seed=11)
        planner.plan()
        return [
            (e.type, e.occurred_at, e.section_key, e.duration_ms, tuple(sorted(e.touch)))
            for e in planner.events
        ] + [(p.email, p.created_at, tuple(p.checkpoints)) for p in planner.leads]

    assert shape() == shape()


def test_no_history_option_and_a_database_in_use_get_none() -> None:
    assert "History" not in _run("--no-history")
    assert not Event.objects.exists()
    # Events older than a day: the database has a history of its own, kept as it is.
    visitor = Visitor.objects.create(id="00000000-0000-4000-8000-000000000001")
    Event.objects.create(
        id="00000000-0000-4000-8000-000000000002",
        visitor=visitor,
        type="page_view",
        occurred_at=timezone.now() - timedelta(days=3),
        received_at=timezone.now() - timedelta(days=3),
    )
    assert "History   60 days" not in _run()
    assert Event.objects.count() == 1


# --- the sandbox's logins ----------------------------------------------------------------


def test_sandbox_makes_a_marketer_and_a_sales_login(settings: Any, client: Any) -> None:
    settings.LEADGATE_SANDBOX = True
    output = _run("--no-history")
    users = get_user_model().objects
    for login in DEMO_LOGINS:
        user = users.get(username=login.username)
        assert list(user.groups.values_list("name", flat=True)) == [login.group]
        assert not user.is_superuser
        assert not user.is_staff
        assert user.check_password(demo_password(login.username))
        assert f"Sign in   {login.username} / {demo_password(login.username)}" in output
    # Its own per secret key, and not guessable from the username.
    password = demo_password("marketer")
    assert password != demo_password("sales")
    assert re.fullmatch(r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}", password)
    settings.SECRET_KEY = "another-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123"
    assert demo_password("marketer") != password
    opened = output.split("Open:", 1)[1].split("\n")[1]
    assert opened.split()[:4] == [
        "marketer",
        "workspace",
        "http://127.0.0.1:8000/app/",
        "(marketer",
    ]


def test_the_login_page_names_the_demo_logins_only_in_the_sandbox(
    settings: Any, client: Any
) -> None:
    settings.LEADGATE_SANDBOX = True
    _run("--no-history")
    page = client.get("/app/login/").content.decode()
    assert 'data-testid="demo-logins"' in page
    for login in DEMO_LOGINS:
        assert f"<strong>{login.username}</strong> / <code>{login.password}</code>" in page

    # A password changed since is not shown (nor printed).
    sales = get_user_model().objects.get(username="sales")
    sales.set_password("the team's own passphrase")
    sales.save()
    page = client.get("/app/login/").content.decode()
    assert "<strong>marketer</strong>" in page
    assert "<strong>sales</strong>" not in page
    assert "sales (password as you set it)" in _run("--no-history")

    settings.LEADGATE_SANDBOX = False
    page = client.get("/app/login/").content.decode()
    assert "demo-logins" not in page
    assert demo_password("marketer") not in page


def test_no_demo_logins_outside_the_sandbox(settings: Any) -> None:
    settings.LEADGATE_SANDBOX = False
    output = _run("--no-history")
    assert not get_user_model().objects.filter(username__in=["marketer", "sales"]).exists()
    assert "Sign in" not in output


def _log_in(client: Any, username: str) -> None:
    """Through the login page, with the password the demo printed."""
    response = client.post(
        "/app/login/", {"username": username, "password": demo_password(username), "next": "/app/"}
    )
    assert response.status_code == 302, response.content.decode()[:500]


def test_the_dashboard_shows_the_history_to_the_demo_marketer(settings: Any, client: Any) -> None:
    settings.LEADGATE_SANDBOX = True
    _run()
    _log_in(client, "marketer")
    response = client.get("/app/")
    assert response.status_code == 200
    page = response.content.decode()
    headline = response.context["headline"]
    assert headline["leads"] > 50
    assert headline["hot"] > 0
    assert 0.1 < headline["social_share"] < 0.6
    share = re.search(r'data-testid="social-share">.*?ws-kpi-value">([^<]+)<', page)
    assert share is not None
    assert share.group(1).endswith("%")
    assert share.group(1) != "0.0%"
    assert "LinkedIn" in page
    assert len(response.context["buckets"]) > 20  # a bar per day, not one
    assert response.context["speed"][0].count > 20
    assert response.context["spend"]

    # The sales login reads the leads: hot ones with their reasons.
    client.logout()
    _log_in(client, "sales")
    page = client.get("/app/leads/?grade=hot").content.decode()
    hot = Lead.objects.filter(grade="hot").order_by("-created_at").first()
    assert hot is not None
    assert hot.name in page
    detail = client.get(f"/app/leads/{hot.id}/").content.decode()
    assert "downloaded network-map" in detail.lower() or "Downloaded" in detail


def test_the_history_reaches_the_dashboard_rollups() -> None:
    """The beat may have folded before the demo is made: the history is dated in the
    past, so it marks its days, and the next fold gives the live numbers."""
    from profiling.models import RollupState
    from profiling.services.rollups import rollups_fold

    rollups_fold()
    _run()
    rollups_fold()
    rng = _sixty_days()

    def numbers() -> tuple[Any, ...]:
        with reports.report_reads():
            return (
                reports.funnel(rng),
                reports.sources(rng),
                reports.grade_mix(rng),
                [(s.cost.pk, s.leads, s.warm, s.hot) for s in reports.spend(rng)],
            )

    rolled = numbers()
    assert rolled[1].total > 100
    RollupState.objects.all().delete()  # read everything live
    assert numbers() == rolled
