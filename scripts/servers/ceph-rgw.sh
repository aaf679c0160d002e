#!/usr/bin/env bash
# A throwaway Ceph cluster with the RADOS Gateway (a real S3 server) on loopback, for the tests:
# one monitor, one OSD that keeps objects in memory (memstore), one gateway, two S3 users: the
# main one, and one that tests give append-only rights through a bucket policy.
# Usage: ceph-rgw.sh start|stop|status|describe|needs
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=ceph-rgw
STATE="$PRISM_SERVERS_DIR/$NAME"
CONF="$STATE/ceph.conf"
MON_PORT=16789
RGW_PORT=17480
ENDPOINT="http://127.0.0.1:$RGW_PORT"
REGION=us-east-1
# Fixed credentials of a test-only user on a loopback-only server.
ACCESS_KEY=prism-test
SECRET_KEY=prism-test-secret-0123456789abcdef
# A second user with no bucket of its own: a test's bucket policy grants it what it may do
# (read, list and add, but not delete: the credentials of a host that ransomware may own).
APPEND_ONLY_KEY=prism-appendonly
APPEND_ONLY_SECRET=prism-appendonly-secret-0123456789abcdef
PACKAGES=(ceph-mon ceph-mon ceph-osd ceph-osd radosgw radosgw radosgw-admin radosgw monmaptool ceph-base ceph ceph-common curl curl)

# The signed request only succeeds once the gateway serves S3 with our user's key. curl 7.88
# does not send the payload hash the gateway needs: the header carries the hash of no body.
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3_answers() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H "x-amz-content-sha256: $EMPTY_SHA256" "$ENDPOINT/") || return 1
  [ "$code" = 200 ]
}

# Any HTTP status: the gateway is up (its user may not exist yet).
http_answers() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$ENDPOINT/") || return 1
  [ "$code" != 000 ]
}

daemons_alive() {
  local d
  for d in mon.a osd.0 client.rgw.a; do
    pid_alive "$(read_pid "$STATE/run/$d.pid")" || return 1
  done
}

healthy() { [ -f "$CONF" ] && daemons_alive && s3_answers; }

ceph_cli() { timeout 30 ceph -c "$CONF" --connect-timeout 10 "$@"; }

# The append-only user, created unless it exists (a cluster started before it was added gets it
# without a restart).
ensure_append_only_user() {
  timeout 60 radosgw-admin -c "$CONF" user info --uid="$APPEND_ONLY_KEY" >/dev/null 2>&1 && return 0
  timeout 60 radosgw-admin -c "$CONF" user create --uid="$APPEND_ONLY_KEY" --display-name="prism tests, append-only" \
    --access-key="$APPEND_ONLY_KEY" --secret-key="$APPEND_ONLY_SECRET" >/dev/null
}

osd_up() { ceph_cli osd dump 2>/dev/null | grep -q '^osd\.0 up'; }

write_conf() {
  # $name and $cluster are Ceph's own metavariables, expanded per daemon.
  cat >"$CONF" <<EOF
[global]
fsid = $1
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
public addr = 127.0.0.1
public network = 127.0.0.1/32
cluster network = 127.0.0.1/32
# loopback only, no keys: a test cluster that nothing else can reach
ms bind msgr2 = false
ms bind ipv6 = false
ms bind port min = 16800
ms bind port max = 16899
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
keyring = /dev/null
run dir = $STATE/run
pid file = $STATE/run/\$name.pid
admin socket = $STATE/run/\$cluster-\$name.asok
log file = $STATE/log/\$cluster-\$name.log
log to stderr = false
err to stderr = false
mon data = $STATE/mon/\$cluster-\$id
osd data = $STATE/osd/\$cluster-\$id
# objects in memory: fast, and nothing to clean on disk
osd objectstore = memstore
memstore device bytes = 4294967296
# one OSD holds every pool the gateway creates
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $STATE/rgw
# the usage log counts the requests of each user and bucket (bench/remote.sh reads it), flushed
# every second and after every entry so that a count read right after a command is complete
rgw enable usage log = true
rgw usage log tick interval = 1
rgw usage log flush threshold = 1
EOF
}

