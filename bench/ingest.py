"""Event ingest throughput: the public events endpoint against a trivial Django view, with
an ablation of what makes the beacon fast.

One run: the app under gunicorn (gunicorn.conf.py, the production entry point, gevent
workers) on PostgreSQL and Redis, load from `wrk` (Lua scripts make every request's event
ids and visitor id unique, so every event is a real durable INSERT, never a duplicate).

The same app is served three times, each configured at start-up by environment:
- (a) the gevent worker alone: the beacon takes Django's handler, its whole middleware
  chain and the view, and each request runs the events statement on its own connection
  (LEADGATE_BEACON_EARLY_DISPATCH=0, LEADGATE_INGEST_GROUP_COMMIT=0);
- (b) plus the early WSGI dispatch (profiling/beacon.py);
- (c) plus group commit (profiling/ingest_writer/group.py): production's settings.

Scenarios, interleaved over rounds after a short warm-up: the trivial view (a plain
`HttpResponse` behind the same middleware stack, on (c)), and 1-event and 100-event
batches on each of (a), (b) and (c). Every ratio is taken against the trivial view of the
same round. After each scenario the stored rows are counted: every 202 was durable.
BENCH_INGEST_SECONDS and BENCH_INGEST_ROUNDS shorten a run (6 s and 5 rounds; --quick:
3 s and 1 round).

Goals: 1-event batches >= 80% of the trivial view's requests/s; 100-event batches >= 55,000
events/s (both for (c), production).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parent.parent

WRK_LUA = r"""
local gate = "%(gate)s"
local section = "%(section)s"
local n = %(n)d
-- Seeded from /dev/urandom on every wrk run: a clock-based seed repeats (the 1-event
-- script seeded with time + 1 replayed the 100-event script's ids when it started 99 s
-- after it), and replayed ids are duplicates that are answered 202 but not stored again.
local urandom = io.open("/dev/urandom", "rb")
local b = urandom:read(4)
urandom:close()
math.randomseed(((b:byte(1) * 256 + b:byte(2)) * 256 + b:byte(3)) * 256 + b:byte(4))
local function uuid4()
  return string.format("%%08x-%%04x-4%%03x-%%04x-%%06x%%06x",
    math.random(0, 0xffffffff), math.random(0, 0xffff), math.random(0, 0xfff),
    math.random(0x8000, 0xbfff), math.random(0, 0xffffff), math.random(0, 0xffffff))
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local events = {}
  for i = 1, n do
    events[i] = '{"id":"' .. uuid4() .. '","type":"section_view","gate":"' .. gate ..
      '","section":"' .. section .. '","duration_ms":' .. (1000 + i) .. '}'
  end
  local body = '{"visitor_id":"' .. uuid4() .. '","events":[' .. table.concat(events, ",") .. ']}'
  return wrk.format(nil, "/api/v1/public/events", nil, body)
