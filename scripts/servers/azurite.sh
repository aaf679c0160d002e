#!/usr/bin/env bash
# Azurite, Microsoft's Azure Storage emulator (the blob service only), on loopback for the tests.
# 3.35.0 is pinned in package.json: later versions need Node 22.
# Usage: azurite.sh start|stop|status|describe|needs
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=azurite
STATE="$PRISM_SERVERS_DIR/$NAME"
PORT=10100
BIN="$REPO_ROOT/node_modules/.bin/azurite-blob"
ACCOUNT=devstoreaccount1
# The emulator's published development key (the same in every Azurite), not a secret.
ACCOUNT_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
ENDPOINT="http://127.0.0.1:$PORT/$ACCOUNT"
PACKAGES=(curl curl)

http_answers() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$ENDPOINT?comp=list") || return 1
  [ "$code" != 000 ]
}

# The listener on our port is the Azurite started with our state folder.
listening() {
  local pid
  pid=$(port_pid "$PORT")
  [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$STATE/data"
}

healthy() {
  local pid
  pid=$(read_pid "$STATE/azurite.pid")
  pid_alive "$pid" && [ "$(port_pid "$PORT")" = "$pid" ] && http_answers
}

fresh_start() {
  rm -rf "$STATE"
  mkdir -p "$STATE/data"
  # --skipApiVersionCheck: the current @azure/storage-blob speaks a newer API version than 3.35
  # knows; --disableTelemetry: otherwise it reports to an outside host.
  # setsid: its own session, so it outlives the shell (and a CI step) that started it; it may
  # fork, so the pid recorded is the listener's.
  setsid "$BIN" --blobHost 127.0.0.1 --blobPort "$PORT" --location "$STATE/data" --silent \
    --skipApiVersionCheck --disableTelemetry </dev/null >>"$STATE/azurite.log" 2>&1 9>&- &
  wait_for 30 "Azurite to listen on 127.0.0.1:$PORT" listening
  port_pid "$PORT" >"$STATE/azurite.pid"
  wait_for 30 "Azurite to answer on $ENDPOINT" healthy
}

stop_all() {
  stop_pid "$(our_pid "$STATE/azurite.pid" "$STATE")"
  free_port_of_ours "$PORT" "$STATE"
}

case "${1:-}" in
  start)
    require_packages "${PACKAGES[@]}"
    lock_server "$NAME"
    if [ ! -x "$BIN" ]; then
      echo "$NAME: $BIN is missing: run npm ci (azurite is a devDependency)" >&2
      exit 3
    fi
    if healthy; then
      echo "$NAME: already running at $ENDPOINT ($(elapsed) s)"
      exit 0
    fi
    stop_all
    if ! fresh_start; then
      show_logs "$STATE/azurite.log"
      echo "$NAME: failed to start; log in $STATE/azurite.log" >&2
      exit 1
    fi
    echo "$NAME: started at $ENDPOINT in $(elapsed) s (log in $STATE/azurite.log)"
    ;;
  stop)
    lock_server "$NAME"
    stop_all
    echo "$NAME: stopped ($(elapsed) s)"
    ;;
  status)
    if healthy; then echo "$NAME: running at $ENDPOINT"; else
      echo "$NAME: not running"
      exit 1
    fi
    ;;
  describe)
    printf '{"endpoint":%s,"accountName":%s,"accountKey":%s,"connectionString":%s,"logFile":%s}\n' \
      "$(json_string "$ENDPOINT")" "$(json_string "$ACCOUNT")" "$(json_string "$ACCOUNT_KEY")" \
      "$(json_string "DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$ACCOUNT_KEY;BlobEndpoint=$ENDPOINT;")" \
      "$(json_string "$STATE/azurite.log")"
    ;;
  needs) missing_packages "${PACKAGES[@]}" ;;
  *)
    echo "usage: $0 start|stop|status|describe|needs" >&2
    exit 2
    ;;
esac
