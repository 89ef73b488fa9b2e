#!/usr/bin/env bash
# bench/multidb.sh — many databases (oracode.database = a list): the total issuing throughput
# of BENCH_DBS databases, each backfilling N / BENCH_DBS codes and each served by its own
# worker, against one database backfilling all N codes with one worker. Goal: >= 0.9×.
#
# Usage (as root, from anywhere):  bench/multidb.sh
#
# One cluster with BENCH_DBS + 1 databases; a reload of oracode.database switches between the
# contenders (the launcher starts and stops the workers), so that only the contender's workers
# run. Each run, each contender on a FRESH fake (the fake slows as its store grows):
#   one     database bm_one queues N codes with oracode_create_code() in committed transactions
#           of 1,000 while its worker has no key; then the key is given (reload). Codes/s =
#           N / (key given -> last 'unset' event).
#   many    databases bm_1 .. bm_K each queue N / K codes the same way, then every worker gets
#           the key at once. Codes/s = N / (key given -> the last 'unset' event of any of them).
# Every code must be created exactly once (checked at the fake). The contenders' order
# alternates from run to run.
#
# Environment:
#   BENCH_N=20000        codes per contender per run
#   BENCH_DBS=10         databases of the "many" contender
#   BENCH_DEVICES=200    Oracode locks seeded in one workspace (every database syncs them all)
#   BENCH_RUNS=3         runs (medians are reported)
#   BENCH_CONCURRENCY=8  oracode.max_connections (per worker)
#   BENCH_NO_BUILD=1     skip `make && make install`
# As in bench/issue.sh, oracode.create_rate_limit is 100000 and oracode.poll_interval 1 hour.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${BENCH_N:-20000}
K=${BENCH_DBS:-10}
RUNS=${BENCH_RUNS:-3}
CONC=${BENCH_CONCURRENCY:-8}
for v in N K RUNS CONC BENCH_DEVICES; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done
[ $(( N % K )) = 0 ] || bench_die "BENCH_N ($N) must be a multiple of BENCH_DBS ($K)"
PER=$(( N / K ))
MANY=$(for i in $(seq 1 "$K"); do echo "bm_$i"; done)

bench_prepare
bench_say "starting a throwaway cluster"
cluster_start "oracode.database = 'bm_one'" "oracode.sync_interval = 0" "oracode.poll_interval = 3600" \
  "oracode.create_rate_limit = 100000" "oracode.max_connections = $CONC" "oracode.max_databases = $(( K + 1 ))" \
  "max_worker_processes = $(( K + 8 ))"
bench_fresh_fake
bench_point_worker
for db in bm_one $MANY; do
  createdb "$db"
  bench_sql "$db" "SET client_min_messages = warning" "CREATE EXTENSION oracode" "SELECT oracode_sync_devices()" >/dev/null
  n=$PER; [ "$db" = bm_one ] && n=$N
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v n="$n" -f "$BENCH_DIR/plan.sql"
  [ "$(bench_sql "$db" "SELECT count(*) FROM bench.plan WHERE ms IS NULL")" = 0 ] || bench_die "$db: planned bookings match no slot"
done
bench_hold_worker
bench_say "plan: $N codes over $BENCH_DEVICES locks, in bm_one alone or $PER in each of $K databases"

# serve DBS...: oracode.database = the list; wait until each listed database's worker runs
serve() {
  local list
  list=$(echo "$@" | tr ' ' ',')
  cluster_conf "oracode.database = '$list'"
  bench_wait bm_one "SELECT count(*) FILTER (WHERE state = 'running') = $# AND count(*) = $#
                     FROM oracode.worker_health_all" 60
  bench_wait postgres "SELECT count(*) = $# FROM pg_stat_activity WHERE backend_type = 'oracode worker'" 30
}

# all_sent EACH DBS...: true when every database has EACH requests sent
all_sent() {
  local each=$1 db; shift
  for db in "$@"; do
    [ "$(bench_sql "$db" "SELECT count(*) FROM oracode.access_codes WHERE seam_access_code_id IS NOT NULL
                          OR status NOT IN ('queued', 'sending')")" = "$each" ] || return 1
  done
}

