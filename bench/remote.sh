#!/usr/bin/env bash
# bench/remote.sh — prism against restic with the repository on remote stores: S3 (a Ceph RADOS
# Gateway) and SFTP (OpenSSH), the test servers of scripts/servers.mjs on loopback.
#
#   bash bench/remote.sh [-n REPS] [-s SEED] [-o OUTDIR] [-b "s3 sftp"] [-k] [-q] [SIZE]
#   npm run bench:remote [-- OPTIONS SIZE]
#
#   SIZE        dataset size for gen-dataset.mjs (default: 500M; files20k etc.: see run.sh); the dataset is
#               $PBENCH_ROOT/data/ds-<SIZE>-s<SEED>, generated if missing
#   -n REPS     repetitions per tool (default $BENCH_REPS, else 1; medians reported)
#   -s SEED     dataset seed (default $BENCH_SEED, else 1)
#   -o OUTDIR   where remote.tsv, remote-summary.md, remote-env.txt and logs/ go
#               (default $PBENCH_ROOT/prism-results/<UTC timestamp>-remote/<dataset>);
#               bench/run.sh passes its dataset's result directory
#   -b BACKENDS remote stores to run, space separated (default $BENCH_REMOTE_BACKENDS, else "s3 sftp")
#   -k          keep the buckets and SFTP directories (default: deleted after each tool, untimed)
#   -q          do not print the summary at the end (bench/run.sh folds it into its own)
#   -h          this help
#
# Environment: PBENCH_ROOT (default /tmp/pbench), PBENCH_SETTLE / PBENCH_MIN_FREE (lib.sh),
#   PRISM_CMD (default "<repo>/bin/prism.js"; built when dist/ is missing, BENCH_BUILD as run.sh),
#   BENCH_ENC=0 (skip the encrypted prism-enc tools), BENCH_NO_INSTALL=1 (never apt-get install restic),
#   PBENCH_STEP_TIMEOUT (seconds, default 600: a step still running then is stopped, rc 124),
#   PRISM_SERVERS_DIR (default /tmp/prism-servers: endpoints.json of the servers).
#
# Tools, each on a fresh copy of the dataset (PRISM_HOME for prism, the backed-up tree for both):
#   prism-local, prism-enc-local  init, full, noop into a local directory: the reference for
#                                 peak RSS (the target is backup to S3 <= local + 64 MiB)
#   prism-s3, prism-enc-s3, restic-s3        each in a fresh bucket of its own (created untimed)
#   prism-sftp, prism-enc-sftp, restic-sftp  each in a fresh directory of the SFTP user
# Steps: init (restic init; prism-enc: `prism init --encrypt`; none for prism, whose first backup
# creates the repository), full, noop (a backup
# with nothing changed), restore (of the newest backup into an empty directory, verified untimed
# with the manifest of run.sh: path, size, mode, mtime and sha256 of every file). Every step:
# `sync` before, /usr/bin/time -v around `bash -eo pipefail -c HOOK`, wall time from $EPOCHREALTIME.
# repo_bytes: the sum of the object sizes in the bucket (ListObjectsV2), of the file sizes in the
# SFTP directory, `du -sb` of the local one. requests (S3 only): the requests the gateway served
# during the step, from its usage log (radosgw-admin usage show) for a user of the benchmark's own
# (prism-bench), read when it has stopped moving before and after the step; checked at the start
# with 10 PutObject and 10 HeadObject requests answered 404, which must count 20. restic: repository v2, --compression auto, the
# password from a file (RESTIC_PASSWORD_FILE), its default local cache under the work directory.
# Exit status: 1 if a prism step failed or a prism restore did not verify, 2 on a setup problem.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
HARNESS=${PBENCH_HARNESS:-$BENCH_DIR/harness}
export PBENCH_ROOT=${PBENCH_ROOT:-/tmp/pbench}
SERVERS_DIR=${PRISM_SERVERS_DIR:-/tmp/prism-servers}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "remote: $*" >&2; exit 2; }
SHORT_USAGE='usage: bash bench/remote.sh [-n REPS] [-s SEED] [-o OUTDIR] [-b "s3 sftp"] [-k] [-q] [SIZE]   (-h: help)'

