#!/usr/bin/env bash
# bench/soak.sh — the soak: SOAK_N (100,000) code requests pushed through the oracode worker,
# printing the worker's memory (VmRSS, VmHWM, RssAnon, RssShmem from /proc/<pid>/status) at
# the start, every SOAK_SAMPLE seconds and at the end, with the throughput. The worker's
# private memory (RssAnon) must stay flat; the script fails if it grows by more than
# SOAK_MAX_GROWTH_KB between the first sample after warm-up and the end. Not run by test/run
# (it takes a quarter of an hour or more).
#
# Usage (as root, from anywhere):  bench/soak.sh
#
# A PMS backfill queues the requests with oracode_create_code() in committed chunks of
# SOAK_CHUNK over BENCH_DEVICES locks while the worker sends them; Seam's fake sets each code
# SOAK_AUTO_SET_MS after it was made, and the worker's polls bring the rows to 'set'. At the
# end it checks that every request is 'set' and that the fake holds exactly one code per
# request (every name once). The worker talks to the fake through test/fault-proxy with
# --seam-list-filter and no faults: the fake's /access_codes/list returns every code it holds
# whatever the filter (with 100,000 codes, 55 MB per poll), Seam returns only the codes asked
# for, and the proxy makes the fake's answers Seam's. The fake still builds the whole list
# for each poll, and each create copies its whole store, so the fake slows down as its store
# grows (see the reference on the fake, §7): the per-interval rate printed below falls for
# that reason, not the worker's; the fake's store size is printed next to it.
#
# Environment:
#   SOAK_N=100000            requests
#   BENCH_DEVICES=200        Oracode locks seeded in one workspace
#   SOAK_CHUNK=5000          requests per committed transaction of the backfill
#   SOAK_SAMPLE=10           seconds between memory samples
#   SOAK_BATCH=1000          oracode.batch_size (rows claimed per turn, ids per status poll)
#   SOAK_CONCURRENCY=8       oracode.max_connections
#   SOAK_AUTO_SET_MS=200     the fake sets a code this long after making it
#   SOAK_MAX_GROWTH_KB=8192  allowed growth of the worker's RssAnon after warm-up
#   BENCH_NO_BUILD=1         skip `make && make install`
# oracode.create_rate_limit is raised to 100000 (Seam allows 10 a minute per lock) and
# oracode.poll_interval is 5 s.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/fault_proxy.sh
. "$REPO/scripts/fault_proxy.sh"

N=${SOAK_N:-100000}
CHUNK=${SOAK_CHUNK:-5000}
SAMPLE=${SOAK_SAMPLE:-10}
BATCH=${SOAK_BATCH:-1000}
CONC=${SOAK_CONCURRENCY:-8}
AUTO_SET_MS=${SOAK_AUTO_SET_MS:-200}
MAX_GROWTH=${SOAK_MAX_GROWTH_KB:-8192}
DB=oracode_soak
for v in N CHUNK SAMPLE BATCH CONC AUTO_SET_MS MAX_GROWTH BENCH_DEVICES; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done
# the fake, the proxy and the cluster must outlive a long run (they still stop with this shell)
export FAKE_MAX_SECONDS=${FAKE_MAX_SECONDS:-21600} PROXY_MAX_SECONDS=${PROXY_MAX_SECONDS:-21600}

# "VmRSS VmHWM RssAnon RssShmem" of PID in kB.
mem4() {
  awk '/^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2} /^RssAnon:/ {a=$2} /^RssShmem:/ {s=$2} END {print r, h, a, s}' "/proc/$1/status"
}
# Bytes in all of the worker's memory contexts (pg_log_backend_memory_contexts writes them to
# the server log): growth here is PostgreSQL memory, growth only in RssAnon is malloc's (libcurl).
ctx_total() {
  local from line=""
  from=$(wc -l <"$CLUSTER_LOG")
  bench_sql "$DB" "SELECT pg_log_backend_memory_contexts($pid)" >/dev/null
  for _ in $(seq 1 100); do
    line=$(tail -n +"$(( from + 1 ))" "$CLUSTER_LOG" | grep "\[$pid\].*Grand total" | tail -n 1) || true
    [ -n "$line" ] && break
    sleep 0.1
  done
  sed -n 's/.*Grand total: \([0-9]*\) bytes.*/\1/p' <<<"$line"
}
# calc EXPR: floating-point arithmetic.
calc() { awk "BEGIN { print $* }"; }
# kB as MB with one decimal.
mb() { fmt "$(calc "$1 / 1024")" 1; }

