"""Soak: half the ingest maximum held for minutes while workers die, Redis restarts and
the CRM fails, then checks that nothing was lost, doubled or leaked.

One run, all real processes on this machine, against a database of its own
(`<DATABASE_URL's name>_soak`, its event, visitor and lead tables emptied first) and a
private `redis-server` this benchmark starts on a free port, without persistence
(`--save "" --appendonly no`): a restart loses everything in it, Celery's queued and
unacknowledged messages, the rate-limit counters and the caches, the worst case for
the outbox design (rows in PostgreSQL, beat's sweeps hand out what is due again).

- gunicorn with the production settings (gunicorn.conf.py, 2 gevent workers);
- two Celery worker nodes (prefork, concurrency 2 each, all queues) and Celery beat;
- a CRM receiver (a threaded HTTP server in this process) that counts every webhook by
  its `webhook-id` and answers 200, or 500 during its outage;
- the load generator, a process of its own (bench/soak/load.py).

Phases: the ingest maximum (single-event batches from 8 clients, as bench/delivery.py
measures it), then half of it held for the soak while a schedule of faults runs:
- every minute (`--quick`: every 15 s) node B of the Celery workers is SIGKILLed with
  its pool (a whole control group, as systemd kills one) and restarted a second later,
  and the newest gunicorn worker is SIGKILLed (gunicorn's master starts another);
- the private Redis is SIGKILLed and restarted a few seconds later (twice; once quick);
- the CRM answers 500 for a window (60 s; quick: 4 s, shorter than the first retry's
  delay, so the quick run does not wait for the second retry five minutes later).
Processes that exit are restarted, as systemd's Restart=always would. RSS of every
gunicorn, Celery and beat process is sampled every 5 s.

Then, bounded, the outbox and the score marks drain and the checks run:
(a) every event the load generator saw accepted (202) is stored exactly once;
(b) every grade change to a subscribed grade has exactly one delivery row for the
    endpoint, succeeded, and the CRM answered 2xx to its webhook-id at least once (more
    than once: a duplicate on the wire, counted, allowed: at least once);
(c) every visitor whose hot trigger (the download) was accepted is a hot lead with a
    grade change to hot, and every lead's stored score is what its stored events give
    (no scoring lost with a killed worker or a lost message);
(d) no process that lived through the soak grew its RSS, from the sample after warm-up
    to the last, by more than max(MEMORY_BOUND_MB, MEMORY_BOUND_SHARE of its warm RSS).
Any failed check makes the benchmark fail (it raises after printing its section).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.soak.checks import (
    ORIGIN,
    check_deliveries,
    check_events,
    check_hot,
    check_scores,
    fixtures,
    inflight,
)
from bench.soak.processes import (
    MEMORY_BOUND_MB,
    MEMORY_BOUND_SHARE,
    ROOT,
    SAMPLE_EVERY_S,
    Memory,
    Receiver,
    Service,
    child_pids,
    own_database_url,
    port_open,
    started_at,
    up,
    wait,
)
from tests.support.net import free_port, private_redis_command

BLAST_CLIENTS = 8


STEADY_CLIENTS = 16


JOURNEY_START = 0.02


@dataclass(frozen=True)
class Plan:
    blast_s: float
    soak_s: float
    kill_every_s: float
    redis_restarts: tuple[float, ...]
    redis_down_s: float
    crm_500: tuple[float, float]
    warm_s: float
    drain_s: float


QUICK = Plan(
    blast_s=3,
    soak_s=60,
    kill_every_s=15,
    redis_restarts=(25,),
    redis_down_s=2,
    crm_500=(8, 12),
    warm_s=15,
    drain_s=120,
)


FULL = Plan(
    blast_s=5,
    soak_s=300,
    kill_every_s=60,
    redis_restarts=(100, 200),
    redis_down_s=3,
    crm_500=(20, 80),
    warm_s=60,
    # A delivery that failed twice in the CRM's outage waits for the second retry
    # (5 min +-10%, profiling/services/delivery/attempt.py): up to 80 + 330 s.
    drain_s=240,
)


def _load(config: dict[str, Any], logs: Path, name: str) -> subprocess.Popen[bytes]:
    path = logs / f"{name}.json"
    config = {**config, "out": str(logs / f"{name}.out.json")}
    path.write_text(json.dumps(config))
    with (logs / f"{name}.log").open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bench.soak.load", str(path)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _load_result(logs: Path, name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((logs / f"{name}.out.json").read_text())
    return result


def _gunicorn_worker_to_kill(master: int) -> int | None:
    """The newest gunicorn worker: the oldest one lives through the soak, so its memory
    is measured over the whole run."""
    children = child_pids(master)
    # By start time, not pid: pids wrap (pid_max) over a soak that starts thousands of
    # processes, and the highest pid was once the oldest worker.
    return max(children, key=started_at) if children else None


def run(quick: bool) -> str:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    plan = QUICK if quick else FULL
    load_before = os.getloadavg()
    tag = f"soak-{os.getpid()}"
    logs = Path(tempfile.mkdtemp(prefix=f"bench-{tag}-"))
    redis_port = free_port()
    redis_dir = logs / "redis"
    redis_dir.mkdir()
    database_url = own_database_url("soak")
    # Before Django loads its settings: this process, its children and the servers all
    # use the soak's database and the private Redis.
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        LEADGATE_CELERY_QUEUE=tag,
        LEADGATE_CELERY_DELIVERY_QUEUE=f"{tag}.deliveries",
        LEADGATE_CELERY_SCORING_QUEUE=f"{tag}.scoring",
        LEADGATE_WEBHOOK_ALLOW_PRIVATE="1",
        # Every request comes from one address: the limits would throttle the load.
        LEADGATE_EVENT_LIMIT_PER_VISITOR="0",
        LEADGATE_EVENT_LIMIT_PER_IP="0",
        LEADGATE_SUBMIT_LIMIT_PER_IP="0",
        LEADGATE_SUBMIT_LIMIT_PER_GATE="0",
        PYTHONUNBUFFERED="1",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    redis = Service(
        "redis",
        private_redis_command("redis-server", redis_port, redis_dir),
        dict(os.environ),
        logs,
    )
    redis.start()
    wait(lambda: port_open(redis_port), 10, "redis-server")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    receiver = Receiver()
    fixture = fixtures(receiver.url)
    env = dict(os.environ)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    worker_opts = ["--concurrency", "2", "--loglevel", "WARNING", "--without-gossip"]
    worker_opts += ["--without-mingle", "--without-heartbeat"]
    services = {
        "gunicorn": Service(
            "gunicorn",
            [
                str(bin_dir / "gunicorn"),
                "config.wsgi:application",
                *("-b", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"),
            ],
            env,
            logs,
        ),
        "celery-a": Service(
            "celery-a", [*celery, "worker", *worker_opts, "-n", f"{tag}-a@%h"], env, logs
        ),
        "celery-b": Service(
            "celery-b", [*celery, "worker", *worker_opts, "-n", f"{tag}-b@%h"], env, logs
        ),
        "beat": Service(
            "beat",
            [*celery, "beat", "--loglevel", "WARNING", "-s", str(logs / "beat-schedule")],
            env,
            logs,
        ),
    }
    timeline: list[str] = []
    memory = Memory()
    failures: list[str] = []
    try:
        for s in services.values():
            s.start()
        wait(lambda: up(base), 60, "gunicorn")
        load_cfg = {"base": base, "origin": ORIGIN, "gate": fixture["gate"]}
        # Warm-up: every gunicorn worker imports its views on its first requests.
        warm = _load({**load_cfg, "mode": "blast", "seconds": 1, "clients": 4}, logs, "warmup")
        warm.wait(timeout=60)
        blast = _load(
            {**load_cfg, "mode": "blast", "seconds": plan.blast_s, "clients": BLAST_CLIENTS},
            logs,
            "blast",
        )
        blast.wait(timeout=plan.blast_s + 60)
        blast_result = _load_result(logs, "blast")
        max_rate = len(blast_result["accepted"]) / blast_result["elapsed_s"]
        rate = max_rate / 2
        steady_cfg = {
            **load_cfg,
            "mode": "steady",
            "rate": rate,
            "seconds": plan.soak_s,
            "clients": STEADY_CLIENTS,
            "journey_start": JOURNEY_START,
        }
        steady = _load(steady_cfg, logs, "steady")
        t0 = time.monotonic()
        timeline.append(f"0 s: load starts, {rate:.0f} requests/s")
        _soak(plan, t0, services, redis, receiver, memory, timeline, steady)
        steady.wait(timeout=plan.soak_s + 120)
        soak_end = time.monotonic() - t0
        timeline.append(f"{soak_end:.0f} s: load ends")
        result = _load_result(logs, "steady")
        # The drain: bounded; processes still supervised (nothing is killed any more).
        drained_at = None
        deadline = time.monotonic() + plan.drain_s
        state = inflight(fixture["endpoint"])
        while time.monotonic() < deadline:
            _supervise(services, redis, timeline, t0)
            if time.monotonic() - t0 >= _next_sample_time(memory):
                memory.sample(time.monotonic() - t0, services)
            state = inflight(fixture["endpoint"])
            settled = not (state["pending"] or state["changes_without_row"])
            if settled and not state["score_pending"]:
                drained_at = time.monotonic() - t0
                break
            time.sleep(1.0)
        time.sleep(2.0)  # the last 2xx answers are recorded after the receiver counts them
        memory.sample(time.monotonic() - t0, services)
        events = check_events(result["accepted"])
        deliveries = check_deliveries(fixture["endpoint"], receiver)
        hot = check_hot(result["journeys"])
        scores = check_scores()
        connection.close()
    finally:
        for s in services.values():
            s.stop()
        redis.stop()
        receiver.stop()
    load_after = os.getloadavg()
    mem = memory.verdicts(plan.warm_s)
    if drained_at is None:
        failures.append(f"not drained within {plan.drain_s:.0f} s after the load: {state}")
    if events["missing"] or events["stored_twice"]:
        failures.append(
            f"events: {events['missing']} accepted but not stored, "
            f"{events['stored_twice']} stored more than once"
        )
    for key, what in (
        ("no_row", "grade changes without a delivery row"),
        ("many_rows", "grade changes with more than one delivery row"),
        ("not_succeeded", "delivery rows not succeeded"),
        ("not_on_wire", "delivery rows the CRM never answered 2xx to"),
    ):
        if deliveries[key]:
            failures.append(f"{deliveries[key]} {what}")
    if hot["not_hot"] or hot["no_hot_change"]:
        failures.append(
            f"hot triggers accepted but lead not hot: {hot['not_hot']}, "
            f"without a grade change to hot: {hot['no_hot_change']}"
        )
    if scores["stale"]:
        failures.append(f"{scores['stale']} leads whose stored score is not their events' score")
    for m in mem:
        if not m["ok"]:
            failures.append(
                f"RSS of {m['role']} {m['pid']} grew {m['last'] - m['warm']:.1f} MB "
                f"(bound {m['bound']:.1f} MB)"
            )
    if not mem:
        failures.append("no process was sampled across the soak")
    section = _report(
        quick=quick,
        plan=plan,
        max_rate=max_rate,
        rate=rate,
        result=result,
        timeline=timeline,
        events=events,
        deliveries=deliveries,
        hot=hot,
        scores=scores,
        mem=mem,
        memory=memory,
        services=services,
        drained_at=drained_at,
        soak_end=soak_end,
        failures=failures,
        load=(load_before, load_after),
        logs=logs,
    )
    if failures:
        print(section)
        raise RuntimeError("soak checks failed: " + "; ".join(failures))
    return section


def _next_sample_time(memory: Memory) -> float:
    last = max((points[-1][0] for _, points in memory.samples.values()), default=-SAMPLE_EVERY_S)
    return last + SAMPLE_EVERY_S


def _supervise(
    services: dict[str, Service], redis: Service, timeline: list[str], t0: float
) -> None:
    """Restart what exited by itself (systemd's Restart=always)."""
    for s in [*services.values(), redis]:
        if not s.stopping and not s.alive() and s.name != "redis":
            code = s.proc.returncode if s.proc is not None else None
            timeline.append(f"{time.monotonic() - t0:.0f} s: {s.name} exited ({code}), restarted")
            s.start()


def _soak(
    plan: Plan,
    t0: float,
    services: dict[str, Service],
    redis: Service,
    receiver: Receiver,
    memory: Memory,
    timeline: list[str],
    steady: subprocess.Popen[bytes],
) -> None:
    """The fault schedule, while the load runs."""
    kills = [plan.kill_every_s * k for k in range(1, int(plan.soak_s // plan.kill_every_s) + 1)]
    kills = [k for k in kills if k < plan.soak_s]
    restarts = list(plan.redis_restarts)
    crm_from, crm_to = plan.crm_500
    redis_back_at: float | None = None
    b_back_at: float | None = None
    while steady.poll() is None:
        now = time.monotonic() - t0
        if now >= _next_sample_time(memory):
            memory.sample(now, services)
        if kills and now >= kills[0]:
            kills.pop(0)
            services["celery-b"].kill()
            b_back_at = now + 1.0
            victim = _gunicorn_worker_to_kill(services["gunicorn"].pid)
            if victim:
                os.kill(victim, signal.SIGKILL)
            timeline.append(
                f"{now:.0f} s: SIGKILL Celery node B (with its pool) and gunicorn worker {victim}"
            )
        if b_back_at is not None and now >= b_back_at:
            services["celery-b"].start()
            b_back_at = None
        if restarts and now >= restarts[0]:
            restarts.pop(0)
            redis.kill()
            redis_back_at = now + plan.redis_down_s
            timeline.append(f"{now:.0f} s: SIGKILL redis-server (no persistence: all lost)")
        if redis_back_at is not None and now >= redis_back_at:
            redis.start()
            redis_back_at = None
            timeline.append(f"{now:.0f} s: redis-server started again, empty")
        failing = crm_from <= now < crm_to
        if failing != receiver.failing:
            receiver.failing = failing
            timeline.append(f"{now:.0f} s: CRM answers {'500' if failing else '200'}")
        for name, s in services.items():
            if name == "celery-b" and b_back_at is not None:
                continue
            if not s.alive():
                code = s.proc.returncode if s.proc is not None else None
                timeline.append(f"{now:.0f} s: {name} exited ({code}), restarted")
                s.start()
        time.sleep(0.2)
    if redis_back_at is not None:
        redis.start()
    if b_back_at is not None:
        services["celery-b"].start()
    receiver.failing = False


def _report(**r: Any) -> str:
    plan: Plan = r["plan"]
    result = r["result"]
    events, deliveries, hot = r["events"], r["deliveries"], r["hot"]
    per_second = result["per_second"][: int(plan.soak_s)]
    achieved = sum(per_second) / max(len(per_second), 1)
    low = sorted(per_second)[len(per_second) // 20] if per_second else 0
    (b1, _, _), (a1, _, _) = r["load"]
    by_role: dict[str, list[dict[str, Any]]] = {}
    for m in r["mem"]:
        by_role.setdefault(m["role"], []).append(m)
    mem_lines = [
        f"| {role} | {len(ms)} | {min(m['warm'] for m in ms):.0f}-{max(m['warm'] for m in ms):.0f}"
        f" | {min(m['last'] for m in ms):.0f}-{max(m['last'] for m in ms):.0f}"
        f" | {max(m['last'] - m['warm'] for m in ms):+.1f} | {min(m['bound'] for m in ms):.0f}"
        f" | {'ok' if all(m['ok'] for m in ms) else '**over**'} |"
        for role, ms in sorted(by_role.items())
    ]
    failures = r["failures"]
    verdict = "**PASS**" if not failures else "**FAIL**: " + "; ".join(failures)
    drained = (
        f"{r['drained_at'] - r['soak_end']:.0f} s after the load ended"
        if r["drained_at"] is not None
        else f"not within {plan.drain_s:.0f} s"
    )
    restarts = ", ".join(f"{n} {s.starts - 1}" for n, s in r["services"].items())
    return f"""## Soak: faults under half the ingest maximum (`bench/soak/`)

`./scripts/bench.sh soak`: gunicorn (production settings, 2 gevent workers), two Celery
worker nodes (prefork, 2 processes each) and beat, PostgreSQL (a database of its own) and
a private `redis-server` without persistence, a local CRM receiver; the load generator in
a process of its own. The ingest maximum is measured first ({BLAST_CLIENTS} clients,
single-event batches, {plan.blast_s:g} s), then half of it is held for {plan.soak_s:g} s
by {STEADY_CLIENTS} clients on a fixed schedule (a request that falls behind during an
outage is sent as soon as possible after it), about a tenth of the requests being
visitor journeys: an anonymous section view, the gate's form (opt-in), three section
views (warm), the hot download (hot). Faults: every {plan.kill_every_s:g} s Celery node B
is SIGKILLed with its pool and restarted a second later, and the newest gunicorn worker
is SIGKILLed; Redis is SIGKILLed (losing every queued and unacknowledged message) and
started again {plan.redis_down_s:g} s later; the CRM answers 500 from
{plan.crm_500[0]:g} s to {plan.crm_500[1]:g} s.{" (quick run)" if r["quick"] else ""}

| measure | value |
|---|---|
| ingest maximum (blast) | {r["max_rate"]:.0f} events/s |
| held: target / achieved (5th percentile of seconds) | {r["rate"]:.0f} / {achieved:.0f} ({low}) events/s |
| requests sent / refused / no answer | {result["sent"]} / {result["refused"]} / {result["errors"]} |
| journeys / opted in / hot triggers accepted | {hot["journeys"]} / {hot["opted_in"]} / {hot["hot_triggers_accepted"]} |
| (a) accepted events / stored once / missing / stored twice | {events["accepted"]} / {events["stored"]} / {events["missing"]} / {events["stored_twice"]} |
| (b) grade changes to warm / hot | {deliveries["warm"]} / {deliveries["hot"]} |
| (b) changes without a delivery row / with more than one | {deliveries["no_row"]} / {deliveries["many_rows"]} |
| (b) rows not succeeded / never answered 2xx on the wire | {deliveries["not_succeeded"]} / {deliveries["not_on_wire"]} |
| (b) webhooks answered 2xx / duplicates on the wire / answered 500 | {deliveries["wire_2xx"]} / {deliveries["wire_duplicates"]} / {deliveries["wire_500"]} |
| (b) rows that needed more than one attempt | {deliveries["retried_rows"]} |
| (c) hot triggers whose lead is not hot / has no change to hot | {hot["not_hot"]} / {hot["no_hot_change"]} |
| (c) leads whose stored score is not their stored events' score | {r["scores"]["stale"]} of {r["scores"]["leads"]} |
| outbox and score marks drained | {drained} |
| restarts by supervision (incl. the kills) | {restarts} |

Fault timeline (seconds since the load started):

{chr(10).join(f"- {line}" for line in r["timeline"])}

(d) RSS per process alive across the soak, from the sample at {plan.warm_s:g} s (after
warm-up) to the last; bound: growth <= max({MEMORY_BOUND_MB:g} MB, {MEMORY_BOUND_SHARE:.0%} of
the warm RSS). Node B's processes and the killed gunicorn workers live at most
{plan.kill_every_s:g} s and are not judged.

| process | n | RSS warm (MB) | RSS last (MB) | largest growth (MB) | bound (MB) | verdict |
|---|---:|---:|---:|---:|---:|---|
{chr(10).join(mem_lines)}

Result: {verdict}.

The checks are about correctness, not speed: the machine ({os.cpu_count()} cores) was shared
with other work (1-minute load average {b1:.1f} before, {a1:.1f} after), so the rates are
this run's, not a capacity figure. Logs of the run: `{r["logs"]}`."""
