#!/usr/bin/env bash
# bench/copy.sh — copies of a repository to S3 (the Ceph RADOS Gateway of scripts/servers.mjs):
# `prism backup copy` against `restic copy`, both from a local repository into a fresh bucket.
#
#   bash bench/copy.sh [SIZE]          npm run bench:copy [-- SIZE]      (default SIZE 500M)
#
# For each tool (prism, prism-enc: an encrypted primary and a copy sharing its keys, prism-own: an
# encrypted primary and a copy with a key of its own, restic), on a fresh copy of the dataset:
#   untimed: a full backup into a local repository; the destination bucket (restic: `restic init
#            --from-repo --copy-chunker-params`, so that the copy deduplicates as the primary)
#   first    timed: the first copy of everything into the bucket
#   untimed: mutate-dataset.mjs (~1 % of the bytes change), an incremental backup
#   change   timed: the copy of what is new
# Columns: wall seconds, peak RSS (GNU time), bytes in the bucket after the step, bytes the step
# added to the bucket and that as a share of the bucket. Results: $PBENCH_ROOT/prism-results/
# <UTC stamp>-copy/copy.tsv and a table on stdout. Environment: PBENCH_ROOT (default /tmp/pbench).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
HARNESS=$BENCH_DIR/harness
export PBENCH_ROOT=${PBENCH_ROOT:-/tmp/pbench}
SIZE=${1:-500M}
NODE="node --no-warnings"
PRISM="node $ROOT/bin/prism.js"
die() { echo "copy: $*" >&2; exit 2; }
command -v restic >/dev/null || die "restic is missing (apt-get install restic)"
[ -x /usr/bin/time ] || die "GNU time is missing (apt-get install time)"
[ -f "$ROOT/dist/cli/main.js" ] || (cd "$ROOT" && npm run --silent build)

node "$ROOT/scripts/servers.mjs" start s3 >&2 || die "the S3 server did not start"
EP=/tmp/prism-servers/endpoints.json
get() { node -e 'const e=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(process.argv[2].split(".").reduce((o,k)=>o[k],e))' "$EP" "$1"; }
export S3_ENDPOINT=$(get s3.endpoint) AWS_REGION=$(get s3.region) AWS_ACCESS_KEY_ID=$(get s3.accessKeyId) AWS_SECRET_ACCESS_KEY=$(get s3.secretAccessKey)
export AWS_EC2_METADATA_DISABLED=true

DATASET=$PBENCH_ROOT/data/ds-$SIZE-s1
[ -f "$DATASET.meta.json" ] || node "$HARNESS/gen-dataset.mjs" --size "$SIZE" --seed 1 --out "$DATASET"
OUT=$PBENCH_ROOT/prism-results/$(date -u +%Y%m%d%H%M%S)-copy
WORK=$PBENCH_ROOT/copy-work
mkdir -p "$OUT"
TSV=$OUT/copy.tsv
printf 'tool\tstep\twall_s\tmax_rss_kb\tbucket_bytes\tadded_bytes\tadded_share\trc\n' > "$TSV"
bucket_bytes() { $NODE "$BENCH_DIR/s3-bucket.mjs" size "$1" | cut -f1; }

# step TOOL STEP BUCKET COMMAND...
step() {
  local tool=$1 name=$2 bucket=$3 before after rc=0 t0 t1
  shift 3
  before=$(bucket_bytes "$bucket")
  sync
  t0=$EPOCHREALTIME
  /usr/bin/time -v -o "$WORK/time.txt" "$@" > "$OUT/$tool.$name.log" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  after=$(bucket_bytes "$bucket")
  local rss wall added share
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$WORK/time.txt")
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
  added=$((after - before))
  share=$(awk -v a="$added" -v b="$after" 'BEGIN{printf "%.4f", b ? a/b : 0}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$name" "$wall" "$rss" "$after" "$added" "$share" "$rc" >> "$TSV"
  printf '  %-10s %-7s wall=%8ss rss=%7s kB bucket=%11s added=%11s (%s) rc=%s\n' "$tool" "$name" "$wall" "$rss" "$after" "$added" "$share" "$rc"
  [ "$rc" = 0 ] || tail -5 "$OUT/$tool.$name.log" | sed 's/^/    | /'
}

for tool in prism prism-enc prism-own restic; do
  echo "== $tool"
  rm -rf "$WORK"
  mkdir -p "$WORK"
  cp -a "$DATASET" "$WORK/src"
  printf 'pbench-password\n' > "$WORK/password"
  bucket=pbench-copy-$tool-$(date -u +%H%M%S)
  $NODE "$BENCH_DIR/s3-bucket.mjs" create "$bucket"
  dest="s3:$S3_ENDPOINT/$bucket/repo"
  export PRISM_HOME=$WORK/src PRISM_BACKUP_PATH=$WORK/repo PRISM_PASSWORD_FILE=$WORK/password PRISM_CACHE_DIR=$WORK/cache
  export RESTIC_PASSWORD_FILE=$WORK/password RESTIC_FROM_PASSWORD_FILE=$WORK/password RESTIC_CACHE_DIR=$WORK/cache
  case $tool in
    prism | prism-enc | prism-own)
      [ "$tool" = prism ] || $PRISM init --encrypt > /dev/null
      if [ "$tool" = prism-own ]; then
        printf 'pbench-copy-password\n' > "$WORK/copy-password"
        mkdir -p "$WORK/src/config"
        printf '{"backup":{"copies":[{"name":"own","repository":"%s","password_file":"%s"}]}}\n' "$dest" "$WORK/copy-password" > "$WORK/src/config/backup.json"
        dest=own
      fi
      $PRISM backup create --type full --no-progress > /dev/null
      step "$tool" first "$bucket" $PRISM backup copy --all --to "$dest" --json
      $NODE "$HARNESS/mutate-dataset.mjs" --dir "$WORK/src" --seed 1 --round 1 > /dev/null
      $PRISM backup create --type incremental --no-progress > /dev/null
      step "$tool" change "$bucket" $PRISM backup copy --all --to "$dest" --json
      ;;
    restic)
      restic -r "$WORK/repo" init -q --repository-version 2
      (cd "$WORK/src" && restic -r "$WORK/repo" backup -q --compression auto --exclude="$WORK/src/logs" --exclude="$WORK/src/temp" .)
      restic -r "$dest" init -q --repository-version 2 --from-repo "$WORK/repo" --copy-chunker-params
      step restic first "$bucket" restic -r "$dest" copy -q --from-repo "$WORK/repo"
      $NODE "$HARNESS/mutate-dataset.mjs" --dir "$WORK/src" --seed 1 --round 1 > /dev/null
      (cd "$WORK/src" && restic -r "$WORK/repo" backup -q --compression auto --exclude="$WORK/src/logs" --exclude="$WORK/src/temp" .)
      step restic change "$bucket" restic -r "$dest" copy -q --from-repo "$WORK/repo"
      ;;
  esac
  $NODE "$BENCH_DIR/s3-bucket.mjs" delete "$bucket" > /dev/null || true
done
rm -rf "$WORK"
echo "results: $TSV"
