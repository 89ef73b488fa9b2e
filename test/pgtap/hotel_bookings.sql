-- The booking trigger and the reports as a hotel uses them (issue 14, the items done in 0.4):
-- a PMS-like schema (rooms with locks, bookings with a status and a confirmation number) takes
-- history imports (stays that ended), long stays and backwards dates under on_error=warn,
-- no-shows as cancellations, a code_limit that counts only codes valid at the same time, and
-- every refusal's DETAIL names the booking. All in one rolled-back transaction.
BEGIN;
SELECT plan(38);
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
\ir helpers.psql
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

-- item 1: a booking never leaves a live request that does not fit its row, in every mode
CREATE FUNCTION pg_temp.live(r text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM oracode.access_codes WHERE booking_ref = r AND superseded_by IS NULL
     AND status NOT IN ('failed', 'cancelled', 'expired')
$$;
INSERT INTO bookings (confirmation, room_no, guest, arrival, departure)
SELECT 'ED-' || i, 101, 'Edit ' || i, d + 30 + 3 * i + time '15:00', d + 32 + 3 * i + time '11:00' FROM t, generate_series(1, 3) i;
UPDATE bookings SET arrival = arrival - interval '7 hours' WHERE confirmation = 'ED-1';   -- 08:00: no slot fits
SELECT results_eq($$SELECT status FROM oracode.access_codes WHERE booking_ref = 'ED-1'$$, $$VALUES ('cancelled'::text)$$,
  'dates changed to times no slot fits (on_error=warn): the old queued request is cancelled, not sent later');
-- ED-2 and ED-3 were sent and set
UPDATE oracode.access_codes SET status = 'sending' WHERE booking_ref IN ('ED-2', 'ED-3');
UPDATE oracode.access_codes SET status = 'set', seam_access_code_id = 'ac-' || booking_ref, code = '4711' || id
 WHERE booking_ref IN ('ED-2', 'ED-3');
SELECT id AS ed3 FROM oracode.access_codes WHERE booking_ref = 'ED-3' \gset
UPDATE bookings SET arrival = arrival - interval '7 hours' WHERE confirmation = 'ED-3';
SELECT is((SELECT superseded_by FROM oracode.access_codes WHERE id = :ed3), :ed3::bigint,
  'a sent code whose booking now fits no slot is marked superseded (no successor)');
SELECT ok((SELECT count(*) FROM oracode.access_code_events WHERE access_code_id = :ed3 AND old_status = 'set'
           AND new_status = 'set' AND detail LIKE 'superseded: booking changed%') = 1,
  '... and an event records it (its PIN stays valid at the lock until its end)');
UPDATE bookings SET arrival = arrival + interval '1 day' WHERE confirmation = 'ED-2';
SELECT results_eq($$SELECT status, superseded_by IS NOT NULL FROM oracode.access_codes WHERE booking_ref = 'ED-2' ORDER BY id$$,
  $$VALUES ('set'::text, true), ('queued', false)$$, 'new dates that fit: a new request supersedes the sent one');

-- item 2: a new reference moves the booking: the old resolved, the new requested
INSERT INTO bookings (confirmation, room_no, guest, arrival, departure)
SELECT 'REF-1', 101, 'Renamed', d + 50 + time '15:00', d + 52 + time '11:00' FROM t;
UPDATE bookings SET confirmation = 'REF-1B' WHERE confirmation = 'REF-1';
SELECT results_eq($$SELECT booking_ref, status FROM oracode.access_codes WHERE booking_ref LIKE 'REF-1%' ORDER BY id$$,
  $$VALUES ('REF-1'::text, 'cancelled'::text), ('REF-1B', 'queued')$$,
  'a changed booking reference cancels the old reference''s request and requests under the new one');

-- item 3: two rooms of one group booking under one reference, each with its own code
INSERT INTO bookings (confirmation, room_no, guest, arrival, departure)
SELECT 'GRP-1', r, 'Group', d + 60 + time '15:00', d + 62 + time '11:00' FROM t, (VALUES (101), (102)) v(r);
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = 'GRP-1' AND status = 'queued'), 2::bigint,
  'a group booking''s two rooms under one reference: two requests, neither superseded');
UPDATE bookings SET room_no = 103 WHERE confirmation = 'GRP-1' AND room_no = 102;
SELECT results_eq($$SELECT device_id::text, status FROM oracode.access_codes WHERE booking_ref = 'GRP-1' ORDER BY id$$,
  $$VALUES ('c1111111-1111-4111-8111-111111111111'::text, 'queued'::text), ('c2222222-2222-4222-8222-222222222222', 'cancelled')$$,
  'moving one room to a room without a lock resolves that room''s request only');
