#!/usr/bin/env bash
# bench/run.sh — benchmark prism against peer backup tools (restic, borg, tar+zstd)
# on the synthetic gateway datasets of the peer harness in bench/harness.
#
#   bash bench/run.sh [-n REPS] [-p "PEER ..."] [-s SEED] [-o OUTROOT] [SIZE ...]
#   npm run bench [-- OPTIONS SIZE ...]
#
#   SIZE        dataset size(s) for gen-dataset.mjs, e.g. 50M 500M 2G
#               (default: $BENCH_SIZES, else "50M 500M"), or files<COUNT> for the "many
#               small files" data set: COUNT hot JSON docs of 1-4 KiB (+ config/), <= 1,000
#               per directory, e.g. files20k, files1M (k = 1,000, M = 1,000,000; files1M is
#               ~2.1 GiB in 1,000,000 files and takes minutes per step and to generate)
#   -n REPS     repetitions per tool (default $BENCH_REPS, else 1; medians reported)
#   -p PEERS    peers to run, space separated (default $BENCH_PEERS, else
#               "restic borg-zstd3 tar-zstd3"; those whose binaries are missing are
#               dropped; "" or "none" = prism only). Any peer of peers.sh works.
#   -s SEED     dataset / mutation seed (default $BENCH_SEED, else 1)
#   -o OUTROOT  results root (default $PBENCH_ROOT/prism-results)
#   -h          this help
#
# Environment: PBENCH_ROOT (default /tmp/pbench: datasets, work dirs, trash, results),
#   PBENCH_SETTLE / PBENCH_MIN_FREE (see lib.sh), PRISM_BACKUP_CONCURRENCY (passed to
#   prism only if you set it), PRISM_CMD (prism command, default "<repo>/bin/prism.js", as installed),
#   BENCH_BUILD=auto|always|never (auto: build dist/ only when it is missing or
#   broken), BENCH_NO_INSTALL=1 (never apt-get install), PBENCH_HARNESS (peer harness,
#   default bench/harness), BENCH_ENC=0 (skip the encrypted prism-enc run), BENCH_OPEN=0
#   (skip the open1/open20 steps of prism-enc and restic), BENCH_REMOTE=0 (skip step 5).
#
# Per dataset ($PBENCH_ROOT/data/ds-<SIZE>-s<SEED>, e.g. ds-files1M-s1, generated if missing):
#   1. prism, on a fresh `cp -a` of the dataset used as PRISM_HOME, with the procedure of
#      peers.sh: init (no-op: the first backup creates the repository), full, noop,
#      mutate-dataset.mjs (untimed), incr, restore (+ untimed manifest verification),
#      check. restore / check run only when `prism backup restore|verify` exist;
#      otherwise they are listed in skipped.tsv. Every step: `sync` before, then
#      /usr/bin/time -v around `bash -eo pipefail -c HOOK`, wall time from $EPOCHREALTIME.
#   2. prism-enc: the same steps on an encrypted repository (config/backup.json of the copied
#      PRISM_HOME gets backup.encryption.enabled; the password is a 0600 file named by
#      PRISM_PASSWORD_FILE; real calibrated scrypt parameters, as restic's). Its init step is
#      `prism init --encrypt` when the CLI has it, else a no-op (the full backup then also
#      creates the repository and its first key). Then the open steps: `prism backup list`
#      timed with 1 key file (open1) and, after 19 more keys (bench/add-keys.mjs, untimed),
#      with 20 (open20), the password matching the key file prism tries last.
#   3. the peers, via bench/harness/peers.sh, into the same results.tsv (restic also gets
#      open1/open20: `restic snapshots`, 19 keys from `restic key add`, see peers.sh).
#   4. summary.md: wall time per step with peer/prism ratios, prism-enc beside prism and the
#      peers (restic/prism-enc, prism-enc/prism), repository size, peak RSS, open times.
#   5. unless BENCH_REMOTE=0: bench/remote.sh on the same dataset (prism, prism-enc and restic
#      with the repository on the S3 and SFTP test servers: wall time, requests, peak RSS,
#      repository bytes; BENCH_REMOTE_BACKENDS="s3 sftp" picks the stores), its section
#      appended to summary.md.
# Output: OUTROOT/<UTC timestamp>/<dataset>/{results.tsv,skipped.tsv,summary.md,
#   peers-summary.md,medians.tsv,env.txt,env-prism.txt,remote.tsv,remote-summary.md,
#   remote-env.txt,logs/} and OUTROOT/<timestamp>/summary.md.
# Exit status 1 if a prism step failed or a prism restore did not verify (on remote stores
# too), or if bench/remote.sh could not run (its servers missing: BENCH_REMOTE=0 skips it).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
HARNESS=${PBENCH_HARNESS:-$BENCH_DIR/harness}
export PBENCH_ROOT=${PBENCH_ROOT:-/tmp/pbench}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "bench: $*" >&2; exit 2; }
SHORT_USAGE='usage: bash bench/run.sh [-n REPS] [-p "PEER ..."] [-s SEED] [-o OUTROOT] [SIZE|filesCOUNT ...]   (-h: help)'