# ------------------------------------------------------------------ arguments
STEP_TIMEOUT=${PBENCH_STEP_TIMEOUT:-600}
[[ $STEP_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "PBENCH_STEP_TIMEOUT must be a number of seconds, got '$STEP_TIMEOUT'"
REPS=${BENCH_REPS:-1} SEED=${BENCH_SEED:-1} OUTDIR= KEEP=0 QUIET=0 BACKENDS=${BENCH_REMOTE_BACKENDS:-s3 sftp}
while getopts "n:s:o:b:kqh" opt; do
  case $opt in
    n) REPS=$OPTARG ;; s) SEED=$OPTARG ;; o) OUTDIR=$OPTARG ;; b) BACKENDS=$OPTARG ;; k) KEEP=1 ;; q) QUIET=1 ;;
    h) usage; exit 0 ;;
    *) echo "$SHORT_USAGE" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || { echo "$SHORT_USAGE" >&2; die "one dataset size at a time"; }
SIZE=${1:-500M}
[[ $SIZE =~ ^[0-9]+(\.[0-9]+)?[kKmMgGtT]?$ || $SIZE =~ ^files[0-9]+(\.[0-9]+)?[kKmM]?$ ]] || { echo "$SHORT_USAGE" >&2; die "bad size '$SIZE' (expected e.g. 50M, 500M, or files20k)"; }
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "-n REPS must be a positive integer, got '$REPS'"
[[ $SEED =~ ^[0-9]+$ ]] || die "-s SEED must be a non-negative integer, got '$SEED'"
for b in $BACKENDS; do [[ $b == s3 || $b == sftp ]] || die "unknown backend '$b' in -b (s3, sftp)"; done
[ -n "$BACKENDS" ] || die "-b names no backend (s3, sftp)"
has_backend() { [[ " $BACKENDS " == *" $1 "* ]]; }

mkdir -p "$PBENCH_ROOT"
source "$HARNESS/lib.sh"   # trash / maybe_purge / settle
have() { if [ "${1:0:1}" = / ]; then [ -x "$1" ]; else command -v "$1" >/dev/null 2>&1; fi; }
have /usr/bin/time || die "/usr/bin/time (GNU time) is required: apt-get install time"
have node || die "node is not on PATH"
NODE="node --no-warnings"   # the AWS SDK warns about Node 20 on every start

# ------------------------------------------------------------------ restic
HAVE_RESTIC=1
if ! have restic; then
  if [ "$(id -u)" = 0 ] && [ "${BENCH_NO_INSTALL:-0}" != 1 ] && have apt-get; then
    echo "remote: installing restic (apt-get; log: $PBENCH_ROOT/apt.log)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic; } > "$PBENCH_ROOT/apt.log" 2>&1 || true
  fi
  have restic || { HAVE_RESTIC=0; echo "remote: restic is missing (apt-get install restic): prism only" >&2; }
fi

# ------------------------------------------------------------------ prism
PRISM_CMD_SET=${PRISM_CMD:+1}
export PRISM_CMD=${PRISM_CMD:-$ROOT/bin/prism.js}
prism_loads() {
  local t=$PBENCH_ROOT/.preflight-remote-$$
  PRISM_HOME=$t/home PRISM_BACKUP_PATH=$t/repo $PRISM_CMD backup policy --json > "$PBENCH_ROOT/preflight-remote.log" 2>&1
}
case ${BENCH_BUILD:-auto} in
  always) (cd "$ROOT" && npm run --silent build) >&2 ;;
  never) ;;
  auto) if [ -z "${PRISM_CMD_SET:-}" ] && { [ ! -f "$ROOT/dist/cli/main.js" ] || ! prism_loads; }; then
          echo "remote: building prism (npm run build in $ROOT)" >&2; (cd "$ROOT" && npm run --silent build) >&2 || true
        fi ;;
  *) die "BENCH_BUILD must be auto, always or never" ;;
esac
prism_loads || { sed 's/^/  | /' "$PBENCH_ROOT/preflight-remote.log" | head -8 >&2; die "'$PRISM_CMD backup policy' fails; fix the build (npm run build)"; }
HAS_INIT_ENCRYPT=0
$PRISM_CMD init --help 2>/dev/null | grep -q -- '--encrypt' && HAS_INIT_ENCRYPT=1
export HAS_INIT_ENCRYPT

