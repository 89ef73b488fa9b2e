#!/usr/bin/env bash
# bench/match_slot.sh — benchmark oracode_match_slot(jsonb, ...) against the
# PL/pgSQL reference (bench/match_plpgsql.sql) and check that they agree.
#
# Usage (as root, from anywhere):  bench/match_slot.sh
#
# Environment:
#   BENCH_N=1000000        bookings to generate and match with the C function
#   BENCH_SAMPLE=20000     bookings to time the PL/pgSQL reference on
#   BENCH_CHECK=20000      bookings on which C and PL/pgSQL are compared field by
#                          field (at least 20000, or N if N is smaller)
#   BENCH_RUNS=3           timed runs of the C function (the median is reported)
#   BENCH_ROUNDING=1hour   max_time_rounding passed to both functions
#   BENCH_SEED=0.42        setseed() for the synthetic bookings
#   BENCH_DIRTY=0          share of bookings made dirty as real PMS data has them (a third
#                          ending before they start, a third over 31 days, a third without
#                          an end): a report over them must not abort, and they match nothing
#   BENCH_JIT=off          jit setting for the session
#   BENCH_NO_BUILD=1       skip `make && make install`
#   BENCH_USE_EXISTING=1   use the running cluster named by PGHOST/PGPORT/PGUSER
#                          instead of a throwaway one (scripts/cluster.sh)
#   BENCH_DB=oracode_bench database to (re)create; dropped at the end on an
#                          existing cluster unless BENCH_KEEP_DB=1
#
# Everything is measured in one backend, with parallel query off. Exit status is
# non-zero if the C function and the reference disagree on any compared row.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")

N=${BENCH_N:-1000000}
SAMPLE=${BENCH_SAMPLE:-20000}
CHECK=${BENCH_CHECK:-20000}
RUNS=${BENCH_RUNS:-3}
ROUNDING=${BENCH_ROUNDING:-1hour}
SEED=${BENCH_SEED:-0.42}
DIRTY=${BENCH_DIRTY:-0}
[[ $DIRTY =~ ^(0|1|0?\.[0-9]+)$ ]] || die "BENCH_DIRTY must be a share between 0 and 1, not '$DIRTY'"
JIT=${BENCH_JIT:-off}
DB=${BENCH_DB:-oracode_bench}

die() { echo "match_slot.sh: $*" >&2; exit 2; }
for v in N SAMPLE CHECK RUNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
[[ $DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case identifier"
(( CHECK < 20000 )) && CHECK=20000
(( CHECK > N )) && CHECK=$N
(( SAMPLE > N )) && SAMPLE=$N

# A 5-slot Oracode lock in New York, as Seam returns predefined_time_slots.
# "Guest 3PM-10AM" carries both an offset (a winter snapshot) and a zone: the zone
# wins. "One shot 2PM-10AM" is a one-shot slot and must never be chosen.
SLOTS='[
  {"name": "Guest 4PM-11AM", "prefix": 1, "check_in_time": "16:00:00[America/New_York]",
   "check_out_time": "11:00:00[America/New_York]", "is_24_hour": false, "is_biweekly_mode": false,
   "is_one_shot": false, "is_master": false, "ext_dormakaba_oracode_user_level_prefix": 1,
   "dormakaba_oracode_user_level_id": "0b9f4a4e-6d55-4b8e-9d0c-2f1f7c1a0001"},
  {"name": "Guest 3PM-10AM", "prefix": 2, "check_in_time": "15:00:00-05:00[America/New_York]",
   "check_out_time": "10:00:00-05:00[America/New_York]", "is_24_hour": false, "is_biweekly_mode": false,
   "is_one_shot": false, "is_master": false, "ext_dormakaba_oracode_user_level_prefix": 2,
   "dormakaba_oracode_user_level_id": "0b9f4a4e-6d55-4b8e-9d0c-2f1f7c1a0002"},
  {"name": "Late 5PM-12PM", "prefix": 3, "check_in_time": "17:00:00[America/New_York]",
   "check_out_time": "12:00:00[America/New_York]", "is_24_hour": false, "is_biweekly_mode": false,
   "is_one_shot": false, "is_master": false, "ext_dormakaba_oracode_user_level_prefix": 3,
   "dormakaba_oracode_user_level_id": "0b9f4a4e-6d55-4b8e-9d0c-2f1f7c1a0003"},
  {"name": "Guest RCI 12h-12h", "prefix": 4, "check_in_time": "12:00:00[America/New_York]",
   "check_out_time": "12:00:00[America/New_York]", "is_24_hour": true, "is_biweekly_mode": false,
   "is_one_shot": false, "is_master": false, "ext_dormakaba_oracode_user_level_prefix": 4,
   "dormakaba_oracode_user_level_id": "0b9f4a4e-6d55-4b8e-9d0c-2f1f7c1a0004"},
  {"name": "One shot 2PM-10AM", "prefix": 5, "check_in_time": "14:00:00[America/New_York]",
   "check_out_time": "10:00:00[America/New_York]", "is_24_hour": false, "is_biweekly_mode": false,
   "is_one_shot": true, "is_master": false, "ext_dormakaba_oracode_user_level_prefix": 5,
   "dormakaba_oracode_user_level_id": "0b9f4a4e-6d55-4b8e-9d0c-2f1f7c1a0005"}
]'
ONE_SHOT='One shot 2PM-10AM'

if [ "${BENCH_NO_BUILD:-}" != 1 ]; then
  [ "$(id -u)" -eq 0 ] || die "building and installing the extension needs root (or set BENCH_NO_BUILD=1)"
  echo "# building and installing oracode" >&2
  (cd "$REPO" && make -s && make -s install) >&2
fi

if [ "${BENCH_USE_EXISTING:-}" = 1 ]; then
  PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}
  export PATH="$PG_BINDIR:$PATH"
  if [ "${BENCH_KEEP_DB:-}" != 1 ]; then
    trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT
  fi