# ------------------------------------------------------------------ arguments
REPS=${BENCH_REPS:-1} SEED=${BENCH_SEED:-1} OUTROOT=$PBENCH_ROOT/prism-results
DEFAULT_PEERS="restic borg-zstd3 tar-zstd3"
if [ -n "${BENCH_PEERS+x}" ]; then PEERS_REQ=$BENCH_PEERS; else PEERS_REQ=$DEFAULT_PEERS; fi
while getopts "n:p:s:o:h" opt; do
  case $opt in
    n) REPS=$OPTARG ;; p) PEERS_REQ=$OPTARG ;; s) SEED=$OPTARG ;; o) OUTROOT=$OPTARG ;;
    h) usage; exit 0 ;;
    *) echo "$SHORT_USAGE" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -gt 0 ]; then SIZES=("$@"); else read -r -a SIZES <<< "${BENCH_SIZES:-50M 500M}"; fi
[ ${#SIZES[@]} -gt 0 ] || die "no dataset size given (try: bash bench/run.sh 50M)"
for s in "${SIZES[@]}"; do
  [[ $s =~ ^[0-9]+(\.[0-9]+)?[kKmMgGtT]?$ || $s =~ ^files[0-9]+(\.[0-9]+)?[kKmM]?$ ]] || { echo "$SHORT_USAGE" >&2; die "bad size '$s' (expected e.g. 50M, 500M, 2G, or files20k, files1M)"; }
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "-n REPS must be a positive integer, got '$REPS'"
[[ $SEED =~ ^[0-9]+$ ]] || die "-s SEED must be a non-negative integer, got '$SEED'"
[ "$PEERS_REQ" = none ] && PEERS_REQ=
for f in peers.sh lib.sh gen-dataset.mjs mutate-dataset.mjs; do
  [ -f "$HARNESS/$f" ] || die "peer harness not found: $HARNESS/$f (set PBENCH_HARNESS)"
done
command -v node >/dev/null || die "node is not on PATH"

mkdir -p "$PBENCH_ROOT"
# trash / maybe_purge / settle (deferred deletion, see lib.sh)
source "$HARNESS/lib.sh"

# ------------------------------------------------------------------ tools
# binaries each peer needs (peers.sh itself needs bc and /usr/bin/time)
peer_bins() {
  case $1 in
    restic*) echo restic ;; borg*) echo borg ;;
    tar-zstd*) echo "tar zstd" ;; tar-gzip) echo "tar gzip" ;; tar-pigz) echo "tar pigz" ;;
    *) echo "" ;;
  esac
}
have() { if [ "${1:0:1}" = / ]; then [ -x "$1" ]; else command -v "$1" >/dev/null 2>&1; fi; }
missing_bins() {
  local b p; for b in /usr/bin/time bc; do have "$b" || echo "$b"; done
  for p in $PEERS_REQ; do for b in $(peer_bins "$p"); do have "$b" || echo "$b"; done; done
}
if [ -n "$(missing_bins)" ]; then
  echo "bench: missing: $(missing_bins | sort -u | tr '\n' ' ')" >&2
  if [ "$(id -u)" = 0 ] && [ "${BENCH_NO_INSTALL:-0}" != 1 ] && have apt-get; then
    echo "bench: installing restic borgbackup zstd pigz time bc (apt-get; log: $PBENCH_ROOT/apt.log)" >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic borgbackup zstd pigz time bc; } > "$PBENCH_ROOT/apt.log" 2>&1; then
      echo "bench: apt-get failed (carrying on with what is installed):" >&2; tail -3 "$PBENCH_ROOT/apt.log" | sed 's/^/  | /' >&2
    fi
  else
    echo "bench: not installing (not root, BENCH_NO_INSTALL=1 or no apt-get); carrying on with what is installed" >&2
  fi
