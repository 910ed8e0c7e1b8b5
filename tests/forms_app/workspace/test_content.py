"""The workspace's content page per gate: the drop-off chart (with its text alternative),
the tables, what hot leads read, the CSV; for marketers and sales users, linked from the
gate list, the gate page and the dashboard."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from forms_app.models import Gate
from profiling.content_analytics import CONTENT_CSV_COLUMNS
from tests.support.factories import make_event, make_gate, make_lead, make_visitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate() -> Gate:
    gate = make_gate(
        slug="fibre-book",
        title="The fibre e-book",
        sections=("why-fiber", "outages-cost"),
        files=("network-map",),
    )
    gate.sections.filter(key="why-fiber").update(title="Why fibre <now>")
    for lead in (make_lead(grade="hot"), None, None):
        visitor = make_visitor(lead=lead)
        make_event(visitor=visitor, gate=gate, type="page_view")
        make_event(visitor=visitor, gate=gate, section_key="why-fiber", duration_ms=4000)
        make_event(visitor=visitor, gate=gate, section_key="why-fiber", duration_ms=4000)
    reader = make_visitor()
    make_event(visitor=reader, gate=gate, section_key="outages-cost", duration_ms=61_000)
    make_event(
        visitor=reader, gate=gate, section_key="p2", file_key="network-map", duration_ms=7000
    )
    return gate


def _text(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


def _main(response: Any) -> str:
    assert response.status_code == 200
    return response.content.decode().split("<main", 1)[1].split("</main>")[0]


@pytest.mark.parametrize("who", ["mclient", "sclient"])
def test_the_page_shows_the_drop_off_and_its_numbers(
    who: str, gate: Gate, request: pytest.FixtureRequest
) -> None:
    client: Client = request.getfixturevalue(who)
    html = _main(client.get(f"/app/gates/{gate.slug}/content"))
    assert "Content: The fibre e-book" in html
    assert '<span class="ws-kpi-value" data-testid="content-visitors">4</span>' in html
    # The chart names every bar in words, escaped; the table says the same.
    assert 'role="img"' in html
    assert "Why fibre &lt;now&gt;: 75% reached (3 readers), 75% read" in html
    assert "Outages Cost: 25% reached (1 reader), 25% read" in html
    assert '<th scope="row">Why fibre &lt;now&gt;</th>' in html
    assert "1 min" in html  # the 61 s median of outages-cost
    assert "Pages of Network Map" in html
    assert "Page 2" in html
    assert "What the hot leads read" in html
    assert f'href="/app/gates/{gate.slug}/content.csv?"' in html
    # Marketers get a way back to the gate; sales users to the dashboard.
    if who == "mclient":
        assert f'href="/app/gates/{gate.slug}/"' in html
    else:
        assert f'href="/app/gates/{gate.slug}/"' not in html
        assert f'href="/app/?gate={gate.slug}"' in html


def test_the_range_filters_and_bad_ranges_are_explained(sclient: Client, gate: Gate) -> None:
    old = timezone.now() - timedelta(days=60)
    make_event(
        visitor=make_visitor(),
        gate=gate,
        section_key="outages-cost",
        duration_ms=5000,
        occurred_at=old,
    )
    html = _main(sclient.get(f"/app/gates/{gate.slug}/content"))
    assert "Outages Cost: 25% reached (1 reader)" in html  # the last 30 days by default
    day = old.date().isoformat()
    html = _main(sclient.get(f"/app/gates/{gate.slug}/content?start={day}&end={day}"))
    assert "Outages Cost: 100% reached (1 reader)" in html
    html = _main(sclient.get(f"/app/gates/{gate.slug}/content?start=2026-05-01&end=2026-04-01"))
    assert "must not be after" in html


def test_the_csv_is_the_apis(sclient: Client, gate: Gate) -> None:
    response = sclient.get(f"/app/gates/{gate.slug}/content.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"leadgate-content-{gate.slug}-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(_text(response))))
    assert tuple(rows[0]) == CONTENT_CSV_COLUMNS
    assert [r[2] for r in rows[1:]] == ["why-fiber", "outages-cost", "p1", "p2"]
    assert rows[1][4:7] == ["3", "0.7500", "8000"]


def test_who_may_see_it(client: Client, no_role_user: Any, mclient: Client, gate: Gate) -> None:
    response = client.get(f"/app/gates/{gate.slug}/content")
    assert response.status_code == 302
    assert "/app/login/" in response["Location"]
    client.force_login(no_role_user)
    assert client.get(f"/app/gates/{gate.slug}/content").status_code == 403
    assert client.get(f"/app/gates/{gate.slug}/content.csv").status_code == 403
    assert mclient.get("/app/gates/no-such-gate/content").status_code == 404
    assert mclient.get("/app/gates/no-such-gate/content.csv").status_code == 404
    assert mclient.post(f"/app/gates/{gate.slug}/content").status_code == 405


def test_linked_from_the_gate_list_the_gate_and_the_dashboard(
    mclient: Client, sclient: Client, gate: Gate
) -> None:
    link = f'href="/app/gates/{gate.slug}/content"'
    assert link in _main(mclient.get("/app/gates/"))
    assert link in _main(mclient.get(f"/app/gates/{gate.slug}/"))
    dashboard = _main(sclient.get("/app/"))
    assert f'href="/app/gates/{gate.slug}/content?start=' in dashboard
    assert f'href="/app/gates/{gate.slug}/content?start=' in _main(
        sclient.get(f"/app/?gate={gate.slug}")
    )


def test_a_gate_nobody_read_yet(sclient: Client) -> None:
    empty = make_gate(sections=("only",), files=("map",))
    html = _main(sclient.get(f"/app/gates/{empty.slug}/content"))
    assert "Only: \u2013 reached (0 readers), \u2013 read" in html  # no visitors, no share
    assert "No page of this file was read inline in this range." in html
    assert "No hot lead read this gate" in html