else
  # shellcheck source=scripts/cluster.sh
  . "$REPO/scripts/cluster.sh"
  echo "# starting a throwaway cluster" >&2
  # shellcheck disable=SC2119
  cluster_start
fi

psql -X -q -v ON_ERROR_STOP=1 -d postgres \
  -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null

echo "# generating $N bookings, then timing (about half a minute for 1M)" >&2

# One psql session = one backend for everything below.
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -P pager=off -P tuples_only=on -P format=unaligned \
  -v n="$N" -v sample="$SAMPLE" -v check="$CHECK" -v runs="$RUNS" -v seed="$SEED" -v dirty="$DIRTY" \
  -v rounding="$ROUNDING" -v jit="$JIT" -v slots="$SLOTS" -v one_shot="$ONE_SHOT" \
  -v ref="$BENCH_DIR/match_plpgsql.sql" <<'SQL'
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;     -- one backend does all the work
SET jit = :'jit';
CREATE EXTENSION IF NOT EXISTS oracode;
\i :ref

-- Time one query that returns (count(*), count(m)), inside the backend.
CREATE FUNCTION oracode_bench.time_query(q text, OUT seconds numeric, OUT total bigint, OUT matched bigint)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE q INTO total, matched;
    seconds := extract(epoch FROM clock_timestamp() - t0);
END
$$;

CREATE FUNCTION oracode_bench.vm(field text) RETURNS bigint
LANGUAGE sql AS $$
    SELECT substring(pg_read_file('/proc/self/status') FROM field || ':\s*(\d+) kB')::bigint
$$;

CREATE TEMP TABLE timings (what text, run int, seconds numeric, total bigint, matched bigint);
CREATE TEMP TABLE facts (k text PRIMARY KEY, v numeric);

-- Synthetic bookings at a New York property over two years (both DST changes
-- of 2024 and of 2025 are inside): check-in around 14:00-17:00, check-out around
-- 10:00-12:00 local, 40% on the hour and the rest up to ±90 minutes off, 1-14
-- nights; 3% are odd (any time of day, any length from a minute up to exactly
-- 744 hours). Every row is a valid argument set.
SELECT setseed(:seed);
CREATE UNLOGGED TABLE bookings AS
WITH r AS (
    SELECT g AS id,
           date '2024-01-01' + floor(random() * 731)::int AS d,
           1 + floor(random() * 14)::int AS nights,
           random() < 0.03 AS odd,
           14 + floor(random() * 4)::int AS in_hour,
           10 + floor(random() * 3)::int AS out_hour,
           CASE WHEN random() < 0.4 THEN 0 ELSE floor(random() * 181)::int - 90 END AS in_jitter,
           CASE WHEN random() < 0.4 THEN 0 ELSE floor(random() * 181)::int - 90 END AS out_jitter,
           floor(random() * 1440)::int AS odd_minute,
           random() AS odd_len
    FROM generate_series(1, :n) g
), t AS (
    SELECT id,
           CASE WHEN odd THEN (d + odd_minute * interval '1 minute') AT TIME ZONE 'America/New_York'
                ELSE (d + make_time(in_hour, 0, 0) + in_jitter * interval '1 minute') AT TIME ZONE 'America/New_York'
           END AS starts_at,
           odd, d, nights, out_hour, out_jitter, odd_len
    FROM r
)
SELECT id, starts_at,
       CASE WHEN NOT odd
                THEN (d + nights + make_time(out_hour, 0, 0) + out_jitter * interval '1 minute') AT TIME ZONE 'America/New_York'
            WHEN odd_len < 0.1 THEN starts_at + interval '744 hours'
            ELSE starts_at + greatest(interval '1 minute', odd_len * interval '744 hours')
       END AS ends_at
