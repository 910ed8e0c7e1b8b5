"""Create DATABASE_URL's PostgreSQL database if it does not exist yet (demo.sh runs this
before migrating). Exits 1 with a plain sentence when the server cannot be reached or
the role may not create databases, or DATABASE_URL is not a PostgreSQL URL; does nothing
when the database exists.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.env import ImproperlyConfiguredEnv, parse_database_url


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return 0
    try:
        db = parse_database_url(url)
    except ImproperlyConfiguredEnv as exc:
        print(exc, file=sys.stderr)
        return 1
    import psycopg
    from psycopg import sql

    name = str(db["NAME"])
    where = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    conninfo = psycopg.conninfo.make_conninfo(
        dbname="postgres",
        user=str(db["USER"]) or None,
        password=str(db["PASSWORD"]) or None,
        host=str(db["HOST"]) or None,
        port=str(db["PORT"]) or None,
    )
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                return 0
            print(f"Creating the PostgreSQL database {name!r} on {where}")
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        print(f"cannot reach PostgreSQL at {where} (from DATABASE_URL): {first}", file=sys.stderr)
        return 1
    except psycopg.Error as exc:
        print(
            f"database {name!r} does not exist on {where} and could not be created: "
            f"{str(exc).strip()} (create it, e.g. `createdb {name}`, or use a role that may)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
