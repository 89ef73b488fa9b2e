#!/usr/bin/env bash
# bench/rate.sh — Seam's create limit under a chain's backfill: how many creates reach Seam in the
# first minute, and how soon any lock gets its (limit+1)-th create, as Seam would count them.
#
# Usage (as root, from anywhere):  bench/rate.sh
#
# A throwaway cluster's worker talks to Seam's fake through the fault proxy (test/fault-proxy),
# which holds every answer BENCH_RATE_RTT_MS (a round trip to Seam) and logs when each request
# arrived: the proxy stands where Seam is. Each run queues BENCH_RATE_PER_LOCK codes on each of
# BENCH_RATE_LOCKS locks, lock by lock, in one committed transaction (a backfill), with
# oracode.create_rate_limit = BENCH_RATE_LIMIT, and waits until every create was answered. Per
# run, from the proxy's log:
#   first_minute  creates that arrived within 60 s of the first (the limit allows LOCKS × LIMIT)
#   min_gap       per lock, the time from a create's arrival to the arrival of its LIMIT-th next
#                 one, at the least over all locks: Seam's limit holds if it is at least 60 s
#   all_done      seconds from the first create's arrival to the last's
# The medians of BENCH_RATE_RUNS runs are printed last. Between runs the worker is given no key
# and its attempts and the locks' holds are cleared, so each run starts with every lock's window free.
#
# Environment:
#   BENCH_RATE_LOCKS=20  BENCH_RATE_PER_LOCK=15  BENCH_RATE_LIMIT=10  BENCH_RATE_RTT_MS=150
#   BENCH_RATE_RUNS=3    BENCH_CONCURRENCY=8 (oracode.max_connections)
#   BENCH_NO_BUILD=1     skip `make && make install` (PG_BINDIR then picks the installation)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/fault_proxy.sh
. "$REPO/scripts/fault_proxy.sh"