# run_contender NAME EACH DBS...: one run; appends "NAME run codes/s seconds backfill=s"
run_contender() {
  local name=$1 r=$2 each=$3 db t0 q0 q1 last secs per sent bad fake_codes deadline
  shift 3
  bench_fresh_fake
  serve "$@"
  bench_point_worker
  for db in "$@"; do
    bench_sql "$db" "TRUNCATE oracode.access_codes, oracode.access_code_events, oracode.create_attempts RESTART IDENTITY CASCADE" \
      "SELECT oracode_sync_devices()" >/dev/null
  done
  bench_hold_worker
  q0=$(date +%s.%N)
  for db in "$@"; do bench_sql "$db" "CALL bench.queue($each, 1000)"; done
  q1=$(date +%s.%N)
  t0=$(bench_sql postgres "SELECT clock_timestamp()")
  bench_point_worker
  deadline=$(( SECONDS + 1800 ))
  until all_sent "$each" "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || bench_die "$name run $r: not all sent after 1800 s"
    sleep 0.5
  done
  last=$(for db in "$@"; do bench_sql "$db" "SELECT max(at) FROM oracode.access_code_events WHERE new_status = 'unset'"; done | sort | tail -n 1)
  # when each database's first and last code were sent, from the key: how evenly the workers shared the fake
  bench_say "$name run $r, per database (first unset, last unset, s after the key): $(for db in "$@"; do
    bench_sql "$db" "SELECT format('%s %s-%s', current_database(), round(extract(epoch FROM min(at) - '$t0'::timestamptz), 1),
                            round(extract(epoch FROM max(at) - '$t0'::timestamptz), 1))
                     FROM oracode.access_code_events WHERE new_status = 'unset'"; done | paste -sd, -)"
  secs=$(bench_sql postgres "SELECT extract(epoch FROM '$last'::timestamptz - '$t0'::timestamptz)")
  sent=0; bad=0
  for db in "$@"; do
    sent=$(( sent + $(bench_sql "$db" "SELECT count(*) FROM oracode.access_codes WHERE seam_access_code_id IS NOT NULL") ))
    bad=$(( bad + $(bench_sql "$db" "SELECT count(*) FROM oracode.access_codes WHERE status NOT IN ('unset', 'setting', 'set')") ))
  done
  fake_codes=$(fake_call GET /_oracode/stats | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).access_codes)')
  [ "$sent" = "$N" ] && [ "$bad" = 0 ] || bench_die "$name run $r: $sent of $N sent, $bad in another state"
  [ "$fake_codes" = "$N" ] || bench_die "$name run $r: the fake holds $fake_codes codes for $N requests"
  bench_hold_worker
  per=$(awk -v n="$N" -v s="$secs" 'BEGIN {print n / s}')
  echo "$name $r $per $secs backfill=$(awk -v a="$q0" -v b="$q1" 'BEGIN {print b - a}')" >>"$BENCH_TMP/results"
}
run_one() { run_contender one "$1" "$N" bm_one; }
# shellcheck disable=SC2086
run_many() { run_contender many "$1" "$PER" $MANY; }

for r in $(seq 1 "$RUNS"); do
  if [ $(( r % 2 )) = 1 ]; then order=(one many); else order=(many one); fi
  for c in "${order[@]}"; do
    bench_say "run $r/$RUNS: $c"
    "run_$c" "$r"
    tail -n 1 "$BENCH_TMP/results" >&2
  done
done
fake_stop

# ---- report
ratios() { for r in $(seq 1 "$RUNS"); do awk -v a="$(per_run many "$r")" -v b="$(per_run one "$r")" 'BEGIN {print a / b}'; done; }
o=$(col one 3 | median); m=$(col many 3 | median); q=$(ratios | median)
echo "# many databases: $N codes in one database vs $PER in each of $K databases (one worker each), $BENCH_DEVICES locks, $CONC in flight per worker, a fresh fake per contender, $RUNS runs"
echo "# load average (1/5/15 min) at the start: $BENCH_LOAD_START; at the end: $(bench_load); $(nproc) cores"
bench_library
printf '%-44s %6s codes/s  (runs: %s)\n' "one database, one worker" "$(fmt "$o")" "$(col one 3 | list)"
printf '%-44s %6s codes/s  (runs: %s)\n' "$K databases, $K workers (total)" "$(fmt "$m")" "$(col many 3 | list)"
printf '%-44s %s×  target >= 0.9×  [%s]  (per run: %s)\n' "$K databases / one" "$(fmt "$q" 2)" \
  "$(awk -v x="$q" 'BEGIN {print (x >= 0.9) ? "OK" : "MISSED"}')" "$(ratios | list 2)"
