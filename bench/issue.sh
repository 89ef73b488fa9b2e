#!/usr/bin/env bash
# bench/issue.sh — issuing throughput: the oracode worker against Seam's official JavaScript SDK
# and against the fake's own ceiling, side by side in each run, plus the worker's memory.
#
# Usage (as root, from anywhere):  bench/issue.sh
#
# Each run has four contenders, each on a FRESH fake (the fake slows as its store grows, so each
# one starts from the same store: BENCH_DEVICES seeded locks, no codes), in an order that rotates
# from run to run:
#   worker (send)  a PMS backfill queues N codes with oracode_create_code() in committed
#            transactions of BENCH_QUEUE_BATCH while the worker has no key; then the worker gets
#            the key (reload) and sends them, BENCH_CONCURRENCY in flight (oracode.max_connections).
#            Codes/s = N / (key given -> last 'unset' event in oracode.access_code_events).
#   worker (e2e)   the same backfill runs while the worker sends. Codes/s = N / (first 'queued'
#            event -> last 'unset' event): queueing, sending and recording, end to end.
#   sdk      the official SDK (npm `seam`, pinned in bench/node) creates the same N codes — the
#            very bodies the worker sends — with BENCH_CONCURRENCY requests in flight.
#   ceiling  autocannon (npm, pinned), keep-alive, BENCH_CONCURRENCY connections, POSTs the same
#            N bodies in turn: what the fake itself can serve to the leanest client.
#   worker (send), listening   with BENCH_LISTEN=1, a fifth contender: worker (send) with a client
#            LISTENing on oracode_code_status (bench/listen.mjs, node's pg) from before the backfill
#            to the end, which must receive all 3N changes (queued, sending, unset): what the
#            events cost the worker, as codes/s and CPU per code against worker (send).
# Every code must be created exactly once (checked at the fake); the worker's memory (VmRSS,
# VmHWM, RssAnon) is read before the first run and after each of its runs.
#
# Environment:
#   BENCH_N=20000            codes per contender per run
#   BENCH_DEVICES=200        Oracode locks seeded in one workspace
#   BENCH_RUNS=5             runs (medians are reported; the fake's own speed moves by ±20% from
#                            run to run, more than for the other benchmarks)
#   BENCH_CONCURRENCY=8      oracode.max_connections, SDK lanes and autocannon connections
#   BENCH_QUEUE_BATCH=1000   codes per committed transaction of the backfill
#   BENCH_BATCH_SIZE=        oracode.batch_size for the run (default: the GUC's default)
#   BENCH_LISTEN=0           1: add the contender "worker (send), listening" (see above)
#   BENCH_NO_BUILD=1         skip `make && make install`
# For the run oracode.create_rate_limit is raised to 100000 (Seam allows 10 a minute per lock),
# and oracode.poll_interval is 1 hour so that no status poll runs during it (see BENCHMARKS.md:
# the fake answers every list call with every code it holds).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${BENCH_N:-20000}
RUNS=${BENCH_RUNS:-5}
CONC=${BENCH_CONCURRENCY:-8}
QBATCH=${BENCH_QUEUE_BATCH:-1000}
DB=oracode_bench_issue
for v in N RUNS CONC QBATCH BENCH_DEVICES; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done

bench_prepare
LISTEN=${BENCH_LISTEN:-0}
if [ "$LISTEN" = 1 ]; then
  # shellcheck source=scripts/listen.sh
  . "$REPO/scripts/listen.sh"
  listen_install >/dev/null || bench_die "cannot install the listener's pg package"
fi
bench_say "starting a throwaway cluster"
cluster_start "oracode.database = '$DB'" "oracode.sync_interval = 0" "oracode.poll_interval = 3600" \
  "oracode.create_rate_limit = 100000" "oracode.max_connections = $CONC" \
  ${BENCH_BATCH_SIZE:+"oracode.batch_size = $BENCH_BATCH_SIZE"}
