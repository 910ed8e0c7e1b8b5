#!/usr/bin/env bash
# THE test command: ./scripts/test.sh [extra pytest args]
#
# On a fresh machine it makes .venv, installs the project with its dev tools, makes sure
# PostgreSQL and Redis are running, then runs: ruff check, ruff format --check, mypy,
# makemigrations --check, the check that static/leadgate.js is its source's build (npm ci
# into node_modules when package-lock.json changed), and the test suite on both cores
# (pytest -n 2). Every step runs even if an earlier one failed, and the script exits
# non-zero if any of them failed.
# pytest's "no tests ran" (exit 5) counts as a failure.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# --- 1. virtualenv and dependencies -----------------------------------------------------
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
ensure_venv "$ROOT" || die "installing leadgate into $VENV failed (see above)"
export PATH="$VENV/bin:$PATH"

# --- 2. services --------------------------------------------------------------------------
export DATABASE_URL="${DATABASE_URL:-postgres://root@127.0.0.1:5432/leadgate}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}"
export LEADGATE_WEBHOOK_ALLOW_PRIVATE=1
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings}"
# leadgate refuses to start without a secret key unless DJANGO_DEBUG=1: a random one per
# run, exported before mypy (django-stubs loads the settings) and inherited by every
# process the tests start (Celery worker, gunicorn, demo.sh).
DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export DJANGO_SECRET_KEY

step "services (PostgreSQL, Redis)"
./scripts/services.sh || die "PostgreSQL/Redis are not available (see above)"

# --- 2b. Chromium for the browser tests (tests/forms_app/browser) -------------------------
# Playwright drives the system's Debian Chromium; it never downloads a browser. Under CI a
# missing Chromium is a failure, never a reason to skip the browser tests.
if [ ! -x /usr/bin/chromium ]; then
    step "chromium (apt-get)"
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
        { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } \
            || echo "test.sh: could not install chromium" >&2
    fi
    if [ ! -x /usr/bin/chromium ]; then
        case "${CI:-}" in
        1 | true | TRUE | yes) die "CI=true and /usr/bin/chromium is missing: the browser tests cannot run" ;;
        *) echo "test.sh: /usr/bin/chromium is missing; the browser tests will be skipped" >&2 ;;
        esac
    fi
fi

# --- 2c. npm packages: the tracker's pinned esbuild and the analytics SDKs -----------------
# Pinned by package-lock.json. Under CI a missing npm is a failure, never a reason to skip
# the tracker build check or the SDK browser tests (tests/profiling/browser).
step "npm packages (package-lock.json)"
ensure_node_modules "$ROOT"
case $? in
0) ;;
2)
    case "${CI:-}" in
    1 | true | TRUE | yes) die "CI=true and npm is missing: the analytics SDK browser tests cannot run" ;;
    *) echo "test.sh: npm is missing; the analytics SDK browser tests will be skipped" >&2 ;;
    esac
    ;;
*) die "npm ci failed (see above)" ;;
esac

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

# The served tracker (static/leadgate.js, committed so that running leadgate needs no Node)
# must be exactly what its readable source (assets/leadgate/) builds to with the pinned
# esbuild. Under CI a missing Node is a failure, never a reason to skip the check.
tracker_build_is_current() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        case "${CI:-}" in
        1 | true | TRUE | yes)
            echo "test.sh: CI=true and node/npm are missing: static/leadgate.js cannot be checked" >&2
            return 1
            ;;
        *)
            echo "test.sh: node/npm are missing; static/leadgate.js is not checked against assets/leadgate/" >&2
            return 0
            ;;
        esac
    fi
    local built rc=0
    built="$(mktemp)"
    if ! ./scripts/build-tracker.sh "$built"; then
        rc=1
    elif ! cmp -s "$built" static/leadgate.js; then
        echo "test.sh: static/leadgate.js is not what assets/leadgate/ builds to: run ./scripts/build-tracker.sh and commit the result" >&2
        rc=1
    fi
    rm -f "$built"
    return "$rc"
}
run "tracker build is up to date" tracker_build_is_current

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
