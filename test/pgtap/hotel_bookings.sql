-- The booking trigger and the reports as a hotel uses them (issue 14, the items done in 0.4):
-- a PMS-like schema (rooms with locks, bookings with a status and a confirmation number) takes
-- history imports (stays that ended), long stays and backwards dates under on_error=warn,
-- no-shows as cancellations, a code_limit that counts only codes valid at the same time, and
-- every refusal's DETAIL names the booking. All in one rolled-back transaction.
BEGIN;
SELECT plan(16);
SET LOCAL client_min_messages = error;
SET LOCAL timezone = 'Europe/Vienna';

INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes, code_limit)
VALUES ('c1111111-1111-4111-8111-111111111111', 'Room 101', 'Europe/Vienna', true, NULL),
       ('c2222222-2222-4222-8222-222222222222', 'Room 102', 'Europe/Vienna', true, 2);
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time)
SELECT d, 0, '3pm-11am', '15:00:00[Europe/Vienna]', '11:00:00[Europe/Vienna]'
FROM unnest(ARRAY['c1111111-1111-4111-8111-111111111111', 'c2222222-2222-4222-8222-222222222222']::uuid[]) d;
CREATE TEMP TABLE t AS SELECT (date_trunc('day', now()) + interval '20 days')::date AS d;

CREATE TEMP TABLE rooms (room_no int PRIMARY KEY, lock uuid);
INSERT INTO rooms VALUES (101, 'c1111111-1111-4111-8111-111111111111'), (102, 'c2222222-2222-4222-8222-222222222222'), (103, NULL);
CREATE TEMP TABLE bookings (confirmation text, room_no int, guest text, status text DEFAULT 'confirmed',
                            arrival timestamptz, departure timestamptz);
CREATE TRIGGER oracode AFTER INSERT OR UPDATE OR DELETE ON bookings FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger(
    'device_sql=SELECT lock FROM rooms WHERE room_no = ($1->>''room_no'')::int',
    'starts=arrival', 'ends=departure', 'ref=confirmation', 'name=guest',
    'cancelled=status:cancelled,no_show', 'on_error=warn');
CREATE FUNCTION pg_temp.requests(pattern text) RETURNS TABLE (ref text, status text) LANGUAGE sql AS $$
  SELECT booking_ref, status FROM oracode.access_codes WHERE booking_ref LIKE pattern ORDER BY id
$$;

-- item 4: a history import (stays that ended) requests nothing and is refused never, even with
-- on_error=raise; a long stay and backwards dates are warned of under on_error=warn
CREATE TEMP TABLE strict (LIKE bookings);
CREATE TRIGGER oracode AFTER INSERT OR UPDATE OR DELETE ON strict FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger(
    'device_sql=SELECT lock FROM rooms WHERE room_no = ($1->>''room_no'')::int',
    'starts=arrival', 'ends=departure', 'ref=confirmation');
SELECT lives_ok($$INSERT INTO strict (confirmation, room_no, guest, arrival, departure)
                  SELECT 'HIST-' || i, 101, 'Past guest', now() - interval '400 days' + i * interval '3 days',
                         now() - interval '398 days' + i * interval '3 days' FROM generate_series(1, 50) i$$,
  'a history import of 50 stays that ended is taken, even with on_error=raise');
SELECT is((SELECT count(*) FROM pg_temp.requests('HIST-%')), 0::bigint, '... and requests no code for them');
SELECT lives_ok($$INSERT INTO strict (confirmation, room_no, guest, arrival, departure)
                  VALUES ('HIST-X', 101, 'Long ago', now() - interval '90 days', now() - interval '40 days')$$,
  '... even one that lasted over 31 days');
SELECT throws_ok($$INSERT INTO strict (confirmation, room_no, guest, arrival, departure)
                   SELECT 'LONG-1', 101, 'Strict', d + time '15:00', d + 40 + time '11:00' FROM t$$,
  '22023', 'booking is longer than 31 days', 'a future stay over 31 days is still refused with on_error=raise');
SELECT lives_ok($$INSERT INTO bookings (confirmation, room_no, guest, arrival, departure)
                  SELECT 'LONG-2', 101, 'Lenient', d + time '15:00', d + 40 + time '11:00' FROM t$$,
  'with on_error=warn a stay over 31 days is kept (warned of)');
SELECT lives_ok($$INSERT INTO bookings (confirmation, room_no, guest, arrival, departure)
                  SELECT 'BACK-1', 101, 'Typo', d + 3 + time '15:00', d + 1 + time '11:00' FROM t$$,
  '... and so is one whose dates are the wrong way round');
