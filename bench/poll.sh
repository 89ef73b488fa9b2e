#!/usr/bin/env bash
# bench/poll.sh — polling cost: with N codes in flight (status unset), how many HTTP requests
# one poll cycle of the worker makes, and how long the cycle takes.
#
# Usage (as root, from anywhere):  bench/poll.sh
#
# The worker issues N codes on a fresh fake (poll_interval 1 hour, so nothing is polled yet).
# Then, RUNS times: the fake's request counters are zeroed, every code is made due at once
# (one UPDATE of next_attempt_at, which wakes the worker at commit), and the cycle is over when
# every code has been polled (status_detail 'polled'). Requests are counted at the fake
# (/_oracode/stats); the cycle time runs from that commit to the last row's update.
# Then the same list requests (batch_size ids each, CONCURRENCY in flight) are sent by
# autocannon: the fake's own time to answer them, since its access_codes/list returns every code
# it holds whatever ids are asked (see BENCHMARKS.md).
#
# Environment:
#   BENCH_POLL_N=10000       codes in flight
#   BENCH_DEVICES=200        Oracode locks seeded in one workspace
#   BENCH_RUNS=3             poll cycles timed (medians are reported)
#   BENCH_BATCH_SIZE=100     oracode.batch_size (ids per list request)
#   BENCH_CONCURRENCY=8      oracode.max_connections and autocannon connections
#   BENCH_NO_BUILD=1         skip `make && make install`
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${BENCH_POLL_N:-10000}
RUNS=${BENCH_RUNS:-3}
BATCH=${BENCH_BATCH_SIZE:-100}
CONC=${BENCH_CONCURRENCY:-8}
DB=oracode_bench_poll
for v in N RUNS BATCH CONC BENCH_DEVICES; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done

bench_prepare
bench_say "starting a throwaway cluster"
cluster_start "oracode.database = '$DB'" "oracode.sync_interval = 0" "oracode.poll_interval = 3600" \
  "oracode.create_rate_limit = 100000" "oracode.max_connections = $CONC" "oracode.batch_size = $BATCH"
createdb "$DB"
bench_sql "$DB" "SET client_min_messages = warning" "CREATE EXTENSION oracode"
bench_wait "$DB" "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'oracode worker'" 30
WPID=$(worker_pid "$DB")

bench_fresh_fake
bench_point_worker
bench_sql "$DB" "SELECT oracode_sync_devices()" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v n="$N" -f "$BENCH_DIR/plan.sql"
bench_say "the worker issues $N codes"
bench_sql "$DB" "CALL bench.queue($N, 1000)"
bench_wait "$DB" "SELECT count(*) = $N FROM oracode.access_codes WHERE status = 'unset'" 1800
read -r rss0 hwm0 anon0 < <(proc_mem "$WPID")

: >"$BENCH_TMP/results"
for r in $(seq 1 "$RUNS"); do
  fake_call POST /_oracode/reset_stats >/dev/null
  t0=$(bench_sql "$DB" "UPDATE oracode.access_codes SET next_attempt_at = now(), status_detail = 'bench: poll due'
                        WHERE status = 'unset'" "SELECT clock_timestamp()")
  bench_wait "$DB" "SELECT count(*) = $N FROM oracode.access_codes WHERE status_detail = 'polled'" 1800
  secs=$(bench_sql "$DB" "SELECT extract(epoch FROM max(updated_at) - '$t0'::timestamptz) FROM oracode.access_codes")
  errs=$(bench_sql "$DB" "SELECT count(*) FROM oracode.access_codes WHERE last_error IS NOT NULL OR status <> 'unset'")
  [ "$errs" = 0 ] || bench_die "cycle $r: $errs codes with an error or a changed status"
  stats=$(fake_call GET /_oracode/stats)
  reqs=$(node -e 'const s = JSON.parse(process.argv[1]).requests; console.log(s["/access_codes/list"] ?? 0, Object.values(s).reduce((a, b) => a + b, 0))' "$stats")
  echo "cycle $r $secs $reqs" >>"$BENCH_TMP/results"
  bench_say "cycle $r: $secs s, requests (list, all): $reqs"
done
read -r rss1 hwm1 anon1 < <(proc_mem "$WPID")

# the worker's CPU while it has nothing to do (every code polled, the next poll an hour away)
sleep 1
c0=$(proc_cpu_ticks "$WPID"); sleep 5; c1=$(proc_cpu_ticks "$WPID")
idle_cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN {print 100 * (b - a) / hz / 5}')

# the fake's own time for the same number of list requests of BATCH ids
nreq=$(( (N + BATCH - 1) / BATCH ))
bench_sql "$DB" "SELECT json_build_object('access_code_ids', json_agg(seam_access_code_id ORDER BY id))
                 FROM (SELECT id, seam_access_code_id FROM oracode.access_codes ORDER BY id LIMIT $BATCH) x" >"$BENCH_TMP/list.json"
resp_bytes=$(curl -sS -X POST -H "Authorization: Bearer $BENCH_API_KEY" -H 'Content-Type: application/json' \
  --data-binary @"$BENCH_TMP/list.json" "$FAKE_URL/access_codes/list" | wc -c)
resp_codes=$(curl -sS -X POST -H "Authorization: Bearer $BENCH_API_KEY" -H 'Content-Type: application/json' \
  --data-binary @"$BENCH_TMP/list.json" "$FAKE_URL/access_codes/list" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).access_codes.length)')