# ------------------------------------------------------------------ servers
ENDPOINTS=$SERVERS_DIR/endpoints.json
want=(); has_backend s3 && want+=(s3); has_backend sftp && want+=(sftp)
if [ -f "$ROOT/scripts/servers.mjs" ]; then
  echo "remote: starting the test servers (node scripts/servers.mjs start ${want[*]})" >&2
  node "$ROOT/scripts/servers.mjs" start "${want[@]}" >&2 || die "the test servers did not start (see above; node scripts/servers.mjs status)"
fi
[ -f "$ENDPOINTS" ] || die "$ENDPOINTS is missing: start the servers with 'node scripts/servers.mjs start ${want[*]}'"
endpoint() { node -e 'const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = process.argv[2].split(".").reduce((o, k) => o?.[k], e); if (v === undefined) process.exit(1); console.log(v)' "$ENDPOINTS" "$1"; }

COUNT=0 COUNT_NOTE="not counted"
if has_backend s3; then
  S3_ENDPOINT=$(endpoint s3.endpoint) || die "$ENDPOINTS has no s3 server: node scripts/servers.mjs start s3"
  RGW_CONF=$(endpoint s3.adminCommand | sed -n 's/.*-c \([^ ]*\).*/\1/p')
  [ -f "$RGW_CONF" ] || die "the gateway's ceph.conf ($RGW_CONF, from s3.adminCommand in $ENDPOINTS) is missing"
  # the benchmark's own S3 user: its usage log holds only the benchmark's requests
  export BENCH_UID=prism-bench S3_ENDPOINT AWS_REGION=$(endpoint s3.region) AWS_EC2_METADATA_DISABLED=true
  export AWS_ACCESS_KEY_ID=prism-bench AWS_SECRET_ACCESS_KEY=prism-bench-secret-0123456789abcdef
  if ! radosgw-admin -c "$RGW_CONF" user info --uid "$BENCH_UID" > /dev/null 2>&1; then
    radosgw-admin -c "$RGW_CONF" user create --uid "$BENCH_UID" --display-name "prism benchmarks" \
      --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" > /dev/null || die "could not create the S3 user $BENCH_UID"
  fi
  # the usage log: scripts/servers/ceph-rgw.sh turns it on; a gateway started before that gets it
  # at run time through its admin socket (the gateway reads these settings per request / per tick)
  ASOK=$(ceph-conf -c "$RGW_CONF" -n client.rgw.a --show-config-value admin_socket 2>/dev/null || true)
  usage_conf() { ceph --admin-daemon "$ASOK" config get "$1" 2>/dev/null | node -e 'process.stdout.write(String(Object.values(JSON.parse(require("fs").readFileSync(0, "utf8")))[0]))'; }
  if [ ! -S "$ASOK" ]; then
    echo "remote: warning: no admin socket for the gateway ($ASOK): its usage log is as configured" >&2
  elif [ "$(usage_conf rgw_enable_usage_log)" != true ] || [ "$(usage_conf rgw_usage_log_tick_interval)" != 1 ] ||
       [ "$(usage_conf rgw_usage_log_flush_threshold)" != 1 ]; then
    echo "remote: turning on the gateway's usage log (admin socket $ASOK)" >&2
    for kv in "rgw_enable_usage_log true" "rgw_usage_log_tick_interval 1" "rgw_usage_log_flush_threshold 1"; do
      ceph --admin-daemon "$ASOK" config set $kv > /dev/null 2>&1 || true
    done
  fi
  usage_now() { $NODE "$BENCH_DIR/rgw-usage.mjs" read "$RGW_CONF" "$BENCH_UID"; }
  # the usage log is flushed every second: read until two readings 1.1 s apart agree
  usage_settled() {
    local a b i
    sleep 1.1; a=$(usage_now)
    for i in $(seq 1 20); do
      sleep 1.1; b=$(usage_now)
      if [ "$a" = "$b" ]; then echo "$b"; return 0; fi
      a=$b
    done
    echo "remote: warning: the usage log kept moving for 22 s" >&2; echo "$b"
  }
  # check the counting: 10 PutObject and 10 HeadObject answered 404 must count 20
  cb=pbench-count-$(date -u +%Y%m%d%H%M%S)-$$
  if $NODE "$BENCH_DIR/s3-bucket.mjs" create "$cb" && u0=$(usage_settled) &&
     $NODE "$BENCH_DIR/s3-bucket.mjs" probe "$cb" 10 && u1=$(usage_settled); then
    got=$($NODE "$BENCH_DIR/rgw-usage.mjs" diff "$u0" "$u1")
    if [ "$got" = $'20\tget_obj:10,put_obj:10' ]; then
      COUNT=1 COUNT_NOTE="Ceph RGW usage log of the user $BENCH_UID (radosgw-admin usage show, every bucket including \"-\", where 404 answers go); check: 10 PutObject + 10 HeadObject answered 404 counted $(cut -f1 <<< "$got")"
    else
      COUNT_NOTE="not counted: the usage log counted '${got//$'\t'/ }' for 10 PutObject + 10 HeadObject answered 404 (expected 20: get_obj:10,put_obj:10)"
    fi
  else
    COUNT_NOTE="not counted: the counting check could not run"
  fi
  $NODE "$BENCH_DIR/s3-bucket.mjs" delete "$cb" > /dev/null 2>&1 || true
  echo "remote: requests: $COUNT_NOTE" >&2
  [ "$COUNT" = 1 ] || echo "remote: warning: requests are not counted (see above)" >&2
