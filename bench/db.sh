#!/usr/bin/env bash
# bench/db.sh — PostgreSQL point-in-time recovery against pgBackRest (Debian package pgbackrest),
# both on the same throwaway cluster (initdb as postgres on a free port) with a local repository:
#   (a) WAL archiving: a backlog of WAL_MB of WAL (pgbench, and updates of every account, archiving
#       held back while it is made),
#       then archive_command set and timed until nothing is left ready: `prism-wal archive-wal` (the
#       launcher; `prism pg archive-wal` when it is not built)
#       (background push on) vs `pgbackrest archive-push` with archive-async=y, process-max=2
#   (b) the recovery itself (server start until it accepts queries and is promoted): restore-wal
#       with fetch ahead vs `pgbackrest archive-get` (async, its queue)
#   (c) a base backup of a pgbench -s SCALE database: `prism pg basebackup` vs `pgbackrest backup
#       --type=full` (zstd level 3 both), time and repository growth; a second prism base backup
#       of the unchanged database (bytes it adds; target < 5 %)
#   (d) point-in-time restore to a time: restore + recovery until the cluster accepts queries
# Peak RSS: the largest single process of the tool seen while a step runs (sampled every 0.1 s).
#
#   [SCALE=50] [WAL_MB=1024] bash bench/db.sh        npm run bench:db
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCALE=${SCALE:-50}
WAL_MB=${WAL_MB:-1024}
die() { echo "db: $*" >&2; exit 2; }
command -v pgbackrest >/dev/null || die "pgbackrest is missing (apt-get install pgbackrest)"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || die "no PostgreSQL server binaries (apt-get install postgresql)"
[ -f "$ROOT/dist/bundle/main.js" ] || (cd "$ROOT" && npm run --silent build)
NODE=$(command -v node)
W=$(mktemp -d /tmp/prism-pitrbench-XXXX)
chown postgres "$W"
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups env PRISM_HOME="$W/home" "$@"; }
pgctl() { as_pg "$PGBIN/pg_ctl" "$@" >/dev/null; }
PSQL=(psql -h 127.0.0.1 -p "$PORT" -U postgres -X -q -At -v ON_ERROR_STOP=1 -d postgres)
cleanup() {
  for d in "$W"/data*; do [ -f "$d/postmaster.pid" ] && pgctl -D "$d" -m immediate -w stop || true; done
  # the background processes this run started (prism's push and fetch, pgBackRest's async workers): by pid
  for p in $(ps -eo pid=,args= | grep -F -- "$W" | grep -v -e grep -e 'bin/postgres' -e 'postgres:' | awk '{print $1}'); do kill "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
PRISM="$NODE $ROOT/bin/prism.js"
# archive_command through the WAL launcher when it is built (as `prism pg archive-command` advises), else the node command
WAL_CMD="$PRISM pg"
[ -x "$ROOT/dist/cli/wal-launcher/prism-wal" ] && WAL_CMD="$ROOT/dist/cli/wal-launcher/prism-wal"
BR="pgbackrest --config=$W/pgbackrest.conf --stanza=bench"
mkdir -p "$W/home" "$W/pgbr-log" "$W/pgbr-lock" "$W/pgbr-spool" "$W/pgbr-repo" && chown postgres "$W/home" "$W/pgbr-log" "$W/pgbr-lock" "$W/pgbr-spool" "$W/pgbr-repo"
cat > "$W/pgbackrest.conf" <<CONF
[global]
repo1-path=$W/pgbr-repo
log-path=$W/pgbr-log
lock-path=$W/pgbr-lock
spool-path=$W/pgbr-spool
log-level-console=warn
log-level-file=warn
archive-async=y
archive-get-queue-max=128MB
process-max=2
compress-type=zst
compress-level=3
start-fast=y
repo1-retention-full=9

[bench]
pg1-path=$W/data
pg1-port=$PORT
pg1-socket-path=$W
CONF
chmod 644 "$W/pgbackrest.conf"

# peak RSS (KB) of one process of the step's tool: `rss_start; ...; rss_stop` sets RSS
rss_start() {
  (set +e +o pipefail; m=0; while :; do
     v=$(ps -eo rss=,args= | grep -F -- "$W" | grep -E 'prism.js|pgbackrest' | grep -v -e grep -e 'bin/postgres' -e 'postgres:' | awk 'BEGIN{m=0}{if($1>m)m=$1}END{print m}')
     [ "${v:-0}" -gt "$m" ] && m=$v && echo "$m" > "$W/rss"
     sleep 0.1
   done) & RSS_PID=$!
  echo 0 > "$W/rss"
}
rss_stop() { kill "$RSS_PID" 2>/dev/null || true; wait "$RSS_PID" 2>/dev/null || true; RSS=$(cat "$W/rss"); }
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
ready_count() { ls "$1/pg_wal/archive_status" 2>/dev/null | grep -c '\.ready$' || true; }
set_archive() { # DATA COMMAND
  sed -i '/^archive_command/d' "$1/postgresql.conf"
  printf "archive_command = '%s'\n" "$2" >> "$1/postgresql.conf"
}
start_pg() { pgctl -D "$1" -l "$1.log" -w -t 600 start; }
wait_archived() { # DATA: until no segment is left ready
  while [ "$(ready_count "$1")" -gt 0 ]; do sleep 0.1; done
}

echo "== setup: cluster on port $PORT, pgbench -s $SCALE" >&2
as_pg "$PGBIN/initdb" -D "$W/data" -U postgres --auth=trust -N >/dev/null
cat >> "$W/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$W'
archive_mode = on
max_wal_size = 8GB
checkpoint_timeout = 30min
CONF
set_archive "$W/data" "$PRISM pg archive-wal %p --repo $W/prism-repo && $BR archive-push %p"
start_pg "$W/data"
as_pg $BR stanza-create >/dev/null
pgbench -h 127.0.0.1 -p "$PORT" -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
"${PSQL[@]}" -c "CHECKPOINT"

echo "== (c) base backups" >&2
repo_bytes() { du -sb "$1" 2>/dev/null | cut -f1; }
rss_start; t=$(now); as_pg $PRISM pg basebackup --url "postgres://postgres@127.0.0.1:$PORT/postgres" --repo "$W/prism-repo" >/dev/null; C_PRISM=$(since "$t"); rss_stop; C_PRISM_RSS=$RSS
P1=$(repo_bytes "$W/prism-repo")
rss_start; t=$(now); as_pg $BR backup --type=full >/dev/null; C_BR=$(since "$t"); rss_stop; C_BR_RSS=$RSS
B1=$(du -sb "$W/pgbr-repo/backup" | cut -f1)
t=$(now); as_pg $PRISM pg basebackup --url "postgres://postgres@127.0.0.1:$PORT/postgres" --repo "$W/prism-repo" >/dev/null; C_PRISM2=$(since "$t")
P2=$(repo_bytes "$W/prism-repo")
PRISM_BASE=$(as_pg $PRISM pg wal list --repo "$W/prism-repo" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(s).base_backups;console.log(b[0].size)})')

