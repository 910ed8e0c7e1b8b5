"""Event rate limits (profiling/throttle.py on config/ratelimit.py): events per minute per
visitor and per address on the beacon, per address on Segment ingest; 429 with
Retry-After in the contract's error shape, nothing of a refused batch stored."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from django.test import Client

from config import ratelimit
from profiling.models import Event, Source
from tests.support.api import assert_error
from tests.support.factories import DEFAULT_ORIGIN, make_gate

pytestmark = pytest.mark.django_db

URL = "/api/v1/public/events"
OFFICE = "203.0.113.7"
ELSEWHERE = "198.51.100.9"


class Clock:
    """config.ratelimit's clock, moved by the test: windows pass without sleeping."""

    def __init__(self) -> None:
        # Early in a window, so that nothing a test does crosses into the next one.
        self.now = (time.time() // 60 + 1) * 60 + 1

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=fake.time))
    return fake


@pytest.fixture
def limits(settings: Any, clock: Clock) -> Any:
    """Both limits off unless a test sets one."""
    settings.LEADGATE_EVENT_LIMIT_PER_VISITOR = 0
    settings.LEADGATE_EVENT_LIMIT_PER_IP = 0
    return settings


def _events(gate: Any, n: int) -> list[dict[str, Any]]:
    return [{"id": str(uuid.uuid4()), "type": "page_view", "gate": gate.slug} for _ in range(n)]


def _send(visitor: uuid.UUID, events: list[dict[str, Any]], ip: str = OFFICE, **headers: str):
    body = json.dumps({"visitor_id": str(visitor), "events": events})
    return Client(REMOTE_ADDR=ip).post(
        URL, data=body, content_type="text/plain", headers=headers or None
    )


def _refused(response: Any) -> int:
    """A 429 in the contract's shape with a sane Retry-After; its seconds."""
    errors = assert_error(response, 429, "__all__")
    assert "Too many events" in errors["__all__"][0]
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 61
    return wait


def test_per_visitor_limit_refuses_one_visitor_not_the_next(limits: Any, clock: Clock) -> None:
    limits.LEADGATE_EVENT_LIMIT_PER_VISITOR = 5
    gate = make_gate()
    reader, colleague = uuid.uuid4(), uuid.uuid4()
    assert _send(reader, _events(gate, 3)).status_code == 202
    refused_batch = _events(gate, 3)
    response = _send(reader, refused_batch, Origin=DEFAULT_ORIGIN)
    wait = _refused(response)
    # The tracker on another site can read Retry-After (not a safelisted header).
    assert response["Access-Control-Allow-Origin"] == DEFAULT_ORIGIN
    assert response["Access-Control-Expose-Headers"] == "Retry-After"
    refused_ids = {e["id"] for e in refused_batch}
    assert not Event.objects.filter(id__in=refused_ids).exists()
    # Another visitor from the same address is not held back by the first one.
    assert _send(colleague, _events(gate, 5)).json() == {"accepted": 5, "duplicates": 0}
    assert _send(colleague, _events(gate, 1)).status_code == 429
    # After the wait, the very batch that was refused is stored.
    clock.now += wait
    assert _send(reader, refused_batch).json() == {"accepted": 3, "duplicates": 0}
    assert Event.objects.filter(id__in=refused_ids).count() == 3


def test_per_ip_limit_refuses_the_address_not_others(limits: Any) -> None:
    limits.LEADGATE_EVENT_LIMIT_PER_IP = 5
    gate = make_gate()
    assert _send(uuid.uuid4(), _events(gate, 4)).status_code == 202
    _refused(_send(uuid.uuid4(), _events(gate, 2)))
    assert _send(uuid.uuid4(), _events(gate, 2), ip=ELSEWHERE).status_code == 202
    assert Event.objects.count() == 6


def test_events_count_not_requests(limits: Any) -> None:
    limits.LEADGATE_EVENT_LIMIT_PER_VISITOR = 150
    gate = make_gate()
    visitor = uuid.uuid4()
    assert _send(visitor, _events(gate, 100)).status_code == 202
    _refused(_send(visitor, _events(gate, 100)))
    assert Event.objects.count() == 100