for r in $(seq 1 "$RUNS"); do
  out=$(node "$BENCH_NODE_DIR/ceiling.mjs" "$FAKE_URL" "$BENCH_API_KEY" "$BENCH_TMP/list.json" "$nreq" "$CONC" /access_codes/list)
  echo "fake $r $(node -e 'const o = JSON.parse(process.argv[1]); if (o.ok !== o.n) process.exit(1); console.log(o.seconds)' "$out")" >>"$BENCH_TMP/results"
done
fake_stop

# ---- report
# col_list NAME FIELD [DIGITS]: that field of NAME's runs, as a list
col_list() { col "$1" "$2" | list "${3:-0}"; }
cyc=$(col cycle 3 | median); lreq=$(col cycle 4 | median); areq=$(col cycle 5 | median); fk=$(col fake 3 | median)
mb() { fmt "$(awk -v x="$1" 'BEGIN {print x / 1024}')" 1; }
echo "# polling cost: $N codes in flight (unset), batch_size $BATCH, $CONC in flight, $RUNS cycles"
echo "# load average (1/5/15 min) at the start: $BENCH_LOAD_START; at the end: $(bench_load); $(nproc) cores"
bench_library
printf '%-34s %s  target ceil(%s / %s) = %s  [%s]  (cycles: %s; all requests to the fake: %s)\n' \
  "list requests per poll cycle" "$(fmt "$lreq")" "$N" "$BATCH" "$nreq" \
  "$(awk -v a="$lreq" -v b="$nreq" 'BEGIN {print (a <= b) ? "OK" : "MISSED"}')" "$(col_list cycle 4)" "$(col_list cycle 5)"
printf '%-34s %s s  (cycles: %s s) = %s codes/s\n' "poll cycle time" "$(fmt "$cyc" 2)" "$(col_list cycle 3 2)" \
  "$(fmt "$(awk -v n="$N" -v s="$cyc" 'BEGIN {print n / s}')")"
printf '%-34s %s s for the same %s list requests (autocannon, %s connections; runs: %s s)\n' \
  "the fake alone" "$(fmt "$fk" 2)" "$nreq" "$CONC" "$(col_list fake 3 2)"
printf '%-34s %s codes, %s MB for a request of %s ids (the fake ignores the id filter)\n' \
  "one list response" "$resp_codes" "$(fmt "$(awk -v x="$resp_bytes" 'BEGIN {print x / 1048576}')" 1)" "$BATCH"
printf '%-34s %s%% of a core over 5 s, with %s codes in flight and none due  [%s]\n' "idle worker CPU" "$(fmt "$idle_cpu" 1)" "$N" \
  "$(awk -v x="$idle_cpu" 'BEGIN {print (x < 5) ? "OK" : "BUSY LOOP: see BENCHMARKS.md, Findings"}')"
printf '%-34s VmRSS %s MB before the cycles, %s MB after; VmHWM %s MB; private (RssAnon) %s MB -> %s MB\n' \
  "worker memory" "$(mb "$rss0")" "$(mb "$rss1")" "$(mb "$hwm1")" "$(mb "$anon0")" "$(mb "$anon1")"