echo "== (a) a backlog of $WAL_MB MB of WAL (archiving held back)" >&2
set_archive "$W/data" ""
pgctl -D "$W/data" reload
start_lsn=$("${PSQL[@]}" -c "SELECT pg_current_wal_lsn()")
while [ "$("${PSQL[@]}" -c "SELECT (pg_current_wal_lsn() - '$start_lsn') / 1048576 >= $WAL_MB")" = f ]; do
  # pgbench's transactions, and a pass over every account (a WAL-heavy batch job) to make volume quickly
  pgbench -h 127.0.0.1 -p "$PORT" -U postgres -c 4 -j 2 -T 5 -n postgres >/dev/null 2>&1
  "${PSQL[@]}" -c "UPDATE pgbench_accounts SET abalance = abalance + 1"
done
"${PSQL[@]}" -c "CREATE TABLE marker (id int); INSERT INTO marker VALUES (1)"
sleep 1
TARGET=$("${PSQL[@]}" -c "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
sleep 1
"${PSQL[@]}" -c "INSERT INTO marker VALUES (2)"
"${PSQL[@]}" -c "SELECT pg_switch_wal()" >/dev/null
pgctl -D "$W/data" -m fast -w stop
SEGS=$(ready_count "$W/data")
cp -a "$W/data" "$W/data-br"
sed -i "s|^pg1-path=.*|pg1-path=$W/data-br|" "$W/pgbackrest.conf"

set_archive "$W/data" "$WAL_CMD archive-wal %p --repo $W/prism-repo"
rss_start; t=$(now); start_pg "$W/data"; wait_archived "$W/data"; A_PRISM=$(since "$t"); rss_stop; A_PRISM_RSS=$RSS
pgctl -D "$W/data" -m fast -w stop
set_archive "$W/data-br" "$BR archive-push %p"
rss_start; t=$(now); start_pg "$W/data-br"; wait_archived "$W/data-br"; A_BR=$(since "$t"); rss_stop; A_BR_RSS=$RSS
pgctl -D "$W/data-br" -m fast -w stop

echo "== (b, d) point-in-time restore to $TARGET" >&2
promoted() { # until the server accepts queries and is out of recovery
  until [ "$("${PSQL[@]}" -c 'SELECT NOT pg_is_in_recovery()' 2>/dev/null)" = t ]; do sleep 0.05; done
}
check_rows() { [ "$("${PSQL[@]}" -c 'SELECT string_agg(id::text, $$,$$ ORDER BY id) FROM marker')" = 1 ] || die "$1: the recovered cluster does not hold exactly the rows before the target"; }
rm -rf "$W/data-r"
rss_start; t=$(now)
as_pg $PRISM pg restore --at "$TARGET" --data-dir "$W/data-r" --repo "$W/prism-repo" >/dev/null
echo "archive_mode = off" >> "$W/data-r/postgresql.auto.conf"
D_PRISM_RESTORE=$(since "$t"); t2=$(now)
start_pg "$W/data-r"; promoted; B_PRISM=$(since "$t2"); D_PRISM=$(since "$t"); rss_stop; D_PRISM_RSS=$RSS
check_rows prism
pgctl -D "$W/data-r" -m fast -w stop; rm -rf "$W/data-r"
as_pg mkdir -m 700 "$W/data-r"
rss_start; t=$(now)
as_pg $BR --pg1-path="$W/data-r" --type=time "--target=$(echo "$TARGET" | sed 's/T/ /; s/Z$/+00/')" --target-action=promote restore >/dev/null
echo "archive_mode = off" >> "$W/data-r/postgresql.auto.conf"
D_BR_RESTORE=$(since "$t"); t2=$(now)
start_pg "$W/data-r"; promoted; B_BR=$(since "$t2"); D_BR=$(since "$t"); rss_stop; D_BR_RSS=$RSS
check_rows pgbackrest
pgctl -D "$W/data-r" -m fast -w stop

r() { echo "scale=2; $1 / $2" | bc; }
mbs() { echo "scale=1; $SEGS * 16 / $1" | bc; }
BR_REPO=$(du -sb "$W/pgbr-repo" | cut -f1)
cat <<TABLE

PostgreSQL PITR: prism vs pgBackRest — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU, load $(cut -d' ' -f1-3 /proc/loadavg)
prism $(cd "$ROOT" && node bin/prism.js --version), $(pgbackrest version), PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), node $(node --version); pgbench -s $SCALE, WAL backlog $SEGS segments ($((SEGS * 16)) MB)

