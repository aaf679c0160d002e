# Shared by the test-server scripts (sourced, not run): where state lives, timing, and stopping
# processes by the pid we recorded, never by name (other people's servers run on this machine too).
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME and awk agree on the decimal point

PRISM_SERVERS_DIR="${PRISM_SERVERS_DIR:-/tmp/prism-servers}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STARTED_AT="$EPOCHREALTIME"

# Seconds since the script started, one decimal.
elapsed() { awk -v a="$STARTED_AT" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# A process that exited but was not reaped yet (pid 1 here may not reap) counts as gone.
pid_alive() {
  [ -n "${1:-}" ] && [ -e "/proc/$1" ] || return 1
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

read_pid() { if [ -s "$1" ]; then tr -dc 0-9 <"$1"; fi; }

# The pid in FILE when that process is still one of ours (its command line names DIR): a pid file
# that outlived its process (a reboot, a copied machine) may name someone else's process by now.
our_pid() {
  local pid
  pid=$(read_pid "$1")
  [ -n "$pid" ] && pid_alive "$pid" || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"; then echo "$pid"; fi
}

# The pid listening on 127.0.0.1:PORT, empty when nothing listens.
port_pid() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true; }

# Sends TERM, waits up to SECONDS (default 10), then KILL.
stop_pid() {
  local pid=$1 tenths=$((${2:-10} * 10)) i
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < tenths; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  echo "process $pid did not exit" >&2
  return 1
}

# Frees PORT from a leftover of ours (a process whose command line names DIR, e.g. after its pid
# file was lost); refuses, with the owner named, when someone else's process holds the port.
free_port_of_ours() {
  local port=$1 dir=$2 pid cmd
  pid=$(port_pid "$port")
  [ -n "$pid" ] || return 0
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  if [[ "$cmd" == *"$dir"* ]]; then
    stop_pid "$pid"
  else
    echo "127.0.0.1:$port is taken by another process (pid $pid: $cmd): stop it, then start again" >&2
    return 1
  fi
}

# Missing Debian packages, one per line: pairs of "command package".
missing_packages() {
  while [ $# -ge 2 ]; do
    command -v "$1" >/dev/null 2>&1 || echo "$2"
    shift 2
  done | sort -u
}

# Exits 3 with the apt-get line when a package this server needs is missing.
require_packages() {
  local missing
  missing=$(missing_packages "$@")
  if [ -n "$missing" ]; then
    echo "missing Debian packages; run: apt-get install -y --no-install-recommends $(echo $missing)" >&2
    exit 3
  fi
}

# Serialises start/stop of one server: two test runs on one machine may start it at once. The
# lock file sits beside the state folder, which a fresh start deletes. Daemons are started with
# fd 9 closed, or they would hold the lock for as long as they run.
lock_server() {
  mkdir -p "$PRISM_SERVERS_DIR"
  exec 9>"$PRISM_SERVERS_DIR/.$1.lock"
  if ! flock -w 300 9; then
    echo "$1: another start or stop has held $PRISM_SERVERS_DIR/.$1.lock for 5 minutes" >&2
    exit 1
  fi
}

# The last lines of each log, for a failed start (CI shows nothing else).
show_logs() {
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    echo "--- last lines of $f" >&2
    tail -n 20 "$f" >&2
  done
}

# Polls a command (quietly) until it succeeds or SECONDS pass.
wait_for() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$(awk -v n="$EPOCHREALTIME" -v s="$seconds" 'BEGIN { printf "%d", n + s }')
  until "$@" >/dev/null 2>&1; do
    if [ "${EPOCHREALTIME%.*}" -ge "$deadline" ]; then
      echo "timed out after ${seconds}s waiting for $what" >&2
      return 1
    fi
    sleep 0.2
  done
}

# A JSON string literal (the values described are paths and names: no control characters).
json_string() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}