createdb "$DB"
bench_sql "$DB" "SET client_min_messages = warning" "CREATE EXTENSION oracode"

# ---- the plan: N bookings over the locks, matched once, and the exact bodies the worker sends
bench_fresh_fake
bench_point_worker
bench_sql "$DB" "SELECT oracode_sync_devices()" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v n="$N" -f "$BENCH_DIR/plan.sql"
unmatched=$(bench_sql "$DB" "SELECT count(*) FROM bench.plan WHERE ms IS NULL")
[ "$unmatched" = 0 ] || bench_die "$unmatched planned bookings match no slot"
bench_sql "$DB" "SELECT body FROM bench.bodies ORDER BY i" \
  | node -e 'for (const l of require("fs").readFileSync(0, "utf8").split("\n")) if (l) console.log(JSON.stringify(JSON.parse(l)))' \
  >"$BENCH_TMP/bodies.jsonl"
head -n 1 "$BENCH_TMP/bodies.jsonl" >"$BENCH_TMP/body.json"
# Between its own runs the worker is given no key. An idle worker with a key wakes itself at
# every turn (see BENCHMARKS.md, "Findings") and would take CPU from the other contenders.
bench_hold_worker
bench_say "plan: $N codes over $BENCH_DEVICES locks; a body: $(cat "$BENCH_TMP/body.json")"

# seconds from clock ticks
ticks_s() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN {print t / hz}'; }

# the worker (re)starts within 5 s once its database exists
bench_wait "$DB" "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'oracode worker'" 30
WPID=$(worker_pid "$DB")
read -r rss0 hwm0 anon0 < <(proc_mem "$WPID")

