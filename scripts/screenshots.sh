#!/usr/bin/env bash
# Renders the desktop client's screenshots into docs/screenshots/ (light and dark) under
# Xvfb, from a real local server and scripted accounts (tests/ui/screenshots.cpp).
#   PARLEY_BUILD_DIR  the build directory to use (default: build/default, built here)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh" --screenshots
build="${PARLEY_BUILD_DIR:-$root/build/default}"
if [[ -z "${PARLEY_BUILD_DIR:-}" ]]; then
    (cd "$root" && cmake --preset default >/dev/null)
fi
cmake --build "$build" --target parley_screenshots parley

out="$root/docs/screenshots"
mkdir -p "$out"
for theme in light dark; do
    args=(--out "$out")
    [[ $theme == dark ]] && args+=(--dark)
    # A private X server per run; no window manager, so windows keep the size asked for.
    QT_QPA_PLATFORM=xcb QT_SCALE_FACTOR=1 QT_LOGGING_RULES="parley.*.info=false" \
        xvfb-run --auto-servernum --server-args="-screen 0 1280x900x24" \
        "$build/tests/ui/parley_screenshots" "${args[@]}"
done