def test_defaults_leave_room_for_reading_and_refuse_a_pump(settings: Any, clock: Clock) -> None:
    # The shipped defaults: a reader's hundred events pass, a script's thousands do not.
    assert settings.LEADGATE_EVENT_LIMIT_PER_VISITOR == 600
    assert settings.LEADGATE_EVENT_LIMIT_PER_IP == 6000
    gate = make_gate()
    visitor = uuid.uuid4()
    statuses = [_send(visitor, _events(gate, 100)).status_code for _ in range(7)]
    assert statuses == [202] * 6 + [429]


def test_one_round_trip_per_request_and_none_when_off(
    limits: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Sequence[str], int]] = []
    real = ratelimit._counts_add

    def spy(keys: Sequence[str], amount: int, ttl_s: int) -> list[int]:
        calls.append((list(keys), amount))
        return real(keys, amount, ttl_s)

    monkeypatch.setattr(ratelimit, "_counts_add", spy)
    gate = make_gate()
    visitor = uuid.uuid4()
    assert _send(visitor, _events(gate, 2)).status_code == 202
    assert calls == []  # both limits 0: no store touched
    limits.LEADGATE_EVENT_LIMIT_PER_VISITOR = 100
    limits.LEADGATE_EVENT_LIMIT_PER_IP = 1000
    assert _send(visitor, _events(gate, 3)).status_code == 202
    assert len(calls) == 1
    keys, amount = calls[0]
    assert amount == 3
    assert len(keys) == 2
    assert any(str(visitor) in k for k in keys)
    assert any(OFFICE in k for k in keys)


def test_the_counters_are_one_pipeline_of_incrby_and_expire(limits: Any) -> None:
    found = ratelimit._redis()
    # The suite runs on Redis (tests/conftest.py fails without it under CI).
    assert found is not None, "the default cache is not Redis"
    client, prefix = found
    assert ratelimit._counts_add(["t:a", "t:b"], 7, 30) == [7, 7]
    assert ratelimit._counts_add(["t:a", "t:b"], 2, 30) == [9, 9]
    assert 0 < client.ttl(prefix + "t:a") <= 30


def test_a_store_outage_lets_events_through(limits: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    limits.LEADGATE_EVENT_LIMIT_PER_VISITOR = 1
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    monkeypatch.setattr(ratelimit, "_redis", lambda: (dead, ""))
    gate = make_gate()
    assert _send(uuid.uuid4(), _events(gate, 3)).status_code == 202


def test_invalid_batches_are_refused_before_counting(limits: Any) -> None:
    limits.LEADGATE_EVENT_LIMIT_PER_VISITOR = 2
    gate = make_gate()
    visitor = uuid.uuid4()
    bogus = [{"id": "not-a-uuid", "type": "page_view", "gate": gate.slug}] * 5
    assert _send(visitor, bogus).status_code == 400
    assert _send(visitor, _events(gate, 2)).status_code == 202


# --- Segment ingest ---------------------------------------------------------------------


def _segment(source: Source, gate: Any, n: int, ip: str = OFFICE) -> Any:
    batch = [
        {
            "type": "track",
            "event": "Section Viewed",
            "anonymousId": str(uuid.uuid4()),
            "messageId": str(uuid.uuid4()),
            "properties": {"gate": gate.slug, "section": "section-1"},
        }
        for _ in range(n)
    ]
    auth = "Basic " + base64.b64encode(f"{source.write_key}:".encode()).decode()
    return Client(REMOTE_ADDR=ip).post(
        "/v1/batch",
        data=json.dumps({"batch": batch}),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )


def test_segment_per_ip_limit_is_429_with_retry_after(limits: Any, clock: Clock) -> None:
    limits.LEADGATE_EVENT_LIMIT_PER_IP = 5
    source = Source.objects.create(name="site")
    gate = make_gate()
    assert _segment(source, gate, 4).json() == {"success": True}
    response = _segment(source, gate, 2)
    wait = _refused(response)
    assert Event.objects.count() == 4
    assert _segment(source, gate, 2, ip=ELSEWHERE).status_code == 200
    clock.now += wait
    assert _segment(source, gate, 2).status_code == 200
    assert Event.objects.count() == 8