bench_prepare
bench_fresh_fake
proxy_start "$FAKE_URL" --seam-list-filter --log-limit 0 >/dev/null
curl -sS --fail -X POST -H 'Content-Type: application/json' -d "{\"ms\":$AUTO_SET_MS}" "$FAKE_URL/_oracode/auto_set" >/dev/null
bench_say "starting a throwaway cluster"
cluster_start "oracode.database = '$DB'" "oracode.api_url = '$PROXY_URL'" "oracode.api_key = '$BENCH_API_KEY'" \
  "oracode.sync_interval = 0" "oracode.poll_interval = 5" "oracode.create_rate_limit = 100000" \
  "oracode.batch_size = $BATCH" "oracode.max_connections = $CONC"
createdb "$DB"
bench_sql "$DB" "SET client_min_messages = warning" "CREATE EXTENSION oracode" >/dev/null
devices=$(bench_sql "$DB" "SELECT oracode_sync_devices()")
[ "$devices" -ge "$BENCH_DEVICES" ] || bench_die "only $devices devices synced"
bench_wait "$DB" "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'oracode worker'" 30
pid=$(worker_pid "$DB")
sleep 2

per_device=$(( (N + BENCH_DEVICES - 1) / BENCH_DEVICES ))
chunks=$(( (N + CHUNK - 1) / CHUNK ))
echo "soak: $N requests over $BENCH_DEVICES locks ($per_device each), queued in $chunks committed chunks of $CHUNK;"
echo "      worker pid $pid, oracode.batch_size $BATCH, max_connections $CONC; the fake sets codes after $AUTO_SET_MS ms"
echo "      machine: $(nproc) cores, load at start $BENCH_LOAD_START"
read -r rss0 hwm0 anon0 shm0 < <(mem4 "$pid")
printf '%8s %9s %9s %8s %10s %9s %9s %9s %9s\n' elapsed queued sent set sent/s fake_codes VmRSS_MB VmHWM_MB RssAnon_MB
printf '%8s %9s %9s %8s %10s %9s %9s %9s %9s\n' 0 0 0 0 - 0 "$(mb "$rss0")" "$(mb "$hwm0")" "$(mb "$anon0")"

# The backfill: chunk c queues bookings k = c*per+1 .. on every lock (stays of 1-3 nights,
# 15:40 to 10:20 local time, within the next 300 days), one committed transaction per chunk.
backfill() {
  local c from to
  for (( c = 0; c < chunks; c++ )); do
    from=$(( c * CHUNK + 1 )); to=$(( (c + 1) * CHUNK < N ? (c + 1) * CHUNK : N ))
    bench_sql "$DB" "SELECT count(oracode_create_code(d.device_id, (x.day + time '15:40') AT TIME ZONE d.timezone,
                       (x.day + x.nights + time '10:20') AT TIME ZONE d.timezone, 'Soak guest', 'S-' || g))
                     FROM generate_series($from, $to) g
                     JOIN (SELECT device_id, timezone, row_number() OVER (ORDER BY device_id) - 1 AS rn
                           FROM oracode.devices) d ON d.rn = g % $BENCH_DEVICES,
                     LATERAL (SELECT (now() AT TIME ZONE d.timezone)::date + 1 + (g / $BENCH_DEVICES) % 300 AS day,
                                     1 + g % 3 AS nights) x" >/dev/null
  done
}
t0=$(date +%s.%N)
backfill &
backfill_pid=$!

# Sample until every request is set (and the backfill is done).
last_sent=0 last_t=$t0 warm_anon="" warm_at=0 warm_ctx=""
while :; do
  sleep "$SAMPLE"
  read -r queued sent nset < <(bench_sql "$DB" "SELECT count(*), count(seam_access_code_id), count(*) FILTER (WHERE status = 'set')
                                                FROM oracode.access_codes" | tr '|' ' ')
  fake_codes=$(curl -sS --max-time 60 "$FAKE_URL/_oracode/stats" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).access_codes)')
  read -r rss hwm anon shm < <(mem4 "$pid")
  now=$(date +%s.%N)
  rate=$(fmt "$(calc "($sent - $last_sent) / ($now - $last_t)")")
  printf '%8s %9s %9s %8s %10s %9s %9s %9s %9s\n' "$(fmt "$(calc "$now - $t0")")" "$queued" "$sent" "$nset" "$rate" \
    "$fake_codes" "$(mb "$rss")" "$(mb "$hwm")" "$(mb "$anon")"
  last_sent=$sent last_t=$now
  # warm-up: the first sample with 5 % of the requests sent (caches, plans, buffers touched)
  if [ -z "$warm_anon" ] && [ "$sent" -ge $(( N / 20 )) ]; then warm_anon=$anon warm_at=$sent warm_ctx=$(ctx_total); fi
  if [ "$nset" -ge "$N" ]; then break; fi
  kill -0 "$(worker_pid "$DB" || echo 0)" 2>/dev/null || bench_die "the worker is gone"
  [ "$(worker_pid "$DB")" = "$pid" ] || bench_die "the worker restarted (pid $pid -> $(worker_pid "$DB"))"
