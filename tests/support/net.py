"""Loopback ports for the servers the tests and benchmarks start (or leave down on purpose),
and the command of a private Redis."""

from __future__ import annotations

import socket
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def private_redis_command(redis_server: str, port: int, folder: Path) -> list[str]:
    """A throwaway redis-server on 127.0.0.1:`port`, without persistence (a restart
    starts it empty, as a lost Redis would), its working files in `folder`."""
    return [
        redis_server,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
        "--loglevel",
        "warning",
    ]