SELECT is((SELECT count(*) FROM pg_temp.requests('LONG-%')) + (SELECT count(*) FROM pg_temp.requests('BACK-%')), 0::bigint,
  '... neither has a request');
CREATE TEMP TABLE badcol (LIKE bookings);
CREATE TRIGGER oracode AFTER INSERT ON badcol FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=arrival', 'ends=departure', 'ref=confirmation', 'on_error=warn');
SELECT throws_ok($$INSERT INTO badcol (confirmation, arrival, departure) SELECT 'CFG-1', d + time '15:00', d + 2 + time '11:00' FROM t$$,
  '42703', NULL, 'a configuration error (a column that does not exist) still raises under on_error=warn');

-- item 5: cancelled= takes a list: a no-show cancels like a cancellation
INSERT INTO bookings (confirmation, room_no, guest, arrival, departure)
SELECT 'NS-' || i, 101, 'Guest ' || i, d + 5 + 2 * i + time '15:00', d + 6 + 2 * i + time '11:00' FROM t, generate_series(1, 3) i;
UPDATE bookings SET status = 'no_show' WHERE confirmation = 'NS-1';
UPDATE bookings SET status = 'cancelled' WHERE confirmation = 'NS-2';
SELECT results_eq($$SELECT ref, status FROM pg_temp.requests('NS-%')$$,
  $$VALUES ('NS-1'::text, 'cancelled'::text), ('NS-2', 'cancelled'), ('NS-3', 'queued')$$,
  'status no_show and status cancelled both cancel the request (cancelled=status:cancelled,no_show)');
SELECT lives_ok($$INSERT INTO bookings (confirmation, room_no, guest, status, arrival, departure)
                  SELECT 'NS-4', 101, 'Never came', 'no_show', d + 15 + time '15:00', d + 16 + time '11:00' FROM t$$,
  'a booking imported as a no-show');
SELECT is((SELECT count(*) FROM pg_temp.requests('NS-4')), 0::bigint, '... requests nothing');

-- item 7: code_limit counts the codes valid at the same time, not those of next season
INSERT INTO bookings (confirmation, room_no, guest, arrival, departure)
SELECT 'CAP-' || i, 102, 'Guest', d + time '15:00', d + 2 + time '11:00' FROM t, generate_series(1, 2) i;
SELECT lives_ok($$INSERT INTO strict (confirmation, room_no, guest, arrival, departure)
                  SELECT 'CAP-NEXT', 102, 'Next season', d + 120 + time '15:00', d + 122 + time '11:00' FROM t$$,
  'Room 102 holds 2 codes this week (its code_limit), yet takes a booking four months ahead');
SELECT throws_ok($$INSERT INTO strict (confirmation, room_no, guest, arrival, departure)
                   SELECT 'CAP-3', 102, 'Same week', d + 1 + time '15:00', d + 3 + time '11:00' FROM t$$,
  'OC003', NULL, '... but not a third code that overlaps the two');

-- item 8: every refusal's DETAIL names the booking, and a backwards booking's DETAIL both its times
CREATE FUNCTION pg_temp.detail_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
  EXECUTE sql;
  RETURN NULL;
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  RETURN d;
END $$;
SELECT matches(pg_temp.detail_of($$INSERT INTO strict (confirmation, room_no, guest, arrival, departure)
                   SELECT 'CAP-4', 102, 'Same week', d + 1 + time '15:00', d + 3 + time '11:00' FROM t$$),
  'Booking reference: CAP-4\.$', 'the OC003 of a bulk import says which booking');
SELECT matches(pg_temp.detail_of($$INSERT INTO strict (confirmation, room_no, guest, arrival, departure)
                   SELECT 'SLOT-1', 101, 'Early', d + time '08:00', d + 2 + time '11:00' FROM t$$),
  'Booking reference: SLOT-1\.$', 'so does an OC001');
SELECT matches(pg_temp.detail_of($$INSERT INTO strict (confirmation, room_no, guest, arrival, departure)
                   SELECT 'BACK-2', 101, 'Typo', d + 3 + time '15:00', d + 1 + time '11:00' FROM t$$),
  '^The booking starts at \S+ 15:00:00\+\d\d and ends at \S+ 11:00:00\+\d\d\. Booking reference: BACK-2\.$',
  'a booking that ends before it starts: both its own times, and its reference');

SELECT * FROM finish();
ROLLBACK;
