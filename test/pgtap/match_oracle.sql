-- test/pgtap/match_oracle.sql — oracode_match_slot(jsonb, ...) against the
-- independent PL/pgSQL reference in bench/match_plpgsql.sql (doc/reference.md, "Matching").
--
-- 5,000 deterministic random bookings over five slot sets (America/Los_Angeles,
-- Europe/Berlin, Australia/Lord_Howe with its 30-minute DST shift, fixed
-- offsets, and times that carry both an offset and a zone), concentrated on the
-- days around DST changes and around the slots' times, with all four
-- max_time_rounding spellings. The C function and the reference must give the
-- same slot, start, end and bound on every row (NULL only where the other is NULL).
--
-- Run by pg_prove in a database with pgtap installed (test/run); oracode is
-- created here if it is not there yet. Everything is rolled back.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL max_parallel_workers_per_gather = 0;   -- random() must run in one process to be repeatable
CREATE EXTENSION IF NOT EXISTS oracode;
\ir ../../bench/match_plpgsql.sql

SELECT plan(24);

-- ---------------------------------------------------------------------------
-- slot sets: the JSON as Seam returns it, and the zone the bookings are made in
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE oracle_sets (set_name text PRIMARY KEY, booking_zone text NOT NULL, slots jsonb NOT NULL);
INSERT INTO oracle_sets VALUES
('la', 'America/Los_Angeles', $$[
  {"name": "Guest 4PM-10AM", "prefix": 1, "check_in_time": "16:00:00[America/Los_Angeles]", "check_out_time": "10:00:00[America/Los_Angeles]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 1, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a1001"},
  {"name": "Guest 3PM-11AM", "prefix": 2, "check_in_time": "15:00:00[America/Los_Angeles]", "check_out_time": "11:00:00[America/Los_Angeles]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 2, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a1002"},
  {"name": "Night 2:30AM-1:30AM", "prefix": 3, "check_in_time": "02:30:00[America/Los_Angeles]", "check_out_time": "01:30:00[America/Los_Angeles]",
   "is_24_hour": false, "is_biweekly_mode": true, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 3, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a1003"},
  {"name": "RCI 12h-12h", "prefix": 4, "check_in_time": "12:00:00[America/Los_Angeles]", "check_out_time": "12:00:00[America/Los_Angeles]",
   "is_24_hour": true, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 4, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a1004"},
  {"name": "Owner", "prefix": 5, "check_in_time": "15:45:00[America/Los_Angeles]", "check_out_time": "10:15:00[America/Los_Angeles]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": true,
   "ext_dormakaba_oracode_user_level_prefix": 5, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a1005"},
  {"name": "A one shot", "prefix": 6, "check_in_time": "16:00:00[America/Los_Angeles]", "check_out_time": "10:00:00[America/Los_Angeles]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": true, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 6, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a1006"}
]$$),
('berlin', 'Europe/Berlin', $$[
  {"name": "Gast 15-11", "prefix": 1, "check_in_time": "15:00:00[Europe/Berlin]", "check_out_time": "11:00:00[Europe/Berlin]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 1, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a2001"},
  {"name": "Gast 14-12", "prefix": 2, "check_in_time": "14:00:00+01:00[Europe/Berlin]", "check_out_time": "12:00:00+01:00[Europe/Berlin]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 2, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a2002"},
  {"name": "Nacht 02:30-02:30", "prefix": 3, "check_in_time": "02:30:00[Europe/Berlin]", "check_out_time": "02:30:00[Europe/Berlin]",
   "is_24_hour": true, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 3, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a2003"},
  {"name": "Tag 07-19", "prefix": 4, "check_in_time": "07:00[Europe/Berlin]", "check_out_time": "19:00[Europe/Berlin]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 4, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a2004"},
  {"name": "Gast 15-11 (kopie)", "prefix": 5, "check_in_time": "15:00:00[Europe/Berlin]", "check_out_time": "11:00:00[Europe/Berlin]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 5, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a2005"}
]$$),
('lord_howe', 'Australia/Lord_Howe', $$[
  {"name": "Guest 14-10", "prefix": 1, "check_in_time": "14:00:00[Australia/Lord_Howe]", "check_out_time": "10:00:00[Australia/Lord_Howe]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 1, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a3001"},
  {"name": "Guest 14:30-10:30", "prefix": 2, "check_in_time": "14:30:00[Australia/Lord_Howe]", "check_out_time": "10:30:00[Australia/Lord_Howe]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 2, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a3002"},
  {"name": "Night 02:15-01:45", "prefix": 3, "check_in_time": "02:15:00[Australia/Lord_Howe]", "check_out_time": "01:45:00[Australia/Lord_Howe]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 3, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a3003"},
  {"name": "Day 01:45-02:15", "prefix": 4, "check_in_time": "01:45:00.250000[Australia/Lord_Howe]", "check_out_time": "02:15:00[Australia/Lord_Howe]",
   "is_24_hour": true, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 4, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a3004"}
]$$),
('fixed', 'America/New_York', $$[
  {"name": "Fixed 09-17", "prefix": 1, "check_in_time": "09:00:00-05:00", "check_out_time": "17:00:00-05:00",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 1, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a4001"},
  {"name": "Fixed 16-11", "prefix": 2, "check_in_time": "16:00-05:00", "check_out_time": "11:00-05:00",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 2, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a4002"},
  {"name": "UTC 20-15", "prefix": 3, "check_in_time": "20:00:00Z", "check_out_time": "15:00:00Z",
   "is_24_hour": true, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 3, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a4003"},
  {"name": "Mixed 15-10", "prefix": 4, "check_in_time": "15:00:00-04:00", "check_out_time": "10:00:00[Asia/Tokyo]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 4, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a4004"},
  {"name": "India 01:30-23:30", "prefix": 5, "check_in_time": "01:30:00+05:30", "check_out_time": "23:30:00+05:30",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 5, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a4005"}
]$$),
('both', 'America/Los_Angeles', $$[
  {"name": "Guest 15:30-11", "prefix": 1, "check_in_time": "15:30:00-08:00[America/Los_Angeles]", "check_out_time": "11:00:00-08:00[America/Los_Angeles]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 1, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a5001"},
  {"name": "Guest 16-10", "prefix": 2, "check_in_time": "16:00:00+09:00[America/Los_Angeles]", "check_out_time": "10:00:00+09:00[America/Los_Angeles]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 2, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a5002"},
  {"name": "PST8PDT 12-12", "prefix": 3, "check_in_time": "12:00:00-07:00[PST8PDT]", "check_out_time": "12:00:00-07:00[PST8PDT]",
   "is_24_hour": true, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 3, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a5003"},
  {"name": "Late 17-12", "prefix": 4, "check_in_time": "17:00:00-08:00[America/Los_Angeles]", "check_out_time": "12:00:00[America/Los_Angeles]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 4, "dormakaba_oracode_user_level_id": "6f1c3f0e-2a55-4d0e-9a43-5d2b7e3a5004"}
]$$);

-- wall times of every slot (skipped ones too), to aim bookings at
CREATE TEMP TABLE oracle_walls AS
SELECT set_name, array_agg((oracode_bench.parse_tod(s ->> 'check_in_time', 'in')).wall ORDER BY n) AS ins,
                 array_agg((oracode_bench.parse_tod(s ->> 'check_out_time', 'out')).wall ORDER BY n) AS outs
FROM oracle_sets, jsonb_array_elements(slots) WITH ORDINALITY AS e(s, n)
GROUP BY set_name;

-- days on which each booking zone changes its UTC offset, 2024-2026
CREATE TEMP TABLE oracle_dst_days AS
SELECT z.zone, array_agg(d ORDER BY d) AS days
FROM (SELECT DISTINCT booking_zone AS zone FROM oracle_sets) z,
     generate_series(date '2024-01-01', date '2026-12-31', interval '1 day') AS g(day),
     LATERAL (SELECT g.day::date AS d) dd
WHERE ((d + time '12:00') AT TIME ZONE z.zone) - ((d - 1 + time '12:00') AT TIME ZONE z.zone) <> interval '24 hours'
GROUP BY z.zone;

-- ---------------------------------------------------------------------------
-- the bookings: every random draw happens in one scan of generate_series, so
-- setseed() makes them the same on every run
-- ---------------------------------------------------------------------------
SELECT setseed(0.2024);
CREATE TEMP TABLE oracle_draws AS
SELECT g AS id,
       random() AS set_pick, random() AS date_mode, random() AS date_pick, random() AS day_shift,
       random() AS in_pick, random() AS out_pick, random() AS nights,
       random() AS in_mode, random() AS in_jit, random() AS out_mode, random() AS out_jit,
       random() AS secs, random() AS odd, random() AS odd_len, random() AS rounding_pick
FROM generate_series(1, 6000) g;

-- a jitter: 30% none, 10% an exact boundary (±1 h, ±1 day, ±30 min, ±12 h),
-- 35% within ±75 min, 25% within ±26 h; sometimes with odd seconds
CREATE FUNCTION pg_temp.jitter(mode double precision, x double precision, secs double precision)
RETURNS interval LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN mode < 0.30 THEN interval '0'
        WHEN mode < 0.40 THEN (ARRAY[interval '1 hour', interval '-1 hour', interval '1 day', interval '-1 day',
                                     interval '30 minutes', interval '-30 minutes',
                                     interval '12 hours', interval '-12 hours'])[1 + floor(x * 8)::int]
        WHEN mode < 0.75 THEN floor(x * 151 - 75) * interval '1 minute'
        ELSE floor(x * 3121 - 1560) * interval '1 minute'
    END + CASE WHEN secs < 0.15 THEN floor(secs * 400 - 30) * interval '1 second' ELSE interval '0' END
$$;

CREATE TEMP TABLE oracle_bookings AS
WITH b AS (
    SELECT s.set_name, s.booking_zone AS zone, d.*
    FROM oracle_draws d
    JOIN oracle_sets s ON s.set_name = (ARRAY['la', 'berlin', 'lord_howe', 'fixed', 'both'])[1 + floor(d.set_pick * 5)::int]
), dated AS (
    SELECT b.*, w.ins, w.outs, floor(b.nights * 21)::int AS n_nights,
           -- 45%: check-in within two days of a DST change; 25%: check-out within two
           -- days of one; 30%: any day of 2024-2026
           CASE WHEN b.date_mode < 0.70
                THEN dd.days[1 + floor(b.date_pick * array_length(dd.days, 1))::int] + floor(b.day_shift * 5)::int - 2
                ELSE date '2024-01-01' + floor(b.date_pick * 1096)::int
           END AS base_day
    FROM b
    JOIN oracle_walls w USING (set_name)
    JOIN oracle_dst_days dd ON dd.zone = b.zone
), lt AS (
    SELECT id, set_name, zone, odd, odd_len, rounding_pick,
           CASE WHEN date_mode >= 0.45 AND date_mode < 0.70 THEN base_day - n_nights ELSE base_day END AS in_day,
           n_nights,
           ins[1 + floor(in_pick * array_length(ins, 1))::int] AS in_wall,
           pg_temp.jitter(in_mode, in_jit, secs) AS in_jitter,
           outs[1 + floor(out_pick * array_length(outs, 1))::int] AS out_wall,
           pg_temp.jitter(out_mode, out_jit, secs) AS out_jitter
    FROM dated
), t AS (
    SELECT id, set_name, rounding_pick,
           CASE WHEN odd < 0.05    -- 5% anywhere, any length up to 744 h
                THEN (in_day + odd_len * interval '24 hours') AT TIME ZONE zone
                ELSE (in_day + in_wall + in_jitter) AT TIME ZONE zone
           END AS starts_at,
           CASE WHEN odd < 0.05
                THEN (in_day + odd_len * interval '24 hours') AT TIME ZONE zone + odd_len * interval '744 hours'
                ELSE (in_day + n_nights + out_wall + out_jitter) AT TIME ZONE zone
           END AS ends_at
    FROM lt
)
SELECT row_number() OVER (ORDER BY id) AS id, set_name, starts_at, ends_at,
       (ARRAY['1hour', '1h', '1day', '1d'])[1 + floor(rounding_pick * 4)::int] AS rounding
FROM t
WHERE ends_at > starts_at AND ends_at - starts_at <= interval '744 hours'
ORDER BY id
LIMIT 5000;

-- both answers for every booking
CREATE TEMP TABLE oracle_results AS
SELECT id, set_name, starts_at, ends_at, rounding, c, p
FROM (SELECT b.*,
             oracode_match_slot(s.slots, b.starts_at, b.ends_at, b.rounding) AS c,
             oracode_bench.match_slot_plpgsql(s.slots, b.starts_at, b.ends_at, b.rounding) AS p
      FROM oracle_bookings b JOIN oracle_sets s USING (set_name)
      OFFSET 0) x;

CREATE FUNCTION pg_temp.mismatches(only_set text) RETURNS TABLE (
    id bigint, rounding text, booking text, c_answer text, reference_answer text)
LANGUAGE sql AS $$
    SELECT id, rounding, starts_at::text || ' -> ' || ends_at::text,
           coalesce(format('%s | %s | %s | %s', (c).slot_name, (c).starts_at, (c).ends_at, (c).bound), 'NULL'),
           coalesce(format('%s | %s | %s | %s', (p).slot_name, (p).starts_at, (p).ends_at, (p).bound), 'NULL')
    FROM oracle_results
    WHERE set_name = only_set
      AND (num_nulls(c) <> num_nulls(p)
           OR (c).slot_name IS DISTINCT FROM (p).slot_name
           OR (c).starts_at IS DISTINCT FROM (p).starts_at
           OR (c).ends_at   IS DISTINCT FROM (p).ends_at
           OR (c).bound     IS DISTINCT FROM (p).bound)
    ORDER BY id
$$;

-- ---------------------------------------------------------------------------
-- the tests
-- ---------------------------------------------------------------------------
SELECT has_function('oracode_match_slot', ARRAY['jsonb', 'timestamp with time zone', 'timestamp with time zone', 'text'],
                    'oracode_match_slot(jsonb, timestamptz, timestamptz, text) exists');

-- the documented example (Seam's guide), both implementations
SELECT results_eq(
    $$SELECT (m).slot_name, (m).starts_at, (m).ends_at, (m).bound
      FROM (SELECT oracode_match_slot('[{"name": "Guest", "check_in_time": "16:00:00[America/Los_Angeles]",
                                         "check_out_time": "10:00:00[America/Los_Angeles]"}]',
                                      '2024-09-10 15:45-07', '2024-09-15 10:15-07') AS m) x$$,
    $$VALUES ('Guest'::text, '2024-09-10 16:00-07'::timestamptz, '2024-09-15 10:00-07'::timestamptz, 'hourly'::text)$$,
    'the documented example: 15:45 -> 10:15 rounds to the 16:00 -> 10:00 slot (C)');
SELECT results_eq(
    $$SELECT (m).slot_name, (m).starts_at, (m).ends_at, (m).bound
      FROM (SELECT oracode_bench.match_slot_plpgsql('[{"name": "Guest", "check_in_time": "16:00:00[America/Los_Angeles]",
                                                       "check_out_time": "10:00:00[America/Los_Angeles]"}]',
                                                    '2024-09-10 15:45-07', '2024-09-15 10:15-07') AS m) x$$,
    $$VALUES ('Guest'::text, '2024-09-10 16:00-07'::timestamptz, '2024-09-15 10:00-07'::timestamptz, 'hourly'::text)$$,
    'the documented example: 15:45 -> 10:15 rounds to the 16:00 -> 10:00 slot (reference)');

SELECT is((SELECT count(*) FROM oracle_bookings), 5000::bigint, '5000 bookings generated');

SELECT is_empty('SELECT * FROM pg_temp.mismatches(''la'')',
                'C and reference agree on every America/Los_Angeles booking');
SELECT is_empty('SELECT * FROM pg_temp.mismatches(''berlin'')',
                'C and reference agree on every Europe/Berlin booking');
SELECT is_empty('SELECT * FROM pg_temp.mismatches(''lord_howe'')',
                'C and reference agree on every Australia/Lord_Howe booking (30-minute DST)');
SELECT is_empty('SELECT * FROM pg_temp.mismatches(''fixed'')',
                'C and reference agree on every booking against fixed-offset slots');
SELECT is_empty('SELECT * FROM pg_temp.mismatches(''both'')',
                'C and reference agree on every booking against offset-and-zone slots');

-- the comparison means something: with hourly tolerance both outcomes are
-- common in every set (with daily tolerance nearly everything matches), and
-- many bookings fall on DST days
SELECT ok((SELECT bool_and(matched BETWEEN 0.10 AND 0.90)
           FROM (SELECT set_name, avg((c IS NOT NULL)::int) AS matched
                 FROM oracle_results WHERE rounding IN ('1hour', '1h') GROUP BY 1) x),
          'with hourly tolerance, between 10% and 90% of bookings match in every set');
SELECT ok((SELECT count(*) FROM oracle_results r JOIN oracle_sets s USING (set_name)
           JOIN oracle_dst_days dd ON dd.zone = s.booking_zone
           WHERE (r.starts_at AT TIME ZONE s.booking_zone)::date = ANY (dd.days)
              OR (r.ends_at AT TIME ZONE s.booking_zone)::date = ANY (dd.days)) >= 500,
          'at least 500 bookings start or end on a DST-change day');
SELECT is((SELECT count(*) FROM oracle_results WHERE (c).slot_name IN ('Owner', 'A one shot')),
          0::bigint, 'master and one-shot slots are never chosen');

-- bookings no code can serve are NULL in both implementations, never an error (0.4)
\set slots '''[{"name": "Guest", "check_in_time": "16:00:00[America/Los_Angeles]", "check_out_time": "10:00:00[America/Los_Angeles]"}]'''
SELECT is(oracode_match_slot(:slots, NULL, now()), NULL, 'C: NULL starts_at is no slot');
SELECT is(oracode_bench.match_slot_plpgsql(:slots, NULL, now()), NULL, 'reference: NULL starts_at is no slot');
SELECT is(oracode_match_slot(:slots, now(), now()), NULL, 'C: ends_at = starts_at is no slot');
SELECT is(oracode_bench.match_slot_plpgsql(:slots, now(), now()), NULL, 'reference: ends_at = starts_at is no slot');
SELECT is(oracode_match_slot(:slots, now(), now() + interval '744 hours 1 microsecond'), NULL, 'C: longer than 744 hours is no slot');
SELECT is(oracode_bench.match_slot_plpgsql(:slots, now(), now() + interval '744 hours 1 microsecond'), NULL,
          'reference: longer than 744 hours is no slot');
SELECT lives_ok(format('SELECT oracode_match_slot(%s, now(), now() + interval ''744 hours'')', :'slots'),
                'C: exactly 744 hours is allowed');
SELECT throws_ok(format('SELECT oracode_match_slot(%s, now(), now() + interval ''1 day'', ''2hours'')', :'slots'),
                 '22023', NULL, 'C: bad max_time_rounding');
SELECT throws_ok(format('SELECT oracode_bench.match_slot_plpgsql(%s, now(), now() + interval ''1 day'', ''2hours'')', :'slots'),
                 '22023', NULL, 'reference: bad max_time_rounding');
SELECT throws_ok($$SELECT oracode_match_slot('{"name": "Guest"}', now(), now() + interval '1 day')$$,
                 '22023', NULL, 'C: time_slots not an array');
SELECT throws_ok($$SELECT oracode_match_slot('[{"name": "Guest", "check_in_time": "16:00:00", "check_out_time": "10:00:00Z"}]',
                                             now(), now() + interval '1 day')$$,
                 '22023', NULL, 'C: a slot time without offset or zone');
SELECT throws_ok($$SELECT oracode_bench.match_slot_plpgsql('[{"name": "Guest", "check_in_time": "16:00:00", "check_out_time": "10:00:00Z"}]',
                                                           now(), now() + interval '1 day')$$,
                 '22023', NULL, 'reference: a slot time without offset or zone');

SELECT * FROM finish();
ROLLBACK;
