#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs Parley: an embedded server on
# 127.0.0.1:8443 (data under ~/.local/share/parley/server) and two desktop clients,
# profiles "alice" and "bob", side by side. The first time, choose a password in each and
# press "Create account"; then chat between the two windows.
#   ./scripts/run.sh             the server and the two clients; closing both stops all
#   ./scripts/run.sh --server    only the server (extra options go to it), e.g. headless
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

parley="$root/build/default/app/parley"
data_dir="${PARLEY_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/parley/server}"
listen="${PARLEY_LISTEN:-127.0.0.1:8443}"
host="${listen%:*}"
port="${listen##*:}"

server_only=0
if [[ "${1:-}" == "--server" ]]; then
    server_only=1
    shift
elif [[ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" && "$(uname)" == Linux ]]; then
    echo "parley: no display here, so only the server runs (the clients need a desktop)."
    server_only=1
fi

if ((server_only)); then
    cat <<MSG

Parley server starting on ws://$listen/ws (data in $data_dir).
  health:  curl http://$listen/healthz
  metrics: curl http://$listen/metrics
  clients: $parley --profile alice --server $listen   (on a machine with a desktop)
Stop with Ctrl+C (it drains connections and exits cleanly).

MSG
    exec "$parley" server --listen "$listen" --data-dir "$data_dir" "$@"
fi

listening() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

server_pid=""
if listening; then
    echo "parley: a server already answers on $listen; the clients use it."
else
    log="$(mktemp -t parley-server.XXXXXX.log)"
    "$parley" server --listen "$listen" --data-dir "$data_dir" >"$log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        listening && break
        kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.1
    done
    listening || { echo "parley: the server did not start (log: $log)" >&2; exit 1; }
    echo "parley: server on ws://$listen/ws (data in $data_dir, log in $log)"
fi

client_pids=()
stop() {
    for pid in "${client_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -n "$server_pid" ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
}
trap stop EXIT INT TERM

cat <<MSG
parley: opening two clients, profiles alice and bob. The first time, pick a password in
        each window and press "Create account"; afterwards they sign in by themselves
        (where the system has a keychain). Close both windows (or Ctrl+C) to stop.
MSG
for who in alice bob; do
    "$parley" --profile "$who" --server "$listen" --user "$who" &
    client_pids+=($!)
done
wait "${client_pids[@]}" || true
