"""Caches that cannot lie (profiling/caches.py), across processes.

Two production web processes (gunicorn, one gevent worker each) share the test database
and Redis. A change made through the API of one is honoured by the other on its very
next request: no sleep, no TTL to wait for. Server B reads the shared stamp only once an
hour on its own (LEADGATE_CACHE_CHECK_MS), so what it accepts at once it owes to the
fresh read before a refusal or to the stamp check on a hot-rule miss; server A has the
default interval, and a removal made through B reaches it within that.

Also in one process: the receivers are connected by ProfilingConfig.ready(), and every
write path to a cached model moves the shared stamp when its transaction commits.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from config.stamped_cache import STAMP_KEY, _stamp_read, caches_invalidate
from forms_app.models import Gate, GateFile, Section
from profiling.models import Event, Lead, ScorePending, ScoringRule, Source
from tests.support.celery_worker import database_url_for
from tests.support.factories import (
    DEFAULT_ORIGIN,
    Marketer,
    make_gate,
    make_lead,
    make_marketer,
    make_visitor,
    set_thresholds,
)
from tests.support.gunicorn import Server, gunicorn_server
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

FILE_URL = "https://files.example-fibre.com/{}.pdf"


@pytest.fixture(scope="module")
def servers(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    with django_db_blocker.unblock():
        database_url = database_url_for(connection.settings_dict)
    logs = tmp_path_factory.mktemp("caches")
    common = {"WEB_CONCURRENCY": "1"}
    with (
        gunicorn_server(
            database_url=database_url,
            redis_url=settings.CELERY_BROKER_URL,
            log=Path(logs) / "a.log",
            env=common,
        ) as a,
        gunicorn_server(
            database_url=database_url,
            redis_url=settings.CELERY_BROKER_URL,
            log=Path(logs) / "b.log",
            env={**common, "LEADGATE_CACHE_CHECK_MS": "3600000"},
        ) as b,
    ):
        yield a, b


def _api(server: Server, marketer: Marketer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=marketer.auth_header, timeout=30)


def _beacon(
    server: Server, events: list[dict[str, Any]], *, visitor: str | None = None, **headers: str
) -> httpx.Response:
    body = {"visitor_id": visitor or str(uuid.uuid4()), "events": events}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return client.post("/api/v1/public/events", json=body, headers=headers)


def _ev(gate: Gate, type: str = "page_view", **fields: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": type, "gate": gate.slug, **fields}


def _segment(server: Server, key: str, messages: list[dict[str, Any]]) -> httpx.Response:
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return client.post("/v1/batch", json={"batch": messages}, headers={"Authorization": auth})


def _section_viewed(gate: Gate) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Section Viewed",
        "anonymousId": str(uuid.uuid4()),
        "messageId": str(uuid.uuid4()),
        "properties": {"gate": gate.slug, "section": "section-1"},
    }


def _logs(*servers: Server) -> str:
    return "\n".join(s.log_text()[-3000:] for s in servers)


# --- additions: accepted by the other process at once ------------------------------------


def test_a_file_added_through_one_process_is_accepted_by_the_other_at_once(
    servers: tuple[Server, Server],
) -> None:
    a, b = servers
    marketer = make_marketer()
    gate = make_gate(files=["network-map"])
    assert _beacon(b, [_ev(gate, "download", file="network-map")]).status_code == 202  # cached
    files = [
        {"key": key, "title": key.title(), "url": FILE_URL.format(key)}
        for key in ("network-map", "price-list")
    ]
    with _api(a, marketer) as api:
        assert api.patch(f"/api/v1/gates/{gate.slug}", json={"files": files}).status_code == 200
    answer = _beacon(b, [_ev(gate, "download", file="price-list")])
    assert answer.status_code == 202, answer.text + _logs(a, b)
    assert Event.objects.filter(gate=gate, file_key="price-list").count() == 1


def test_a_section_added_through_one_process_is_accepted_by_the_other_at_once(
    servers: tuple[Server, Server],
) -> None:
    a, b = servers
    marketer = make_marketer()
    gate = make_gate(sections=["intro"])
    assert _beacon(b, [_ev(gate, "section_view", section="intro")]).status_code == 202
    sections = [{"key": key, "title": key.title()} for key in ("intro", "pricing")]
    with _api(a, marketer) as api:
        answer = api.patch(f"/api/v1/gates/{gate.slug}", json={"sections": sections})
        assert answer.status_code == 200, answer.text
    answer = _beacon(b, [_ev(gate, "section_view", section="pricing")])
    assert answer.status_code == 202, answer.text + _logs(a, b)
    assert Event.objects.filter(gate=gate, section_key="pricing").count() == 1


def test_a_gate_made_through_one_process_is_accepted_by_the_other_at_once(
    servers: tuple[Server, Server],
) -> None:
    a, b = servers
    marketer = make_marketer()
    slug = f"new-{uuid.uuid4().hex[:8]}"
    event = {"id": str(uuid.uuid4()), "type": "page_view", "gate": slug}
    assert _beacon(b, [event]).status_code == 400  # unknown: B caches that
    with _api(a, marketer) as api:
        answer = api.post("/api/v1/gates", json={"slug": slug, "title": "New guide"})
        assert answer.status_code == 201, answer.text
    event["id"] = str(uuid.uuid4())
    answer = _beacon(b, [event])
    assert answer.status_code == 202, answer.text + _logs(a, b)


def test_an_origin_allowed_through_one_process_is_accepted_by_the_other_at_once(
    servers: tuple[Server, Server],
) -> None:
    a, b = servers
    marketer = make_marketer()
    gate = make_gate(allowed_origins=[DEFAULT_ORIGIN])
    other_site = "https://blog.example-fibre.com"
    assert _beacon(b, [_ev(gate)], Origin=DEFAULT_ORIGIN).status_code == 202
    assert _beacon(b, [_ev(gate)], Origin=other_site).status_code == 403
    with _api(a, marketer) as api:
        answer = api.patch(
            f"/api/v1/gates/{gate.slug}", json={"allowed_origins": [DEFAULT_ORIGIN, other_site]}
        )
        assert answer.status_code == 200, answer.text
    answer = _beacon(b, [_ev(gate)], Origin=other_site)
    assert answer.status_code == 202, answer.text + _logs(a, b)
    assert answer.headers["access-control-allow-origin"] == other_site


def test_a_segment_source_made_through_one_process_is_accepted_by_the_other_at_once(
    servers: tuple[Server, Server],
) -> None:
    a, b = servers
    marketer = make_marketer()
    gate = make_gate()
    with _api(a, marketer) as api:
        answer = api.post("/api/v1/sources", json={"name": "site", "allowed_gates": [gate.slug]})
        assert answer.status_code == 201, answer.text
    key = answer.json()["write_key"]
    assert _segment(b, key, [_section_viewed(gate)]).status_code == 200
    assert Event.objects.filter(gate=gate, source="segment").count() == 1

    # A key B refused a moment ago (cached as unknown), then made elsewhere: B reads it
    # again before answering 401. The write is this test process's: B sees no stamp of
    # it at all, only the database.
    key = f"key-{uuid.uuid4().hex}"
    assert _segment(b, key, [_section_viewed(gate)]).status_code == 401
    source = Source.objects.create(name="late", write_key=key, all_gates=False)
    source.gates.add(gate)
    assert _segment(b, key, [_section_viewed(gate)]).status_code == 200
    assert Event.objects.filter(gate=gate, source="segment").count() == 2

    # A gate added to a source B has cached: not dropped as "not allowed".
    other = make_gate()
    assert _segment(b, key, [_section_viewed(other)]).status_code == 200
    assert Event.objects.filter(gate=other).count() == 0  # dropped: not allowed yet
    source.gates.add(other)
    assert _segment(b, key, [_section_viewed(other)]).status_code == 200
    assert Event.objects.filter(gate=other).count() == 1, _logs(b)


def test_a_hot_rule_made_through_one_process_triggers_in_the_other_at_once(
    servers: tuple[Server, Server], celery_worker_process: Any
) -> None:
    a, b = servers
    marketer = make_marketer()
    set_thresholds(warm=30, hot=80)
    gate = make_gate()
    first, second = make_lead(), make_lead()
    first_visitor, second_visitor = make_visitor(lead=first), make_visitor(lead=second)
    # B reads the makes-hot rules (there are none) for a known lead's download.
    download = _ev(gate, "download", file="network-map")
    assert _beacon(b, [download], visitor=str(first_visitor.id)).status_code == 202
    wait_for(lambda: not ScorePending.objects.filter(lead=first).exists(), 20)
    assert Lead.objects.get(pk=first.pk).grade == "cold"

    made = time.time()
    rule = {
        "name": "Downloads the map",
        "event_type": "download",
        "gate": gate.slug,
        "points": 80,
        "makes_hot": True,
    }
    with _api(a, marketer) as api:
        assert api.post("/api/v1/scoring-rules", json=rule).status_code == 201

        # The rule's full rescore (first's download makes it hot) must be over before the
        # second lead's event exists, or the rescore could grade it instead of B.
        def rescored() -> bool:
            status = api.get("/api/v1/scoring-rules/rescore").json()
            started = status.get("started_at")
            return (
                status.get("state") == "finished"
                and started is not None
                and datetime.fromisoformat(started).timestamp() >= made - 1
            )

        wait_for(rescored, 30, message=lambda: celery_worker_process.log_tail())
    assert Lead.objects.get(pk=first.pk).grade == "hot"

    # A score task is already pending for the second lead: an event that is not a hot
    # trigger enqueues nothing more (and no beat runs here to sweep). Only B seeing the
    # new rule at once makes the lead hot now.
    ScorePending.objects.create(lead=second, since=timezone.now())
    download = _ev(gate, "download", file="network-map")
    assert _beacon(b, [download], visitor=str(second_visitor.id)).status_code == 202
    wait_for(
        lambda: Lead.objects.get(pk=second.pk).grade == "hot",
        20,
        message=lambda: celery_worker_process.log_tail() + _logs(b),
    )


# --- removals: within the check interval -------------------------------------------------


def test_a_gate_deactivated_through_one_process_is_refused_by_the_other_within_the_interval(
    servers: tuple[Server, Server],
) -> None:
    a, b = servers
    marketer = make_marketer()
    gate = make_gate()
    assert _beacon(a, [_ev(gate)]).status_code == 202  # A caches the gate
    with _api(b, marketer) as api:
        answer = api.patch(f"/api/v1/gates/{gate.slug}", json={"is_active": False})
        assert answer.status_code == 200, answer.text
    changed = time.monotonic()
    wait_for(lambda: _beacon(a, [_ev(gate)]).status_code == 400, 5, interval=0.05)
    # LEADGATE_CACHE_CHECK_MS is 500 on A (the default); allow for a loaded machine.
    assert time.monotonic() - changed < 2.5


# --- one process: where the receivers are connected, which writes move the stamp ---------


def test_the_receivers_are_connected_once_by_the_app_config() -> None:
    for model in (Gate, Section, GateFile, Source, ScoringRule):
        for signal in (post_save, post_delete):
            receivers = [r for r in signal._live_receivers(model)[0] if r is caches_invalidate]
            assert len(receivers) == 1, (model, signal)
    through = [r for r in m2m_changed._live_receivers(Source.gates.through)[0]]
    assert caches_invalidate in through


@pytest.mark.parametrize(
    "write",
    [
        "gate service",
        "section removed",
        "gate API",
        "rule service",
        "source API",
        "source gates",
        "admin",
    ],
)
def test_every_write_path_moves_the_shared_stamp_when_it_commits(write: str) -> None:
    from django.test import Client

    from forms_app.services.gates import SectionInput, gate_save
    from profiling.services.rules import scoring_rule_save

    gate = make_gate(sections=["intro", "pricing"])
    marketer = make_marketer()
    source = Source.objects.create(name="site", all_gates=False)
    before = _stamp_read(STAMP_KEY)
    seen_inside: list[object] = []
    with transaction.atomic():
        if write == "gate service":
            gate_save(gate=gate, data={"title": "Renamed"})
        elif write == "section removed":
            gate_save(gate=gate, data={}, sections=[SectionInput(key="intro", title="Intro")])
        elif write == "rule service":
            scoring_rule_save(data={"name": "r", "event_type": "download", "points": 5})
        elif write == "source gates":
            source.gates.add(gate)
        seen_inside.append(_stamp_read(STAMP_KEY))
    if write in {"gate API", "source API"}:
        client = Client(headers=marketer.auth_header)
        if write == "gate API":
            answer = client.patch(
                f"/api/v1/gates/{gate.slug}", {"title": "Renamed"}, content_type="application/json"
            )
        else:
            answer = client.post(
                "/api/v1/sources", {"name": "new"}, content_type="application/json"
            )
        assert answer.status_code in {200, 201}, answer.content
    if write == "admin":
        from tests.support.factories import make_user

        admin = make_user(is_staff=True, is_superuser=True)
        client = Client()
        client.force_login(admin)
        answer = client.post(f"/admin/profiling/source/{source.pk}/delete/", {"post": "yes"})
        assert answer.status_code == 302, answer.content[:300]
        assert not Source.objects.filter(pk=source.pk).exists()
    assert seen_inside in ([], [before])  # never before the commit
    assert _stamp_read(STAMP_KEY) != before