end
"""


# SCHEDULING. Linux's scheduler autogroups (kernel.sched_autogroup_enabled, on here)
# share the CPU fairly between sessions first, then between the threads inside each;
# every PostgreSQL backend is a session of its own. gunicorn started in a session of its
# own (an autogroup apart from wrk's) serves the trivial view, the denominator of the
# goal's ratio, slower, while the 1-event endpoint, which mostly waits on PostgreSQL,
# does not move: that flatters the ratio (see docs/benchmarks.md, section "Ingest
# benchmark: one scheduling session"). So gunicorn shares the benchmark's session, and
# so wrk's, the arrangement in which the baseline is fastest. BENCH_INGEST_OWN_SESSION=1
# starts it in a session of its own instead.
OWN_SESSION = os.environ.get("BENCH_INGEST_OWN_SESSION", "0") == "1"
# The worker class: the production one (gunicorn.conf.py, gevent) unless this names
# another, e.g. BENCH_INGEST_WORKER_CLASS=gthread (with BENCH_INGEST_THREADS threads) to
# compare with the threaded worker (gunicorn.conf.py says why production does not use it).
WORKER_CLASS = os.environ.get("BENCH_INGEST_WORKER_CLASS", "")
REFERENCE_NAME = "trivial Django view, threaded worker (reference)"
REFERENCE_THREADS = 8  # per worker: the threaded reference (gthread) the report shows


def _ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    # Debian's package; the benchmark is run by ./scripts/bench.sh on a dev/CI machine.
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is needed: apt-get install -y wrk")
    return found


@contextmanager
def _gunicorn(
    port: int,
    log: Path,
    workers: int,
    threads: int,
    *,
    own_session: bool,
    worker_class: str | None = None,
    settings_env: dict[str, str] | None = None,
) -> Iterator[int]:
    worker_class = WORKER_CLASS if worker_class is None else worker_class
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        "bench._ingest_wsgi:application",
        # The production settings (worker class and all), as `gunicorn
        # config.wsgi:application` reads them from the project root.
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "-b",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        *(["-k", worker_class] if worker_class else []),
        *(["--threads", str(threads)] if worker_class == "gthread" else []),
        "--log-level",
        "warning",
        # Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new
        # connections over them by hash. With one shared socket the first worker to wake
        # accepts a whole burst: wrk's keep-alive connections, opened together, often all
        # landed in one process, which then served every request on one core (the trivial
        # view measured 1.7k or 5.6k req/s from round to round on the same build).
        "--reuse-port",
    ]
    # Off unless the caller set them (scripts/bench.sh does): every request comes from
    # one address, and the limits would throttle the load instead of measuring ingest.
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(settings_env or {}))
    for name in ("LEADGATE_EVENT_LIMIT_PER_VISITOR", "LEADGATE_EVENT_LIMIT_PER_IP"):
        env.setdefault(name, "0")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            # A process group of its own either way (killpg below); a session of its own
            # only when asked: see SCHEDULING.
            start_new_session=own_session,
            process_group=None if own_session else 0,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"gunicorn did not start; see {log}") from None
                time.sleep(0.1)
        yield proc.pid
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def _wrk(
    wrk: str, url: str, seconds: float, connections: int, script: Path | None
) -> dict[str, Any]:
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "5s"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    lat = {p: _ms(v) for p, v in re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)", out, re.M)}
    return {
        "rps": rps,
        "requests": total,
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
        "p50": lat.get("50", float("nan")),
        "p99": lat.get("99", float("nan")),
    }


def _cpu_ticks(pids: list[int]) -> dict[int, int]:
    """utime + stime per process (clock ticks), from /proc; gone pids are left out."""
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)
    return ticks


def _cpu_delta(before: dict[int, int], after: dict[int, int]) -> int:
    # Processes that started during the run count in full; ones that ended are lost
    # (an underestimate; persistent connections make that rare).
    return sum(t - before.get(pid, 0) for pid, t in after.items())


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:  # field 5 of stat(5): the process group
                pids.append(int(entry.name))
    return pids


def _server_pids(pgid: int) -> tuple[list[int], list[int]]:
    """gunicorn's processes, and the PostgreSQL backends serving this bench database
    (other than our own connection): the CPU that one request costs the server."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        backends = [int(row[0]) for row in cursor.fetchall()]
    return _group_pids(pgid), backends


def _setup() -> dict[str, str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    from forms_app.models import Gate, Section

    # Every run starts from empty event, receipt and visitor tables (this is the benchmarks' own
    # database): each run adds about half a million events, and a table that grew over
    # earlier runs makes every insert's index work dearer, so runs would not compare.
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE profiling_event, profiling_eventreceipt, profiling_visitor CASCADE"
        )

    slug = f"bench-{uuid.uuid4().hex[:8]}"
    gate = Gate.objects.create(slug=slug, title="Bench", stage="interest", allowed_origins=[])
    Section.objects.create(gate=gate, key="part-1", title="Part 1")
    return {"gate": slug, "section": "part-1"}


def _stored(gate_slug: str) -> int:
    from profiling.models import Event

    return Event.objects.filter(gate__slug=gate_slug).count()


