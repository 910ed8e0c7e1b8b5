"""Speed to lead under ingest load: hot trigger in, signed webhook 2xx out.

One run, all real processes on this machine:
- the app under gunicorn (the production entry point), a `celery -A config worker`
  (prefork) on its own queue, PostgreSQL and Redis from DATABASE_URL / REDIS_URL;
- a local CRM receiver (a threaded HTTP server in this process) answering 200 at once;
- a load generator posting single-event batches to the public `POST /api/v1/public/events`.

Phases:
1. baseline: one Celery hop plus a local POST (a delivery row enqueued directly, idle
   system), the floor that everything else is compared with;
2. ingest maximum: as many events per second as C concurrent clients get accepted;
3. steady load at half that rate, a share of the events hot triggers (a `download` that a
   `makes_hot` rule matches, each by a fresh lead): trigger -> CRM 2xx latency, measured
   twice: client side (request sent -> webhook received) and server side (the delivery's
   recorded speed to lead: event arrival -> 2xx).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx

from bench.common import bench_gate_create, http_receiver_start, http_receiver_stop
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "https://bench.example-fibre.com"
CLIENTS = 8
HOT_SHARE = 0.05


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Receiver:
    """The CRM: records when each webhook arrived, by lead id (or webhook-id)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: dict[str, float] = {}
        self.count = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Like a production HTTP server: the answer leaves at once, not held back by
            # Nagle's algorithm waiting for the client's delayed ACK (tens of ms).
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                now = time.time()
                try:
                    data = json.loads(body).get("data", {})
                    key = str(data.get("lead", {}).get("id") or self.headers["webhook-id"])
                except (ValueError, AttributeError, KeyError):
                    key = "?"
                with receiver.lock:
                    receiver.count += 1
                    receiver.arrivals.setdefault(key, now)
                # One write: status line, headers and body in one segment.
                self.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server, self.url = http_receiver_start(Handler)

    def stop(self) -> None:
        http_receiver_stop(self.server)


@contextmanager
def _process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _queues(base: str) -> dict[str, str]:
    """This run's three Celery queues (config/celery.py), all named after `base`."""
    return {
        "LEADGATE_CELERY_QUEUE": base,
        "LEADGATE_CELERY_DELIVERY_QUEUE": f"{base}.deliveries",
        "LEADGATE_CELERY_SCORING_QUEUE": f"{base}.scoring",
    }


