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

# The libFuzzer harnesses (clang, ASan, UBSan) in build/fuzz: ctest's `fuzz` tests run them
# over their seed corpora (docs/reliability.md); without clang they are skipped.
"$root/scripts/fuzz.sh" build

cd "$root"
status=0
ctest --preset default || status=1

# The same suite under AddressSanitizer, LeakSanitizer and UBSan (the debug preset in
# build/debug, packaging tests left out; docs/reliability.md "Sanitizers"). Every report
# goes to a file, so one from a child process (a server whose stderr the test only reads)
# fails the run too, and is printed here.
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$(nproc)"
reports="$root/build/debug/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
ASAN_OPTIONS="log_path=$reports/asan" UBSAN_OPTIONS="log_path=$reports/ubsan" \
    ctest --preset debug || status=1
if compgen -G "$reports/*" >/dev/null; then
    for report in "$reports"/*; do
        echo "parley: sanitizer report $report"
        cat "$report"
    done
    status=1
fi
exit "$status"
