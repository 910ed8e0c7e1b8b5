"""GET /api/v1/gates/{slug}/content and .../content.csv: the content report for marketers
and sales users, its range, its CSV, and every refusal in the contract's error shape."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from profiling.content_analytics import CONTENT_CSV_COLUMNS
from tests.support.api import assert_error
from tests.support.factories import add_role, make_event, make_gate, make_lead, make_visitor

pytestmark = pytest.mark.django_db


def _header(role: str | None) -> dict[str, str]:
    user = User.objects.create(username=f"content-{role}-{User.objects.count()}")
    if role:
        add_role(user, role)
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


@pytest.fixture
def gate() -> Any:
    gate = make_gate(sections=("intro", "costs"), files=("network-map",), min_dwell_ms=4000)
    now = timezone.now()
    reader = make_visitor()
    make_event(visitor=reader, gate=gate, type="page_view")
    for ms in (3000, 3000):
        make_event(visitor=reader, gate=gate, section_key="intro", duration_ms=ms)
    make_event(
        visitor=reader, gate=gate, section_key="p2", file_key="network-map", duration_ms=5000
    )
    hot = make_visitor(lead=make_lead(grade="hot"))
    make_event(visitor=hot, gate=gate, section_key="intro", duration_ms=9000)
    make_event(visitor=hot, gate=gate, section_key="costs", duration_ms=2000)
    old = make_visitor()
    make_event(
        visitor=old,
        gate=gate,
        section_key="costs",
        duration_ms=60_000,
        occurred_at=now - timedelta(days=10),
    )
    return gate


def _text(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


def _url(gate: Any, suffix: str = "") -> str:
    return f"/api/v1/gates/{gate.slug}/content{suffix}"


@pytest.mark.parametrize("role", ["marketer", "sales"])
def test_marketers_and_sales_read_the_report(api: Client, gate: Any, role: str) -> None:
    response = api.get(_url(gate), headers=_header(role))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["gate"], body["title"]) == (gate.slug, gate.title)
    assert (body["visitors"], body["hot_leads"], body["since"], body["until"]) == (3, 1, None, None)
    intro, costs = body["sections"]
    assert intro == {
        "kind": "section",
        "key": "intro",
        "title": "Intro",
        "file": None,
        "page": None,
        "readers": 2,
        "reach": pytest.approx(2 / 3),
        "median_active_ms": 7500,
        "read": 2,
        "read_share": pytest.approx(2 / 3),
        "read_threshold_ms": 4000,
        "hot_leads": 1,
        "hot_share": 1.0,
        "hot_rank": 1,
    }
    assert (costs["readers"], costs["median_active_ms"], costs["read"]) == (2, 31_000, 1)
    assert costs["hot_leads"] == 0
    [network_map] = body["files"]
    assert network_map["key"] == "network-map"
    assert [(p["key"], p["page"], p["file"], p["readers"]) for p in network_map["pages"]] == [
        ("p1", 1, "network-map", 0),
        ("p2", 2, "network-map", 1),
    ]
    assert [i["key"] for i in body["hot_ranking"]] == ["intro"]


def test_the_range_takes_dates_and_times(api: Client, gate: Any) -> None:
    headers = _header("sales")
    today = timezone.now().date()
    body = api.get(_url(gate), {"since": today.isoformat()}, headers=headers).json()
    assert body["visitors"] == 2
    assert body["since"].startswith(today.isoformat())
    assert body["sections"][1]["readers"] == 1  # the old 60 s on costs is out
    until = (timezone.now() - timedelta(days=5)).isoformat()
    body = api.get(_url(gate), {"until": until}, headers=headers).json()
    assert (body["visitors"], body["sections"][1]["median_active_ms"]) == (1, 60_000)
    assert body["files"][0]["pages"] == []


def test_csv_has_a_row_per_section_and_page(api: Client, gate: Any) -> None:
    response = api.get(_url(gate, ".csv"), headers=_header("sales"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"leadgate-content-{gate.slug}.csv" in response["Content-Disposition"]
    text = _text(response)
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CONTENT_CSV_COLUMNS
    records = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [(r["kind"], r["file"], r["key"]) for r in records] == [
        ("section", "", "intro"),
        ("section", "", "costs"),
        ("page", "network-map", "p1"),
        ("page", "network-map", "p2"),
    ]
    assert records[0]["reach"] == "0.6667"
    assert records[0]["median_active_ms"] == "7500"
    assert records[0]["hot_rank"] == "1"
    assert records[2]["median_active_ms"] == ""
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    response = api.get(_url(gate, ".csv"), {"since": since}, headers=_header("marketer"))
    text = _text(response)
    costs = list(csv.DictReader(io.StringIO(text)))[1]
    assert (costs["key"], costs["readers"]) == ("costs", "1")


def test_csv_neutralises_formulas_in_titles(api: Client) -> None:
    gate = make_gate(sections=("evil",), files=())
    gate.sections.update(title='=HYPERLINK("http://evil.example")')
    response = api.get(_url(gate, ".csv"), headers=_header("marketer"))
    row = next(csv.DictReader(io.StringIO(_text(response))))
    assert row["title"].startswith("'=")


@pytest.mark.parametrize("suffix", ["", ".csv"])
def test_refusals_are_in_the_error_shape(api: Client, gate: Any, suffix: str) -> None:
    assert_error(api.get(_url(gate, suffix)), 401)
    assert_error(api.get(_url(gate, suffix), headers={"Authorization": "Token nope"}), 401)
    errors = assert_error(api.get(_url(gate, suffix), headers=_header(None)), 403)
    assert "no role" in errors["__all__"][0]
    missing = api.get(f"/api/v1/gates/no-such-gate/content{suffix}", headers=_header("sales"))
    assert_error(missing, 404)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-02-30"}, "until"),
        ({"since": "x" * 65}, "since"),
        ({"since": "2026-01-01\x00"}, "since"),
        ({"since": "0001-01-01T00:00:00+14:00"}, "since"),
        ({"since": "2026-03-01", "until": "2026-03-01"}, "until"),
        ({"since": "2026-03-02", "until": "2026-03-01T23:00:00Z"}, "until"),
    ],
)
def test_a_bad_range_is_a_400(api: Client, gate: Any, query: dict[str, str], field: str) -> None:
    for suffix in ("", ".csv"):
        assert_error(api.get(_url(gate, suffix), query, headers=_header("sales")), 400, field)


def test_writes_are_not_served(api: Client, gate: Any) -> None:
    response = api.post(
        _url(gate), {}, content_type="application/json", headers=_header("marketer")
    )
    assert_error(response, 405)
