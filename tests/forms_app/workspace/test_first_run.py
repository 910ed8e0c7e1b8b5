"""The dashboard's first-run checklist: each step turns done once what it asks for exists,
through the same paths a new marketer takes (the builder, the tracker's endpoint, the
webhook page's test button against a real local CRM, scoring)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from forms_app.selectors import first_run
from profiling.models import Grade, WebhookEndpoint
from tests.forms_app.workspace.test_gates import gate_post
from tests.support.factories import (
    make_endpoint,
    make_event,
    make_gate,
    make_lead,
    make_visitor,
)

pytestmark = pytest.mark.django_db


def _done(key: str) -> bool:
    return first_run().step(key).done


def _step_html(html: str, key: str) -> str:
    start = html.index(f'data-step="{key}"')
    return html[start : html.index("</li>", start)]


def test_a_new_workspace_shows_four_steps_to_do(mclient: Client) -> None:
    state = first_run()
    assert [s.key for s in state.steps] == ["gate", "snippet", "webhook", "warm"]
    assert state.done_count == 0
    assert not state.complete
    html = mclient.get("/app/").content.decode()
    assert "Welcome to leadgate" in html
    assert "0 of 4 done" in html
    for key in ("gate", "snippet", "webhook", "warm"):
        assert "To do" in _step_html(html, key)
    assert 'href="/app/gates/new"' in _step_html(html, "gate")


def test_creating_a_gate_in_the_builder_marks_the_first_step(mclient: Client) -> None:
    response = mclient.post("/app/gates/new", gate_post(slug="clinics"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _done("gate")
    html = mclient.get("/app/").content.decode()
    assert "Done" in _step_html(html, "gate")
    # The next step links the new gate's snippet.
    assert 'href="/app/gates/clinics/"' in _step_html(html, "snippet")


def test_the_first_tracker_event_marks_the_snippet_step(mclient: Client) -> None:
    gate = make_gate(slug="ebook")
    assert not _done("snippet")
    # A tracked download recorded by the server is not the snippet at work.
    make_event(visitor=make_visitor(), type="download", gate=gate, source="server")
    assert not _done("snippet")
    client = Client()
    response = client.post(
        "/api/v1/public/events",
        {
            "visitor_id": str(uuid.uuid4()),
            "events": [{"id": str(uuid.uuid4()), "type": "page_view", "gate": gate.slug}],
        },
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    assert _done("snippet")
    assert "Done" in _step_html(mclient.get("/app/").content.decode(), "snippet")


def test_a_webhook_counts_once_the_crm_accepts_a_test_event(
    mclient: Client, crm_receiver: Any
) -> None:
    endpoint = make_endpoint(url=crm_receiver.url)
    assert not _done("webhook")  # connected, not yet tested
    crm_receiver.script(500)
    mclient.post(f"/app/webhooks/{endpoint.pk}/test")
    assert not _done("webhook")
    html = mclient.get("/app/").content.decode()
    assert "got HTTP 500" in _step_html(html, "webhook")
    assert f'href="/app/webhooks/{endpoint.pk}/"' in _step_html(html, "webhook")
    mclient.post(f"/app/webhooks/{endpoint.pk}/test")
    assert crm_receiver.requests[-1].status == 200
    assert _done("webhook")
    assert WebhookEndpoint.objects.count() == 1


def test_a_warm_or_hot_lead_marks_the_last_step() -> None:
    make_lead(grade=Grade.COLD)
    assert not _done("warm")
    make_lead(grade=Grade.HOT)
    assert _done("warm")


def test_the_checklist_goes_away_when_everything_is_done(
    mclient: Client, crm_receiver: Any
) -> None:
    gate = make_gate(slug="ebook")
    Client().post(
        "/api/v1/public/events",
        {
            "visitor_id": str(uuid.uuid4()),
            "events": [{"id": str(uuid.uuid4()), "type": "page_view", "gate": gate.slug}],
        },
        content_type="application/json",
    )
    endpoint = make_endpoint(url=crm_receiver.url)
    mclient.post(f"/app/webhooks/{endpoint.pk}/test")
    make_lead(grade=Grade.WARM)
    assert first_run().complete
    assert "first-run" not in mclient.get("/app/").content.decode()


def test_sales_users_see_no_checklist(sclient: Client) -> None:
    assert "first-run" not in sclient.get("/app/").content.decode()
