-- oracode_match_slot(time_slots jsonb, ...): the matching rule of doc/reference.md, "Matching"
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN others THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- a Seam slot object with defaults for the fields a case does not care about
CREATE FUNCTION pg_temp.slot(name text, cin text, cout text, is_24_hour boolean DEFAULT false,
                             is_one_shot boolean DEFAULT false, is_master boolean DEFAULT false)
RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('name', name, 'prefix', 0, 'check_in_time', cin, 'check_out_time', cout,
    'is_24_hour', is_24_hour, 'is_biweekly_mode', false, 'is_one_shot', is_one_shot,
    'is_master', is_master, 'ext_dormakaba_oracode_user_level_prefix', 0,
    'dormakaba_oracode_user_level_id', 'f23721ec-6dce-4c54-8971-40d58449a366')
$$;

-- Seam's guide: slot 16:00 → 10:00 Los Angeles, booking 15:45 → 10:15
SET timezone = 'America/Los_Angeles';
SELECT * FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('Guest 4pm-10am', '16:00:00[America/Los_Angeles]', '10:00:00[America/Los_Angeles]')),
  '2024-09-10 15:45-07', '2024-09-15 10:15-07');
-- the guide's failing case: check-in at 14:00 is two hours off
SELECT oracode_match_slot(
  jsonb_build_array(pg_temp.slot('Guest 4pm-10am', '16:00:00[America/Los_Angeles]', '10:00:00[America/Los_Angeles]')),
  '2024-09-10 14:00-07', '2024-09-15 10:00-07') IS NULL AS no_match;

-- a realistic lock: three hourly slots, a daily one, a one-shot and a master
CREATE TEMP TABLE lock AS SELECT jsonb_build_array(
  pg_temp.slot('Guest RCI 3:30pm-10:30am', '15:30:00[America/Los_Angeles]', '10:30:00[America/Los_Angeles]'),
  pg_temp.slot('Guest 4pm-11am', '16:00:00[America/Los_Angeles]', '11:00:00[America/Los_Angeles]'),
  pg_temp.slot('Guest ECI 1pm-10am', '13:00:00[America/Los_Angeles]', '10:00:00[America/Los_Angeles]'),
  pg_temp.slot('Guest 24h', '12:00:00[America/Los_Angeles]', '12:00:00[America/Los_Angeles]', is_24_hour => true),
  pg_temp.slot('Housekeeping once', '18:00:00[America/Los_Angeles]', '08:00:00[America/Los_Angeles]', is_one_shot => true),
  pg_temp.slot('Owner', '18:30:00[America/Los_Angeles]', '07:30:00[America/Los_Angeles]', is_master => true)) AS slots;

SELECT b.label, m.slot_name, m.starts_at, m.ends_at, m.bound, m.start_shift, m.end_shift
FROM lock, (VALUES
  ('exact 3:30pm-10:30am',      '2024-06-01 15:30', '2024-06-03 10:30', '1hour'),
  ('4pm-11am, 20 min late',     '2024-06-01 16:20', '2024-06-03 10:50', '1hour'),
  ('early check-in 1:10pm',     '2024-06-01 13:10', '2024-06-03 10:00', '1h'),
  ('noon to noon, hourly',      '2024-06-01 12:00', '2024-06-03 12:00', '1hour'),
  ('6pm to 8am: one-shot only', '2024-06-01 18:00', '2024-06-03 08:00', '1hour'),
  ('6:30pm to 7:30am: master',  '2024-06-01 18:30', '2024-06-03 07:30', '1hour'),
  ('9am to 5pm, hourly',        '2024-06-01 09:00', '2024-06-03 17:00', '1hour'),
  ('9am to 5pm, daily',         '2024-06-01 09:00', '2024-06-03 17:00', '1day'),
  ('9am to 5pm, 1d',            '2024-06-01 09:00', '2024-06-03 17:00', '1d')) AS b(label, s, e, r)
LEFT JOIN LATERAL oracode_match_slot(lock.slots, b.s::timestamptz, b.e::timestamptz, b.r) m ON true
ORDER BY b.s, b.label;

-- the default rounding is 1hour
SELECT (oracode_match_slot(slots, '2024-06-01 09:00', '2024-06-03 17:00')).slot_name IS NULL AS default_is_hourly
FROM lock;

-- tie rules ------------------------------------------------------------------
SET timezone = 'UTC';
-- start: two occurrences equally near (12 h either side), the earlier wins
SELECT starts_at, start_shift FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('noon', '12:00:00Z', '12:00:00Z', true)),
  '2024-06-10 00:00Z', '2024-06-12 12:00Z', '1day');
-- end: two occurrences equally near, the later wins
SELECT ends_at, end_shift FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('noon', '12:00:00Z', '12:00:00Z', true)),
  '2024-06-10 12:00Z', '2024-06-13 00:00Z', '1day');
