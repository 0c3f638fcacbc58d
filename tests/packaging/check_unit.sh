#!/usr/bin/env bash
# Verifies the systemd unit with systemd-analyze (exit 77, skipped, where there is no
# systemd-analyze), with /usr/bin/parley pointed at this build's binary, and checks
# the hardening the unit promises is still there.
#   check_unit.sh UNIT PARLEY_BINARY
set -euo pipefail
unit=$1
binary=$2
for setting in User=parley NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
    StateDirectory=parley PrivateTmp=yes CapabilityBoundingSet= ExecReload=; do
    grep -q "^$setting" "$unit" || { echo "FAIL: the unit lacks $setting" >&2; exit 1; }
done
if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP: no systemd-analyze on this machine"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/bin/parley|$binary|g" "$unit" >"$work/parley-server.service"
systemd-analyze verify "$work/parley-server.service"
# The exposure score systemd computes from the sandboxing settings (0 best, 10 worst;
# --threshold counts tenths): fail above 2.0.
systemd-analyze security --offline=yes --threshold=20 "$work/parley-server.service" | tail -1
echo "PASS"
