#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are up, starting them
# if needed, and that the `leadgate` database exists. Idempotent: safe to run any time.
#
# Under CI=true a service that is still missing after ~30 s is a failure (exit 1), never a
# skip. Outside CI the same applies: the test suite needs both.
set -euo pipefail

PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5432}"
PG_USER="${PG_USER:-root}"
# The app's database: the name in DATABASE_URL when it is a postgres:// URL, else leadgate.
PG_DB="leadgate"
case "${DATABASE_URL:-}" in
    postgres://* | postgresql://*)
        db_from_url="${DATABASE_URL##*/}"
        db_from_url="${db_from_url%%\?*}"
        if [ -n "$db_from_url" ] && [ "$db_from_url" != "$DATABASE_URL" ]; then
            PG_DB="$db_from_url"
        fi
        ;;
esac
PG_DB="${LEADGATE_DB_NAME:-$PG_DB}"
REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-6379}"
WAIT_S="${SERVICES_WAIT_S:-30}"

say() { printf 'services: %s\n' "$*" >&2; }

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1; }
redis_up() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

wait_until() { # wait_until <check-fn> <seconds>
    local check="$1" limit="$2" i=0
    while ! "$check"; do
        i=$((i + 1))
        if [ "$i" -gt "$((limit * 2))" ]; then
            return 1
        fi
        sleep 0.5
    done
}

start_postgres() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        say "pg_ctlcluster not found: PostgreSQL is not installed on this machine"
        return 1
    fi
    local version
    for version in $(ls /etc/postgresql 2>/dev/null); do
        say "starting PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    done
}

start_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        say "redis-server not found: Redis is not installed on this machine"
        return 1
    fi
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2 || true
}

failed=0

if ! command -v pg_isready >/dev/null 2>&1; then
    say "FAIL: pg_isready not found (the PostgreSQL client tools are missing)"
    failed=1
elif pg_up; then
    say "PostgreSQL is up on $PG_HOST:$PG_PORT"
else
    start_postgres || true
    if wait_until pg_up "$WAIT_S"; then
        say "PostgreSQL is up on $PG_HOST:$PG_PORT"
    else
        say "FAIL: PostgreSQL is not answering on $PG_HOST:$PG_PORT after ${WAIT_S}s"
        failed=1
    fi
fi

if ! command -v redis-cli >/dev/null 2>&1; then
    say "FAIL: redis-cli not found (Redis is not installed)"
    failed=1
elif redis_up; then
    say "Redis is up on $REDIS_HOST:$REDIS_PORT"
else
    start_redis || true
    if wait_until redis_up "$WAIT_S"; then
        say "Redis is up on $REDIS_HOST:$REDIS_PORT"
    else
        say "FAIL: Redis is not answering on $REDIS_HOST:$REDIS_PORT after ${WAIT_S}s"
        failed=1
    fi
fi

# The database the app (and makemigrations' consistency check) connects to. The test
# databases (test_leadgate_gw0, ...) are made by pytest-django itself.
if [ "$failed" -eq 0 ]; then
    exists="$(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" 2>/dev/null || true)"
    if [ "$exists" != "1" ]; then
        say "creating database $PG_DB"
        if ! createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$PG_DB" >&2; then
            say "FAIL: could not create database $PG_DB as $PG_USER"
            failed=1
        fi
    fi
fi

if [ "$failed" -ne 0 ]; then
    if [ "${CI:-}" = "true" ]; then
        say "CI=true: the services the tests need are missing; failing (not skipping)."
    else
        say "the services the tests need are missing."
    fi
    exit 1
fi