-- equal total shift: the slot whose window covers the booking wins, whatever its name
SELECT slot_name, starts_at, ends_at FROM oracode_match_slot(jsonb_build_array(
  pg_temp.slot('a inside', '17:00:00Z', '09:00:00Z'),
  pg_temp.slot('z covers', '15:00:00Z', '11:00:00Z')), '2024-06-10 16:00Z', '2024-06-12 10:00Z');
-- equal shift and cover: the smallest name in byte order ('B' < 'a' < 'b')
SELECT slot_name FROM oracode_match_slot(jsonb_build_array(
  pg_temp.slot('b', '16:00:00Z', '10:00:00Z'),
  pg_temp.slot('a', '16:00:00Z', '10:00:00Z'),
  pg_temp.slot('B', '16:00:00Z', '10:00:00Z')), '2024-06-10 16:00Z', '2024-06-12 10:00Z');
-- the least total shift beats covering
SELECT slot_name FROM oracode_match_slot(jsonb_build_array(
  pg_temp.slot('covers, 50 min', '15:30:00Z', '10:20:00Z'),
  pg_temp.slot('inside, 20 min', '16:10:00Z', '09:50:00Z')), '2024-06-10 16:00Z', '2024-06-12 10:00Z');
-- the tolerance is inclusive: exactly one hour still matches, one microsecond more does not
SELECT (oracode_match_slot(s, '2024-06-10 15:00Z', '2024-06-12 10:00Z')).start_shift AS one_hour,
       oracode_match_slot(s, '2024-06-10 14:59:59.999999Z', '2024-06-12 10:00Z') IS NULL AS beyond
FROM (SELECT jsonb_build_array(pg_temp.slot('4pm', '16:00:00Z', '10:00:00Z')) s) x;

-- around midnight -------------------------------------------------------------
SET timezone = 'Europe/Berlin';
-- check-in at 23:30, guest arrives 00:15 the next day: start is the evening before
SELECT starts_at, ends_at, start_shift FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('late', '23:30:00[Europe/Berlin]', '11:00:00[Europe/Berlin]')),
  '2024-06-11 00:15+02', '2024-06-13 11:00+02');
-- check-in at 00:30, guest arrives 23:45: start is the next day
SELECT starts_at, ends_at, start_shift FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('after midnight', '00:30:00[Europe/Berlin]', '11:00:00[Europe/Berlin]')),
  '2024-06-10 23:45+02', '2024-06-13 11:00+02');
-- check-out just after midnight
SELECT ends_at, end_shift FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('night', '20:00:00[Europe/Berlin]', '00:30:00[Europe/Berlin]')),
  '2024-06-10 20:00+02', '2024-06-12 23:50+02');

-- stays across DST changes ----------------------------------------------------
SET timezone = 'America/New_York';
-- spring forward (2024-03-10): arrive in EST, leave in EDT; the stay is an hour shorter
SELECT starts_at, ends_at, ends_at - starts_at AS length FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('4pm-10am', '16:00:00[America/New_York]', '10:00:00[America/New_York]')),
  '2024-03-08 16:10', '2024-03-12 09:55');
-- fall back (2024-11-03): an hour longer
SELECT starts_at, ends_at, ends_at - starts_at AS length FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('4pm-10am', '16:00:00[America/New_York]', '10:00:00[America/New_York]')),
  '2024-11-01 16:00', '2024-11-05 10:00');
-- a slot time inside the nonexistent hour resolves as PostgreSQL resolves it
SELECT m.starts_at, m.starts_at = ('2024-03-10'::date + '02:30'::time) AT TIME ZONE 'America/New_York' AS same_as_pg
FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('2:30am', '02:30:00[America/New_York]', '11:00:00[America/New_York]')),
  '2024-03-10 03:00', '2024-03-12 11:00') m;
-- and inside the repeated hour
SELECT m.starts_at, m.starts_at = ('2024-11-03'::date + '01:30'::time) AT TIME ZONE 'America/New_York' AS same_as_pg
FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('1:30am', '01:30:00[America/New_York]', '11:00:00[America/New_York]')),
  '2024-11-03 01:45-05', '2024-11-05 11:00') m;
-- the same wall time on ordinary days before and after, for comparison (fast path)
SELECT m.starts_at FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('1:30am', '01:30:00[America/New_York]', '11:00:00[America/New_York]')),
  '2024-11-13 01:45', '2024-11-15 11:00') m;

-- Lord Howe Island moves its clocks by 30 minutes (02:00 → 02:30 on 2024-10-06)
SET timezone = 'Australia/Lord_Howe';
SELECT starts_at, ends_at, ends_at - starts_at AS length FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('3pm-10am', '15:00:00[Australia/Lord_Howe]', '10:00:00[Australia/Lord_Howe]')),
  '2024-10-04 15:00', '2024-10-08 10:00');