fi
have /usr/bin/time || die "/usr/bin/time (GNU time) is required: apt-get install time"
PEERS=
if [ -n "$PEERS_REQ" ] && ! have bc; then
  echo "bench: bc is missing, which peers.sh needs: running prism only" >&2
else
  for p in $PEERS_REQ; do
    if ! grep -qE "^${p//-/_}_backup\(\)" "$HARNESS/peers.sh"; then echo "bench: unknown peer '$p' (not defined in peers.sh), skipped" >&2; continue; fi
    ok=1; for b in $(peer_bins "$p"); do have "$b" || ok=0; done
    if [ $ok = 1 ]; then PEERS+="${PEERS:+ }$p"; else echo "bench: peer $p unavailable (needs: $(peer_bins "$p")), skipped" >&2; fi
  done
fi

# ------------------------------------------------------------------ prism build
PRISM_CMD_SET=${PRISM_CMD:+1}
PRISM_CMD=${PRISM_CMD:-$ROOT/bin/prism.js}
export PRISM_CMD
prism_loads() {  # the CLI runs a command end to end (it reads the config and needs no repository)
  local t=$PBENCH_ROOT/.preflight-$$
  PRISM_HOME=$t/home PRISM_BACKUP_PATH=$t/repo $PRISM_CMD backup policy --json > "$PBENCH_ROOT/preflight.log" 2>&1
}
build_dist() {
  [ -x "$ROOT/node_modules/.bin/tsc" ] || die "$ROOT/node_modules is missing: run 'npm ci' in $ROOT"
  echo "bench: building prism (npm run build in $ROOT: tsc, wasm, bundle)" >&2
  (cd "$ROOT" && npm run --silent build) >&2 || echo "bench: the build reported errors (see above)" >&2
}
case ${BENCH_BUILD:-auto} in
  always) build_dist ;;
  never) ;;
  auto) if [ -z "${PRISM_CMD_SET:-}" ] && { [ ! -f "$ROOT/dist/cli/main.js" ] || ! prism_loads; }; then build_dist; fi ;;
  *) die "BENCH_BUILD must be auto, always or never" ;;
esac
prism_loads || { sed 's/^/  | /' "$PBENCH_ROOT/preflight.log" | head -8 >&2; die "'$PRISM_CMD backup policy' fails; fix the build (npm ci / npm run build)"; }
STALE=
if [ -f "$ROOT/dist/cli/main.js" ] && [ -n "$(find "$ROOT/src" -name '*.ts' -newer "$ROOT/dist/cli/main.js" -print -quit 2>/dev/null)" ]; then
  STALE="dist/ is older than some src/*.ts (benchmarking the existing build; BENCH_BUILD=always recompiles)"
  echo "bench: warning: $STALE" >&2
fi
# the CLI's help for an unknown subcommand is the parent's help (exit 0), so check
# that the usage line really names the subcommand
has_subcommand() {
  local out; out=$($PRISM_CMD backup "$1" --help 2>&1) || return 1
  [[ $(head -1 <<< "$out") == "Usage: prism backup $1"* ]]
}
HAS_RESTORE=0 HAS_VERIFY=0
has_subcommand restore && HAS_RESTORE=1
has_subcommand verify && HAS_VERIFY=1
# `prism init --encrypt` creates the encrypted repository before the first backup (as `restic init`)
HAS_INIT_ENCRYPT=0
$PRISM_CMD init --help 2>/dev/null | grep -q -- '--encrypt' && HAS_INIT_ENCRYPT=1
export HAS_INIT_ENCRYPT

