#!/usr/bin/env bash
# Installs what building and running Parley needs on Debian/Ubuntu, skipping
# whatever is already there. Safe to run again. Uses sudo when not root.
#   --test   also what the test suite needs: Node.js and npm (they run dynalite, the
#            local DynamoDB), python3-botocore (cross-checks the SigV4 signer) and
#            redis-server (the bus between server nodes); dpkg-dev, desktop-file-utils
#            and appstream (the packaging tests build the .deb and validate its files);
#            clang-14 and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes of
#            scripts/fuzz.sh).
#   --screenshots  also Xvfb, to render the desktop client's screenshots headless.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config git
    qt6-base-dev qt6-websockets-dev libqt6sql6-sqlite
    qtkeychain-qt6-dev
    qt6-l10n-tools qt6-tools-dev
    libsodium-dev libsqlite3-dev libssl-dev
    libsimdjson-dev
    openssl ca-certificates
)
test_packages=(python3-botocore redis-server dpkg-dev desktop-file-utils appstream
    clang-14 libclang-rt-14-dev)
screenshot_packages=(xvfb xauth)

with_tests=0
for arg in "$@"; do
    case "$arg" in
        --test) with_tests=1 ;;
        --screenshots) packages+=("${screenshot_packages[@]}") ;;
        *) echo "usage: $0 [--test] [--screenshots]" >&2; exit 2 ;;
    esac
done
if ((with_tests)); then
    packages+=("${test_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
# Node.js and npm are looked for as commands, not packages: NodeSource's nodejs bundles
# npm and conflicts with Debian's npm package, which apt would otherwise swap it for.
if ((with_tests)) && ! { command -v node && command -v npm; } >/dev/null; then
    missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
    echo "parley: installing ${missing[*]}"
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
