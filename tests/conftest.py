"""Test infrastructure: real PostgreSQL, real Redis, a real Celery worker, a real HTTP CRM.

Nothing is mocked except the CRM, and even the CRM is a real HTTP server on 127.0.0.1.

How the services are wired (per pytest-xdist worker, so `pytest -n 2` never mixes runs):
- PostgreSQL: DATABASE_URL names the base database; pytest-django creates
  `test_<name>_gw0`, `test_<name>_gw1`, ... and the Celery worker subprocess is pointed at
  that test database by name.
- Redis: REDIS_URL names the base DB index (default 15); xdist worker N uses index
  (base - N) mod 16, for both the Django cache and the Celery broker.
- Celery: each xdist worker has its own queues (`leadgate-test-<worker>` for background
  work, with `.deliveries` and `.scoring` after it for the other two: config/celery.py).

pytest-django imports the settings before any conftest is imported, so environment
variables set here are too late for `config.settings`; this module therefore overrides
the already-loaded Django settings and the Celery app's configuration directly (and also
exports the variables, for subprocesses).

Defaults for every test: Celery runs tasks eagerly (in-process, on commit). Use
`django_capture_on_commit_callbacks(execute=True)` in plain `django_db` tests to run the
on-commit enqueues. Tests that use `celery_worker_process` get a real worker instead and
must be `@pytest.mark.django_db(transaction=True)` (or use `live_server`) so that their
data is committed and visible to the worker.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.conf import settings
from kombu import Exchange, Queue

from config.celery import app as celery_app
from profiling.ingest_writer.connections import writer_connections
from tests.support.celery_worker import (
    CeleryWorkerProcess,
    database_url_for,
    purge_redis_queue,
    queue_names,
)
from tests.support.ci import IN_CI
from tests.support.crm import CrmReceiver
from tests.support.live_server import install as live_server_install
from tests.support.waiting import wait_for

XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
XDIST_INDEX = int(XDIST_WORKER[2:]) if XDIST_WORKER.startswith("gw") else 0
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
CELERY_QUEUE = f"leadgate-test-{XDIST_WORKER}"

# The live server's request threads close their database connections when it stops
# (else dropping the test database at the end of the run can fail: see the module).
live_server_install()


def _redis_url_for_worker(base: str) -> str:
    parts = urlsplit(base)
    try:
        base_db = int(parts.path.strip("/") or "0")
    except ValueError:
        base_db = 15
    db = (base_db - XDIST_INDEX) % 16
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _redis_ping(url: str) -> str | None:
    """None if Redis answers at `url`, else why not."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


BASE_REDIS_URL = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
REDIS_URL = _redis_url_for_worker(BASE_REDIS_URL)
REDIS_PROBLEM = _redis_ping(REDIS_URL)
CACHE_KEY_PREFIX = "leadgate-test"


def _configure_services() -> None:
    """Point the loaded settings and the Celery app at this xdist worker's Redis/queue."""
    os.environ["LEADGATE_WEBHOOK_ALLOW_PRIVATE"] = "1"
    queues = queue_names(CELERY_QUEUE)
    os.environ.update(queues)
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = True
    settings.CELERY_TASK_DEFAULT_QUEUE = CELERY_QUEUE
    settings.LEADGATE_CELERY_DELIVERY_QUEUE = queues["LEADGATE_CELERY_DELIVERY_QUEUE"]
    settings.LEADGATE_CELERY_SCORING_QUEUE = queues["LEADGATE_CELERY_SCORING_QUEUE"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    if REDIS_PROBLEM is None:
        os.environ["REDIS_URL"] = REDIS_URL
        settings.REDIS_URL = REDIS_URL
        settings.EMBEDDED_TASKS = False
        settings.CELERY_BROKER_URL = REDIS_URL
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_URL,
                "KEY_PREFIX": CACHE_KEY_PREFIX,
            }
        }
        broker = REDIS_URL
    else:
        # Outside CI only (CI exits in pytest_configure): run without Redis, in-process.
        settings.EMBEDDED_TASKS = True
        settings.CELERY_BROKER_URL = "memory://"
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        broker = "memory://"
    # The cache handler reads settings.CACHES once; forget anything read before us.
    from django.core.cache import caches

    caches.__dict__.pop("settings", None)
    celery_app.conf.update(
        broker_url=broker,
        task_default_queue=CELERY_QUEUE,
        task_queues=[Queue(name, Exchange(name), routing_key=name) for name in queues.values()],
        task_always_eager=True,
        task_eager_propagates=True,
    )


_configure_services()


