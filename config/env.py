"""Small typed readers for environment variables that fail loudly.

A misspelt boolean or a non-numeric port must stop the process at start-up with a
message naming the variable, never silently fall back to a default.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


class ImproperlyConfiguredEnv(ImproperlyConfigured):
    pass


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfiguredEnv(f"environment variable {name} is required")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_database_url(url: str) -> dict[str, object]:
    """Turn `postgres://user:pass@host:port/name?opt=v` into DATABASES['default'].

    PostgreSQL is the only database. A Unix socket's directory goes in `?host=` as libpq
    has it (`postgres://user@/name?host=/run/postgresql`): the embedded demo server's way.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in {"postgres", "postgresql", "pgsql"}:
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        socket_dir = options.pop("host", "")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or socket_dir,
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            # Persistent connections: the public endpoints are hot paths and a new
            # PostgreSQL connection per request costs more than the INSERT itself.
            "CONN_MAX_AGE": 60,
            # Off by default: a health check is an extra round-trip on every request of
            # the ingest hot path. Django still drops a connection that failed, so after a
            # database restart one request per process errors; turn on to avoid even that.
            "CONN_HEALTH_CHECKS": os.environ.get("LEADGATE_DB_HEALTH_CHECKS", "0") == "1",
        }
    raise ImproperlyConfiguredEnv(
        f"DATABASE_URL scheme {scheme!r} is not supported: leadgate runs on PostgreSQL only "
        "(postgres://user:pass@host:5432/db); leave DATABASE_URL unset and ./scripts/demo.sh "
        "runs an embedded PostgreSQL of its own"
    )


# The demo's embedded PostgreSQL (scripts/demo_postgres.py): its database, and its data
# folder, which also holds its Unix socket.
EMBEDDED_DATABASE_NAME = "leadgate"


def embedded_pgdata(base_dir: Path) -> Path:
    default = base_dir / ".leadgate" / "pgdata"
    return Path(env_str("LEADGATE_DEMO_PGDATA", default=str(default))).resolve()


def socket_database_url(*, socket_dir: str, name: str, user: str = "postgres") -> str:
    """The DATABASE_URL of a PostgreSQL server listening on a Unix socket in `socket_dir`."""
    return f"postgres://{quote(user)}@/{quote(name)}?host={quote(socket_dir, safe='/')}"


def green_worker() -> bool:
    """Is this process gevent's (gunicorn's gevent worker patches the standard library
    before it loads the app)? Only asks if gevent.monkey was imported: never imports it."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("socket"))