# ------------------------------------------------------------------ prism run
export WORK=$PBENCH_ROOT/work SRC=$PBENCH_ROOT/work/src REPO=$PBENCH_ROOT/work/repo DEST=$PBENCH_ROOT/work/restore
export PRISM_HOME=$SRC PRISM_BACKUP_PATH=$REPO
unset PRISM_BACKUP_VERBOSE
# hooks, run as `bash -eo pipefail -c HOOK` (like the peers' hooks)
prism_init()    { :; }   # the first backup creates the repository
prism_backup()  { $PRISM_CMD backup create --type "$1" --no-progress; }
prism_restore() { $PRISM_CMD backup restore "$RESTORE_ID" --target "$DEST" --confirm --no-safety-backup; }
prism_check()   { $PRISM_CMD backup verify --all; }
# prism-enc: the same on an encrypted repository; its password from PRISM_PASSWORD_FILE
prism_enc_init() { if [ "$HAS_INIT_ENCRYPT" = 1 ]; then $PRISM_CMD init --encrypt; fi; }
prism_enc_open() { $PRISM_CMD backup list > /dev/null; }   # key derivation + a cheap command
export -f prism_init prism_backup prism_restore prism_check prism_enc_init prism_enc_open

# same as peers.sh: bytes backed up, and the manifest used to verify restores
included_bytes() { (cd "$1" && find . \( -path ./logs -o -path ./temp \) -prune -o -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}'); }
manifest() {
  (cd "$1" && find . \( -path ./logs -o -path ./temp \) -prune -o -type f -printf '%P\t%s\t%m\t%T@\n' | LC_ALL=C sort > "$2.meta"
   find . \( -path ./logs -o -path ./temp \) -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum > "$2.sha")
}
fsub() { if have bc; then bc <<< "$1 - $2"; else awk -v a="$1" -v b="$2" 'BEGIN{printf "%.6f\n", a - b}'; fi; }

PRISM_BAD=0
# run_step STEP HOOK: timed like peers.sh run_step; appends a TSV row unless DEFER=1
# (then the row is left in ROW_A / ROW_B for the caller to add the verify column)
run_step() {
  local step=$1 hook=$2 tf=$WORK/time.txt log=$OUTDIR/logs/$TOOL.$1.rep$REP.log rc=0 t0 t1 s0 s1 wall
  sync
  t0=$EPOCHREALTIME
  TMPDIR=$WORK/tmp /usr/bin/time -v -o "$tf" bash -eo pipefail -c "$hook" > "$log" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  s0=$EPOCHREALTIME; sync; s1=$EPOCHREALTIME
  local rss user sys repo cache
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tf")
  user=$(awk -F': ' '/User time/{print $2}' "$tf"); sys=$(awk -F': ' '/System time/{print $2}' "$tf")
  repo=$(du -sb "$REPO" 2>/dev/null | cut -f1 || true); repo=${repo:-0}   # no repo before the first backup
  cache=$(du -sb "$WORK/home" 2>/dev/null | cut -f1 || true)
  wall=$(printf '%.3f' "$(fsub "$t1" "$t0")")
  LAST_RC=$rc
  ROW_A=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.3f\t%s\t%s' "$TOOL" "$step" "$wall" "$rss" "$repo" "$user" "$sys" "$(fsub "$s1" "$s0")" "$cache" "$rc")
  ROW_B=$(printf '%s\t%s\t%s' "$DSNAME" "$DSBYTES" "$REP")
  [ "${DEFER:-0}" = 1 ] || printf '%s\t-\t%s\n' "$ROW_A" "$ROW_B" >> "$TSV"
  printf '  %-18s %-8s wall=%8ss rss=%7d kB repo=%12s rc=%s\n' "$TOOL" "$step" "$wall" "$rss" "$repo" "$rc"
  if [ "$rc" != 0 ]; then
    PRISM_BAD=1
    echo "    !! $TOOL $step failed (rc=$rc), see $log:"; tail -5 "$log" | sed 's/^/    | /'
  fi
}
skip_step() {  # STEP REASON
  printf '%s\t%s\t%s\t%s\t%s\n' "$TOOL" "$1" "$2" "$DSNAME" "$REP" >> "$OUTDIR/skipped.tsv"
  printf '  %-18s %-8s skipped (%s)\n' "$TOOL" "$1" "$2"
}
discard_work() { trash "$SRC" "$REPO" "$DEST" "$WORK/home" "$WORK/tmp" "$WORK/secrets"; rm -f "$WORK"/expected.* "$WORK"/got.* "$WORK/time.txt"; }

# encryption on in the copied PRISM_HOME's config/backup.json (other keys kept)
enable_encryption() {
  node -e '
    const fs = require("fs"), f = process.argv[1];
    const c = fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, "utf8")) : {};
    ((c.backup ??= {}).encryption ??= {}).enabled = true;
    fs.writeFileSync(f, JSON.stringify(c, null, 2) + "\n");' "$SRC/config/backup.json"
}