SELECT m.starts_at, m.starts_at = ('2024-10-06'::date + '02:15'::time) AT TIME ZONE 'Australia/Lord_Howe' AS same_as_pg
FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('2:15am', '02:15:00[Australia/Lord_Howe]', '10:00:00[Australia/Lord_Howe]')),
  '2024-10-06 02:40', '2024-10-08 10:00') m;
-- and back (2024-04-07, 02:00 → 01:30)
SELECT starts_at, ends_at, ends_at - starts_at AS length FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('3pm-10am', '15:00:00[Australia/Lord_Howe]', '10:00:00[Australia/Lord_Howe]')),
  '2024-04-05 15:00', '2024-04-09 10:00');

-- fixed offsets ignore DST; a zone wins over an offset ---------------------------
SET timezone = 'UTC';
SELECT slot_name, starts_at, ends_at FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('fixed', '16:00:00-08:00', '10:00:00-08:00')),
  '2024-07-10 00:00Z', '2024-07-12 18:00Z');
SELECT slot_name, starts_at, ends_at FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('zoned', '16:00:00-08:00[America/Los_Angeles]', '10:00:00-08:00[America/Los_Angeles]')),
  '2024-07-10 00:00Z', '2024-07-12 18:00Z');
-- the slot's zone is its check-in time's zone: check-out is read there too
SELECT starts_at, ends_at FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('mixed', '16:00:00[Asia/Tokyo]', '10:00:00Z')),
  '2024-07-10 07:00Z', '2024-07-12 01:00Z');

-- the 31-day bound ------------------------------------------------------------
-- exactly 744 hours passes
SELECT starts_at, ends_at, ends_at - starts_at AS length FROM oracode_match_slot(
  jsonb_build_array(pg_temp.slot('4pm-4pm', '16:00:00Z', '16:00:00Z', true)),
  '2024-01-01 16:00Z', '2024-02-01 16:00Z');
-- one second more is a booking no code can serve: no slot, and no error (a report over dirty
-- data must not abort), even with a slot whose window would fit
SELECT oracode_match_slot(jsonb_build_array(pg_temp.slot('4pm-4pm', '16:00:00Z', '16:00:00Z', true)),
  '2024-01-01 16:00Z', '2024-02-01 16:00:01Z') IS NULL AS over_31_days;
-- a booking under 744 h whose slot window would exceed 744 h does not qualify
SELECT oracode_match_slot(jsonb_build_array(pg_temp.slot('4pm-5pm', '16:00:00Z', '17:00:00Z')),
  '2024-01-01 16:30Z', '2024-02-01 16:00Z') IS NULL AS too_long;
-- a window that would end before it starts does not qualify either
SELECT oracode_match_slot(jsonb_build_array(pg_temp.slot('noon-11am', '12:00:00Z', '11:00:00Z')),
  '2024-01-01 11:30Z', '2024-01-01 11:40Z') IS NULL AS empty_window;

-- NULL or empty slots: no match, no error
SELECT oracode_match_slot(NULL, '2024-01-01 16:00Z', '2024-01-02 10:00Z') IS NULL AS null_slots,
       oracode_match_slot('[]', '2024-01-01 16:00Z', '2024-01-02 10:00Z') IS NULL AS no_slots;
-- unknown fields and missing flags are tolerated
SELECT slot_name, bound, user_level_id FROM oracode_match_slot(
  '[{"name":"min","check_in_time":"16:00Z","check_out_time":"10:00Z","future_field":{"x":1},"dormakaba_oracode_user_level_id":"not-a-uuid"}]',
  '2024-01-01 16:00Z', '2024-01-02 10:00Z');

SELECT slot_name, user_level_id FROM oracode_match_slot(
  '[{"name":"numeric id","check_in_time":"16:00Z","check_out_time":"10:00Z","dormakaba_oracode_user_level_id":5}]'::jsonb,
  '2024-01-01 16:00Z', '2024-01-02 10:00Z');

