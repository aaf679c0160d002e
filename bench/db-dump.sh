#!/usr/bin/env bash
# Database targets of issue 6: dump + backup of a 1M-row pgbench-like table vs `pg_dump | zstd`,
# the size a second (unchanged) backup adds, a single-table restore of 100k rows, and the fixed
# cost of both sides (a database with one empty table).
# Uses the local PostgreSQL (127.0.0.1:5432, trust). Usage: [RUNS=3] [ROWS=1000000] bash bench/db-dump.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DB=prism_bench_$$
EMPTY=prism_bench_empty_$$
W=$(mktemp -d /tmp/prism-dbbench-XXXX)
PSQL=(psql -h 127.0.0.1 -U postgres -X -q -v ON_ERROR_STOP=1)
cleanup() { for d in $DB $EMPTY; do "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done; rm -rf "$W"; }
trap cleanup EXIT
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"
"${PSQL[@]}" -d $DB -c "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84));
  INSERT INTO pgbench_accounts SELECT g, 1 + g / 100000, 0, '' FROM generate_series(1, ${ROWS:-1000000}) g;
  CREATE TABLE small_100k (id int PRIMARY KEY, v text); INSERT INTO small_100k SELECT g, md5(g::text) FROM generate_series(1, 100000) g;
"
"${PSQL[@]}" -d $DB -c "VACUUM ANALYZE"
# the fixed cost of either side: a database with one empty table
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $EMPTY"
"${PSQL[@]}" -d $EMPTY -c "CREATE TABLE t (id int)"
mkdir -p "$W/home0/config" "$W/home0/level-1-hot" "$W/home0/level-2-warm" "$W/home0/level-3-cold"
echo '{"backup":{"databases":[{"name":"empty","type":"postgres","url":"postgres://postgres@127.0.0.1:5432/'$EMPTY'"}]}}' > "$W/home0/config/backup.json"
mkdir -p "$W/home/config" "$W/home/level-1-hot" "$W/home/level-2-warm" "$W/home/level-3-cold"
echo '{"backup":{"databases":[{"name":"bench","type":"postgres","url":"postgres://postgres@127.0.0.1:5432/'$DB'"}]}}' > "$W/home/config/backup.json"
export PRISM_HOME=$W/home PRISM_BACKUP_PATH=$W/repo
t() { local s; s=$(date +%s.%N); bash -c "$1" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
RUNS=${RUNS:-3}
PG=(); P1=(); P2=(); RS=(); E0=(); EP=()
for r in $(seq "$RUNS"); do
  rm -rf "$W/repo" "$W/repo0"
  EP+=("$(t "pg_dump -h 127.0.0.1 -U postgres $EMPTY | zstd -3 -q -f -o $W/empty.sql.zst")")
  E0+=("$(t "PRISM_HOME=$W/home0 PRISM_BACKUP_PATH=$W/repo0 node bin/prism.js backup create --no-progress")")
  PG+=("$(t "pg_dump -h 127.0.0.1 -U postgres $DB | zstd -3 -q -f -o $W/dump.sql.zst")")
  P1+=("$(t "node bin/prism.js backup create --no-progress")")
  SIZE1=$(du -sb "$W/repo" | cut -f1)
  P2+=("$(t "node bin/prism.js backup create --no-progress")")
  SIZE2=$(du -sb "$W/repo" | cut -f1)
  ID=$(ls "$W/repo/snapshots" | tail -1 | sed 's/.json$//')
  RS+=("$(t "node bin/prism.js db restore $ID --db bench --table small_100k --confirm --no-safety-copy")")
done
PGM=$(median "${PG[@]}"); P1M=$(median "${P1[@]}")
echo "runs: $RUNS (each: fresh repository), medians, all runs in brackets; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pg_dump | zstd -3 to a file:        ${PGM} s [${PG[*]}] ($(stat -c %s "$W/dump.sql.zst") bytes)"
# each run times pg_dump and prism one after the other: the median of those paired ratios drifts less with the host's speed
PAIRED=(); for i in "${!PG[@]}"; do PAIRED+=("$(echo "scale=3; ${P1[$i]} / ${PG[$i]}" | bc)"); done
echo "prism backup create (dump+store):  ${P1M} s [${P1[*]}] (repository $SIZE1 bytes) = $(echo "scale=2; $P1M / $PGM" | bc)x (median of the runs' own ratios $(median "${PAIRED[@]}")x [${PAIRED[*]}])"
echo "second backup, unchanged:          $(median "${P2[@]}") s [${P2[*]}] (repository +$((SIZE2 - SIZE1)) bytes, $(echo "scale=3; 100 * ($SIZE2 - $SIZE1) / $SIZE1" | bc) %)"
echo "single-table restore, 100k rows:   $(median "${RS[@]}") s [${RS[*]}] (whole command, incl. verification)"
echo "fixed cost (one empty table):       pg_dump | zstd $(median "${EP[@]}") s [${EP[*]}], prism backup create $(median "${E0[@]}") s [${E0[*]}]"
