"""A throwaway PostgreSQL server for a benchmark that needs other server settings than the
machine's (bench/run.py skips this module): the same major version as the server
DATABASE_URL points at, from the same Debian binaries scripts/services.sh starts, in a
temporary folder, on a free port of 127.0.0.1, stopped and deleted afterwards.

Plumbing, not a benchmark: bench/scoring.py measures the rescore's growth on it with a
buffer pool that holds the data, next to the machine's own server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port

START_TIMEOUT_S = 60


class PrivatePostgresUnavailable(RuntimeError):
    """The machine has no PostgreSQL binaries of the server's version to run another."""


def _bindir(major: int) -> Path:
    bindir = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (bindir / "initdb").exists():
        raise PrivatePostgresUnavailable(f"no PostgreSQL {major} binaries in {bindir}")
    return bindir


def _run(args: list[str], *, user: str | None) -> None:
    subprocess.run(args, check=True, user=user, stdout=subprocess.DEVNULL, timeout=120)


@contextmanager
def private_postgres(*, major: int, settings: dict[str, str]) -> Iterator[dict[str, str]]:
    """Run a PostgreSQL `major` server with `settings` (postgresql.conf names and values)
    while the block runs; yields Django database settings for it (HOST, PORT, USER).
    PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user
    the Debian package created."""
    bindir = _bindir(major)
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise PrivatePostgresUnavailable("no `postgres` user to run the server as") from exc
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="leadgate-bench-pg-"))
    data = root / "data"
    if user:
        shutil.chown(root, user=user)
    port = free_port()
    try:
        _run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "root"], user=user)
        conf = {
            "port": str(port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{root}'",
            **settings,
        }
        with (data / "postgresql.conf").open("a") as f:
            f.write("\n# bench/_private_postgres.py\n")
            f.writelines(f"{name} = {value}\n" for name, value in conf.items())
        _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "log"),
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "start",
            ],
            user=user,
        )
        try:
            yield {"HOST": "127.0.0.1", "PORT": str(port), "USER": "root", "PASSWORD": ""}
        finally:
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], user=user)
    finally:
        shutil.rmtree(root, ignore_errors=True)
