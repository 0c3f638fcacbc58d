#!/usr/bin/env bash
# The desktop entry and the AppStream metainfo pass their validators.
#   check_desktop_files.sh DESKTOP_FILE METAINFO_FILE
set -euo pipefail
desktop-file-validate "$1"
appstreamcli validate --no-net "$2"
echo "PASS"
