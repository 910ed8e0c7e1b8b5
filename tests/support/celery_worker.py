"""A real `celery -A config worker` subprocess for tests.

The worker is the production entry point run as its own process, connected to the test
database (by name) and to this test process's Redis DB and queue, so the tests exercise
exactly what `celery -A config worker` does in production: serialisation through the
broker, a separate database connection that sees only committed data, and real HTTP to
the CRM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from tests.support.waiting import WaitTimeout, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]


def database_url_for(settings_dict: dict[str, object]) -> str:
    """A postgres:// URL for a Django DATABASES entry (e.g. the test database)."""
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    host = str(settings_dict.get("HOST") or "127.0.0.1")
    port = str(settings_dict.get("PORT") or "5432")
    name = quote(str(settings_dict["NAME"]), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{host}:{port}/{name}"


def queue_names(base: str) -> dict[str, str]:
    """The three Celery queues (config/celery.py routes tasks to them) of a test setup
    named `base`: `base` itself is the background queue, the default one."""
    return {
        "LEADGATE_CELERY_QUEUE": base,
        "LEADGATE_CELERY_DELIVERY_QUEUE": f"{base}.deliveries",
        "LEADGATE_CELERY_SCORING_QUEUE": f"{base}.scoring",
    }


def purge_redis_queue(redis_url: str, queue: str) -> int:
    """Drop every message waiting on `queue`'s three queues (queue_names) and unacked
    leftovers of killed workers.

    Uses the redis client directly: kombu stores a Redis-transport queue as a list under
    its name, with priority variants named `<queue>\\x06\\x16<n>`.
    """
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = []
        for name in queue_names(queue).values():
            keys += [name.encode(), *client.keys(name.encode() + b"\x06\x16*")]
        keys += [b"unacked", b"unacked_index", b"unacked_mutex"]
        removed = 0
        for key in keys:
            removed += int(client.delete(key))
        return removed
    finally:
        client.close()


class CeleryWorkerProcess:
    """One worker subprocess. `start()` blocks until the worker logs that it is ready."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str,
        queue: str,
        log_path: Path,
        name: str,
        extra_env: dict[str, str] | None = None,
        consume: list[str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.queue = queue
        # The queues it reads (-Q): all three of `queue`'s by default; [] starts it
        # without -Q, as `celery -A config worker` in production.
        self.consume = list(queue_names(queue).values()) if consume is None else consume
        self.log_path = log_path
        self.name = name
        self.extra_env = dict(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Never inherit a pytest-xdist/pytest-django context into the worker.
        for key in list(env):
            if key.startswith(("PYTEST_", "COV_CORE_")):
                env.pop(key)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                **queue_names(self.queue),
                "LEADGATE_WEBHOOK_ALLOW_PRIVATE": "1",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
                ),
            }
        )
        env.update(self.extra_env)
        return env

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            *(["-Q", ",".join(self.consume)] if self.consume else []),
            "-n",
            f"{self.name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]

    def start(self, timeout: float = 60.0) -> CeleryWorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group: teardown signals the worker and nothing else.
                start_new_session=True,
            )
        try:
            wait_for(
                self._ready_or_dead,
                timeout,
                interval=0.2,
                message=lambda: "celery worker did not become ready; log:\n" + self.log_tail(),
            )
        except WaitTimeout:
            self.stop()
            raise
        if self.process.poll() is not None:
            log_text = self.log_tail()
            self.process = None
            raise RuntimeError(f"celery worker exited at start-up; log:\n{log_text}")
        return self

    def _ready_or_dead(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            return True  # start() reports the exit with the log
        return " ready." in self.log_text()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)  # warm shutdown: finish the current task
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            process.wait(timeout=5)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_text()[-chars:]

    def wait_for_log(self, text: str, timeout: float = 10.0, *, after: int = 0) -> str:
        """Wait until `text` appears in the log after character offset `after`."""

        def found() -> str:
            log = self.log_text()
            return log if text in log[after:] else ""

        return wait_for(
            found,
            timeout,
            interval=0.1,
            message=lambda: f"{text!r} not in the celery worker log:\n{self.log_tail()}",
        )

    def __enter__(self) -> CeleryWorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive else "stopped"
        return f"<CeleryWorkerProcess {self.name} queue={self.queue} {state} log={self.log_path}>"


def wait_briefly(seconds: float) -> None:
    """A deliberate pause, only for "nothing else arrives" checks."""
    time.sleep(seconds)