DELETE FROM bookings WHERE confirmation = 'GRP-1' AND room_no = 101;
SELECT is(pg_temp.live('GRP-1'), 0::bigint, 'deleting the other leaves no live request of the group');
SELECT is(pg_temp.live('ED-1') + pg_temp.live('ED-3') + pg_temp.live('REF-1'), 0::bigint,
  'no booking above is left with a live request that does not fit it');

-- item 11: which PINs still open a door they should not
SELECT results_eq($$SELECT booking_ref, status, replaced_by IS NULL FROM oracode.stale_codes
                    WHERE booking_ref LIKE 'ED-%' ORDER BY id$$,
  $$VALUES ('ED-2'::text, 'set'::text, false), ('ED-3', 'set', true)$$,
  'oracode.stale_codes lists the sent codes whose bookings changed: ED-2 replaced by a new request, ED-3 by none');
SELECT is((SELECT count(*) FROM oracode.stale_codes WHERE booking_ref IN ('ED-1', 'REF-1', 'GRP-1')), 0::bigint,
  '... and not requests that were never sent');

-- item 12: adding the trigger to a live database (the README's statements)
CREATE TEMP TABLE live_rooms (room_id int PRIMARY KEY, lock_device_id uuid);
INSERT INTO live_rooms VALUES (1, 'c1111111-1111-4111-8111-111111111111'), (2, NULL);
CREATE TEMP TABLE live_bookings (booking_id bigint PRIMARY KEY, room_id int, guest_name text, check_in timestamptz,
                                 check_out timestamptz, status text DEFAULT 'confirmed');
INSERT INTO live_bookings
SELECT 9000 + i, CASE WHEN i = 5 THEN 2 ELSE 1 END, 'Guest ' || i,
       d + 70 + 3 * i + CASE WHEN i = 4 THEN time '08:00' ELSE time '15:00' END, d + 72 + 3 * i + time '11:00',
       CASE WHEN i = 3 THEN 'cancelled' ELSE 'confirmed' END
FROM t, generate_series(1, 6) i
UNION ALL SELECT 9100, 1, 'Past', now() - interval '10 days', now() - interval '8 days', 'confirmed';
CREATE FUNCTION pg_temp.adopt() RETURNS void LANGUAGE plpgsql AS $$
DECLARE b record; n int := 0; refused int := 0;
BEGIN
  FOR b IN SELECT k.booking_id, k.guest_name, k.check_in, k.check_out, r.lock_device_id
             FROM live_bookings k JOIN live_rooms r USING (room_id)
            WHERE r.lock_device_id IS NOT NULL AND k.status <> 'cancelled' AND k.check_out > now()
            ORDER BY k.check_in LOOP
    BEGIN
      PERFORM oracode_create_code(b.lock_device_id, b.check_in, b.check_out, b.guest_name,
                                  b.booking_id::text, '1hour', b.check_in - interval '14 days');
      n := n + 1;
    EXCEPTION WHEN SQLSTATE 'OC001' OR SQLSTATE 'OC002' OR SQLSTATE 'OC003' OR SQLSTATE 'OC004'
                OR SQLSTATE '22023' THEN
      refused := refused + 1;
      RAISE WARNING 'booking %: %', b.booking_id, SQLERRM;
    END;
  END LOOP;
  RAISE NOTICE 'oracode: % bookings requested, % refused', n, refused;
END $$;
SELECT pg_temp.adopt();
SELECT results_eq($$SELECT booking_ref FROM oracode.access_codes WHERE booking_ref LIKE '9%' ORDER BY booking_ref$$,
  $$VALUES ('9001'::text), ('9002'), ('9006')$$,
  'adopting a live table requests the future, confirmed bookings of rooms with a lock that a slot fits');
SELECT pg_temp.adopt();
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE '9%'), 3::bigint, '... and running it again requests nothing twice');
-- the query to run before ALTER EXTENSION UPDATE lists the arguments the new version refuses
CREATE TEMP TABLE old_style (id int, lock uuid, s timestamptz, e timestamptz);
CREATE TRIGGER typo AFTER INSERT ON old_style FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('devcie=lock', 'starts=s', 'ends=e', 'ref=id', 'on_error');
SELECT results_eq($$SELECT a.arg
  FROM pg_trigger t
  CROSS JOIN LATERAL unnest(string_to_array(encode(t.tgargs, 'escape'), '\000')) AS a(arg)
 WHERE t.tgfoid = 'oracode_booking_trigger'::regproc AND a.arg <> ''
   AND (position('=' IN a.arg) = 0 OR split_part(a.arg, '=', 1) NOT IN
        ('device', 'device_sql', 'starts', 'ends', 'ref', 'name', 'cancelled', 'rounding',
         'issue_before', 'on_error'))$$,
  $$VALUES ('devcie=lock'::text), ('on_error')$$,
  'the README''s query finds the trigger arguments the extension would refuse, and only those');