# The worker on a fresh fake. Mode "e2e": the backfill runs while the worker sends; the clock
# runs from the first 'queued' event to the last 'unset' event. Mode "send": the backfill is
# committed first with the worker held (no key); the clock runs from handing it the key to the
# last 'unset' event. Mode "listen": "send" with bench/listen.mjs listening throughout.
# Appends "worker-MODE run codes/s seconds backfill=s cpu= fake= [changes= notifications=] rss= hwm= anon=".
run_worker() {
  local mode=$1 r=$2 fake_codes stats line t0 per secs qsecs sent bad w0 w1 f0 f1 lpid="" heard="" i
  bench_fresh_fake
  bench_point_worker
  # no VACUUM/ANALYZE here: "empty" statistics would give the worker's cached plans seq scans
  bench_sql "$DB" "TRUNCATE oracode.access_codes, oracode.access_code_events, oracode.create_attempts RESTART IDENTITY CASCADE" \
    "SELECT oracode_sync_devices()" >/dev/null
  if [ "$mode" = listen ]; then
    PGDATABASE=$DB node "$BENCH_DIR/listen.mjs" >"$BENCH_TMP/listen.out" 2>"$BENCH_TMP/listen.err" &
    lpid=$!
    for i in $(seq 1 100); do grep -q LISTENING "$BENCH_TMP/listen.err" && break; sleep 0.1; done
    grep -q LISTENING "$BENCH_TMP/listen.err" || bench_die "the listener did not start: $(cat "$BENCH_TMP/listen.err")"
  fi
  if [ "$mode" != e2e ]; then
    bench_hold_worker
    bench_sql "$DB" "CALL bench.queue($N, $QBATCH)"
    t0=$(bench_sql "$DB" "SELECT clock_timestamp()")
    w0=$(proc_cpu_ticks "$WPID"); f0=$(proc_cpu_ticks "$FAKE_PID")
    bench_point_worker
  else
    w0=$(proc_cpu_ticks "$WPID"); f0=$(proc_cpu_ticks "$FAKE_PID")
    bench_sql "$DB" "CALL bench.queue($N, $QBATCH)"
    t0=$(bench_sql "$DB" "SELECT min(at) FROM oracode.access_code_events WHERE new_status = 'queued'")
  fi
  bench_wait "$DB" "SELECT count(*) = $N FROM oracode.access_codes WHERE seam_access_code_id IS NOT NULL
                    OR status NOT IN ('queued', 'sending')" 1800
  w1=$(proc_cpu_ticks "$WPID"); f1=$(proc_cpu_ticks "$FAKE_PID")
  line=$(bench_sql "$DB" "
    WITH e AS (SELECT max(at) FILTER (WHERE new_status = 'unset') AS last_unset,
                      min(at) FILTER (WHERE new_status = 'queued') AS q0,
                      max(at) FILTER (WHERE new_status = 'queued') AS q1
               FROM oracode.access_code_events)
    SELECT format('%s %s %s %s %s', $N / extract(epoch FROM last_unset - '$t0'::timestamptz),
                  extract(epoch FROM last_unset - '$t0'::timestamptz), extract(epoch FROM q1 - q0),
                  (SELECT count(*) FROM oracode.access_codes WHERE seam_access_code_id IS NOT NULL),
                  (SELECT count(*) FROM oracode.access_codes WHERE status NOT IN ('unset', 'setting', 'set')))
    FROM e")
  read -r per secs qsecs sent bad <<<"$line"
  stats=$(fake_call GET /_oracode/stats)
  fake_codes=$(node -e 'const s = JSON.parse(process.argv[1]); console.log(s.access_codes)' "$stats")
  [ "$bad" = 0 ] && [ "$sent" = "$N" ] || bench_die "worker-$mode run $r: $sent of $N sent, $bad in another state"
  [ "$fake_codes" = "$N" ] || bench_die "worker-$mode run $r: the fake holds $fake_codes codes for $N requests"
  read -r rss hwm anon < <(proc_mem "$WPID")
  bench_hold_worker
  if [ -n "$lpid" ]; then
    sleep 1   # the last commit's notifications reach the listener within milliseconds
    kill -TERM "$lpid"; wait "$lpid" || true
    heard=$(node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(`changes=${o.changes} notifications=${o.notifications}`)' "$BENCH_TMP/listen.out")
    [ "$heard" != "${heard#changes=$(( 3 * N )) }" ] \
      || bench_die "worker-$mode run $r: the listener heard $heard, not the $(( 3 * N )) changes"
  fi
  echo "worker-$mode $r $per $secs backfill=$qsecs cpu=$(ticks_s $(( w1 - w0 ))) fake=$(ticks_s $(( f1 - f0 ))) ${heard:+$heard }rss=$rss hwm=$hwm anon=$anon" >>"$BENCH_TMP/results"
}
run_worker_send() { run_worker send "$1"; }
run_worker_e2e() { run_worker e2e "$1"; }
run_worker_listen() { run_worker listen "$1"; }

run_sdk() {
  local r=$1 out f0 f1
  bench_fresh_fake
  f0=$(proc_cpu_ticks "$FAKE_PID")
  out=$(node "$BENCH_NODE_DIR/sdk.mjs" "$FAKE_URL" "$BENCH_API_KEY" "$BENCH_TMP/bodies.jsonl" "$CONC")
  f1=$(proc_cpu_ticks "$FAKE_PID")
  node -e 'const o = JSON.parse(process.argv[1]); if (o.ok !== o.n) { console.error(o); process.exit(1) }' "$out" \
    || bench_die "sdk run $r had errors: $out"
  echo "sdk $r $(node -e 'const o = JSON.parse(process.argv[1]); console.log(o.per_second, o.seconds, "cpu=" + o.cpu_seconds)' "$out") fake=$(ticks_s $(( f1 - f0 )))" >>"$BENCH_TMP/results"
}

run_ceiling() {
  local r=$1 out f0 f1
  bench_fresh_fake
  f0=$(proc_cpu_ticks "$FAKE_PID")
  out=$(node "$BENCH_NODE_DIR/ceiling.mjs" "$FAKE_URL" "$BENCH_API_KEY" "$BENCH_TMP/bodies.jsonl" "$N" "$CONC")
  f1=$(proc_cpu_ticks "$FAKE_PID")
  node -e 'const o = JSON.parse(process.argv[1]); if (o.ok !== o.n) { console.error(o); process.exit(1) }' "$out" \
    || bench_die "ceiling run $r had errors: $out"
  echo "ceiling $r $(node -e 'const o = JSON.parse(process.argv[1]); console.log(o.per_second, o.seconds, "cpu=" + o.cpu_seconds)' "$out") fake=$(ticks_s $(( f1 - f0 )))" >>"$BENCH_TMP/results"
}

: >"$BENCH_TMP/results"
contenders=(worker_send sdk ceiling worker_e2e)
# the listening run right after the one without, so that their ratio compares neighbours in time
[ "$LISTEN" = 1 ] && contenders=(worker_send worker_listen sdk ceiling worker_e2e)
nc=${#contenders[@]}
for r in $(seq 1 "$RUNS"); do
  order=()
  for k in $(seq 0 $(( nc - 1 ))); do order+=("${contenders[$(( (k + r - 1) % nc ))]}"); done
  for c in "${order[@]}"; do
    bench_say "run $r/$RUNS: $c"
    "run_$c" "$r"
    tail -n 1 "$BENCH_TMP/results" >&2
  done
done
fake_stop

# ---- report
pct_list() { while read -r x; do fmt "$(awk -v x="$x" 'BEGIN {print 100 * x}')"; echo "%"; done | paste -sd, - | sed 's/,/, /g'; }
# ratios A/B per run, one per line
ratios() { for r in $(seq 1 "$RUNS"); do awk -v a="$(per_run "$1" "$r")" -v b="$(per_run "$2" "$r")" 'BEGIN {print a / b}'; done; }
verdict() { awk -v x="$1" -v t="$2" 'BEGIN {print (x >= t) ? "OK" : "MISSED"}'; }
mb() { fmt "$(awk -v x="$1" 'BEGIN {print x / 1024}')" 1; }
ws=$(col worker-send 3 | median); we=$(col worker-e2e 3 | median); s=$(col sdk 3 | median); c=$(col ceiling 3 | median)
# kv NAME KEY: the values of KEY=… on NAME's lines, one per run
kv() { awk -v w="$1" -v k="$2" '$1 == w {for (i = 5; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2)}' "$BENCH_TMP/results"; }
per_code() { fmt "$(awk -v s="$(kv "$1" "$2" | median)" -v n="$N" 'BEGIN {print s * 1e6 / n}')"; }
qs=$(kv worker-e2e backfill | median)
read -r rss1 hwm1 anon1 < <(proc_mem "$WPID")
sdkv=$(cd "$BENCH_NODE_DIR" && node -p 'require("./node_modules/seam/package.json").version')

echo "# issuing throughput: $N codes over $BENCH_DEVICES locks, $CONC in flight, a fresh fake per contender, $RUNS runs"
echo "# load average (1/5/15 min) at the start: $BENCH_LOAD_START; at the end: $(bench_load); $(nproc) cores"
bench_library
printf '%-40s %6s codes/s  (runs: %s)\n' "oracode worker, backfill committed first" "$(fmt "$ws")" "$(col worker-send 3 | list)"
printf '%-40s %6s codes/s  (runs: %s; the backfill itself took %s s)\n' "oracode worker, end to end" "$(fmt "$we")" \
  "$(col worker-e2e 3 | list)" "$(fmt "$qs" 1)"
printf '%-40s %6s codes/s  (runs: %s)\n' "Seam JS SDK (seam $sdkv)" "$(fmt "$s")" "$(col sdk 3 | list)"
printf '%-40s %6s req/s    (runs: %s)\n' "the fake's ceiling (autocannon)" "$(fmt "$c")" "$(col ceiling 3 | list)"
for m in send e2e; do
  q=$(ratios "worker-$m" sdk | median); p=$(ratios "worker-$m" ceiling | median)
  printf '%-40s %s×  target >= 1×   [%s]  (per run: %s)\n' "worker ($m) / SDK" "$(fmt "$q" 2)" "$(verdict "$q" 1)" \
    "$(ratios "worker-$m" sdk | list 2)"
  printf '%-40s %s%%  target >= 70%%  [%s]  (per run: %s)\n' "worker ($m) / ceiling" "$(fmt "$(awk -v x="$p" 'BEGIN {print 100 * x}')")" \
    "$(verdict "$p" 0.7)" "$(ratios "worker-$m" ceiling | pct_list)"
done
printf '%-40s worker (send) %s, worker (e2e) %s, SDK %s, autocannon %s  (medians; the worker'"'"'s own process)\n' \
  "client CPU per code (µs)" "$(per_code worker-send cpu)" "$(per_code worker-e2e cpu)" "$(per_code sdk cpu)" "$(per_code ceiling cpu)"
printf '%-40s with the worker (send) %s, (e2e) %s, with the SDK %s, with autocannon %s\n' \
  "the fake's CPU per code (µs)" "$(per_code worker-send fake)" "$(per_code worker-e2e fake)" "$(per_code sdk fake)" "$(per_code ceiling fake)"
# busy NAME: the median over runs of the fake's CPU time over the run's wall clock, in percent
busy() { awk -v w="$1" '$1 == w {for (i = 5; i <= NF; i++) if (index($i, "fake=") == 1) print 100 * substr($i, 6) / $4}' "$BENCH_TMP/results" | median; }
printf '%-40s with the worker (send) %s%%, (e2e) %s%%, with the SDK %s%%, with autocannon %s%%  (its CPU time over the wall clock)\n' \
  "the fake busy" "$(fmt "$(busy worker-send)")" "$(fmt "$(busy worker-e2e)")" "$(fmt "$(busy sdk)")" "$(fmt "$(busy ceiling)")"
if [ "$LISTEN" = 1 ]; then
  wl=$(col worker-listen 3 | median)
  printf '%-40s %6s codes/s  (runs: %s; %s)\n' "oracode worker (send), listening" "$(fmt "$wl")" \
    "$(col worker-listen 3 | list)" "$(kv worker-listen notifications | median) notifications of $(( 3 * N )) changes heard per run"
  q=$(ratios worker-listen worker-send | median)
  printf '%-40s %s%%  target <= 5%%  [%s]  (per run: %s)\n' "slowdown with a listener (send)" \
    "$(fmt "$(awk -v x="$q" 'BEGIN {print 100 * (1 - x)}')" 1)" "$(verdict "$q" 0.95)" \
    "$(ratios worker-listen worker-send | while read -r x; do fmt "$(awk -v x="$x" 'BEGIN {print 100 * (1 - x)}')" 1; echo "%"; done | paste -sd, - | sed 's/,/, /g')"
  printf '%-40s without %s, listening %s  (medians; the worker'"'"'s own process)\n' \
    "client CPU per code (µs), worker (send)" "$(per_code worker-send cpu)" "$(per_code worker-listen cpu)"
fi
printf '%-40s VmRSS %s MB before the first run, %s MB after the last; VmHWM %s MB; private (RssAnon) %s MB -> %s MB\n' \
  "worker memory ($(( (LISTEN == 1 ? 3 : 2) * RUNS )) issuing runs)" "$(mb "$rss0")" "$(mb "$rss1")" "$(mb "$hwm1")" "$(mb "$anon0")" "$(mb "$anon1")"
echo "# worker memory after each run (kB): $(awk '$1 ~ /^worker/ {printf "%s %s: %s %s %s; ", $1, $2, $(NF - 2), $(NF - 1), $NF}' "$BENCH_TMP/results")"
