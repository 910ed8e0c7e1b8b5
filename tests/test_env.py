"""DATABASE_URL parsing (config/env.py): PostgreSQL only, by TCP or by Unix socket."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import parse_database_url, socket_database_url


def test_a_tcp_url_gives_host_port_and_credentials() -> None:
    db = parse_database_url("postgres://ada:s%40cret@db.example:6432/leads?sslmode=require")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("leads", "ada", "s@cret")
    assert (db["HOST"], db["PORT"]) == ("db.example", "6432")
    assert db["OPTIONS"] == {"sslmode": "require"}


def test_a_socket_url_puts_the_socket_folder_in_host() -> None:
    url = socket_database_url(socket_dir="/home/Ada/my project/.leadgate/pgdata", name="leadgate")
    assert url == "postgres://postgres@/leadgate?host=/home/Ada/my%20project/.leadgate/pgdata"
    db = parse_database_url(url)
    # The folder keeps its case and spaces, and is not passed twice (OPTIONS go to libpq).
    assert db["HOST"] == "/home/Ada/my project/.leadgate/pgdata"
    assert (db["NAME"], db["USER"], db["PORT"]) == ("leadgate", "postgres", "")
    assert db["OPTIONS"] == {}


@pytest.mark.parametrize(
    "url", ["sqlite:///leadgate.sqlite3", "sqlite:////tmp/x.db", "mysql://u@h/db", "leadgate"]
)
def test_anything_but_postgresql_is_refused_with_the_way_out(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="PostgreSQL only") as refused:
        parse_database_url(url)
    assert "./scripts/demo.sh" in str(refused.value)
