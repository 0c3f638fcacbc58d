#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs Parley.
# Until the desktop client lands this starts an embedded server on
# 127.0.0.1:8443 (data under ~/.local/share/parley/server) and says how to connect.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

data_dir="${PARLEY_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/parley/server}"
listen="${PARLEY_LISTEN:-127.0.0.1:8443}"
cat <<MSG

Parley server starting on ws://$listen/ws (data in $data_dir).
  health:  curl http://$listen/healthz
  metrics: curl http://$listen/metrics
  chat:    any WebSocket client, e.g. websocat ws://$listen/ws, then
           {"type":"register","rid":"1","user":"alice","password":"correct horse"}
Stop with Ctrl+C (it drains connections and exits cleanly).

MSG
exec "$root/build/default/app/parley" server --listen "$listen" --data-dir "$data_dir" "$@"
