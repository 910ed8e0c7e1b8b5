"""The soak's processes: the CRM receiver, supervised services, the private Redis, RSS
sampling (bench/soak/__init__.py says what the soak does)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from bench.common import http_receiver_start, http_receiver_stop

ROOT = Path(__file__).resolve().parent.parent.parent
MEMORY_BOUND_MB = 32.0
MEMORY_BOUND_SHARE = 0.20
SAMPLE_EVERY_S = 5.0


class Receiver:
    """The CRM: counts webhooks by webhook-id, those answered 2xx apart; fails on demand."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ok: Counter[str] = Counter()
        self.failed = 0
        self.failing = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                key = str(self.headers.get("webhook-id") or "?")
                with receiver.lock:
                    failing = receiver.failing
                    if failing:
                        receiver.failed += 1
                    else:
                        receiver.ok[key] += 1
                status = b"500 Internal Server Error" if failing else b"200 OK"
                self.wfile.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 2\r\n\r\n{}")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server, self.url = http_receiver_start(Handler)

    def stop(self) -> None:
        http_receiver_stop(self.server)


class Service:
    """One supervised process: started in a process group of its own, restarted when it
    exits (systemd's Restart=always), killed with its whole group."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.cmd, self.env, self.logs = name, cmd, env, logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.stopping = False

    def start(self) -> None:
        self.starts += 1
        with (self.logs / f"{self.name}.log").open("ab") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        self.stopping = True
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0


def own_database_url(suffix: str) -> str:
    """DATABASE_URL with the database `<name>_<suffix>`, created if missing."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    target = name if name.endswith(f"_{suffix}") else f"{name}_{suffix}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target]).fetchone():
            admin.execute(f'CREATE DATABASE "{target}"')
    return urlunsplit(parts._replace(path=f"/{target}"))


def wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/public/events", timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def child_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def started_at(pid: int) -> int:
    """When the process started (clock ticks since boot: field 22 of /proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[19])


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Memory:
    """RSS samples per process: pid -> (role, [(seconds into the soak, MB)])."""

    samples: dict[int, tuple[str, list[tuple[float, float]]]] = field(default_factory=dict)

    def sample(self, at: float, services: dict[str, Service]) -> None:
        for name, service in services.items():
            if not service.alive():
                continue
            parent = service.pid
            kind = name.split("-")[0]
            for pid, role in [(parent, f"{kind} main")] + [
                (c, f"{kind} child") for c in child_pids(parent)
            ]:
                rss = rss_mb(pid)
                if rss is not None:
                    self.samples.setdefault(pid, (role, []))[1].append((at, rss))

    def verdicts(self, warm_s: float) -> list[dict[str, Any]]:
        """For each process sampled from before warm-up ends to the end: warm and last RSS."""
        out = []
        for pid, (role, points) in sorted(self.samples.items()):
            warm = next((mb for t, mb in points if t >= warm_s), None)
            if warm is None or points[0][0] > warm_s or points[-1][0] - warm_s < warm_s / 2:
                continue  # not alive across the soak (killed, or started late)
            last = points[-1][1]
            bound = max(MEMORY_BOUND_MB, MEMORY_BOUND_SHARE * warm)
            out.append(
                {
                    "pid": pid,
                    "role": role,
                    "first": points[0][1],
                    "warm": warm,
                    "last": last,
                    "peak": max(mb for _, mb in points),
                    "bound": bound,
                    "ok": last - warm <= bound,
                }
            )
        return out
