#!/usr/bin/env bash
# bench/prune.sh — prune after deleting half of a 10-backup history, prism vs restic, one run.
#
#   bash bench/prune.sh [SIZE]          default 500M; PBENCH_ROOT (default /tmp/pbench)
#
# Both tools back up the same data set 10 times, with ~1 % of it changed before each backup
# (bench/harness/mutate-dataset.mjs rounds 1..9). Then the 5 oldest backups are removed:
# restic `forget <ids> --prune`, prism `backup delete <ids> --confirm --force` (which prunes once,
# as restic does). Timed with /usr/bin/time -v: wall time and peak RSS, repository size after.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HARNESS=$ROOT/bench/harness
SIZE=${1:-500M}
PBENCH_ROOT=${PBENCH_ROOT:-/tmp/pbench}
source "$HARNESS/lib.sh"
PRISM=${PRISM_CMD:-$ROOT/bin/prism.js}
command -v restic >/dev/null || { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq restic time >/dev/null; }
DS=$PBENCH_ROOT/data/ds-$SIZE-s1
[ -f "$DS.meta.json" ] || node "$HARNESS/gen-dataset.mjs" --size "$SIZE" --seed 1 --out "$DS" >/dev/null
W=$PBENCH_ROOT/prune-work
trash "$W"; mkdir -p "$W"
cp -a "$DS" "$W/src"
export RESTIC_PASSWORD=pbench-password RESTIC_CACHE_DIR=$W/restic-cache PRISM_HOME=$W/src PRISM_BACKUP_PATH=$W/prism-repo
restic init -q --repository-version 2 -r "$W/restic-repo"
for n in $(seq 0 9); do
  [ "$n" = 0 ] || node "$HARNESS/mutate-dataset.mjs" --dir "$W/src" --seed 1 --round "$n" >/dev/null
  (cd "$W/src" && restic -r "$W/restic-repo" backup -q --exclude="$W/src/logs" --exclude="$W/src/temp" . >/dev/null)
  if [ "$n" = 0 ]; then "$PRISM" backup create --type full --no-progress >/dev/null; else "$PRISM" backup create --type incremental --no-progress >/dev/null; fi
  sleep 1   # distinct backup ids
done
restic_ids=$(restic -r "$W/restic-repo" snapshots --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).slice(0,5).map(x=>x.short_id).join(" ")))')
prism_ids=$("$PRISM" backup list --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).reverse().slice(0,5).map(x=>x.id).join(" ")))')
sync
measure() { local label=$1; shift; /usr/bin/time -v -o "$W/time.$label" bash -c "$*" >/dev/null 2>"$W/err.$label" || { echo "$label failed:"; cat "$W/err.$label"; exit 1; }; }
t0=$EPOCHREALTIME; measure restic "restic -r '$W/restic-repo' forget -q $restic_ids --prune"; t1=$EPOCHREALTIME
restic_s=$(bc <<< "$t1 - $t0")
t0=$EPOCHREALTIME
measure prism-delete "'$PRISM' backup delete $prism_ids --confirm --force"
t1=$EPOCHREALTIME
prism_s=$(bc <<< "$t1 - $t0")
rss() { awk -F': ' '/Maximum resident set size/{print $2}' "$W/time.$1"; }
prism_rss=$(rss prism-delete)
"$PRISM" backup verify --all >/dev/null && verified=yes || verified=NO
restic -r "$W/restic-repo" check -q >/dev/null 2>&1 && rverified=yes || rverified=NO
printf '\n## prune after deleting 5 of 10 backups (%s, 1 %% change between backups)\n\n' "$SIZE"
printf '| tool | wall s | peak RSS MiB | repository after MiB | check after |\n|---|---:|---:|---:|---:|\n'
printf '| prism (delete + prune in one run) | %.2f | %.1f | %.1f | %s |\n' "$prism_s" "$(bc -l <<< "$prism_rss/1024")" "$(bc -l <<< "$(du -sb "$W/prism-repo" | cut -f1)/1048576")" "$verified"
printf '| restic (forget --prune) | %.2f | %.1f | %.1f | %s |\n' "$restic_s" "$(bc -l <<< "$(rss restic)/1024")" "$(bc -l <<< "$(du -sb "$W/restic-repo" | cut -f1)/1048576")" "$rverified"
printf '\nrestic/prism time: %.2f×; prism/restic RSS: %.2f×\n' "$(bc -l <<< "$restic_s/$prism_s")" "$(bc -l <<< "$prism_rss/$(rss restic)")"
trash "$W"