done
wait "$backfill_pid"
t_end=$(date +%s.%N)
read -r first_q last_set < <(bench_sql "$DB" "SELECT extract(epoch FROM min(e.at) FILTER (WHERE e.new_status = 'queued')),
                                                     extract(epoch FROM max(e.at) FILTER (WHERE e.new_status = 'set'))
                                              FROM oracode.access_code_events e" | tr '|' ' ')
sleep "$SAMPLE"   # idle a moment: what the worker keeps once the work is done
read -r rss1 hwm1 anon1 shm1 < <(mem4 "$pid")
ctx1=$(ctx_total)

# Checks: every request set, one code per request at the fake under its unique name.
read -r rows set_rows < <(bench_sql "$DB" "SELECT count(*), count(*) FILTER (WHERE status = 'set') FROM oracode.access_codes" | tr '|' ' ')
curl -sS --max-time 300 "$FAKE_URL/_oracode/access_codes" -o "$BENCH_TMP/codes.json"
read -r fake_total fake_names < <(node -e '
  const codes = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).filter((c) => c.name?.startsWith("Soak guest"));
  console.log(codes.length, new Set(codes.map((c) => c.name)).size);' "$BENCH_TMP/codes.json")
elapsed=$(calc "$t_end - $t0")
e2e=$(calc "$last_set - $first_q")

echo
echo "soak results ($N requests, $BENCH_DEVICES locks)"
echo "  time: $(fmt "$elapsed") s until every request was set; first queued -> last set $(fmt "$e2e") s"
echo "  throughput: $(fmt "$(calc "$N / $e2e")") requests/s end to end (queued -> created -> polled -> set)"
echo "  rows: $rows, set: $set_rows; fake: $fake_total codes of ours under $fake_names distinct names (duplicates: $(( fake_total - fake_names )))"
echo "  worker memory (MB)      start    end (idle)"
echo "    VmRSS              $(printf '%8s %9s' "$(mb "$rss0")" "$(mb "$rss1")")"
echo "    VmHWM              $(printf '%8s %9s' "$(mb "$hwm0")" "$(mb "$hwm1")")"
echo "    RssAnon (private)  $(printf '%8s %9s' "$(mb "$anon0")" "$(mb "$anon1")")   after warm-up ($warm_at sent): $(mb "${warm_anon:-0}")"
echo "    RssShmem (shared)  $(printf '%8s %9s' "$(mb "$shm0")" "$(mb "$shm1")")   shared buffers the worker has touched; bounded by shared_buffers, not a leak"
echo "    memory contexts    $(printf '%8s %9s' "$(mb "$(( ${warm_ctx:-0} / 1024 ))")" "$(mb "$(( ${ctx1:-0} / 1024 ))")")   PostgreSQL's share of RssAnon: at warm-up (mid-turn, a batch in hand) and idle"
echo "      (RssAnon moves with the batch in hand: oracode.batch_size rows and their answers per turn,"
echo "       freed at the end of each turn; malloc keeps some of it, so RssAnon steps up and down)"
echo "  note: the fake slows down as its store grows (each create copies its whole store, each poll"
echo "        serializes every code it holds); the sent/s column falls with fake_codes for that reason."
echo "  load at end: $(bench_load)"

status=0
[ "$rows" -eq "$N" ] && [ "$set_rows" -eq "$N" ] || { echo "soak: FAIL — $set_rows of $rows rows set, $N queued"; status=1; }
[ "$fake_total" -eq "$N" ] && [ "$fake_names" -eq "$N" ] || { echo "soak: FAIL — the fake holds $fake_total codes under $fake_names names for $N requests"; status=1; }
growth=$(( anon1 - ${warm_anon:-$anon1} ))
if [ "$growth" -gt "$MAX_GROWTH" ]; then
  echo "soak: FAIL — the worker's RssAnon grew by $(mb "$growth") MB after warm-up (more than $(mb "$MAX_GROWTH") MB)"
  status=1
else
  echo "soak: RssAnon after warm-up to end: $(mb "$growth") MB (limit $(mb "$MAX_GROWTH") MB): flat"
fi
[ "$status" -eq 0 ] && echo "soak: PASS"
exit "$status"
