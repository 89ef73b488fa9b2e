#!/usr/bin/env bash
# bench/events.sh — what a connected listener costs the transactions that change statuses, the
# way the worker changes them, without Seam's fake in the way: the same burst of status changes
# is timed with no listener and with a client LISTENing on oracode_code_status, alternately.
#
# Usage (as root, from anywhere):  bench/events.sh
#
# The cluster's worker is pointed at another database (it changes nothing here). N held
# requests are inserted (each announced, as any insert). A burst is one session running
# bench.burst(): N status changes queued -> sending, BENCH_EVENTS_BATCH rows per transaction in
# one UPDATE … FOR UPDATE SKIP LOCKED, as the worker's claim does (history row and announcement
# per change, NOTIFY at each commit); its wall time and its backend's CPU (from /proc/self/stat)
# are recorded. Then every row goes back to queued (untimed, no listener). Each run measures both
# modes, in an order that alternates from run to run:
#   none     no client listens
#   listen   bench/listen.mjs (node's pg, pinned in scripts/listen-pins) listens throughout and
#            must hear all N changes
# bench/issue.sh with BENCH_LISTEN=1 measures the same against the fake, end to end; on a busy
# machine its run-to-run spread hides a few percent, which this isolates.
#
# Environment:
#   BENCH_N=20000            status changes per burst
#   BENCH_EVENTS_BATCH=100   changes per transaction (oracode.batch_size's default)
#   BENCH_RUNS=5             runs (medians and per-run ratios are reported)
#   BENCH_NO_BUILD=1         skip `make && make install`
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/listen.sh
. "$REPO/scripts/listen.sh"

N=${BENCH_N:-20000}
BATCH=${BENCH_EVENTS_BATCH:-100}
RUNS=${BENCH_RUNS:-5}
DB=oracode_bench_events
for v in N BATCH RUNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done

bench_prepare
listen_install >/dev/null || bench_die "cannot install the listener's pg package"
bench_say "starting a throwaway cluster"
cluster_start "oracode.database = 'postgres'" "oracode.sync_interval = 0"
createdb "$DB"
bench_sql "$DB" "SET client_min_messages = warning" "CREATE EXTENSION oracode"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v n="$N" <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA bench;
CREATE TABLE bench.results (run int, mode text, secs float8, cpu_ticks bigint, listener_ticks bigint);
-- utime + stime of this backend, in clock ticks (fields 14 and 15 of /proc/self/stat)
CREATE FUNCTION bench.cpu_ticks() RETURNS bigint LANGUAGE sql AS $$
  SELECT f[12]::bigint + f[13]::bigint
  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s $$;
-- n changes queued -> sending, batch rows per transaction, as the worker's claim makes them
CREATE PROCEDURE bench.burst(p_run int, p_mode text, n int, batch int) LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
  c0 bigint := bench.cpu_ticks();
  done int := 0;
  k int;
BEGIN
  WHILE done < n LOOP
    UPDATE oracode.access_codes a SET status = 'sending', attempts = a.attempts + 1, sent_at = now(),
           status_detail = 'claimed'
     WHERE a.id IN (SELECT q.id FROM oracode.access_codes q WHERE q.status = 'queued'
                    ORDER BY q.id LIMIT least(batch, n - done) FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS k = ROW_COUNT;
    EXIT WHEN k = 0;
    done := done + k;
    COMMIT;
  END LOOP;
  INSERT INTO bench.results VALUES (p_run, p_mode, extract(epoch FROM clock_timestamp() - t0), bench.cpu_ticks() - c0);
  COMMIT;
END $$;
INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes)
VALUES ('00000000-0000-4000-8000-000000000001', 'Bench lock', 'UTC', true);
INSERT INTO oracode.access_codes (device_id, booking_ref, requested_starts_at, requested_ends_at,
  starts_at, ends_at, slot_name, bound, time_zone, issue_at)
SELECT '00000000-0000-4000-8000-000000000001', 'BENCH-' || i, now() + interval '10 days',
  now() + interval '12 days', now() + interval '10 days', now() + interval '12 days', 'Guest 4pm-11am',
  'hourly', 'UTC', now() + interval '9 days'