fi
if has_backend sftp; then
  SFTP_HOST=$(endpoint sftp.host) SFTP_PORT=$(endpoint sftp.port) SFTP_USER=$(endpoint sftp.user) || die "$ENDPOINTS has no sftp server: node scripts/servers.mjs start sftp"
  SFTP_HOME=$(endpoint sftp.home)
  export PRISM_SFTP_KEY=$(endpoint sftp.keyFile) PRISM_SFTP_KNOWN_HOSTS=$(endpoint sftp.knownHostsFile)
  SSH_OPTS="-i $PRISM_SFTP_KEY -o UserKnownHostsFile=$PRISM_SFTP_KNOWN_HOSTS -o StrictHostKeyChecking=yes -o BatchMode=yes"
  export RESTIC_SFTP_COMMAND="ssh -p $SFTP_PORT $SSH_OPTS $SFTP_USER@$SFTP_HOST -s sftp"
  sftp_batch() { sftp -q -b - -P "$SFTP_PORT" $SSH_OPTS "$SFTP_USER@$SFTP_HOST" > /dev/null; }
  [ -d "$SFTP_HOME" ] || die "the SFTP user's home $SFTP_HOME is not on this machine (the repository sizes are read from it)"
fi

# ------------------------------------------------------------------ dataset, output
DATASET=$PBENCH_ROOT/data/ds-$SIZE-s$SEED
if [ ! -f "$DATASET.meta.json" ]; then
  echo "== generating $DATASET"
  node "$HARNESS/gen-dataset.mjs" --size "$SIZE" --seed "$SEED" --out "$DATASET"
fi
DSNAME=$(basename "$DATASET")
STAMP=$(date -u +%Y%m%d%H%M%S)
OUTDIR=${OUTDIR:-$PBENCH_ROOT/prism-results/${STAMP}-remote/$DSNAME}
mkdir -p "$OUTDIR/logs"
TSV=$OUTDIR/remote.tsv
[ -s "$TSV" ] || printf 'tool\tstep\twall_s\tmax_rss_kb\trepo_bytes\trequests\tuser_s\tsys_s\tcache_bytes\trc\tverify\tdataset\tdataset_bytes\trep\trequest_kinds\n' > "$TSV"

export WORK=$PBENCH_ROOT/work SRC=$PBENCH_ROOT/work/src REPO=$PBENCH_ROOT/work/repo DEST=$PBENCH_ROOT/work/restore
export EXCLUDES="logs temp" RESTIC_CACHE_DIR=$PBENCH_ROOT/work/home/.cache/restic
unset PRISM_BACKUP_VERBOSE PRISM_PASSWORD PRISM_PASSWORD_COMMAND PRISM_KDF_MINIMUM RESTIC_PASSWORD RESTIC_REPOSITORY