# run_prism TOOL: prism (unencrypted) or prism-enc (encrypted repository)
run_prism() {
  TOOL=$1
  local enc=0; [ "$TOOL" = prism-enc ] && enc=1
  echo "# $TOOL on $DSNAME: $DSBYTES bytes included; reps: $REPS; results: $TSV"
  mkdir -p "$WORK"
  for REP in $(seq 1 "$REPS"); do
    echo "== rep $REP / $TOOL"
    discard_work; maybe_purge
    mkdir -p "$WORK/home" "$WORK/tmp"
    cp -a "$DATASET" "$SRC"
    if [ $enc = 1 ]; then
      mkdir -p "$SRC/config" && enable_encryption
      mkdir -m 700 "$WORK/secrets"
      (umask 077; printf 'pbench-password\n' > "$WORK/secrets/password")
      export PRISM_PASSWORD_FILE=$WORK/secrets/password
    else
      unset PRISM_PASSWORD_FILE
    fi
    unset PRISM_PASSWORD PRISM_PASSWORD_COMMAND PRISM_KDF_MINIMUM
    settle
    if [ $enc = 1 ]; then run_step init prism_enc_init; else run_step init prism_init; fi
    run_step full "prism_backup full"
    run_step noop "prism_backup incremental"
    node "$HARNESS/mutate-dataset.mjs" --dir "$SRC" --seed "$SEED" --round 1 > "$OUTDIR/logs/mutate.$TOOL.rep$REP.json"
    run_step incr "prism_backup incremental"
    $PRISM_CMD backup list --json > "$OUTDIR/logs/$TOOL.list.rep$REP.json" 2>&1 || true
    if [ $HAS_RESTORE = 1 ]; then
      # the id of the newest backup is looked up untimed (restic/tar need no id)
      RESTORE_ID=$(node -e 'const l = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(String(l[0]?.id ?? ""))' < "$OUTDIR/logs/$TOOL.list.rep$REP.json" 2>/dev/null || true)
      export RESTORE_ID
      manifest "$SRC" "$WORK/expected"
      mkdir -p "$DEST"
      DEFER=1 run_step restore prism_restore
      VERIFY=FAIL
      if [ "$LAST_RC" = 0 ]; then
        manifest "$DEST" "$WORK/got"
        if cmp -s "$WORK/expected.meta" "$WORK/got.meta" && cmp -s "$WORK/expected.sha" "$WORK/got.sha"; then VERIFY=ok
        else diff "$WORK/expected.meta" "$WORK/got.meta" | head -5 | sed 's/^/    | /' || true; fi
      fi
      [ $VERIFY = ok ] || PRISM_BAD=1
      printf '%s\t%s\t%s\n' "$ROW_A" "$VERIFY" "$ROW_B" >> "$TSV"
      echo "  restore verify: $VERIFY"
    else
      skip_step restore "no 'prism backup restore' command"
    fi
    if [ $HAS_VERIFY = 1 ]; then run_step check prism_check
    else skip_step check "no 'prism backup verify' command"; fi
    $PRISM_CMD backup stats --json > "$OUTDIR/logs/$TOOL.stats.rep$REP.json" 2>&1 || true
    if [ $enc = 1 ]; then
      KDF_PRISM=$(node -e 'const fs = require("fs"), d = process.argv[1]; const k = JSON.parse(fs.readFileSync(d + "/" + fs.readdirSync(d)[0], "utf8")); process.stdout.write(`scrypt N=2^${Math.log2(k.N)} r=${k.r} p=${k.p}`)' "$REPO/keys" 2>/dev/null || echo '?')
      [ "${BENCH_OPEN:-1}" = 0 ] || run_open_steps
    fi
  done
  unset PRISM_PASSWORD_FILE
  discard_work
}