LOCKS=${BENCH_RATE_LOCKS:-20}
PER=${BENCH_RATE_PER_LOCK:-15}
LIMIT=${BENCH_RATE_LIMIT:-10}
RTT=${BENCH_RATE_RTT_MS:-150}
RUNS=${BENCH_RATE_RUNS:-3}
CONC=${BENCH_CONCURRENCY:-8}
DB=oracode_bench_rate
for v in LOCKS PER LIMIT RTT RUNS CONC; do
  [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || bench_die "$v must be a positive integer, not '${!v}'"
done
N=$(( LOCKS * PER ))

if [ "${BENCH_NO_BUILD:-}" != 1 ]; then
  [ "$(id -u)" -eq 0 ] || bench_die "building and installing the extension needs root (or set BENCH_NO_BUILD=1)"
  bench_say "building and installing oracode"
  (cd "$REPO" && make -s && make -s install) >/dev/null
fi
fake_install >/dev/null
BENCH_DEVICES=$LOCKS
bench_fresh_fake
proxy_start "$FAKE_URL"
proxy_call POST /_proxy/faults "{\"rules\":[{\"action\":\"delay\",\"ms\":$RTT}]}" >/dev/null

bench_say "starting a throwaway cluster"
# no status polls (the fake never sets a code by itself): only creates go through the proxy
cluster_start "oracode.database = '$DB'" "oracode.sync_interval = 0" "oracode.poll_interval = 3600" \
  "oracode.create_rate_limit = $LIMIT" "oracode.max_connections = $CONC" \
  "oracode.api_url = '$PROXY_URL'" "oracode.api_key = ''"
createdb "$DB"
bench_sql "$DB" "SET client_min_messages = warning" "CREATE EXTENSION oracode"
cluster_conf "oracode.api_key = '$BENCH_API_KEY'"
bench_sql "$DB" "SELECT oracode_sync_devices()" >/dev/null
# PER stays per lock, starting day+10+i local time 15:40 to 10:20 the next day (a slot of the
# fake's locks fits), queued lock by lock
bench_sql "$DB" "CREATE SCHEMA bench" "
  CREATE PROCEDURE bench.backfill(per integer) LANGUAGE plpgsql AS \$\$
  DECLARE d record; i integer; day date;
  BEGIN
    FOR d IN SELECT device_id, timezone FROM oracode.devices ORDER BY device_id LOOP
      FOR i IN 1 .. per LOOP
        day := (now() AT TIME ZONE d.timezone)::date + 10 + i;
        PERFORM oracode_create_code(d.device_id, (day + time '15:40') AT TIME ZONE d.timezone,
                                    (day + 1 + time '10:20') AT TIME ZONE d.timezone,
                                    'Rate bench', format('R-%s-%s', d.device_id, i));
      END LOOP;
    END LOOP;
  END \$\$"
bench_say "$LOCKS locks × $PER codes, limit $LIMIT per lock, ${RTT} ms per round trip, $CONC in flight, $RUNS runs"

for r in $(seq 1 "$RUNS"); do
  bench_hold_worker
  bench_sql "$DB" "TRUNCATE oracode.access_codes, oracode.access_code_events, oracode.create_attempts RESTART IDENTITY CASCADE" \
    "UPDATE oracode.devices SET send_after = NULL"
  proxy_call POST /_proxy/reset_stats >/dev/null
  cluster_conf "oracode.api_key = '$BENCH_API_KEY'"
  bench_sql "$DB" "CALL bench.backfill($PER)"
  bench_wait "$DB" "SELECT count(*) = $N FROM oracode.access_codes WHERE status NOT IN ('queued', 'sending')" 600 1
  proxy_call GET "/_proxy/log?path=/access_codes/create" >"$BENCH_TMP/log.json"
  node -e '
    const [file, limit, n] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
    const log = JSON.parse(require("fs").readFileSync(file, "utf8"));
    if (log.length !== n) { console.error(`${log.length} creates for ${n} requests`); process.exit(1); }
    const t0 = Math.min(...log.map((e) => e.t)), t1 = Math.max(...log.map((e) => e.t));
    const byLock = {};
    for (const e of log) (byLock[e.device_id] ??= []).push(e.t);
    let gap = Infinity;
    for (const ts of Object.values(byLock)) {
      ts.sort((a, b) => a - b);
      for (let i = 0; i + limit < ts.length; i++) gap = Math.min(gap, ts[i + limit] - ts[i]);
    }
    const first = log.filter((e) => e.t < t0 + 60000).length;
    console.log(`${first} ${(gap / 1000).toFixed(3)} ${((t1 - t0) / 1000).toFixed(1)}`);
  ' "$BENCH_TMP/log.json" "$LIMIT" "$N" >>"$BENCH_TMP/results"
  read -r first gap alldone < <(tail -n 1 "$BENCH_TMP/results")
  bench_say "run $r: $first of $N creates in the first 60 s; a lock's ${LIMIT}th next create came $gap s after at the soonest; all in $alldone s"
done
bench_hold_worker

echo "# create limit: $LOCKS locks × $PER codes queued lock by lock, oracode.create_rate_limit $LIMIT, ${RTT} ms per round trip, $CONC in flight, $RUNS runs"
echo "# load average (1/5/15 min) at the start: $BENCH_LOAD_START; at the end: $(bench_load); $(nproc) cores"
echo "# runs (first_minute min_gap_s all_done_s): $(tr '\n' ';' <"$BENCH_TMP/results")"
printf '%-56s %10s\n' "figure (median of $RUNS)" value
printf '%-56s %10s\n' "creates in the first 60 s (of $N; limit allows $(( LOCKS * LIMIT )))" "$(cut -d' ' -f1 "$BENCH_TMP/results" | median)"
printf '%-56s %10s\n' "soonest ${LIMIT}th next create of a lock (s)" "$(cut -d' ' -f2 "$BENCH_TMP/results" | median)"
printf '%-56s %10s\n' "all $N creates sent within (s)" "$(cut -d' ' -f3 "$BENCH_TMP/results" | median)"
