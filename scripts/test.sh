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
# ws for the server benchmark's baseline relay and load generator (ctest bench_baseline_smoke),
# installed the same way from tests/bench/baseline/package-lock.json.
"$root/scripts/bench-server.sh" --install-only

# The headless server package (PARLEY_GUI=OFF) is built and tested from its own tree.
(cd "$root" && cmake --preset headless -DPARLEY_BUILD_TESTS=OFF -DPARLEY_BUILD_BENCHMARKS=OFF \
    >/dev/null)
cmake --build "$root/build/headless" --target parley -j "$(nproc)"
cmake --preset default -DPARLEY_HEADLESS_BUILD_DIR="$root/build/headless" >/dev/null

cd "$root"
ctest --preset default
