"""A production web process for tests: `gunicorn config.wsgi:application` from the project
root (so it reads gunicorn.conf.py: gevent workers), on the test database and Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    url: str
    log: Path
    # The master's pid, which is also its process group's id (start_new_session).
    pid: int = 0

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def gunicorn_server(
    *, database_url: str, redis_url: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start gunicorn on a free port, wait until it listens, stop it gracefully after."""
    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        # The tests send from one address: the event rate limits are not under test.
        "LEADGATE_EVENT_LIMIT_PER_VISITOR": "0",
        "LEADGATE_EVENT_LIMIT_PER_IP": "0",
        **(env or {}),
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    cmd = [gunicorn, "config.wsgi:application", "-b", f"127.0.0.1:{port}", "--log-level", "info"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def listening() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log.read_text()}", pytrace=False)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    try:
        wait_for(listening, 30, message=lambda: log.read_text())
        yield Server(url=f"http://127.0.0.1:{port}", log=log, pid=proc.pid)
    finally:
        # A graceful stop: its connections close (a test may have killed it already).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
