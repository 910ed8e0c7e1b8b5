# Shared by scripts/*.sh (sourced, not run): the project virtualenv and its install.
# shellcheck shell=bash

# ensure_venv ROOT: make ROOT/.venv if needed and `pip install -e '.[dev]'` into it when
# pyproject.toml changed since the last successful install (or the venv is incomplete).
# A no-op install still costs a resolver round-trip, so the stamp matters for speed.
ensure_venv() {
    local root="$1" venv="$1/.venv" want stamp
    if [ ! -x "$venv/bin/python" ]; then
        printf '==> creating %s\n' "$venv" >&2
        python3 -m venv "$venv" || {
            echo "could not create the virtualenv (Debian/Ubuntu: apt-get install python3-venv)" >&2
            return 1
        }
    fi
    "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "$venv uses $("$venv/bin/python" -V 2>&1); leadgate needs Python 3.11 or newer" >&2
        return 1
    }
    stamp="$venv/.leadgate-installed"
    want="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] \
        || ! "$venv/bin/python" -c 'import django, rest_framework, celery, gunicorn' >/dev/null 2>&1; then
        printf "==> pip install -e '.[dev]' (quiet; errors are shown)\n" >&2
        PYTHONWARNINGS=ignore "$venv/bin/python" -m pip install --disable-pip-version-check \
            --no-input -q -e "$root[dev]" || return 1
        echo "$want" >"$stamp"
    fi
}

# ensure_node_modules ROOT: `npm ci` into ROOT/node_modules when it is missing or
# package-lock.json changed since the last successful install: the tracker's build tool
# (esbuild) and the analytics SDKs the browser tests serve; the product runs without
# Node. The stamp lives inside node_modules, which `npm ci` empties first, so a half-done
# install is never taken for a finished one.
# Returns 2 when npm itself is missing.
ensure_node_modules() {
    local root="$1" want stamp
    [ -f "$root/package-lock.json" ] || return 0
    stamp="$root/node_modules/.leadgate-installed"
    want="$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)"
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm is missing: install Node.js 20 with npm (Debian: apt-get install nodejs npm)" >&2
        return 2
    fi
    printf '==> npm ci (package-lock.json changed or node_modules is missing)\n' >&2
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error) || return 1
    echo "$want" >"$stamp"
}