# A folder that does not exist: the test process and the servers it starts serve static
# files from the finders (or, in the production-server tests, from their own collectstatic).
NO_STATIC_ROOT = Path(tempfile.gettempdir()) / "leadgate-tests-no-static-root"


def _configure_static_files() -> None:
    """Static files in the test process: straight from static/ and the apps (finders),
    under their own names, as in development.

    Production's storage (config/static_storage.py) links content-hashed names from
    collectstatic's manifest, and a page that links a file missing from it fails. Reading
    a manifest here would make the tests depend on when collectstatic last ran in this
    checkout (a stale one would link old files), so tests that render pages use the plain
    storage. Production's own serving (collectstatic, hashed names, brotli and gzip, cache
    headers) is tested through the real gunicorn after a real collectstatic, in
    tests/test_production_server.py.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    # Not the checkout's staticfiles/: WhiteNoise walks STATIC_ROOT when a client first
    # loads the middleware, and the demo script's test (or a developer's demo) may be
    # running collectstatic there at that moment, replacing files under the walk.
    settings.STATIC_ROOT = NO_STATIC_ROOT
    os.environ["LEADGATE_STATIC_ROOT"] = str(NO_STATIC_ROOT)


_configure_static_files()


def _configure_media() -> None:
    """Uploads (gate files, rendered PDF pages) go to a folder of this test process, never
    the checkout's media/; the Celery workers it starts inherit it through the environment,
    so they read and write the same files. Tests may still point MEDIA_ROOT elsewhere."""
    media = Path(tempfile.mkdtemp(prefix="leadgate-test-media-"))
    atexit.register(shutil.rmtree, media, ignore_errors=True)
    settings.MEDIA_ROOT = media
    os.environ["LEADGATE_MEDIA_ROOT"] = str(media)


_configure_media()


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise notes that STATIC_ROOT (collectstatic's output) is absent; the app serves
    # static files from the finders (WHITENOISE_USE_FINDERS), so that is expected here.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")
    if not IN_CI:
        return
    if REDIS_PROBLEM is not None:
        pytest.exit(
            f"CI=true but Redis is unreachable at {REDIS_URL}: {REDIS_PROBLEM}. "
            "Start it (./scripts/services.sh) instead of skipping the end-to-end tests.",
            returncode=3,
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    db = settings.DATABASES["default"]
    redis_state = "ok" if REDIS_PROBLEM is None else f"UNREACHABLE ({REDIS_PROBLEM})"
    return [
        f"leadgate: database {str(db['ENGINE']).rsplit('.', 1)[-1]} {db.get('NAME')} "
        f"(CI={'yes' if IN_CI else 'no'})",
        f"leadgate: redis {REDIS_URL} {redis_state}; celery queue {CELERY_QUEUE}",
    ]


def _service_problem() -> str | None:
    """Why a real Celery worker cannot run here, or None when it can."""
    if REDIS_PROBLEM is not None:
        return f"needs Redis at {REDIS_URL}: {REDIS_PROBLEM}"
    return None


def require_services() -> None:
    """Skip (locally) or fail (CI) when PostgreSQL/Redis are missing."""
    problem = _service_problem()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true and this test {problem}", pytrace=False)
    pytest.skip(f"this test {problem}; run ./scripts/services.sh and ./scripts/test.sh")


# --- defaults applied to every test ------------------------------------------------------
@pytest.fixture(autouse=True)
def _celery_eager_by_default() -> Iterator[None]:
    """Tasks run in-process (on commit) unless the test asks for a real worker."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters and cached values never leak from one test into the next.

    Deletes only this suite's cache keys: a FLUSHDB would also drop the Celery queue and
    kombu's bindings from under a running worker.
    """
    _clear_cache()


@pytest.fixture(autouse=True)
def _form_tokens(request: pytest.FixtureRequest, settings: Any) -> None:
    """Spam protection (forms_app/spam.py) for tests: no minimum fill time (a test fills a
    form in microseconds; tests of the fill time set it themselves), and the product's
    default of accepting a *missing* form token (the contract's body has none), except in
    tests marked `form_token`, which run in strict mode and send real tokens (the
    end-to-end, browser and form tests). Forged and too-fast tokens are always dropped.
    """
    settings.LEADGATE_FORM_MIN_FILL_MS = 0
    settings.LEADGATE_FORM_TOKEN_REQUIRED = (
        request.node.get_closest_marker("form_token") is not None
    )


def _clear_cache() -> None:
    if REDIS_PROBLEM is None:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=f"{CACHE_KEY_PREFIX}:*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
    else:
        from django.core.cache import cache

        cache.clear()


# --- the real Celery worker -------------------------------------------------------------
_STARTED_WORKERS: list[CeleryWorkerProcess] = []


@atexit.register
def _stop_leftover_workers() -> None:
    for worker in _STARTED_WORKERS:
        worker.stop(timeout=5)


@pytest.fixture(scope="session")
def _celery_worker_session(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CeleryWorkerProcess]:
    """One `celery -A config worker` subprocess per xdist worker, on the test database."""
    require_services()
    from django.db import connection

    with django_db_blocker.unblock():
        test_db = database_url_for(connection.settings_dict)
    purge_redis_queue(REDIS_URL, CELERY_QUEUE)
    log_dir = Path(tmp_path_factory.mktemp("celery"))
    worker = CeleryWorkerProcess(
        database_url=test_db,
        redis_url=REDIS_URL,
        queue=CELERY_QUEUE,
        log_path=log_dir / f"worker-{XDIST_WORKER}.log",
        name=f"lgtest-{XDIST_WORKER}-{os.getpid()}",
    )
    _STARTED_WORKERS.append(worker)
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        _STARTED_WORKERS.remove(worker)
        purge_redis_queue(REDIS_URL, CELERY_QUEUE)


@pytest.fixture
def celery_worker_process(
    _celery_worker_session: CeleryWorkerProcess,
) -> Iterator[CeleryWorkerProcess]:
    """A real Celery worker consumes this test's tasks (nothing runs eagerly).

    Use with `@pytest.mark.django_db(transaction=True)` or `live_server`: the worker is
    another process with its own database connection and sees committed data only.
    """
    worker = _celery_worker_session
    if not worker.alive:
        pytest.fail(f"the celery worker died; log:\n{worker.log_tail()}", pytrace=False)
    assert celery_app.amqp.default_queue.name == CELERY_QUEUE, (
        f"the test process would publish to {celery_app.amqp.default_queue.name!r}, "
        f"but the worker consumes {CELERY_QUEUE!r}"
    )
    celery_app.conf.task_always_eager = False
    try:
        yield worker
    finally:
        celery_app.conf.task_always_eager = True
        if not worker.alive:
            pytest.fail(f"the celery worker died during the test; log:\n{worker.log_tail()}")


# --- the CRM ----------------------------------------------------------------------------
@pytest.fixture
def crm_receiver() -> Iterator[CrmReceiver]:
    """A real HTTP server on 127.0.0.1 recording every request; answers 200 by default.

    `crm_receiver.script(500, 200)` answers the next two requests 500 then 200.
    """
    with CrmReceiver() as receiver:
        yield receiver


# --- the test database -------------------------------------------------------------------
@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Iterator[None]:
    """pytest-django's test database, and before it is dropped at the end of the run, the
    group-commit writers' own connections closed (profiling/ingest_writer/connections.py:
    they are no thread's Django connection, so nothing else would close them, and the
    drop fails while a session is connected)."""
    yield
    writer_connections.close_all()


# --- HTTP against the app ---------------------------------------------------------------
@pytest.fixture(scope="session")
def live_server(django_db_setup: None, live_server: Any) -> Any:
    """pytest-django's live server, started after the test database exists.

    pytest-django's own fixture does not depend on the database, and a test that asks for
    it is set up before its database fixtures: the server then outlived the test
    database, whose drop at the end of the run failed while the server's request threads
    were still connected. Depending on django_db_setup orders the teardown: the server
    stops (and its threads disconnect, see tests/support/live_server.py) first.
    """
    return live_server


@pytest.fixture
def live_http(live_server: Any) -> Iterator[httpx.Client]:
    """An httpx client whose base URL is pytest-django's live server (real HTTP)."""
    with httpx.Client(base_url=live_server.url, timeout=15.0, follow_redirects=False) as client:
        yield client


@pytest.fixture
def marketer(db: None) -> Any:
    """A staff user with an API token: `marketer.auth_header` for `Authorization`."""
    from tests.support.factories import make_marketer

    return make_marketer()


@pytest.fixture
def wait() -> Any:
    """`wait(predicate, timeout)` polls until the predicate is truthy (else fails)."""
    return wait_for


@pytest.fixture
def api() -> Any:
    """A test client whose 500s come back as responses (JSON via handler500), so tests
    can assert that hostile input never produces one."""
    from django.test import Client

    return Client(raise_request_exception=False)


@pytest.fixture
def auth(db: Any) -> dict[str, str]:
    """`Authorization` header of a fresh marketer (marketer group, API token)."""
    from tests.support.api import token_header

    return token_header()