# open1 / open20 of prism-enc: `prism backup list` with 1 key file, then with 20, the password
# matching the key file prism tries last (bench/add-keys.mjs writes 19 keys, untimed)
run_open_steps() {
  run_step open1 prism_enc_open
  if node "$BENCH_DIR/add-keys.mjs" 19 "$WORK/secrets/last-key" > "$OUTDIR/logs/$TOOL.add-keys.rep$REP.json" 2>&1; then
    PRISM_PASSWORD_FILE=$WORK/secrets/last-key run_step open20 prism_enc_open
    echo "  open20: $(cat "$OUTDIR/logs/$TOOL.add-keys.rep$REP.json")"
  else
    echo "    !! adding 19 key files failed, see $OUTDIR/logs/$TOOL.add-keys.rep$REP.json"; PRISM_BAD=1
  fi
}

write_env() {
  local commit dirty
  commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=$(git -C "$ROOT" status --porcelain -- src package.json package-lock.json 2>/dev/null | wc -l)
  {
    echo "date: $(date -u +%FT%TZ)"
    echo "machine: $(nproc) vCPU $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/{printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    echo "fs: $(df -T "$PBENCH_ROOT" | awk 'NR==2{print $2" on "$1}')"
    echo "node: $(node --version)"
    echo "prism: $commit$([ "$dirty" = 0 ] || echo " + $dirty uncommitted change(s) in src/package files"), cmd: $PRISM_CMD"
    echo "build: dist/cli/main.js $(date -u -r "$ROOT/dist/cli/main.js" +%FT%TZ 2>/dev/null || echo '?')${STALE:+ — $STALE}"
    if [ -n "${PRISM_BACKUP_CONCURRENCY:-}" ]; then echo "concurrency: PRISM_BACKUP_CONCURRENCY=$PRISM_BACKUP_CONCURRENCY"
    else echo "concurrency: prism default (PRISM_BACKUP_CONCURRENCY not set)"; fi
    echo "restore: $([ $HAS_RESTORE = 1 ] && echo available || echo 'not available (skipped)')"
    echo "verify: $([ $HAS_VERIFY = 1 ] && echo available || echo 'not available (skipped)')"
    echo "peers: ${PEERS:-none}"
    echo "reps: $REPS"
    echo "dataset: $DATASET ($DSBYTES included bytes, $DSFILES files)"
    echo "load-start: $(cut -d' ' -f1-3 /proc/loadavg)"
  } > "$OUTDIR/env-prism.txt"
}

