#!/usr/bin/env bash
# Benchmarks `parley server` against a minimal Node.js relay, side by side in one run
# (tests/bench/baseline/bench.js; its top comment lists the scenarios and flags):
#
#   scripts/bench-server.sh [--scenario held|rate|smoke] [--parley PATH] [--rounds N] ...
#   scripts/bench-server.sh --install-only    # only install the Node.js side (scripts/test.sh)
#
# Installs the relay's and load generator's node_modules (ws, pinned in
# tests/bench/baseline/package-lock.json) when missing or installed from another lockfile.
# It does not build parley: run scripts/build.sh first, or give --parley PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
baseline="$root/tests/bench/baseline"

lock_hash="$(sha256sum "$baseline/package-lock.json" | cut -d' ' -f1)"
stamp="$baseline/node_modules/.parley-lock-sha256"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
    echo "parley: installing the benchmark's Node.js tools in tests/bench/baseline/node_modules (npm ci)"
    npm ci --prefix "$baseline" --no-audit --no-fund --ignore-scripts
    echo "$lock_hash" >"$stamp"
fi
[[ "${1:-}" == "--install-only" ]] && exit 0

# 10,000 held connections need more open files than the usual soft limit of 1024: raise it
# to the hard limit (bench.js raises it again for each server and load generator it starts).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec node "$baseline/bench.js" "$@"
