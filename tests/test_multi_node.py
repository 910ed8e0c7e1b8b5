"""Several nodes against one PostgreSQL and one Redis: two web nodes (each a real
`gunicorn config.wsgi:application` on a port of its own, its own process group) and a
worker node (a real `celery -A config worker`, its own process group).

- A file and a makes-hot rule added through node A's API hold at once for events
  arriving at node B (config/stamped_cache.py), and the worker scores with the rule.
- A hot trigger arriving at node A is delivered to the CRM (a real local HTTP server)
  by the worker node.
- GET /metrics on node A adds up its two web processes and the worker (one machine, one
  PROMETHEUS_MULTIPROC_DIR); node B, a machine of its own, counts only itself.
- Killing node B (SIGKILL to its process group) right after it answered 202 loses no
  accepted event.

Separate ports stand in for separate machines; network namespaces would change nothing
that leadgate does (docs/deploy.md says what was tested here).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from profiling.models import Event, GradeChange, Lead
from tests.conftest import require_services
from tests.support.celery_worker import (
    CeleryWorkerProcess,
    database_url_for,
    purge_redis_queue,
    queue_names,
)
from tests.support.crm import CrmReceiver
from tests.support.factories import (
    DEFAULT_ORIGIN,
    make_endpoint,
    make_gate,
    make_lead,
    make_marketer,
    make_visitor,
    set_thresholds,
)
from tests.support.gunicorn import Server, gunicorn_server
from tests.support.waiting import wait_for
from tests.test_production_server import collected_static  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

TOKEN = "multi-node-metrics-token-0123456789"


class Cluster:
    def __init__(self, a: Server, b: Server, worker: CeleryWorkerProcess) -> None:
        self.a, self.b, self.worker = a, b, worker


@pytest.fixture
def cluster(tmp_path: Path, collected_static: Path) -> Iterator[Cluster]:  # noqa: F811
    require_services()
    base = f"leadgate-nodes-{uuid.uuid4().hex[:8]}"
    database_url = database_url_for(connection.settings_dict)
    redis_url = settings.CELERY_BROKER_URL
    # Node A and the worker node share a machine (one metrics folder); B is another.
    machine_a, machine_b = tmp_path / "metrics-a", tmp_path / "metrics-b"
    machine_a.mkdir()
    machine_b.mkdir()
    common = {
        **queue_names(base),
        "LEADGATE_STATIC_ROOT": str(collected_static),
        "LEADGATE_METRICS_TOKEN": TOKEN,
        "LEADGATE_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    worker = CeleryWorkerProcess(
        database_url=database_url,
        redis_url=redis_url,
        queue=base,
        log_path=tmp_path / "worker.log",
        name=f"lgnodes-{uuid.uuid4().hex[:6]}",
        extra_env={"PROMETHEUS_MULTIPROC_DIR": str(machine_a)},
    )
    try:
        with (
            gunicorn_server(
                database_url=database_url,
                redis_url=redis_url,
                log=tmp_path / "node-a.log",
                env={
                    **common,
                    "WEB_CONCURRENCY": "2",
                    "PROMETHEUS_MULTIPROC_DIR": str(machine_a),
                    "LEADGATE_LOG_FORMAT": "json",
                },
            ) as a,
            gunicorn_server(
                database_url=database_url,
                redis_url=redis_url,
                log=tmp_path / "node-b.log",
                env={**common, "WEB_CONCURRENCY": "1", "PROMETHEUS_MULTIPROC_DIR": str(machine_b)},
            ) as b,
            worker,
        ):
            yield Cluster(a, b, worker)
    finally:
        purge_redis_queue(redis_url, base)


def _event(gate: str, **fields: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "gate": gate, **fields}


def _post(node: Server, visitor: uuid.UUID, events: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(
        f"{node.url}/api/v1/public/events",
        json={"visitor_id": str(visitor), "events": events},
        headers={"Origin": DEFAULT_ORIGIN},
        timeout=10,
    )


def _metrics(node: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(
        f"{node.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_two_web_nodes_and_a_worker_node_share_one_database_and_redis(
    cluster: Cluster, crm_receiver: CrmReceiver
) -> None:
    a, b = cluster.a, cluster.b
    set_thresholds(warm=30, hot=80)
    gate = make_gate(files=("network-map",))
    make_endpoint(url=crm_receiver.url, grades=["hot"])
    marketer = make_marketer()
    first, second = make_lead(), make_lead()
    first_visitor, second_visitor = make_visitor(lead=first), make_visitor(lead=second)

    # Both nodes answer their probes, over plain HTTP, without a session.
    for node in (a, b):
        assert httpx.get(f"{node.url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{node.url}/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ok"}), ready.text

    # Node B has read the gate and the (no) makes-hot rules into its caches.
    warm = _post(b, first_visitor.id, [_event(gate.slug, type="page_view")])
    assert warm.status_code == 202, warm.text
    # The beacon (served before Django's handler under gunicorn) carries a request id,
    # and node A's log lines (JSON there) carry it too.
    assert warm.headers["x-request-id"]
    rid = f"lb-{uuid.uuid4().hex}"
    bad = httpx.post(
        f"{a.url}/api/v1/public/events", content=b"{", headers={"X-Request-ID": rid}, timeout=10
    )
    assert (bad.status_code, bad.headers["x-request-id"]) == (400, rid)
    logged = [
        json.loads(line)
        for line in a.log_text().splitlines()
        if line.startswith("{") and rid in line
    ]
    assert [(line["level"], line["request_id"]) for line in logged] == [("WARNING", rid)]
    # Every line node A wrote is a JSON object, gunicorn's own included.
    lines = [line for line in a.log_text().splitlines() if line.strip()]
    assert all(line.startswith("{") for line in lines), lines
    assert any(json.loads(line)["logger"] == "gunicorn.error" for line in lines)

    # Through node A's API: a new file, and a rule that makes its download hot.
    files = [
        {"key": "network-map", "title": "Map", "url": "https://files.example-fibre.com/m.pdf"},
        {"key": "spec-sheet", "title": "Spec", "url": "https://files.example-fibre.com/s.pdf"},
    ]
    patched = httpx.patch(
        f"{a.url}/api/v1/gates/{gate.slug}", json={"files": files}, headers=marketer.auth_header
    )
    assert patched.status_code == 200, patched.text
    rule = httpx.post(
        f"{a.url}/api/v1/scoring-rules/",
        json={
            "name": "Downloaded the spec sheet",
            "event_type": "download",
            "gate": gate.slug,
            "file": "spec-sheet",
            "points": 5,
            "makes_hot": True,
        },
        headers=marketer.auth_header,
    )
    assert rule.status_code == 201, rule.text

    # At once, at node B: the new file is a known key, and its download makes the lead hot.
    download = _event(gate.slug, type="download", file="spec-sheet")
    at_b = _post(b, first_visitor.id, [download])
    assert (at_b.status_code, at_b.json()) == (202, {"accepted": 1, "duplicates": 0}), at_b.text
    # Generous: under a loaded CI machine the worker node may take a while to pick it up.
    crm_receiver.wait_for_delivery(60, lead_id=first.id, grade="hot")
    change = GradeChange.objects.get(lead=first, grade="hot")
    assert any("spec" in reason.lower() for reason in change.reasons), change.reasons

    # A hot trigger arriving at node A, delivered by the worker node.
    at_a = _post(a, second_visitor.id, [_event(gate.slug, type="download", file="spec-sheet")])
    assert at_a.status_code == 202, at_a.text
    crm_receiver.wait_for_delivery(60, lead_id=second.id, grade="hot")
    assert Lead.objects.get(pk=second.pk).grade == "hot"

    # Node A's metrics add up its web processes and the worker on its machine.
    def delivered_counted() -> dict[Any, float]:
        samples = _metrics(a)
        done = samples.get(("leadgate_deliveries_total", (("outcome", "succeeded"),)), 0)
        return samples if done >= 2 else {}

    samples = wait_for(delivered_counted, 10)
    assert samples[("leadgate_speed_to_lead_seconds_count", ())] >= 2
    assert samples[("leadgate_grade_changes_total", (("grade", "hot"),))] >= 2
    assert samples[("leadgate_events_accepted_total", (("source", "tracker"),))] >= 1
    queues = {labels for name, labels in samples if name == "leadgate_queue_depth"}
    assert {dict(labels)["queue"] for labels in queues} == set(queue_names_of(cluster))
    on_b = _metrics(b)
    # Known label values exist from the start, at 0 (node B's machine runs no worker).
    assert on_b[("leadgate_deliveries_total", (("outcome", "succeeded"),))] == 0
    assert on_b[("leadgate_events_accepted_total", (("source", "tracker"),))] == 2
    assert "Traceback" not in a.log_text() + b.log_text(), a.log_text() + b.log_text()


def queue_names_of(cluster: Cluster) -> list[str]:
    return list(queue_names(cluster.worker.queue).values())


def test_killing_a_web_node_loses_no_accepted_event(cluster: Cluster) -> None:
    b = cluster.b
    gate = make_gate()
    accepted: list[list[str]] = []
    lock = threading.Lock()
    killed = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=b.url, headers={"Origin": DEFAULT_ORIGIN}, timeout=10) as http:
            while True:
                events = [_event(gate.slug, type="page_view") for _ in range(10)]
                try:
                    answer = http.post(
                        "/api/v1/public/events",
                        json={"visitor_id": str(uuid.uuid4()), "events": events},
                    )
                except httpx.HTTPError:
                    return  # the node is gone
                assert answer.status_code == 202, answer.text
                with lock:
                    accepted.append([e["id"] for e in events])
                    if len(accepted) >= 30 and not killed.is_set():
                        # Right after this 202: the master and its workers, no warning.
                        os.killpg(b.pid, signal.SIGKILL)
                        killed.set()

    senders = [threading.Thread(target=send) for _ in range(4)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(timeout=60)
    assert killed.is_set()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{b.url}/healthz", timeout=2)
    ids = [event_id for batch in accepted for event_id in batch]
    assert len(ids) >= 300
    assert Event.objects.filter(id__in=ids).count() == len(ids)
    # Node A, the worker and the shared stores carry on.
    assert httpx.get(f"{cluster.a.url}/readyz").status_code == 200
    assert cluster.worker.alive


def test_a_web_node_without_a_metrics_folder_adds_up_its_processes(
    tmp_path: Path,
    collected_static: Path,  # noqa: F811
) -> None:
    """gunicorn.conf.py makes a folder of the run's own when PROMETHEUS_MULTIPROC_DIR is
    unset: /metrics counts every worker process's events, whichever process answers."""
    require_services()
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    gate = make_gate()
    temporary = tmp_path / "tmp"  # where the run's folder is made (tempfile reads TMPDIR)
    temporary.mkdir()
    with gunicorn_server(
        database_url=database_url_for(connection.settings_dict),
        redis_url=settings.CELERY_BROKER_URL,
        log=tmp_path / "node.log",
        env={
            "LEADGATE_STATIC_ROOT": str(collected_static),
            "LEADGATE_METRICS_TOKEN": TOKEN,
            "WEB_CONCURRENCY": "2",
            "TMPDIR": str(temporary),
        },
    ) as node:

        def send(_: int) -> int:
            # A connection per batch: the kernel hands them to either worker process.
            return _post(node, uuid.uuid4(), [_event(gate.slug, type="page_view")]).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(send, range(40))) == {202}
        counted = {
            _metrics(node)[("leadgate_events_accepted_total", (("source", "tracker"),))]
            for _ in range(6)  # whichever worker answers the scrape
        }
    assert counted == {40.0}
    (folder,) = temporary.glob("leadgate-metrics-*")
    # Each worker process keeps its counts in a file of its own there.
    assert len(list(folder.glob("counter_*.db"))) >= 2