FROM t;
-- BENCH_DIRTY: some rows as a PMS's real data has them; none of them may abort the report
UPDATE bookings SET ends_at = CASE id % 3 WHEN 0 THEN starts_at - interval '1 hour'
                                          WHEN 1 THEN starts_at + interval '40 days' END
 WHERE random() < :dirty;
VACUUM (ANALYZE) bookings;
CREATE TEMP TABLE sample AS SELECT * FROM bookings WHERE id <= :check;

SELECT format('SELECT count(*), count(m) FROM (SELECT oracode_match_slot(%L::jsonb, starts_at, ends_at, %L) AS m FROM bookings) x',
              :'slots', :'rounding') AS c_query,
       format('SELECT count(*), count(m) FROM (SELECT oracode_bench.match_slot_plpgsql(%L::jsonb, starts_at, ends_at, %L) AS m FROM sample WHERE id <= %s) x',
              :'slots', :'rounding', :sample) AS plpgsql_query
\gset

\echo '# oracode_match_slot benchmark'
SELECT format('%-26s %s (%s to %s, America/New_York, 5 slots, rounding %s)', 'bookings (N)', count(*),
              min(starts_at)::date, max(ends_at)::date, :'rounding')
FROM bookings;
SELECT format('%-26s %s (ending before they start %s, over 31 days %s, without an end %s)', 'dirty bookings',
              count(*) FILTER (WHERE ends_at IS NULL OR ends_at <= starts_at OR ends_at - starts_at > interval '744 hours'),
              count(*) FILTER (WHERE ends_at <= starts_at), count(*) FILTER (WHERE ends_at - starts_at > interval '744 hours'),
              count(*) FILTER (WHERE ends_at IS NULL))
FROM bookings;
INSERT INTO facts VALUES ('rss_before', oracode_bench.vm('VmRSS')), ('hwm_before', oracode_bench.vm('VmHWM'));

-- the C function over all N rows, RUNS times
SELECT format('INSERT INTO timings SELECT ''c'', %s, * FROM oracode_bench.time_query(%L) '
              'RETURNING format(''%%-26s %%s s'', ''C run '' || run, round(seconds, 3))', g, :'c_query')
FROM generate_series(1, :runs) g
\gexec
INSERT INTO facts VALUES ('hwm_after_c', oracode_bench.vm('VmHWM'));

-- the same scan without the function, to see what the function itself costs
INSERT INTO timings SELECT 'scan', 1, * FROM oracode_bench.time_query(
    'SELECT count(*), count(e) FROM (SELECT ends_at - starts_at AS e FROM bookings) x')
RETURNING format('%-26s %s s', 'scan only (no match)', round(seconds, 3));

-- which slots the C function chose (one more, untimed, pass over all N)
CREATE TEMP TABLE chosen AS
SELECT (m).slot_name AS slot, (m).bound AS bound, count(*) AS cnt
FROM (SELECT oracode_match_slot(:'slots'::jsonb, starts_at, ends_at, :'rounding') AS m
      FROM bookings OFFSET 0) x
GROUP BY 1, 2;
SELECT format('%-30s %s', coalesce('  ' || slot || ' (' || bound || ')', '  (no match)'), cnt)
FROM chosen ORDER BY slot COLLATE "C" NULLS LAST;

-- the PL/pgSQL reference over the sample
INSERT INTO timings SELECT 'plpgsql', 1, * FROM oracode_bench.time_query(:'plpgsql_query')
RETURNING format('%-26s %s s over %s bookings', 'PL/pgSQL run', round(seconds, 3), total);

-- agreement, field by field (a NULL result only equals a NULL result)
CREATE TEMP TABLE mismatches AS
SELECT id, starts_at, ends_at, c, p
FROM (SELECT b.id, b.starts_at, b.ends_at,
             oracode_match_slot(:'slots'::jsonb, b.starts_at, b.ends_at, :'rounding') AS c,
             oracode_bench.match_slot_plpgsql(:'slots'::jsonb, b.starts_at, b.ends_at, :'rounding') AS p
      FROM sample b
      OFFSET 0) x
