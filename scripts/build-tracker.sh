#!/usr/bin/env bash
# Builds the embed tracker: assets/leadgate/ (readable ES modules) -> static/leadgate.js
# (one minified file, the URL the contract names). Run it after editing assets/leadgate/
# and commit both: the served file is committed so the demo and production need no Node,
# and scripts/test.sh fails when it differs from a fresh build.
#
#   ./scripts/build-tracker.sh            # writes static/leadgate.js
#   ./scripts/build-tracker.sh OUTFILE    # writes OUTFILE instead (the test's comparison)
#
# esbuild's exact version is pinned in package.json and package-lock.json: the same
# sources give the same bytes on every machine.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
OUTFILE="${1:-static/leadgate.js}"

# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
ensure_node_modules "$ROOT"

# iife: a classic script, no module loader on the host page. es2017: the browsers the
# form's APIs (shadow DOM, fetch keepalive, IntersectionObserver) need anyway. The banner
# tells whoever opens the served file where its source is.
"$ROOT/node_modules/.bin/esbuild" assets/leadgate/index.js \
    --bundle --format=iife --minify --target=es2017 --charset=utf8 --log-level=warning \
    --legal-comments=none \
    --banner:js='/*! leadgate.js: gate form + passive profiling; no dependencies, never throws. See README "Embedding". Source: assets/leadgate/ (scripts/build-tracker.sh). */' \
    --outfile="$OUTFILE"
