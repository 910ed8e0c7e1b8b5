#!/usr/bin/env bash
# THE benchmark command: ./scripts/bench.sh [NAME ...] [--quick]
# Installs what is needed, makes sure PostgreSQL and Redis run, then runs bench/run.py,
# which prints ratios against baselines measured in the same run and rewrites each
# benchmark's section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="$(pwd)/.venv"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
ensure_venv "$(pwd)"
export PATH="$VENV/bin:$PATH"
export DATABASE_URL="${DATABASE_URL:-postgres://root@127.0.0.1:5432/leadgate_bench}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/3}"
export LEADGATE_WEBHOOK_ALLOW_PRIVATE=1
# The benchmarks measure ingest, not the event rate limits: off (0) unless given.
export LEADGATE_EVENT_LIMIT_PER_VISITOR="${LEADGATE_EVENT_LIMIT_PER_VISITOR:-0}"
export LEADGATE_EVENT_LIMIT_PER_IP="${LEADGATE_EVENT_LIMIT_PER_IP:-0}"
export DJANGO_SETTINGS_MODULE=config.settings
# leadgate refuses to start without a secret key: a random one per run, inherited by the
# servers and workers the benchmarks start.
DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export DJANGO_SECRET_KEY
./scripts/services.sh
# The benchmarks that use DATABASE_URL's own database migrate it, but do not create it.
"$VENV/bin/python" scripts/ensure_database.py
# Pages render as in production, with the static files' hashed names from the manifest
# (bench/pdf.py renders a reader page): a fresh checkout has none yet. The first run
# compresses everything (about a minute); later runs only what changed.
"$VENV/bin/python" manage.py collectstatic --noinput -v0
exec "$VENV/bin/python" -m bench.run "$@"