WHERE num_nulls(c) <> num_nulls(p)
   OR (c).slot_name IS DISTINCT FROM (p).slot_name
   OR (c).starts_at IS DISTINCT FROM (p).starts_at
   OR (c).ends_at   IS DISTINCT FROM (p).ends_at
   OR (c).bound     IS DISTINCT FROM (p).bound;
INSERT INTO facts SELECT 'mismatches', count(*) FROM mismatches;
INSERT INTO facts SELECT 'compared', count(*) FROM sample;
INSERT INTO facts VALUES ('hwm_end', oracode_bench.vm('VmHWM'));

-- the report
WITH c AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS med,
                  string_agg(round(seconds, 3)::text, ', ' ORDER BY run) AS runs,
                  max(total) AS total, max(matched) AS matched
           FROM timings WHERE what = 'c'),
     p AS (SELECT seconds, total FROM timings WHERE what = 'plpgsql'),
     b AS (SELECT seconds * 1e6 / total AS scan_us FROM timings WHERE what = 'scan'),
     f AS (SELECT jsonb_object_agg(k, v) AS j FROM facts),
     nums AS (SELECT c.*, c.med * 1e6 / c.total AS c_us, p.seconds * 1e6 / p.total AS p_us,
                     p.total AS p_total, b.scan_us, f.j FROM c, p, b, f)
SELECT line FROM nums, LATERAL (VALUES
    (1, '#'),
    (2, format('%-26s %s', 'N', total)),
    (3, format('%-26s %s s  (median of %s runs: %s)   target for 1M: <= 2 s -> %s s per 1M  [%s]',
               'C total', round(med::numeric, 3), :runs, runs, round(c_us::numeric, 3),
               CASE WHEN c_us <= 2 THEN 'OK' ELSE 'MISSED' END)),
    (4, format('%-26s %s µs  (the scan alone: %s µs)', 'C per booking', round(c_us::numeric, 3),
               round(scan_us::numeric, 3))),
    (5, format('%-26s %s µs  (%s bookings timed, extrapolated: %s s per 1M)', 'PL/pgSQL per booking',
               round(p_us::numeric, 1), p_total, round(p_us::numeric, 1))),
    (6, format('%-26s %s×   target >= 100×  [%s]', 'speed ratio (PL/pgSQL/C)', round((p_us / c_us)::numeric, 1),
               CASE WHEN p_us / c_us >= 100 THEN 'OK' ELSE 'MISSED' END)),
    (7, format('%-26s %s / %s  (%s%% matched)', 'matched / unmatched', matched, total - matched,
               round(100.0 * matched / total, 1))),
    (8, format('%-26s %s of %s compared  [%s]', 'mismatches C vs PL/pgSQL', (j->>'mismatches')::numeric,
               (j->>'compared')::numeric, CASE WHEN (j->>'mismatches')::numeric = 0 THEN 'OK' ELSE 'FAIL' END)),
    (9, format('%-26s VmHWM %s MB after the C runs (RSS %s MB before them; includes shared buffers touched), %s MB at the end',
               'backend peak memory', round((j->>'hwm_after_c')::numeric / 1024, 1),
               round((j->>'rss_before')::numeric / 1024, 1), round((j->>'hwm_end')::numeric / 1024, 1)))
) AS v(ord, line)
ORDER BY ord;

SELECT format('%-26s %s  [%s]', 'one-shot slot chosen', coalesce(sum(cnt), 0),
              CASE WHEN coalesce(sum(cnt), 0) = 0 THEN 'OK' ELSE 'FAIL' END)
FROM chosen WHERE slot = :'one_shot';

-- on disagreement: show the first rows and fail
SELECT '# first mismatching rows (id | starts_at | ends_at | C | PL/pgSQL):' WHERE EXISTS (SELECT FROM mismatches);
SELECT concat_ws(' | ', id, starts_at, ends_at, coalesce(c::text, 'NULL'), coalesce(p::text, 'NULL'))
FROM mismatches ORDER BY id LIMIT 10;
DO $$
DECLARE n bigint := (SELECT v FROM facts WHERE k = 'mismatches');
BEGIN
    IF n > 0 THEN
        RAISE EXCEPTION 'oracode_match_slot and the PL/pgSQL reference disagree on % bookings', n;
    END IF;
END
$$;
SQL