# Every step says `|| return 1`: it runs as an if condition, where bash ignores `set -e`.
fresh_start() {
  local fsid uuid id
  rm -rf "$STATE" || return 1
  mkdir -p "$STATE/run" "$STATE/log" "$STATE/mon/ceph-a" "$STATE/osd/ceph-0" "$STATE/rgw" || return 1
  fsid=$(cat /proc/sys/kernel/random/uuid) || return 1
  write_conf "$fsid" || return 1
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" "$STATE/monmap" >/dev/null || return 1
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$STATE/monmap" || return 1
  ceph-mon -c "$CONF" -i a 9>&- || return 1
  uuid=$(cat /proc/sys/kernel/random/uuid) || return 1
  id=$(ceph_cli osd new "$uuid") || return 1
  [ "$id" = 0 ] || {
    echo "expected osd id 0, got '$id'" >&2
    return 1
  }
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" >/dev/null || return 1
  ceph-osd -c "$CONF" -i 0 9>&- || return 1
  wait_for 45 "the OSD to come up" osd_up || return 1
  radosgw -c "$CONF" -n client.rgw.a 9>&- || return 1
  wait_for 60 "the gateway on $ENDPOINT" http_answers || return 1
  timeout 60 radosgw-admin -c "$CONF" user create --uid="$ACCESS_KEY" --display-name="prism tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null || return 1
  ensure_append_only_user || return 1
  wait_for 60 "an S3 request signed with the test user's key" s3_answers || return 1
}

stop_all() {
  local d
  # Gateway first: it talks to the OSD and monitor until it is gone. Short grace: the objects die
  # with the memstore OSD anyway, and a gateway whose OSD is gone takes ~30 s to give up.
  for d in client.rgw.a osd.0 mon.a; do
    stop_pid "$(our_pid "$STATE/run/$d.pid" "$STATE")" 3
  done
  free_port_of_ours "$RGW_PORT" "$STATE"
  free_port_of_ours "$MON_PORT" "$STATE"
  # an OSD never listens on a fixed port; one of ours that lost its pid file still names $CONF
  local pid
  for pid in $(pgrep -x ceph-osd || true); do
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF"; then stop_pid "$pid" 3; fi
  done
}

case "${1:-}" in
  start)
    require_packages "${PACKAGES[@]}"
    lock_server "$NAME"
    if healthy; then
      ensure_append_only_user
      echo "$NAME: already running at $ENDPOINT ($(elapsed) s)"
      exit 0
    fi
    # A fresh cluster very rarely starts wrong (once in CI the OSD's commands were refused with
    # "wrong fsid" and it never came up): a second and third try start from nothing again.
    attempt=1
    while true; do
      stop_all
      if (fresh_start); then break; fi
      show_logs "$STATE"/log/*.log
      grep -h 'fsid' "$STATE"/log/*.log 2>/dev/null | tail -n 10 >&2 || true
      if [ "$attempt" -ge 3 ]; then
        echo "$NAME: failed to start $attempt times; logs in $STATE/log" >&2
        exit 1
      fi
      attempt=$((attempt + 1))
      echo "$NAME: start failed; trying again from nothing (attempt $attempt of 3)" >&2
    done
    echo "$NAME: started at $ENDPOINT in $(elapsed) s (logs in $STATE/log)"
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
    printf '{"endpoint":%s,"region":%s,"accessKeyId":%s,"secretAccessKey":%s,"appendOnly":{"user":%s,"accessKeyId":%s,"secretAccessKey":%s},"adminCommand":%s,"logDir":%s}\n' \
      "$(json_string "$ENDPOINT")" "$(json_string "$REGION")" "$(json_string "$ACCESS_KEY")" "$(json_string "$SECRET_KEY")" \
      "$(json_string "$APPEND_ONLY_KEY")" "$(json_string "$APPEND_ONLY_KEY")" "$(json_string "$APPEND_ONLY_SECRET")" \
      "$(json_string "radosgw-admin -c $CONF")" "$(json_string "$STATE/log")"
    ;;
  needs) missing_packages "${PACKAGES[@]}" ;;
  *)
    echo "usage: $0 start|stop|status|describe|needs" >&2
    exit 2
    ;;
esac
