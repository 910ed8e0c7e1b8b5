"""The dashboard read from the daily rollups gives the same numbers and CSVs as read live
from the leads, events and submissions (what the dashboard did before the rollups, and
still does for today and before the first fold)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from forms_app.models import CampaignCost, Gate, Submission
from forms_app.workspace import reports
from forms_app.workspace.common import DateRange
from profiling.models import DailyLeadStats, GradeChange, Lead, RollupState
from profiling.selectors.cohort import TIMING_ACCURACY
from profiling.services.rollups import rollups_fold
from tests.support.factories import make_event, make_gate, make_lead, make_visitor

pytestmark = pytest.mark.django_db

DAYS_AGO = (0, 1, 2, 5, 9, 20, 40, 70, 100)
# (utm_source, utm_medium, referrer, utm_campaign): social by source and by referrer,
# campaigns, email, a referring site and direct.
TOUCHES = (
    ("linkedin", "social", "", "spring"),
    ("LinkedIn", "", "", ""),
    ("", "", "https://t.co/x", ""),
    ("facebook", "paid", "", "retarget"),
    ("newsletter", "email", "", ""),
    ("google", "cpc", "", "brand"),
    ("", "", "https://www.example.org/a?b=1", ""),
    ("", "", "", ""),
)
CSV_TABLES = ("funnel", "sources", "grades", "timing", "speed", "spend")


def _day_time(today: date, ago: int, hour: int) -> datetime:
    return timezone.make_aware(
        datetime.combine(today - timedelta(days=ago), datetime.min.time())
    ) + timedelta(hours=hour)


@pytest.fixture
def dataset() -> dict[str, Any]:
    today = timezone.localdate()
    now = timezone.now()
    gates: list[Gate | None] = [make_gate(slug=f"g{i}") for i in range(3)]
    gates.append(None)
    n = 0
    for ago in DAYS_AGO:
        # Today's rows before now, so none lies in the future.
        hour = 0 if ago == 0 else 9
        at = min(_day_time(today, ago, hour), now)
        for t, (src, med, ref, campaign) in enumerate(TOUCHES):
            for g, gate in enumerate(gates):
                n += 1
                grade = ("cold", "warm", "hot", "cold")[(t + g + ago) % 4]
                lead = make_lead(
                    utm_source=src,
                    utm_medium=med,
                    referrer=ref,
                    utm_campaign=campaign,
                    grade=grade,
                    first_gate=gate,
                )
                Lead.objects.filter(pk=lead.pk).update(created_at=at)
                if grade != "cold" or (t + g) % 3 == 0:
                    # Warmed (and, for some, cooled down again since).
                    change = GradeChange.objects.create(
                        lead=lead, previous_grade="cold", grade="warm", score=40, reasons=[]
                    )
                    GradeChange.objects.filter(pk=change.pk).update(
                        created_at=at + timedelta(minutes=37 * (t * g + 1) + ago)
                    )
                if grade == "hot":
                    change = GradeChange.objects.create(
                        lead=lead, previous_grade="warm", grade="hot", score=90, reasons=[]
                    )
                    GradeChange.objects.filter(pk=change.pk).update(
                        created_at=at + timedelta(hours=3 + t, seconds=g)
                    )
                if n % 17 == 0:
                    Lead.objects.filter(pk=lead.pk).update(erased_at=now)
                if gate is not None:
                    visitor = make_visitor(lead=lead)
                    make_event(
                        visitor=visitor,
                        type="page_view",
                        gate=gate,
                        occurred_at=at - timedelta(seconds=500 * g * t),
                    )
                    if (t + ago) % 2 == 0:
                        make_event(visitor=visitor, type="form_view", gate=gate, occurred_at=at)
                    if grade != "cold":
                        sub = Submission.objects.create(gate=gate, lead=lead)
                        Submission.objects.filter(pk=sub.pk).update(created_at=at)
        anonymous = make_visitor()
        make_event(visitor=anonymous, type="page_view", gate=None, occurred_at=at)
        make_event(visitor=anonymous, type="page_view", gate=gates[0], occurred_at=at)
    merged = Lead.objects.filter(erased_at__isnull=True).order_by("id")[:3]
    winner = merged[0]
    Lead.objects.filter(pk__in=[x.pk for x in merged[1:]]).update(merged_into=winner)
    for source, campaign, start, end in (
        ("linkedin", "", 110, 0),
        ("google", "brand", 30, 3),
        ("facebook", "", 6, 0),
        ("newsletter", "", 45, 35),
    ):
        CampaignCost.objects.create(
            utm_source=source,
            utm_campaign=campaign,
            period_start=today - timedelta(days=start),
            period_end=today - timedelta(days=end),
            amount=500,
            currency="EUR",
        )
    return {"today": today, "gates": gates[:3]}


def _ranges(today: date) -> list[DateRange]:
    return [
        DateRange(start=today - timedelta(days=29), end=today),  # the default: today live
        DateRange(start=today - timedelta(days=119), end=today),  # weekly buckets
        DateRange(start=today - timedelta(days=45), end=today - timedelta(days=1)),  # past
        DateRange(start=today - timedelta(days=2), end=today - timedelta(days=2)),
    ]


def _snapshot(rng: DateRange, gate: Gate | None) -> dict[str, Any]:
    with reports.report_reads():
        groups = reports.cohort_groups(rng, gate)
        return {
            "groups": sorted((g.src, g.med, g.host, g.bucket, g.reached, g.n) for g in groups),
            "funnel": reports.funnel(rng, gate),
            "sources": reports.sources(rng, gate),
            "grades": reports.grade_mix(rng, gate),
            "spend": [(s.cost.pk, s.leads, s.warm, s.hot) for s in reports.spend(rng, gate)],
            "timing": reports.time_to_grade(rng, gate),
        }


def _csvs(client: Client, rng: DateRange, gate: Gate | None) -> dict[str, list[list[str]]]:
    out = {}
    for table in CSV_TABLES:
        query = f"table={table}&start={rng.start}&end={rng.end}" + (
            f"&gate={gate.slug}" if gate else ""
        )
        response: Any = client.get(f"/app/dashboard.csv?{query}")
        assert response.status_code == 200
        out[table] = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return out


def test_reports_and_csvs_from_rollups_equal_the_live_reads(
    dataset: dict[str, Any], sclient: Client
) -> None:
    scopes = [
        (rng, gate) for rng in _ranges(dataset["today"]) for gate in [None, *dataset["gates"][:2]]
    ]
    assert not RollupState.objects.exists()  # before the first fold: all read live
    live = [_snapshot(rng, gate) for rng, gate in scopes]
    live_csv = [_csvs(sclient, rng, gate) for rng, gate in scopes]
    live_page = sclient.get("/app/").content.decode()

    assert rollups_fold() == 101  # the first fold: all history up to now
    assert DailyLeadStats.objects.exists()
    rolled = [_snapshot(rng, gate) for rng, gate in scopes]
    assert any(t.p50_s and t.p50_s > 600 for snap in live for t in snap["timing"])
    for before, after in zip(live, rolled, strict=True):
        _assert_timing_close(before.pop("timing"), after.pop("timing"))
    assert rolled == live
    rolled_csv = [_csvs(sclient, rng, gate) for rng, gate in scopes]
    for before, after in zip(live_csv, rolled_csv, strict=True):
        timing = before.pop("timing"), after.pop("timing")
        assert [r[:2] for r in timing[0]] == [r[:2] for r in timing[1]]
        for b, a in zip(timing[0][1:], timing[1][1:], strict=True):
            for exact, approx in zip(b[2:], a[2:], strict=True):
                assert (exact == "") == (approx == "")
                if exact:
                    assert float(approx) == pytest.approx(float(exact), rel=TIMING_ACCURACY, abs=1)
    assert rolled_csv == live_csv
    # The page shows the same numbers (the forms carry a fresh CSRF token: cut out).
    assert _without_tokens(sclient.get("/app/").content.decode()) == _without_tokens(live_page)
    _assert_same_after_new_rows(dataset, scopes)


def test_the_live_reads_count_what_the_dataset_holds(dataset: dict[str, Any]) -> None:
    """The equivalence above compares against numbers that mean something: by hand."""
    today = dataset["today"]
    rng = DateRange(start=today - timedelta(days=29), end=today)
    in_range = [a for a in DAYS_AGO if a <= 29]
    leads = Lead.objects.filter(
        created_at__gte=rng.since, erased_at__isnull=True, merged_into__isnull=True
    ).count()
    rollups_fold()
    with reports.report_reads():
        report = reports.sources(rng)
        steps = {s.key: s.count for s in reports.funnel(rng)}
    assert report.total == leads
    # Every gated lead has a page view, plus one anonymous view of gate 0 a day.
    assert steps["page_views"] == len(in_range) * (len(TOUCHES) * 3 + 1)
    assert steps["submissions"] == Submission.objects.filter(created_at__gte=rng.since).count()


def _assert_same_after_new_rows(dataset: dict[str, Any], scopes: list[Any]) -> None:
    """Rows made after the fold are read live and added to the rollups' numbers."""
    gate = dataset["gates"][0]
    lead = make_lead(utm_source="linkedin", first_gate=gate, grade="hot")
    GradeChange.objects.create(lead=lead, previous_grade="cold", grade="hot", score=90)
    Submission.objects.create(gate=gate, lead=lead)
    make_event(visitor=make_visitor(lead=lead), type="page_view", gate=gate)
    mixed = [_snapshot(rng, g) for rng, g in scopes]
    RollupState.objects.all().delete()
    live = [_snapshot(rng, g) for rng, g in scopes]
    for before, after in zip(live, mixed, strict=True):
        _assert_timing_close(before.pop("timing"), after.pop("timing"))
    assert mixed == live
    rollups_fold()


def _assert_timing_close(exact: list[Any], approx: list[Any]) -> None:
    """Counts equal; percentiles within the histogram's accuracy (4.4%, or 1 s)."""
    assert [(t.grade, t.count) for t in approx] == [(t.grade, t.count) for t in exact]
    for e, a in zip(exact, approx, strict=True):
        for x, y in ((e.p50_s, a.p50_s), (e.p90_s, a.p90_s)):
            assert (x is None) == (y is None)
            if x is not None:
                assert y == pytest.approx(x, rel=TIMING_ACCURACY, abs=1)


def _without_tokens(html: str) -> str:
    import re

    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    # Time to warm/hot is approximate from the rollups (compared above).
    return re.sub(r'<section class="ws-card" id="timing".*?</section>', "", html, flags=re.S)