# same as run.sh / peers.sh: bytes backed up, and the manifest used to verify restores
included_bytes() { (cd "$1" && find . \( -path ./logs -o -path ./temp \) -prune -o -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}'); }
manifest() {
  (cd "$1" && find . \( -path ./logs -o -path ./temp \) -prune -o -type f -printf '%P\t%s\t%m\t%T@\n' | LC_ALL=C sort > "$2.meta"
   find . \( -path ./logs -o -path ./temp \) -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum > "$2.sha")
}
fsub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.6f\n", a - b}'; }
DSBYTES=$(included_bytes "$DATASET")

# ------------------------------------------------------------------ hooks
# run as `bash -eo pipefail -c HOOK`; PRISM_BACKUP_PATH / RESTIC_REPOSITORY name the repository
prism_enc_init()   { if [ "$HAS_INIT_ENCRYPT" = 1 ]; then $PRISM_CMD init --encrypt; fi; }
prism_backup()     { $PRISM_CMD backup create --type "$1" --no-progress; }
prism_restore()    { $PRISM_CMD backup restore "$RESTORE_ID" --target "$DEST" --confirm --no-safety-backup; }
restic_()          { if [ -n "${RESTIC_SFTP:-}" ]; then restic -o sftp.command="$RESTIC_SFTP_COMMAND" "$@"; else restic "$@"; fi; }
restic_init()      { restic_ init -q --repository-version 2; }
restic_backup()    { cd "$SRC"; restic_ backup -q --compression auto $(for d in $EXCLUDES; do echo "--exclude=$SRC/$d"; done) .; }
restic_restore()   { restic_ restore latest -q --target "$DEST"; }
export -f prism_enc_init prism_backup prism_restore restic_ restic_init restic_backup restic_restore

# ------------------------------------------------------------------ steps
BAD=0
repo_bytes() {
  case $BACKEND in
    s3) $NODE "$BENCH_DIR/s3-bucket.mjs" size "$BUCKET" 2>/dev/null | cut -f1 || echo 0 ;;
    sftp) find "$SFTP_DIR" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END{printf "%.0f\n", s}' ;;
    local) du -sb "$REPO" 2>/dev/null | cut -f1 || echo 0 ;;
  esac
}
# run_step STEP HOOK: appends a TSV row, with the verify column of VERIFY_OF_STEP (restore)
run_step() {
  local step=$1 hook=$2 tf=$WORK/time.txt log=$OUTDIR/logs/remote.$TOOL.$1.rep$REP.log rc=0 t0 t1 u0= u1= req=- kinds=-
  [ "$BACKEND" = s3 ] && [ "$COUNT" = 1 ] && u0=$(usage_settled)
  sync
  t0=$EPOCHREALTIME
  # a step that hangs (e.g. a connection left open at exit) is stopped, and recorded with rc 124
  TMPDIR=$WORK/tmp /usr/bin/time -v -o "$tf" timeout -k 10 "$STEP_TIMEOUT" bash -eo pipefail -c "$hook" > "$log" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  if [ -n "$u0" ]; then u1=$(usage_settled); IFS=$'\t' read -r req kinds < <($NODE "$BENCH_DIR/rgw-usage.mjs" diff "$u0" "$u1"); fi
  local rss user sys repo cache wall verify=-
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tf")
  user=$(awk -F': ' '/User time/{print $2}' "$tf"); sys=$(awk -F': ' '/System time/{print $2}' "$tf")
  repo=$(repo_bytes); repo=${repo:-0}
  cache=$(du -sb "$WORK/home" 2>/dev/null | cut -f1 || true)
  wall=$(printf '%.3f' "$(fsub "$t1" "$t0")")
  if [ "$step" = restore ]; then
    verify=FAIL
    if [ $rc = 0 ]; then
      manifest "$DEST" "$WORK/got"
      if cmp -s "$WORK/expected.meta" "$WORK/got.meta" && cmp -s "$WORK/expected.sha" "$WORK/got.sha"; then verify=ok
      else diff "$WORK/expected.meta" "$WORK/got.meta" | head -5 | sed 's/^/    | /' || true; fi
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$TOOL" "$step" "$wall" "$rss" "$repo" "$req" "$user" "$sys" "${cache:-0}" "$rc" "$verify" "$DSNAME" "$DSBYTES" "$REP" "$kinds" >> "$TSV"
  printf '  %-16s %-8s wall=%8ss rss=%7d kB repo=%11s requests=%6s rc=%s%s\n' "$TOOL" "$step" "$wall" "$rss" "$repo" "$req" "$rc" "$([ "$step" = restore ] && echo " verify=$verify")"
  [ "$kinds" = - ] || echo "      requests: $kinds"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "    !! $TOOL $step did not end within $STEP_TIMEOUT s (PBENCH_STEP_TIMEOUT) and was stopped, see $log:"; tail -5 "$log" | sed 's/^/    | /'
  elif [ "$rc" != 0 ]; then echo "    !! $TOOL $step failed (rc=$rc), see $log:"; tail -5 "$log" | sed 's/^/    | /'; fi
  if [[ $TOOL == prism* ]] && { [ "$rc" != 0 ] || [ "$verify" = FAIL ]; }; then BAD=1; fi
  LAST_RC=$rc
}