def _quiesce(timeout_s: float = 60.0) -> None:
    """Let PostgreSQL's background work from the previous scenario end before the next.

    A 100-event round leaves about 300,000 new rows behind: dirty pages for the
    checkpointer and the background writer, and (past the insert threshold) an
    autovacuum of the events table. Run during the next scenario, that work takes CPU from
    it; and the next scenario is always the trivial view (the rounds go trivial, 1-event,
    100-event), the baseline every ratio divides by, which then serves fewer requests/s
    (see docs/benchmarks.md, section "Ingest benchmark: quiet PostgreSQL between
    scenarios"). So every measured run starts from a checkpointed database with no
    autovacuum running (after the round's warm-up, which writes too).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")  # synchronous: writes every dirty buffer now
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
            )
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.5)


# The ablation: each configuration is one gunicorn, its switches read at start-up.
CONFIGS = {
    "a": (
        "(a) gevent worker alone",
        {"LEADGATE_BEACON_EARLY_DISPATCH": "0", "LEADGATE_INGEST_GROUP_COMMIT": "0"},
    ),
    "b": (
        "(b) + early WSGI dispatch",
        {"LEADGATE_BEACON_EARLY_DISPATCH": "1", "LEADGATE_INGEST_GROUP_COMMIT": "0"},
    ),
    "c": (
        "(c) + group commit (production)",
        {"LEADGATE_BEACON_EARLY_DISPATCH": "1", "LEADGATE_INGEST_GROUP_COMMIT": "1"},
    ),
}
TRIVIAL = "trivial Django view"
WARMUP_ATTEMPTS = 5
GOAL_RATIO = 0.80
GOAL_EVENTS_PER_S = 55_000


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else float("nan")


def run(quick: bool) -> str:
    wrk = _ensure_wrk()
    fixture = _setup()
    seconds = float(os.environ.get("BENCH_INGEST_SECONDS", 3.0 if quick else 6.0))
    warmup = 1.0 if quick else 2.0
    # The machine is shared: scenarios are interleaved over several rounds and each is
    # reported by its median round, so a burst of someone else's load does not land on
    # one scenario only.
    rounds = int(os.environ.get("BENCH_INGEST_ROUNDS", 1 if quick else 5))
    # One worker per core. wrk keeps 64 keep-alive connections, spread over the workers
    # by the kernel (--reuse-port, see _gunicorn): 32 requests in flight per process.
    # (Under gthread, the threads option: 8 per worker, four connections per thread.)
    workers, threads = 2, int(os.environ.get("BENCH_INGEST_THREADS", "8"))
    connections = 64
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-ingest-{os.getpid()}"
    logs.mkdir(parents=True, exist_ok=True)
    scripts = {}
    for n in (1, 100):
        path = logs / f"events-{n}.lua"
        path.write_text(WRK_LUA % {**fixture, "n": n})
        scripts[n] = path
    ports = {server: free_port() for server in [*CONFIGS, "reference"]}
    # A last server, idle while the others are measured: the same app on the threaded
    # worker that production used before gevent (gthread, 8 threads per worker), for
    # its trivial view only. Under gevent the trivial view is a little slower
    # (gunicorn.conf.py's post_request yields after every answer, for fairness), so the
    # goal's ratio is also shown against this, the faster of the two baselines.
    reference = "" if WORKER_CLASS == "gthread" else REFERENCE_NAME
    scenarios: list[tuple[str, str, Path | None, int, str]] = [
        (TRIVIAL, f"http://127.0.0.1:{ports['c']}/bench/noop", None, 0, "c")
    ]
    for key, (label, _env) in CONFIGS.items():
        for n in (1, 100):
            name = f"{label}, {n}-event batches"
            scenarios.append((name, f"http://127.0.0.1:{ports[key]}", scripts[n], n, key))
    if reference:
        url = f"http://127.0.0.1:{ports['reference']}/bench/noop"
        scenarios.append((reference, url, None, 0, "reference"))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in scenarios}
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    with ExitStack() as servers:
        pgids = {
            key: servers.enter_context(
                _gunicorn(
                    ports[key],
                    logs / f"gunicorn-{key}.log",
                    workers,
                    threads,
                    own_session=OWN_SESSION,
                    settings_env=env,
                )
            )
            for key, (_label, env) in CONFIGS.items()
        }
        if reference:
            pgids["reference"] = servers.enter_context(
                _gunicorn(
                    ports["reference"],
                    logs / "gunicorn-reference.log",
                    workers,
                    REFERENCE_THREADS,
                    own_session=OWN_SESSION,
                    worker_class="gthread",
                )
            )
        # Each worker imports the URLconf, DRF and the views on its first request; get
        # that out of the way before anything is timed.
        for _, url, script, _n, _server in scenarios:
            # On a busy machine the first imports can outlast a short warm-up: it is
            # repeated (a few times at most) until requests were answered.
            for _attempt in range(WARMUP_ATTEMPTS):
                if _wrk(wrk, url, warmup, connections, script)["requests"] > 0:
                    break
        for round_no in range(rounds):
            for name, url, script, n, server in scenarios:
                if round_no == 0:
                    _wrk(wrk, url, 1.0, connections, script)
                _quiesce()
                before = _stored(fixture["gate"]) if n else 0
                app_pids, db_pids = _server_pids(pgids[server])
                app0, db0 = _cpu_ticks(app_pids), _cpu_ticks(db_pids)
                result = _wrk(wrk, url, seconds, connections, script)
                app_pids, db_pids = _server_pids(pgids[server])
                app1, db1 = _cpu_ticks(app_pids), _cpu_ticks(db_pids)
                result["events_per_s"] = result["rps"] * n
                done = max(result["requests"], 1)
                result["app_cpu_ms"] = _cpu_delta(app0, app1) * tick_ms / done
                result["db_cpu_ms"] = _cpu_delta(db0, db1) * tick_ms / done
                if n:
                    # Durable before the answer: every 202 is rows in PostgreSQL by now.
                    stored = _stored(fixture["gate"]) - before
                    result["stored"] = stored
                    result["durable_ok"] = stored >= (result["requests"] - result["non2xx"]) * n
                runs[name].append(result)
    results = {
        name: sorted(rs, key=lambda r: r["rps"])[len(rs) // 2] | {"all_rps": [r["rps"] for r in rs]}
        for name, rs in runs.items()
    }
    base_rps = results[TRIVIAL]["rps"]
    if not base_rps:
        raise RuntimeError(
            f"the trivial view answered no request in {seconds:g} s: the machine is too busy "
            "for a measure (see uptime)"
        )

    def paired(name: str, baseline: str = TRIVIAL) -> list[float]:
        """Per round, the scenario's requests/s over the baseline's, measured back to
        back under the same background load: the goal is a ratio, so it is taken per
        round and the median of those ratios is the headline."""
        return sorted(
            e["rps"] / t["rps"] for t, e in zip(runs[baseline], runs[name], strict=True) if t["rps"]
        )

    def pct(values: list[float]) -> str:
        return ", ".join(f"{x:.0%}" for x in values)

    production = CONFIGS["c"][0]
    one, hundred = f"{production}, 1-event batches", f"{production}, 100-event batches"
    ratio = _median(paired(one))
    lines = [
        "## Event ingest (`bench/ingest.py`)",
        "",
        "gunicorn with the production settings (`gunicorn.conf.py`"
        + (
            f", worker class overridden: {WORKER_CLASS}"
            + (f", {threads} threads" if WORKER_CLASS == "gthread" else "")
            if WORKER_CLASS
            else ": gevent"
        )
        + f"), {workers} workers per server (`bench/_ingest_wsgi.py`: the "
        "production app plus one trivial view), one server per configuration of the "
        "ablation, PostgreSQL and Redis on this machine; "
        f"`wrk -t1 -c{connections} -d{seconds:g}s` after a {warmup:g} s warm-up, "
        f"{rounds} interleaved round(s), median round shown; Lua "
        "scripts that make every event id and visitor id unique (anonymous visitors: every "
        "event is a new durable row, into tables emptied at the start of the run); before "
        "each measured run PostgreSQL is checkpointed and left to finish any autovacuum, so no "
        "scenario pays for the previous one's writes. wrk, "
        "gunicorn and PostgreSQL share the machine's cores; "
        + (
            "gunicorn in a session of its own (BENCH_INGEST_OWN_SESSION=1)"
            if OWN_SESSION
            else "gunicorn in the benchmark's (and so wrk's) session"
        )
        + ", a choice that moves the trivial view (see SCHEDULING in bench/ingest.py)"
        + (" (quick run)" if quick else "")
        + ".",
        "",
        "### Ablation: what the beacon's speed needs",
        "",
        "Each configuration adds one thing to the one before, switched by environment at "
        "start-up; every ratio is against the trivial view of the same round (median of the "
        "per-round ratios; per-round values in brackets).",
        "",
        "| configuration | switches | 1-event: req/s | 1-event: vs trivial view "
        "| step | 100-event: events/s | step |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    previous: tuple[float, float] | None = None
    for _key, (label, env) in CONFIGS.items():
        single, batch = results[f"{label}, 1-event batches"], results[f"{label}, 100-event batches"]
        share = _median(paired(f"{label}, 1-event batches"))
        switches = ", ".join(f"`{k.removeprefix('LEADGATE_')}={v}`" for k, v in env.items())
        steps = (
            ("", "")
            if previous is None
            else (
                f"{(share - previous[0]) * 100:+.0f} points",
                f"{batch['events_per_s'] - previous[1]:+,.0f}",
            )
        )
        lines.append(
            f"| {label} | {switches} | {single['rps']:,.0f} | **{share:.0%}** "
            f"({pct(paired(f'{label}, 1-event batches'))}) | {steps[0]} "
            f"| **{batch['events_per_s']:,.0f}** | {steps[1]} |"
        )
        previous = (share, batch["events_per_s"])
    lines += [
        "",
        "### Every scenario",
        "",
        "| scenario | requests/s | events/s | p50 ms | p99 ms | vs trivial view | non-2xx "
        "| CPU ms/request: gunicorn + PostgreSQL | rounds (req/s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['rps']:,.0f} | {r['events_per_s']:,.0f} | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {r['rps'] / base_rps:.0%} | {r['non2xx']} | "
            f"{r['app_cpu_ms']:.2f} + {r['db_cpu_ms']:.2f} | "
            + ", ".join(f"{x:,.0f}" for x in r["all_rps"])
            + " |"
        )
    durable = all(r.get("durable_ok", True) for rs in runs.values() for r in rs)
    ref_paired = paired(one, reference) if reference else []
    lines += [
        "",
        f"- Production, 1-event batches: **{ratio:.0%}** of the trivial view's requests/s "
        f"(goal >= {GOAL_RATIO:.0%}: {'met' if ratio >= GOAL_RATIO else '**not met**'}); "
        f"per round {pct(paired(one))}; the ratio of the two median rounds is "
        f"{results[one]['rps'] / base_rps:.0%}.",
        *(
            [
                "- Against the trivial view on the threaded worker (gthread, "
                f"{REFERENCE_THREADS} threads per worker: production's before gevent, served "
                "by another gunicorn in the same rounds): 1-event batches at **"
                f"{_median(ref_paired):.0%}** (per round: {pct(ref_paired)})."
            ]
            if ref_paired
            else []
        ),
        f"- Production, 100-event batches: **{results[hundred]['events_per_s']:,.0f} events/s** "
        f"(goal >= {GOAL_EVENTS_PER_S:,}: "
        + ("met" if results[hundred]["events_per_s"] >= GOAL_EVENTS_PER_S else "**not met**")
        + ").",
        "- Durable before the answer: "
        + (
            "every accepted event was in PostgreSQL when the run ended."
            if durable
            else "**MISMATCH between 202s and stored rows.**"
        ),
        "",
        "The trivial view takes Django's WSGI handler and its whole middleware chain, as "
        "every page of the product does. Every configuration runs the same events statement "
        "(`profiling/ingest_sql.py`: visitor upsert, events, score-pending mark), prepared "
        "once per connection (`profiling/ingest_writer/prepared.py`). (a) sends the beacon "
        "down the same path as the trivial view, to the events view. (b) adds the early "
        "dispatch: the production WSGI app (`config/wsgi.py`) hands the beacon's path to "
        "`profiling/beacon.py` before Django's handler, through Django's security and "
        "clickjacking middleware and the host check only (sessions, CSRF, auth, messages and "
        "static files do not apply to a cross-site beacon). (c) adds group commit: small "
        "batches arriving together in one process share a statement and a commit "
        "(`profiling/ingest_writer/group.py`) on the process's own writer connections, each "
        "answered only after that commit. Under the gevent worker each request is a "
        "greenlet, so a beacon waiting for its commit holds no OS thread and no GIL "
        "(`gunicorn.conf.py` says why, with the measurements against the threaded worker). "
        f"wrk keeps {connections} keep-alive connections. Each gunicorn worker listens on "
        "its own SO_REUSEPORT socket (`--reuse-port`), so the kernel spreads the connections "
        "evenly over the workers.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
