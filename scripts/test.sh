#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite.
# This is what CI runs (.ci/run).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh"

# dynalite, the local DynamoDB of the tests (pinned in tests/package-lock.json): installed
# when tests/node_modules is missing or was installed from another lockfile.
lock_hash="$(sha256sum "$root/tests/package-lock.json" | cut -d' ' -f1)"
stamp="$root/tests/node_modules/.parley-lock-sha256"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
    echo "parley: installing the test tools in tests/node_modules (npm ci)"
    # --ignore-scripts: dynalite runs in memory and needs no native LevelDB build.
    npm ci --prefix "$root/tests" --no-audit --no-fund --ignore-scripts
    echo "$lock_hash" >"$stamp"
fi

cd "$root"
ctest --preset default