| step | prism | pgBackRest | prism / pgBackRest | peak RSS prism / pgBackRest (MB) |
|---|---|---|---|---|
| (a) archive $SEGS segments (s, MB/s) | $A_PRISM s, $(mbs "$A_PRISM") MB/s | $A_BR s, $(mbs "$A_BR") MB/s | $(r "$A_PRISM" "$A_BR") × time | $((A_PRISM_RSS / 1024)) / $((A_BR_RSS / 1024)) |
| (b) recovery: start → accepts queries, promoted (s) | $B_PRISM | $B_BR | $(r "$B_PRISM" "$B_BR") | |
| (c) base backup (s) | $C_PRISM | $C_BR | $(r "$C_PRISM" "$C_BR") | $((C_PRISM_RSS / 1024)) / $((C_BR_RSS / 1024)) |
| (c) repository after base backup (bytes; prism: with the setup's WAL) | $P1 | $B1 (backup/ only) | $(r "$P1" "$B1") | |
| (c) second base backup, unchanged database (s, bytes added) | $C_PRISM2 s, +$((P2 - P1)) B ($(echo "scale=2; 100 * ($P2 - $P1) / $PRISM_BASE" | bc) % of its $PRISM_BASE B) | | | |
| (d) PITR restore to a time, until it accepts queries (s) | $D_PRISM (restore $D_PRISM_RESTORE) | $D_BR (restore $D_BR_RESTORE) | $(r "$D_PRISM" "$D_BR") | $((D_PRISM_RSS / 1024)) / $((D_BR_RSS / 1024)) |

repositories at the end: prism $(repo_bytes "$W/prism-repo") B, pgBackRest $BR_REPO B
TABLE