def _setup_django(queue: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Before Django loads the settings (bench/run.py runs each benchmark in a fresh
    # process): this process publishes where the worker below reads.
    os.environ.update(_queues(queue))
    os.environ["LEADGATE_WEBHOOK_ALLOW_PRIVATE"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _fixtures(receiver_url: str, hot_leads: int, background_leads: int) -> dict[str, Any]:
    from profiling.models import Lead, Visitor, WebhookEndpoint

    tag = uuid.uuid4().hex[:8]
    # Background reading scores a little and stays cold; the download makes a lead hot.
    gate = bench_gate_create(
        slug=f"bench-{tag}",
        title="Bench guide",
        origin=ORIGIN,
        rule_name=f"bench {tag}",
        read_points=1,
        read_cap=3,
    )
    # Only this run's endpoint receives: earlier runs' endpoints are switched off.
    WebhookEndpoint.objects.filter(is_active=True).update(is_active=False)
    endpoint = WebhookEndpoint.objects.create(url=receiver_url, grades=["hot"])

    def leads(n: int, kind: str) -> list[tuple[str, str]]:
        made = Lead.objects.bulk_create(
            [Lead(email=f"{kind}-{tag}-{i}@bench-fibre.com", name=f"{kind} {i}") for i in range(n)]
        )
        visitors = Visitor.objects.bulk_create([Visitor(id=uuid.uuid4(), lead=m) for m in made])
        return [(str(v.id), str(v.lead_id)) for v in visitors]

    return {
        "gate": gate.slug,
        "endpoint": endpoint,
        "hot": leads(hot_leads, "hot"),
        "background": leads(background_leads, "bg"),
    }


def _baseline(receiver: Receiver, samples: int) -> list[float]:
    """One Celery hop + a local POST: a delivery row enqueued directly, one at a time."""
    from django.utils import timezone

    from profiling.models import GradeChange, Lead
    from profiling.services.delivery import deliveries_create_for_change

    latencies = []
    for i in range(samples):
        lead = Lead.objects.create(email=f"base-{uuid.uuid4().hex}@bench-fibre.com", name="B")
        change = GradeChange.objects.create(
            lead=lead, previous_grade="warm", grade="hot", score=90, triggered_at=timezone.now()
        )
        started = time.time()
        deliveries_create_for_change(change=change, lead=lead)  # autocommit: enqueued now
        _wait(lambda lead=lead: str(lead.id) in receiver.arrivals, 10, f"baseline #{i}")
        latencies.append((receiver.arrivals[str(lead.id)] - started) * 1000)
        time.sleep(0.02)
    return latencies


def _event(gate: str, visitor: str, hot: bool) -> dict[str, Any]:
    event: dict[str, Any] = {"id": str(uuid.uuid4()), "gate": gate}
    if hot:
        event.update(type="download", file="network-map")
    else:
        event.update(type="section_view", section=f"s{uuid.uuid4().int % 6}", duration_ms=5000)
    return {"visitor_id": visitor, "events": [event]}


def _clients(base: str, n: int) -> list[httpx.Client]:
    """The load generator's HTTP clients, made before any clock starts: building one
    costs ~40 ms of CPU (its SSL context) under the GIL of this process, which also runs
    the receiver (the CRM). Made inside the measured window, 16 of them stalled the
    receiver for the first half second of the steady phase: the load generator's own
    set-up, not the system under test."""
    return [httpx.Client(base_url=base, headers={"Origin": ORIGIN}, timeout=30) for _ in range(n)]


def _blast(base: str, gate: str, visitors: list[str], seconds: float) -> tuple[float, int]:
    """Ingest maximum: C clients sending single-event batches back to back."""
    accepted = [0] * CLIENTS
    refused = [0] * CLIENTS

    clients = _clients(base, CLIENTS)

    def client(n: int) -> None:
        with clients[n] as http:
            i = n
            while time.monotonic() < stop:
                r = http.post(
                    "/api/v1/public/events", json=_event(gate, visitors[i % len(visitors)], False)
                )
                if r.status_code == 202:
                    accepted[n] += 1
                else:
                    refused[n] += 1
                i += CLIENTS

    started = time.monotonic()
    stop = started + seconds
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(accepted) / (time.monotonic() - started), sum(refused)


def _steady(
    base: str,
    gate: str,
    background: list[str],
    hot: list[tuple[str, str]],
    rate: float,
    seconds: float,
) -> tuple[dict[str, float], int, int, float]:
    """Events at `rate`/s on a fixed schedule; every 1/HOT_SHARE-th is a hot trigger.
    Returns send times of the hot triggers by lead id, sent count, refusals, and the
    achieved rate."""
    total = int(rate * seconds)
    every = round(1 / HOT_SHARE)
    plan: list[tuple[float, bool, int]] = []
    hot_i = 0
    for i in range(total):
        is_hot = i % every == every // 2 and hot_i < len(hot)
        plan.append((i / rate, is_hot, hot_i if is_hot else i))
        hot_i += int(is_hot)
    sent_hot: dict[str, float] = {}
    lock = threading.Lock()
    cursor = [0]
    refused = [0]
    clients = _clients(base, CLIENTS * 2)
    t0 = time.monotonic() + 0.2

    def client(http: httpx.Client) -> None:
        with http:
            while True:
                with lock:
                    if cursor[0] >= len(plan):
                        return
                    at, is_hot, k = plan[cursor[0]]
                    cursor[0] += 1
                delay = t0 + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                visitor, lead = hot[k] if is_hot else (background[k % len(background)], "")
                sent = time.time()
                r = http.post("/api/v1/public/events", json=_event(gate, visitor, is_hot))
                if r.status_code != 202:
                    with lock:
                        refused[0] += 1
                elif is_hot:
                    with lock:
                        sent_hot[lead] = sent

    threads = [threading.Thread(target=client, args=(http,)) for http in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    achieved = total / (time.monotonic() - t0)
    return sent_hot, total, refused[0], achieved


def run(quick: bool) -> str:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    queue = f"leadgate-bench-delivery-{os.getpid()}"
    _setup_django(queue)
    from django.conf import settings

    from profiling.models import Delivery

    load_before = os.getloadavg()[0]
    blast_s, steady_s, base_n = (3.0, 6.0, 10) if quick else (10.0, 30.0, 50)
    receiver = Receiver()
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-delivery-{os.getpid()}"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(_queues(queue), LEADGATE_WEBHOOK_ALLOW_PRIVATE="1", PYTHONUNBUFFERED="1")
    # The blast comes from one address: the event rate limits would throttle it.
    for name in ("LEADGATE_EVENT_LIMIT_PER_VISITOR", "LEADGATE_EVENT_LIMIT_PER_IP"):
        env.setdefault(name, "0")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi:application",
        "-b",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        # Everything else from gunicorn.conf.py (read from the project root, its cwd):
        # the production settings, gevent workers.
    ]
    # No -Q: the worker reads all three queues, as `celery -A config worker` does.
    worker = [sys.executable, "-m", "celery", "-A", "config", "worker"]
    worker += [
        "--concurrency",
        "4",
        "--loglevel",
        os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
        "-n",
        f"bench-{os.getpid()}@%h",
    ]
    worker += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    # Before the processes start: every process sees the hot rule from its first request.
    data = _fixtures(receiver.url, hot_leads=300 if quick else 2000, background_leads=200)
    try:
        with (
            _process(gunicorn, env, logs / "gunicorn.log"),
            _process(worker, env, logs / "worker.log"),
        ):
            _wait(lambda: _up(base), 30, "gunicorn")
            # Background traffic: mostly anonymous readers, a quarter known leads (whose
            # events are scored); the hot triggers come on top.
            known = [v for v, _ in data["background"]]
            anonymous = [str(uuid.uuid4()) for _ in range(3 * len(known))]
            background = [
                x
                for pair in zip(
                    anonymous[::3], anonymous[1::3], anonymous[2::3], known, strict=True
                )
                for x in pair
            ]
            baseline = _baseline(receiver, base_n)  # also warms the worker up
            max_rate, blast_refused = _blast(base, data["gate"], background, blast_s)
            rate = max_rate / 2
            _drain(queue)  # the blast's backlog is scored before the steady phase starts
            sent_hot, total, refused, achieved = _steady(
                base, data["gate"], background, data["hot"], rate, steady_s
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(k in receiver.arrivals for k in sent_hot):
                time.sleep(0.1)
            client_ms = [
                (receiver.arrivals[k] - t) * 1000
                for k, t in sent_hot.items()
                if k in receiver.arrivals
            ]
            missing = len(sent_hot) - len(client_ms)
            rows = list(
                Delivery.objects.filter(
                    endpoint=data["endpoint"], lead_id__in=list(sent_hot)
                ).values_list(
                    "speed_to_lead_ms", "triggered_at", "grade_change__created_at", "delivered_at"
                )
            )
            server_ms = [float(r[0]) for r in rows if r[0] is not None]
            # Where the time goes: event arrival -> grade change (ingest + scoring hop),
            # grade change -> 2xx recorded (the delivery hop: ours).
            scoring_ms = [(r[2] - r[1]).total_seconds() * 1000 for r in rows if r[1] and r[2]]
            delivery_ms = [(r[3] - r[2]).total_seconds() * 1000 for r in rows if r[2] and r[3]]
    finally:
        receiver.stop()

    load_after = os.getloadavg()[0]
    b50 = statistics.median(baseline)
    c50, c99 = _pct(client_ms, 0.5), _pct(client_ms, 0.99)
    s50, s99 = _pct(server_ms, 0.5), _pct(server_ms, 0.99)
    ok = "met" if c50 < 50 and c99 < 500 else "NOT met"
    return f"""## delivery: speed to lead under ingest load

Trigger (a hot `download` event POSTed to `/api/v1/public/events`) to the CRM's 2xx:
the app under gunicorn with the production settings (`gunicorn.conf.py`: 2 gevent
workers), one `celery -A config worker` (prefork,
concurrency 4), PostgreSQL and Redis, a local receiver answering 200 at once; {CLIENTS}
clients measure the ingest maximum (single-event batches), then {CLIENTS * 2} clients send
a steady {rate:.0f} events/s (half of it) for {steady_s:.0f} s, {HOT_SHARE:.0%} of them
hot triggers by fresh leads; the other events are section views, three quarters by
anonymous visitors and a quarter by known leads (scored, staying cold). The blast's
backlog is drained before the steady phase. The load generator's HTTP clients are built
before each phase's clock starts (building them stalls this process, which is also the
CRM).{" (quick run)" if quick else ""}

| measure | value |
|---|---|
| baseline: one Celery hop + local POST, p50 (idle, n={len(baseline)}) | {b50:.1f} ms |
| ingest maximum ({CLIENTS} clients, 1 event per request) | {max_rate:.0f} events/s ({blast_refused} refused) |
| steady load: target / achieved | {rate:.0f} / {achieved:.0f} events/s ({total} events, {refused} refused) |
| hot triggers sent / delivered / missing after 30 s | {len(sent_hot)} / {len(client_ms)} / {missing} |
| trigger -> 2xx, client side: p50 / p99 | **{c50:.1f} ms / {c99:.1f} ms** ({c50 / b50:.1f}x / {c99 / b50:.1f}x baseline) |
| recorded speed to lead (event arrival -> 2xx): p50 / p99 | {s50:.1f} ms / {s99:.1f} ms |
| of which event arrival -> grade change (ingest, scoring hop): p50 / p99 | {_pct(scoring_ms, 0.5):.1f} ms / {_pct(scoring_ms, 0.99):.1f} ms |
| of which grade change -> 2xx (delivery hop): p50 / p99 | {_pct(delivery_ms, 0.5):.1f} ms / {_pct(delivery_ms, 0.99):.1f} ms |
| max client-side | {max(client_ms) if client_ms else float("nan"):.1f} ms |

Goal p50 < 50 ms and p99 < 500 ms: **{ok}**. Webhook timeout {settings.LEADGATE_WEBHOOK_TIMEOUT_S} s.
Run with `./scripts/bench.sh delivery` on a {os.cpu_count()}-core machine shared with other
work (1-minute load average {load_before:.1f} before, {load_after:.1f} after): absolute
numbers are noisy; the ratio to the baseline measured in the same run is the comparable
figure."""


def _drain(queue: str, timeout: float = 120) -> None:
    """Wait until the worker's queues (all named after `queue`, every priority list) are
    empty, then a little more for the tasks in flight."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        _wait(
            lambda: sum(int(client.llen(k)) for k in client.keys(queue + "*")) == 0,
            timeout,
            "the worker to drain its queue",
        )
    finally:
        client.close()
    time.sleep(1.0)


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/public/events", timeout=1).status_code < 500
    except httpx.HTTPError:
        return False