enable_encryption() {  # encryption on in the copied PRISM_HOME's config/backup.json (other keys kept)
  mkdir -p "$SRC/config"
  node -e '
    const fs = require("fs"), f = process.argv[1];
    const c = fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, "utf8")) : {};
    ((c.backup ??= {}).encryption ??= {}).enabled = true;
    fs.writeFileSync(f, JSON.stringify(c, null, 2) + "\n");' "$SRC/config/backup.json"
}
discard_work() { trash "$SRC" "$REPO" "$DEST" "$WORK/home" "$WORK/tmp" "$WORK/secrets"; rm -f "$WORK"/expected.* "$WORK"/got.* "$WORK/time.txt"; }

# the bucket or SFTP directory of the tool running (LEFT), removed after it and on any exit
LEFT=
remove_left() {
  case $LEFT in
    '') ;;
    /*) trash "$LEFT" ;;   # a rename: freeing inodes now would slow the next steps (lib.sh)
    *) $NODE "$BENCH_DIR/s3-bucket.mjs" delete "$LEFT" || echo "    (could not delete the bucket $LEFT)" ;;
  esac
  LEFT=
}
trap '[ "$KEEP" = 1 ] || remove_left' EXIT
trap 'exit 130' INT TERM

# run_tool TOOL: TOOL = prism[-enc]-{local,s3,sftp} or restic-{s3,sftp}
run_tool() {
  TOOL=$1 BACKEND=${1##*-}
  local kind=${1%-*} i
  mkdir -p "$WORK"
  for REP in $(seq 1 "$REPS"); do
    echo "== rep $REP / $TOOL"
    discard_work; maybe_purge
    mkdir -p "$WORK/home" "$WORK/tmp"
    mkdir -m 700 "$WORK/secrets"
    (umask 077; printf 'pbench-password\n' > "$WORK/secrets/password")
    cp -a "$DATASET" "$SRC"
    local loc
    case $BACKEND in
      local) loc=$REPO ;;
      s3)
        BUCKET=pbench-$TOOL-$STAMP-$REP
        $NODE "$BENCH_DIR/s3-bucket.mjs" create "$BUCKET" || { echo "    !! could not create the bucket $BUCKET"; BAD=1; return; }
        LEFT=$BUCKET
        loc=s3:$S3_ENDPOINT/$BUCKET/repo ;;   # the same spelling for prism and restic
      sftp)
        SFTP_DIR=$SFTP_HOME/pbench-$TOOL-$STAMP-$REP
        echo "mkdir $SFTP_DIR" | sftp_batch || { echo "    !! could not create $SFTP_DIR over SFTP"; BAD=1; return; }
        LEFT=$SFTP_DIR
        if [ "$kind" = restic ]; then loc=sftp:$SFTP_USER@$SFTP_HOST:$SFTP_DIR
        else loc=sftp://$SFTP_USER@$SFTP_HOST:$SFTP_PORT$SFTP_DIR; fi ;;
    esac
    echo "  repository: $loc"
    unset PRISM_PASSWORD_FILE RESTIC_PASSWORD_FILE RESTIC_REPOSITORY PRISM_BACKUP_PATH RESTIC_SFTP
    local init backup restore
    case $kind in
      prism | prism-enc)
        export PRISM_HOME=$SRC PRISM_BACKUP_PATH=$loc
        init=   # the first backup creates the repository: no init step
        if [ "$kind" = prism-enc ]; then enable_encryption; export PRISM_PASSWORD_FILE=$WORK/secrets/password; init=prism_enc_init; fi
        backup="prism_backup full" restore=prism_restore ;;
      restic)
        export RESTIC_REPOSITORY=$loc RESTIC_PASSWORD_FILE=$WORK/secrets/password
        [ "$BACKEND" = sftp ] && export RESTIC_SFTP=1
        init=restic_init backup=restic_backup restore=restic_restore ;;
    esac
    settle
    [ -z "$init" ] || run_step init "$init"
    run_step full "$backup"
    run_step noop "${backup/full/incremental}"
    if [ "$BACKEND" != local ]; then
      if [ "$kind" != restic ]; then
        $PRISM_CMD backup list --json > "$OUTDIR/logs/remote.$TOOL.list.rep$REP.json" 2> "$OUTDIR/logs/remote.$TOOL.list.rep$REP.err" || true
        RESTORE_ID=$(node -e 'const l = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(String(l[0]?.id ?? ""))' < "$OUTDIR/logs/remote.$TOOL.list.rep$REP.json" 2>/dev/null || true)
        export RESTORE_ID
      fi
      manifest "$SRC" "$WORK/expected"
      mkdir -p "$DEST"
      run_step restore "$restore"
    fi
    [ "$KEEP" = 1 ] || remove_left

  done
  unset PRISM_PASSWORD_FILE RESTIC_PASSWORD_FILE RESTIC_REPOSITORY PRISM_BACKUP_PATH RESTIC_SFTP
  discard_work
}

# ------------------------------------------------------------------ run
ENC=1; [ "${BENCH_ENC:-1}" = 0 ] && ENC=0
{
  echo "date: $(date -u +%FT%TZ)"
  echo "machine: $(nproc) vCPU $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/{printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "node: $(node --version)"
  echo "prism: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), cmd: $PRISM_CMD"
  echo "restic: $([ $HAVE_RESTIC = 1 ] && restic version | head -1 || echo missing)"
  if has_backend s3; then
    echo "s3: Ceph RADOS Gateway $(radosgw --version 2>/dev/null | awk '{print $3}') at $S3_ENDPOINT (memstore OSD, loopback)"
    echo "requests: $COUNT_NOTE"
  fi
  has_backend sftp && echo "sftp: $(ssh -V 2>&1 | cut -d, -f1) sshd at $SFTP_HOST:$SFTP_PORT (internal-sftp, loopback), user $SFTP_USER"
  echo "dataset: $DATASET ($DSBYTES included bytes, $(cd "$DATASET" && find . \( -path ./logs -o -path ./temp \) -prune -o -type f -print | wc -l) files)"
  echo "reps: $REPS"
  echo "load-start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUTDIR/remote-env.txt"

echo "# remote stores on $DSNAME ($DSBYTES bytes included): ${BACKENDS}; reps: $REPS; results: $TSV"
TOOLS=(prism-local); [ $ENC = 1 ] && TOOLS+=(prism-enc-local)
for b in s3 sftp; do
  has_backend $b || continue
  TOOLS+=(prism-$b); [ $ENC = 1 ] && TOOLS+=(prism-enc-$b)
  [ $HAVE_RESTIC = 1 ] && TOOLS+=(restic-$b)
done
for t in "${TOOLS[@]}"; do run_tool "$t"; done

echo "load-end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUTDIR/remote-env.txt"
node "$BENCH_DIR/summarize-remote.mjs" "$OUTDIR" > "$OUTDIR/remote-summary.md"
[ "$QUIET" = 1 ] || { echo; cat "$OUTDIR/remote-summary.md"; }
echo "remote summary: $OUTDIR/remote-summary.md"
exit $BAD
