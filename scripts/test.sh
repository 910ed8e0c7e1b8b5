#!/usr/bin/env bash
# THE test command: ./scripts/test.sh [extra pytest args]
#
# On a fresh machine it makes .venv, installs the project with its dev tools, makes sure
# PostgreSQL and Redis are running, then runs: ruff check, ruff format --check, mypy,
# makemigrations --check and the test suite on both cores (pytest -n 2). Every step runs
# even if an earlier one failed, and the script exits non-zero if any of them failed.
# pytest's "no tests ran" (exit 5) counts as a failure.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# --- 1. virtualenv and dependencies -----------------------------------------------------
if [ ! -x "$PY" ]; then
    step "creating $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (is python3 >= 3.11 with venv installed?)"
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$VENV uses Python $("$PY" -V 2>&1); leadgate needs 3.11 or newer"

# Reinstall only when pyproject.toml changed (or on a fresh venv): a no-op install still
# costs a resolver round-trip to the package index.
stamp="$VENV/.leadgate-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    step "pip install -e '.[dev]'"
    "$PY" -m pip install --disable-pip-version-check --no-input -q -e '.[dev]' \
        || die "pip install -e '.[dev]' failed"
    echo "$want" >"$stamp"
fi
export PATH="$VENV/bin:$PATH"

# --- 2. services --------------------------------------------------------------------------
export DATABASE_URL="${DATABASE_URL:-postgres://root@127.0.0.1:5432/leadgate}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}"
export LEADGATE_WEBHOOK_ALLOW_PRIVATE=1
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings}"

step "services (PostgreSQL, Redis)"
./scripts/services.sh || die "PostgreSQL/Redis are not available (see above)"

# --- 3. checks ----------------------------------------------------------------------------
failures=()
run() { # run <label> <command...>
    local label="$1"
    shift
    step "$label"
    local start=$SECONDS
    "$@"
    local rc=$?
    printf -- '--- %s: exit %s in %ss\n' "$label" "$rc" "$((SECONDS - start))"
    if [ "$rc" -ne 0 ]; then
        failures+=("$label (exit $rc)")
    fi
    return "$rc"
}

run "ruff check" ruff check .
run "ruff format --check" ruff format --check .
run "mypy" mypy .
run "makemigrations --check" "$PY" manage.py makemigrations --check --dry-run

# --- 4. tests -----------------------------------------------------------------------------
# pytest runs last and, when everything passed, its summary line is the last line printed.
step "pytest -n 2 $*"
"$PY" -m pytest -n 2 "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    failures+=("pytest collected no tests (exit 5)")
elif [ "$rc" -ne 0 ]; then
    failures+=("pytest (exit $rc)")
fi

if [ "${#failures[@]}" -ne 0 ]; then
    echo
    echo "test.sh: FAILED:"
    printf '  - %s\n' "${failures[@]}"
    exit 1
fi