-- bookings no code can serve, as real data has them: NULL, never an error -------------
CREATE FUNCTION pg_temp.val(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text;
BEGIN
  EXECUTE q INTO v;
  RETURN coalesce(v, 'NULL');
EXCEPTION WHEN others THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT b AS booking, pg_temp.val(format($$SELECT oracode_match_slot('[{"name":"a","check_in_time":"16:00Z","check_out_time":"10:00Z"}]', %s)$$, b)) AS result
FROM (VALUES ($$NULL, '2024-01-02 10:00Z'$$), ($$'2024-01-01 16:00Z', NULL$$),
             ($$'2024-01-01 16:00Z', '2024-01-01 16:00Z'$$), ($$'2024-01-02 10:00Z', '2024-01-01 16:00Z'$$),
             ($$'2024-01-01 16:00Z', '2024-02-10 10:00Z'$$),
             ($$'-infinity', '2024-01-01 16:00Z'$$), ($$'2024-01-01 16:00Z', 'infinity'$$)) v(b);
-- but a malformed argument still raises, whatever the booking
SELECT pg_temp.err($$SELECT oracode_match_slot('[{"name":"a"}]', '2024-01-02 16:00Z', '2024-01-01 16:00Z')$$);
SELECT pg_temp.err($$SELECT oracode_match_slot('[]', NULL, NULL, '2hours')$$);

-- invalid arguments: 22023 naming the problem -------------------------------------
SELECT q, pg_temp.err(q) FROM (VALUES
  ($$SELECT oracode_match_slot('[]', '2024-01-01 16:00Z', '2024-01-02 10:00Z', '2hours')$$),
  ($$SELECT oracode_match_slot('[]', '2024-01-01 16:00Z', '2024-01-02 10:00Z', '1HOUR')$$),
  ($$SELECT oracode_match_slot('[]', '2024-01-01 16:00Z', '2024-01-02 10:00Z', NULL)$$)) AS t(q);

-- malformed slot JSON: 22023 with the problem in the detail
CREATE FUNCTION pg_temp.detail(slots text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; d text;
BEGIN
  PERFORM oracode_match_slot(slots::jsonb, '2024-01-01 16:00Z', '2024-01-02 10:00Z');
  RETURN 'ok';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, d = PG_EXCEPTION_DETAIL;
  RETURN st || ': ' || SQLERRM || ' — ' || d;
END $$;
SELECT s, pg_temp.detail(s) FROM (VALUES
  ('{}'), ('"slots"'), ('[1]'), ('[{"check_in_time":"16:00Z","check_out_time":"10:00Z"}]'),
  ('[{"name":7,"check_in_time":"16:00Z","check_out_time":"10:00Z"}]'),
  ('[{"name":"x","check_out_time":"10:00Z"}]'),
  ('[{"name":"x","check_in_time":"16:00","check_out_time":"10:00Z"}]'),
  ('[{"name":"x","check_in_time":"16:00Z","check_out_time":"25:00Z"}]'),
  ('[{"name":"x","check_in_time":"16:00[Nowhere/Town]","check_out_time":"10:00Z"}]'),
  ('[{"name":"x","check_in_time":"16:00Z","check_out_time":"10:00Z","is_master":"no"}]'),
  ('[{"name":"ok","check_in_time":"16:00Z","check_out_time":"10:00Z"}, []]')) AS t(s);

-- a bad value after a good one in the same query does not poison the cache
SELECT pg_temp.err($$SELECT oracode_match_slot(s::jsonb, '2024-01-01 16:00Z', '2024-01-02 10:00Z')
  FROM (VALUES ('[{"name":"a","check_in_time":"16:00Z","check_out_time":"10:00Z"}]'), ('[1]')) v(s)$$);
SELECT (oracode_match_slot(s::jsonb, '2024-01-01 16:00Z', '2024-01-02 10:00Z')).slot_name
FROM (VALUES ('[{"name":"a","check_in_time":"16:00Z","check_out_time":"10:00Z"}]'),
             ('[{"name":"b","check_in_time":"16:00Z","check_out_time":"10:00Z"}]'),
             ('[{"name":"a","check_in_time":"16:00Z","check_out_time":"10:00Z"}]')) v(s);

-- an untyped literal may be slots JSON or a device id: both reach the right form
SELECT (oracode_match_slot('[{"name":"lit","check_in_time":"16:00Z","check_out_time":"10:00Z"}]', '2024-01-01 16:00Z', '2024-01-02 10:00Z')).slot_name;
SELECT pg_temp.err($$SELECT oracode_match_slot('99999999-9999-9999-9999-999999999999', '2024-01-01 16:00Z', '2024-01-02 10:00Z')$$);

-- oracode_explain_match: every slot, its candidates, and why it was or was not chosen
SET timezone = 'America/Los_Angeles';
SELECT e.* FROM lock, oracode_explain_match(lock.slots, '2024-06-01 13:10', '2024-06-03 10:00') e;
SELECT slot_name, verdict FROM lock, oracode_explain_match(lock.slots, '2024-06-01 09:00', '2024-06-03 17:00', '1day');
-- a booking no code can serve still gets its rows, each verdict saying why
SELECT slot_name, verdict FROM lock, oracode_explain_match(lock.slots, '2024-06-03 10:00', '2024-06-01 13:10');
SELECT slot_name, verdict FROM lock, oracode_explain_match(lock.slots, '2024-06-01 16:00', '2024-07-10 10:00');
-- and one without times gets none
SELECT count(*) FROM lock, oracode_explain_match(lock.slots, NULL, '2024-06-01 13:10');