# ------------------------------------------------------------------ main
RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
RUN_DIR=$OUTROOT/$RUN_ID
[ ! -e "$RUN_DIR" ] || RUN_DIR=$RUN_DIR-$$
mkdir -p "$RUN_DIR"
echo "bench: sizes: ${SIZES[*]}; reps: $REPS; peers: ${PEERS:-none}; restore: $([ $HAS_RESTORE = 1 ] && echo yes || echo skipped); check: $([ $HAS_VERIFY = 1 ] && echo yes || echo skipped); results: $RUN_DIR"
SUMMARIES=()
for size in "${SIZES[@]}"; do
  DATASET=$PBENCH_ROOT/data/ds-$size-s$SEED
  if [ ! -f "$DATASET.meta.json" ]; then
    echo "== generating $DATASET"
    node "$HARNESS/gen-dataset.mjs" --size "$size" --seed "$SEED" --out "$DATASET"
  fi
  DSNAME=$(basename "$DATASET")
  OUTDIR=$RUN_DIR/$DSNAME
  TSV=$OUTDIR/results.tsv
  mkdir -p "$OUTDIR/logs"
  # header exactly as peers.sh writes it (it only writes one into an empty file)
  [ -s "$TSV" ] || printf 'tool\tstep\twall_s\tmax_rss_kb\trepo_bytes\tuser_s\tsys_s\tsync_s\tcache_bytes\trc\tverify\tdataset\tdataset_bytes\trep\n' > "$TSV"
  DSBYTES=$(included_bytes "$DATASET")
  DSFILES=$(cd "$DATASET" && find . \( -path ./logs -o -path ./temp \) -prune -o -type f -print | wc -l)
  write_env

  KDF_PRISM=
  run_prism prism
  if [ "${BENCH_ENC:-1}" != 0 ]; then
    run_prism prism-enc
    {
      echo "prism-enc: encrypted repository (backup.encryption.enabled), password from PRISM_PASSWORD_FILE; init: $([ $HAS_INIT_ENCRYPT = 1 ] && echo '`prism init --encrypt`' || echo 'none (no `prism init --encrypt`: the full backup creates the repository and its first key)')"
      echo "kdf-prism: ${KDF_PRISM:-?}"
    } >> "$OUTDIR/env-prism.txt"
  fi

  if [ -n "$PEERS" ]; then
    echo "# peers on $DSNAME: $PEERS"
    # progress lines are shown; peers.sh's own medians summary goes to peers-summary.md
    if bash "$HARNESS/peers.sh" -n "$REPS" -s "$SEED" -p "$PEERS" -o "$OUTDIR" "$DATASET" 2>&1 | tee "$OUTDIR/logs/peers.out" |
         awk '/^\(old trees are in/ { stop = 1 } !stop { print; fflush() }'; then :
    else
      echo "bench: warning: peers.sh failed (rc=$?), see $OUTDIR/logs/peers.out:" >&2; tail -5 "$OUTDIR/logs/peers.out" | sed 's/^/  | /' >&2
    fi
    # peers.sh writes its medians summary (all tools, incl. prism) to summary.md
    [ ! -f "$OUTDIR/summary.md" ] || mv "$OUTDIR/summary.md" "$OUTDIR/peers-summary.md"
  fi

  kdf=$(sed -n 's/^kdf: //p' "$OUTDIR"/logs/restic.addkeys.rep1.log 2>/dev/null | head -1 || true)
  [ -z "$kdf" ] || echo "kdf-restic: $kdf" >> "$OUTDIR/env-prism.txt"
  # other work on the machine skews timings: keep the load average next to them
  echo "load-end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUTDIR/env-prism.txt"
  node "$BENCH_DIR/summarize.mjs" "$OUTDIR" > "$OUTDIR/summary.md"
  if [ "${BENCH_REMOTE:-1}" != 0 ]; then
    echo "# remote stores on $DSNAME (bench/remote.sh; BENCH_REMOTE=0 skips this)"
    # the same prism build (PRISM_CMD is exported); -q: its summary goes into summary.md below
    rrc=0
    bash "$BENCH_DIR/remote.sh" -q -n "$REPS" -s "$SEED" -o "$OUTDIR" "$size" 2>&1 | tee "$OUTDIR/logs/remote.out" || rrc=${PIPESTATUS[0]}
    if [ "$rrc" != 0 ]; then
      PRISM_BAD=1
      if [ "$rrc" = 1 ]; then echo "bench: a prism step on a remote store failed or its restore did not verify, see $OUTDIR/logs/remote.out" >&2
      else echo "bench: warning: bench/remote.sh could not run (rc=$rrc), see $OUTDIR/logs/remote.out; BENCH_REMOTE=0 skips it" >&2; fi
    fi
    if [ -s "$OUTDIR/remote-summary.md" ]; then { echo; cat "$OUTDIR/remote-summary.md"; } >> "$OUTDIR/summary.md"; fi
  fi
  echo; cat "$OUTDIR/summary.md"
  echo "summary: $OUTDIR/summary.md"; echo
  SUMMARIES+=("$OUTDIR/summary.md")
done
if [ ${#SUMMARIES[@]} -gt 1 ]; then
  for f in "${SUMMARIES[@]}"; do cat "$f"; echo; done > "$RUN_DIR/summary.md"
  echo "combined summary: $RUN_DIR/summary.md"
else
  cp "${SUMMARIES[0]}" "$RUN_DIR/summary.md"
fi
echo "(old work trees are in $TRASH; rm -rf it when done benchmarking)"
exit $PRISM_BAD