-- item 10: long_stays=split gives a stay over 31 days consecutive codes that cover it with no gap
CREATE TEMP TABLE long_stays (LIKE bookings);
CREATE TRIGGER oracode AFTER INSERT OR UPDATE OR DELETE ON long_stays FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger(
    'device_sql=SELECT lock FROM rooms WHERE room_no = ($1->>''room_no'')::int',
    'starts=arrival', 'ends=departure', 'ref=confirmation', 'long_stays=split');
INSERT INTO long_stays (confirmation, room_no, guest, arrival, departure)
SELECT 'STAY-70', 101, 'Long stay', d + 100 + time '15:00', d + 170 + time '11:00' FROM t;
CREATE FUNCTION pg_temp.pieces(r text) RETURNS TABLE (n bigint, longest interval, gaps bigint, first_start timestamptz,
                                                      last_end timestamptz, superseded bigint) LANGUAGE sql AS $$
  SELECT count(*), max(ends_at - starts_at),
         count(*) FILTER (WHERE starts_at > prev_end),
         min(starts_at), max(ends_at), count(*) FILTER (WHERE superseded_by IS NOT NULL)
  FROM (SELECT starts_at, ends_at, superseded_by, lag(ends_at) OVER (ORDER BY starts_at) AS prev_end
        FROM oracode.access_codes WHERE booking_ref = r AND status = 'queued') x
$$;
SELECT results_eq($$SELECT n, longest <= interval '744 hours', gaps, first_start, last_end, superseded FROM pg_temp.pieces('STAY-70')$$,
  $$SELECT 3::bigint, true, 0::bigint, (d + 100 + time '15:00')::timestamptz, (d + 170 + time '11:00')::timestamptz, 0::bigint FROM t$$,
  'a 70-night stay: three queued codes under its reference, each at most 744 hours, from its arrival to its departure, each starting before the last ends');
UPDATE long_stays SET departure = departure + interval '5 days' WHERE confirmation = 'STAY-70';
SELECT results_eq($$SELECT n, gaps, last_end FROM pg_temp.pieces('STAY-70')$$,
  $$SELECT 3::bigint, 0::bigint, (d + 175 + time '11:00')::timestamptz FROM t$$,
  'changing the stay resolves all its codes and requests the new ones');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = 'STAY-70' AND status = 'cancelled'), 3::bigint,
  '... the three old ones cancelled');
DELETE FROM long_stays WHERE confirmation = 'STAY-70';
SELECT is(pg_temp.live('STAY-70'), 0::bigint, 'deleting it resolves them all');

-- an import with COPY: future stays requested at the end of the COPY, an ended one and a
-- no-show not at all, a backwards one warned of
COPY bookings (confirmation, room_no, guest, status, arrival, departure) FROM STDIN;
CP-1	101	Copy one	confirmed	2031-03-01 15:00+01	2031-03-03 11:00+01
CP-2	101	Copy two	confirmed	2031-03-05 15:00+01	2031-03-08 11:00+01
CP-3	101	Copy past	confirmed	2020-03-01 15:00+01	2020-03-03 11:00+01
CP-4	101	Copy no-show	no_show	2031-03-10 15:00+01	2031-03-11 11:00+01
CP-5	101	Copy typo	confirmed	2031-03-14 15:00+01	2031-03-12 11:00+01
\.
SELECT results_eq($$SELECT ref, status FROM pg_temp.requests('CP-%')$$,
  $$VALUES ('CP-1'::text, 'queued'::text), ('CP-2', 'queued')$$,
  'a COPY import requests codes for its future stays, none for the ended one, the no-show or the backwards one');
SELECT is((SELECT count(*) FROM bookings WHERE confirmation LIKE 'CP-%'), 5::bigint, '... and keeps all five bookings');

-- item 9: monitoring reads no guest names
SELECT hasnt_column('oracode', 'pending', 'name', 'oracode.pending, which pg_monitor reads, has no guest name');
SELECT is((SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           WHERE c.relnamespace = 'oracode'::regnamespace AND c.relkind = 'v' AND a.attnum > 0
             AND a.attname IN ('name', 'guest', 'guest_name', 'seam_name')), 0::bigint,
  'nor does any other view of schema oracode');

SELECT * FROM finish();
ROLLBACK;