FROM generate_series(1, :n) i;
VACUUM ANALYZE oracode.access_codes;
SQL

# burst RUN MODE: one timed burst, the listener connected when MODE is listen
burst() {
  local r=$1 mode=$2 lpid="" heard bpid lt
  if [ "$mode" = listen ]; then
    PGDATABASE=$DB node "$BENCH_DIR/listen.mjs" >"$BENCH_TMP/listen.out" 2>"$BENCH_TMP/listen.err" &
    lpid=$!
    for _ in $(seq 1 100); do grep -q LISTENING "$BENCH_TMP/listen.err" && break; sleep 0.1; done
    grep -q LISTENING "$BENCH_TMP/listen.err" || bench_die "the listener did not start: $(cat "$BENCH_TMP/listen.err")"
  fi
  bench_sql "$DB" "CALL bench.burst($r, '$mode', $N, $BATCH)"
  if [ -n "$lpid" ]; then
    sleep 1   # the last commit's notifications reach the listener within milliseconds
    # what listening cost the listener's own two processes (node and its backend), from their start
    bpid=$(bench_sql "$DB" "SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN oracode_code_status'")
    lt=$(( $(proc_cpu_ticks "$lpid") + $(proc_cpu_ticks "$bpid") ))
    bench_sql "$DB" "UPDATE bench.results SET listener_ticks = $lt WHERE run = $r AND mode = '$mode'"
    kill -TERM "$lpid"; wait "$lpid" || true
    heard=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).changes)' "$BENCH_TMP/listen.out")
    [ "$heard" = "$N" ] || bench_die "run $r: the listener heard $heard changes, not $N"
  fi
  # back to queued, untimed and unheard
  bench_sql "$DB" "UPDATE oracode.access_codes SET status = 'queued' WHERE status = 'sending'" "VACUUM oracode.access_codes"
  bench_say "run $r, $mode: $(bench_sql "$DB" "SELECT format('%s s, %s CPU ticks', round(secs::numeric, 3), cpu_ticks)
                                                FROM bench.results WHERE run = $r AND mode = '$mode'")"
}

for r in $(seq 1 "$RUNS"); do
  if (( r % 2 )); then burst "$r" none; burst "$r" listen; else burst "$r" listen; burst "$r" none; fi
done

# ---- report
hz=$(getconf CLK_TCK)
res() { bench_sql "$DB" "SELECT $2 FROM bench.results WHERE mode = '$1' ORDER BY run"; }
# per run: 100 × (listen / none − 1), of column $1
slow() { bench_sql "$DB" "SELECT 100 * (l.$1::float8 / n.$1 - 1) FROM bench.results l JOIN bench.results n USING (run)
                          WHERE l.mode = 'listen' AND n.mode = 'none' ORDER BY run"; }
us() { awk -v s="$1" -v n="$N" 'BEGIN {print s * 1e6 / n}'; }
echo "# events: a burst of $N status changes, $BATCH per transaction, with and without a listener, $RUNS runs"
echo "# load average (1/5/15 min) at the start: $BENCH_LOAD_START; at the end: $(bench_load); $(nproc) cores"
bench_library
for m in none listen; do
  printf '%-36s %s µs wall, %s µs CPU per change  (wall per run: %s s)\n' \
    "$([ $m = none ] && echo "no listener" || echo "a listener connected")" \
    "$(fmt "$(us "$(res $m secs | median)")" 1)" "$(fmt "$(us "$(res $m "cpu_ticks::float8 / $hz" | median)")" 1)" \
    "$(res $m secs | list 2)"
done
printf '%-36s wall %s%%, CPU %s%%  target <= 5%%  (per run, wall: %s; CPU: %s)\n' "slowdown with a listener (median)" \
  "$(fmt "$(slow secs | median)" 1)" "$(fmt "$(slow cpu_ticks | median)" 1)" "$(slow secs | list 1)" "$(slow cpu_ticks | list 1)"
printf '%-36s %s µs CPU per change (node and its backend; median)\n' "the listener itself" \
  "$(fmt "$(us "$(res listen "listener_ticks::float8 / $hz" | median)")" 1)"
