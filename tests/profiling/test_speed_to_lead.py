"""Speed to lead, end to end: a hot trigger arrives at the public events endpoint, scoring
and delivery run in a real Celery worker, the CRM (a real HTTP server) answers 2xx; the
delivery records the time from the event's arrival to that 2xx, and the marketer reads
p50/p95 per endpoint from the API."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from profiling.models import Delivery, DeliveryStatus
from tests.support.crm import CrmReceiver
from tests.support.factories import (
    DEFAULT_ORIGIN,
    make_endpoint,
    make_gate,
    make_lead,
    make_marketer,
    make_rule,
    make_visitor,
    set_thresholds,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_speed_to_lead_from_event_arrival_to_crm_2xx(
    live_http: httpx.Client, celery_worker_process: Any, crm_receiver: CrmReceiver
) -> None:
    set_thresholds(warm=30, hot=80)
    gate = make_gate(files=("network-map",))
    make_rule(event_type="download", gate=gate, file_key="network-map", points=5, makes_hot=True)
    endpoint = make_endpoint(url=crm_receiver.url, grades=["hot"])
    marketer = make_marketer()
    crm_receiver.script(delay_s=0.2)  # the CRM takes 200 ms to answer: part of the speed

    leads = []
    sent_at: dict[str, float] = {}
    for _ in range(3):
        lead = make_lead()
        visitor = make_visitor(lead=lead)
        event = {"id": str(uuid.uuid4()), "type": "download", "gate": gate.slug}
        event["file"] = "network-map"
        sent_at[str(lead.id)] = time.time()
        response = live_http.post(
            "/api/v1/public/events",
            json={"visitor_id": str(visitor.id), "events": [event]},
            headers={"Origin": DEFAULT_ORIGIN},
        )
        assert response.status_code == 202, response.text
        leads.append(lead)

    for lead in leads:
        received = crm_receiver.wait_for_delivery(15, lead_id=lead.id, grade="hot")
        # The CRM logs the request before its answer reaches the worker, which then
        # records the 2xx: wait for that record.
        succeeded = Delivery.objects.filter(
            lead=lead, endpoint=endpoint, status=DeliveryStatus.SUCCEEDED
        )
        wait_for(succeeded.exists, 10)
        row = succeeded.get()
        assert row.triggered_at is not None
        assert row.speed_to_lead_ms is not None
        # From the event's arrival to the 2xx: at least the CRM's 200 ms, and no more than
        # the client-side span from sending the event to the CRM having answered.
        client_span_ms = (received.received_at - sent_at[str(lead.id)]) * 1000 + 50
        assert 200 <= row.speed_to_lead_ms <= client_span_ms + 100, (
            row.speed_to_lead_ms,
            client_span_ms,
        )

    stats = live_http.get(
        f"/api/v1/webhooks/{endpoint.pk}/stats", headers=marketer.auth_header
    ).json()
    speed = stats["speed_to_lead_ms"]
    assert speed["count"] == 3
    rows = sorted(
        ms
        for ms in Delivery.objects.filter(endpoint=endpoint).values_list(
            "speed_to_lead_ms", flat=True
        )
        if ms is not None
    )
    assert speed["p50"] == rows[1]
    assert rows[0] <= speed["p95"] <= rows[2]
    detail = live_http.get(f"/api/v1/webhooks/{endpoint.pk}", headers=marketer.auth_header).json()
    assert detail["speed_to_lead_ms"]["p50"] == rows[1]
