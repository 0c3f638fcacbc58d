#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite.
# This is what CI runs (.ci/run).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$root"
ctest --preset default
