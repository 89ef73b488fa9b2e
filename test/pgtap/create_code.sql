-- oracode_create_code(): checks, SQLSTATEs, idempotency, superseding, cancelling,
-- immutability, history, and the PMS trigger. All inside one rolled-back
-- transaction, so the worker never sees these rows.
BEGIN;
SELECT plan(61);
SET LOCAL timezone = 'America/Los_Angeles';

INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes)
VALUES ('11111111-1111-1111-1111-111111111111', 'Room 101', 'America/Los_Angeles', true),
       ('22222222-2222-2222-2222-222222222222', 'Room 102 (online only)', 'America/Los_Angeles', false),
       ('33333333-3333-3333-3333-333333333333', 'Room 103', 'America/Los_Angeles', true);
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time, is_24_hour, is_one_shot)
SELECT d, p, n, ci::oracode_tod, co::oracode_tod, h, os
FROM (VALUES ('11111111-1111-1111-1111-111111111111'::uuid, 0, 'Guest 4pm-10am', '16:00:00[America/Los_Angeles]', '10:00:00[America/Los_Angeles]', false, false),
             ('11111111-1111-1111-1111-111111111111', 1, 'Guest RCI 3:30pm-10:30am', '15:30:00[America/Los_Angeles]', '10:30:00[America/Los_Angeles]', false, false),
             ('11111111-1111-1111-1111-111111111111', 2, 'Guest 24h', '12:00:00[America/Los_Angeles]', '12:00:00[America/Los_Angeles]', true, false),
             ('11111111-1111-1111-1111-111111111111', 3, 'Housekeeping once', '08:00:00[America/Los_Angeles]', '09:00:00[America/Los_Angeles]', false, true),
             ('33333333-3333-3333-3333-333333333333', 0, 'Guest 4pm-10am', '16:00:00[America/Los_Angeles]', '10:00:00[America/Los_Angeles]', false, false))
     AS s(d, p, n, ci, co, h, os);

-- dates well in the future, so "ends_at in the past" never fires by accident
CREATE TEMP TABLE t AS SELECT (date_trunc('day', now()) + interval '30 days')::date AS d;

-- errors, each with its SQLSTATE ---------------------------------------------------
SELECT throws_ok($$SELECT oracode_create_code('99999999-9999-9999-9999-999999999999', now() + interval '1 day', now() + interval '3 days')$$,
  'OC004', 'unknown device 99999999-9999-9999-9999-999999999999', 'unknown device: OC004');
SELECT throws_ok($$SELECT oracode_create_code('22222222-2222-2222-2222-222222222222', now() + interval '1 day', now() + interval '3 days')$$,
  'OC002', NULL, 'device without offline codes: OC002');
SELECT throws_ok(format($$SELECT oracode_create_code('11111111-1111-1111-1111-111111111111', NULL, %L)$$, (SELECT d + time '10:00' FROM t)),
  '22023', NULL, 'NULL starts_at: 22023');
SELECT throws_ok(format($$SELECT oracode_create_code('11111111-1111-1111-1111-111111111111', %L, %L)$$,
  (SELECT d + time '16:00' FROM t), (SELECT d + time '15:00' FROM t)), '22023', 'ends_at must be after starts_at', 'ends before it starts: 22023');
\ir helpers.psql
SELECT is(pg_temp.detail_of(format($$SELECT oracode_create_code('11111111-1111-1111-1111-111111111111', %L, %L)$$,
  (SELECT d + time '16:00' FROM t), (SELECT d + time '15:00' FROM t))),
  format('The booking starts at %s and ends at %s.', (SELECT (d + time '16:00')::timestamptz FROM t), (SELECT (d + time '15:00')::timestamptz FROM t)),
  'its DETAIL gives both times, each its own');
SELECT throws_ok(format($$SELECT oracode_create_code('11111111-1111-1111-1111-111111111111', %L, %L)$$,
  (SELECT d + time '16:00' FROM t), (SELECT d + 32 + time '10:00' FROM t)), '22023', 'booking is longer than 31 days', 'over 31 days: 22023');
SELECT throws_ok(format($$SELECT oracode_create_code('11111111-1111-1111-1111-111111111111', %L, %L, max_time_rounding => '2h')$$,
  (SELECT d + time '16:00' FROM t), (SELECT d + 2 + time '10:00' FROM t)), '22023', 'invalid max_time_rounding "2h"', 'bad rounding: 22023');
SELECT throws_ok($$SELECT oracode_create_code('11111111-1111-1111-1111-111111111111', date_trunc('day', now()) - interval '3 days' + interval '16 hours', date_trunc('day', now()) - interval '1 day' + interval '10 hours')$$,
  '22023', 'ends_at is in the past', 'ends in the past: 22023');
SELECT throws_ok(format($$SELECT oracode_create_code('11111111-1111-1111-1111-111111111111', %L, %L)$$,
  (SELECT d + time '09:00' FROM t), (SELECT d + 2 + time '17:00' FROM t)), 'OC001', 'no time slots found', 'no slot: OC001 "no time slots found"');

-- OC001's detail gives the booking in the lock's time and the hint the nearest slots
CREATE FUNCTION pg_temp.oc001() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE d text; h text;
BEGIN
  PERFORM oracode_create_code('11111111-1111-1111-1111-111111111111',
    (SELECT t.d + time '13:30' FROM t), (SELECT t.d + 2 + time '10:00' FROM t));
  RETURN NULL;
EXCEPTION WHEN SQLSTATE 'OC001' THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN ARRAY[d, h];
END $$;
SELECT matches((pg_temp.oc001())[1], format('^The booking runs from %s 13:30 to %s 10:00 \(America/Los_Angeles\); no usable time slot of device "Room 101" is within an hour of both ends\.$',
  (SELECT d FROM t), (SELECT d + 2 FROM t)), 'OC001 detail: the booking in local time');
SELECT matches((pg_temp.oc001())[2], '^Nearest slots: "Guest 4pm-10am" \(check-in 2 h 30 min later, check-out on time\); "Guest RCI 3:30pm-10:30am" \(check-in 2 h later, check-out 30 min later\); "Guest 24h" \(check-in 1 h 30 min earlier, check-out 2 h later\)\. See oracode_explain_match',
  'OC001 hint: the nearest slots, nearest first (ties by name), and how far each end is off');
SELECT ok((pg_temp.oc001())[2] NOT LIKE '%Housekeeping%', 'OC001 hint leaves out one-shot slots');

SELECT is((SELECT count(*) FROM oracode.access_codes), 0::bigint, 'no failed call wrote a row');

-- success ------------------------------------------------------------------------------
CREATE TEMP TABLE r1 AS SELECT * FROM oracode_create_code('11111111-1111-1111-1111-111111111111',
  (SELECT d + time '15:50' FROM t), (SELECT d + 5 + time '10:05' FROM t), 'Guest Smith', 'BK-1');
SELECT is((SELECT status FROM r1), 'queued', 'a new request is queued');
SELECT is((SELECT slot_name FROM r1), 'Guest 4pm-10am', 'matched slot');
SELECT is((SELECT starts_at FROM r1), (SELECT (d + time '16:00') AT TIME ZONE 'America/Los_Angeles' FROM t), 'matched start');
SELECT is((SELECT ends_at FROM r1), (SELECT (d + 5 + time '10:00') AT TIME ZONE 'America/Los_Angeles' FROM t), 'matched end');
SELECT is((SELECT requested_starts_at FROM r1), (SELECT (d + time '15:50') AT TIME ZONE 'America/Los_Angeles' FROM t), 'requested start kept');
SELECT is((SELECT bound FROM r1), 'hourly', 'bound');
SELECT is((SELECT time_zone FROM r1), 'America/Los_Angeles', 'zone kept for Seam''s local times');
SELECT is((SELECT seam_name FROM r1), '#' || (SELECT id FROM r1) || ' Guest Smith', 'unique name for reconciliation');
SELECT results_eq($$SELECT old_status, new_status FROM oracode.access_code_events WHERE access_code_id = (SELECT id FROM r1)$$,
  $$VALUES (NULL::text, 'queued'::text)$$, 'the insert is the first event');

-- idempotent
SELECT is((SELECT id FROM oracode_create_code('11111111-1111-1111-1111-111111111111',
  (SELECT d + time '15:55' FROM t), (SELECT d + 5 + time '10:02' FROM t), 'Guest Smith', 'BK-1')),
  (SELECT id FROM r1), 'same booking, same matched times: the same row');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = 'BK-1'), 1::bigint, 'still one row');

-- a changed booking supersedes; the queued original is cancelled and never sent
CREATE TEMP TABLE r2 AS SELECT * FROM oracode_create_code('11111111-1111-1111-1111-111111111111',
  (SELECT d + time '16:00' FROM t), (SELECT d + 6 + time '10:00' FROM t), 'Guest Smith', 'BK-1');
SELECT isnt((SELECT id FROM r2), (SELECT id FROM r1), 'changed dates: a new row');
SELECT is((SELECT status FROM oracode.access_codes WHERE id = (SELECT id FROM r1)), 'cancelled', 'old queued row cancelled');
SELECT is((SELECT superseded_by FROM oracode.access_codes WHERE id = (SELECT id FROM r1)), (SELECT id FROM r2), 'old row points to its successor');
SELECT results_eq($$SELECT old_status, new_status, detail FROM oracode.access_code_events WHERE access_code_id = (SELECT id FROM r1) ORDER BY id$$,
  $$VALUES (NULL::text, 'queued'::text, 'requested'::text), ('queued', 'cancelled', 'superseded by request ' || (SELECT id FROM r2))$$,
  'history of the superseded row');

-- a sent row that is superseded stays as it is (a code cannot be deleted)
UPDATE oracode.access_codes SET status = 'unset', seam_access_code_id = 'ac-r2', status_detail = 'test: sent' WHERE id = (SELECT id FROM r2);
CREATE TEMP TABLE r3 AS SELECT * FROM oracode_create_code('33333333-3333-3333-3333-333333333333',
  (SELECT d + time '16:00' FROM t), (SELECT d + 6 + time '10:00' FROM t), 'Guest Smith', 'BK-1');
SELECT is((SELECT status FROM oracode.access_codes WHERE id = (SELECT id FROM r2)), 'unset', 'the same reference on another lock: the sent code keeps its status');
SELECT is((SELECT superseded_by FROM oracode.access_codes WHERE id = (SELECT id FROM r2)), NULL,
  'and stands alongside, not superseded: another room of a group booking (a room move is the trigger''s to resolve)');
SELECT is((SELECT device_id FROM r3), '33333333-3333-3333-3333-333333333333'::uuid, 'the new request is for the new room');

-- immutability of sent rows
SELECT throws_ok(format('UPDATE oracode.access_codes SET starts_at = starts_at + interval ''1 hour'' WHERE id = %s', (SELECT id FROM r2)),
  'OC005', NULL, 'changing the times of a sent code: OC005');
SELECT throws_ok(format('UPDATE oracode.access_codes SET device_id = %L WHERE id = %s', '33333333-3333-3333-3333-333333333333', (SELECT id FROM r2)),
  'OC005', NULL, 'changing the device of a sent code: OC005');
SELECT throws_ok(format('UPDATE oracode.access_codes SET seam_access_code_id = %L WHERE id = %s', 'other', (SELECT id FROM r2)),
  'OC005', NULL, 'changing the Seam id of a sent code: OC005');
SELECT throws_ok(format('DELETE FROM oracode.access_codes WHERE id = %s', (SELECT id FROM r2)),
  'OC005', NULL, 'deleting a sent code: OC005');
SELECT lives_ok(format('UPDATE oracode.access_codes SET status = %L, code = %L WHERE id = %s', 'set', '123456', (SELECT id FROM r2)),
  'status and PIN of a sent code can still be recorded');
SELECT lives_ok(format('DELETE FROM oracode.access_codes WHERE id = %s', (SELECT id FROM r1)),
  'a cancelled (never sent) row can be deleted');

-- cancelling
SELECT is((SELECT status FROM oracode_cancel_code((SELECT id FROM r3))), 'cancelled', 'a queued request can be cancelled');
SELECT is((SELECT status FROM oracode_cancel_code((SELECT id FROM r3))), 'cancelled', 'cancelling twice is harmless');
SELECT throws_ok(format('SELECT oracode_cancel_code(%s)', (SELECT id FROM r2)), 'OC005', NULL, 'a sent code cannot be cancelled: OC005');

-- issue_at holds a request
CREATE TEMP TABLE r4 AS SELECT * FROM oracode_create_code('11111111-1111-1111-1111-111111111111',
  (SELECT d + time '16:00' FROM t), (SELECT d + 2 + time '10:00' FROM t), NULL, 'BK-4',
  issue_at => (SELECT (d - 3)::timestamptz FROM t));
SELECT is((SELECT issue_at FROM r4), (SELECT (d - 3)::timestamptz FROM t), 'issue_at stored');
SELECT is((SELECT next_attempt_at FROM r4), (SELECT (d - 3)::timestamptz FROM t), 'not due before issue_at');
SELECT is((SELECT seam_name FROM r4), '#' || (SELECT id FROM r4) || ' BK-4', 'the booking ref names the code when there is no name');

-- a daily slot with 1day rounding
SELECT is((SELECT bound FROM oracode_create_code('11111111-1111-1111-1111-111111111111',
  (SELECT d + 10 + time '09:00' FROM t), (SELECT d + 12 + time '15:00' FROM t), NULL, 'BK-5', '1day')), 'daily', 'is_24_hour slot: daily bound');

-- the code limit counts live codes (not failed/cancelled, not ended) valid at the same time as the
-- new one; nothing half-written
UPDATE oracode.devices SET code_limit = 3 WHERE device_id = '11111111-1111-1111-1111-111111111111';
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE device_id = '11111111-1111-1111-1111-111111111111'
            AND status NOT IN ('failed', 'cancelled', 'expired')), 3::bigint, 'three live codes on the device');
SELECT throws_ok(format($$SELECT oracode_create_code('11111111-1111-1111-1111-111111111111', %L, %L, NULL, 'BK-6')$$,
  (SELECT d + 1 + time '16:00' FROM t), (SELECT d + 15 + time '10:00' FROM t)), 'OC003', NULL,
  'over the limit: OC003 for a stay that overlaps the three');
SELECT lives_ok(format($$SELECT oracode_create_code('11111111-1111-1111-1111-111111111111', %L, %L, NULL, 'BK-7')$$,
  (SELECT d + 40 + time '16:00' FROM t), (SELECT d + 42 + time '10:00' FROM t)),
  'a booking weeks after the three ends is not refused: the lock holds room then');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = 'BK-6'), 0::bigint, 'nothing written for the refused request');
SELECT lives_ok(format($$SELECT oracode_create_code('11111111-1111-1111-1111-111111111111', %L, %L, NULL, 'BK-4')$$,
  (SELECT d + 1 + time '16:00' FROM t), (SELECT d + 3 + time '10:00' FROM t)), 'a superseding request frees its own slot (the queued original is cancelled)');
UPDATE oracode.devices SET code_limit = NULL;

-- the PMS trigger ----------------------------------------------------------------------
CREATE TEMP TABLE rooms (room_no int PRIMARY KEY, lock_device uuid);
INSERT INTO rooms VALUES (101, '11111111-1111-1111-1111-111111111111'), (103, '33333333-3333-3333-3333-333333333333'), (200, NULL);
CREATE TEMP TABLE bookings (id int PRIMARY KEY, room_no int, guest text, arrive timestamptz, depart timestamptz, state text DEFAULT 'confirmed');
CREATE TRIGGER bookings_oracode AFTER INSERT OR UPDATE OR DELETE ON bookings FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger(
    'device_sql=SELECT lock_device FROM pg_temp.rooms WHERE room_no = ($1->>''room_no'')::int',
    'starts=arrive', 'ends=depart', 'ref=id', 'name=guest', 'cancelled=state:cancelled');

INSERT INTO bookings VALUES (1, 101, 'Ada', (SELECT d + 20 + time '16:10' FROM t), (SELECT d + 23 + time '09:50' FROM t));
SELECT results_eq($$SELECT status, slot_name, name FROM oracode.access_codes WHERE booking_ref = '1'$$,
  $$VALUES ('queued'::text, 'Guest 4pm-10am'::text, 'Ada'::text)$$, 'inserting a booking requests a code');
UPDATE bookings SET guest = 'Ada L.' WHERE id = 1;
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = '1'), 1::bigint, 'an unrelated change requests nothing');
UPDATE bookings SET depart = depart + interval '1 day' WHERE id = 1;
SELECT results_eq($$SELECT status FROM oracode.access_codes WHERE booking_ref = '1' ORDER BY id$$,
  $$VALUES ('cancelled'::text), ('queued')$$, 'changing the dates supersedes the request');
UPDATE bookings SET room_no = 103 WHERE id = 1;
SELECT results_eq($$SELECT device_id, status FROM oracode.access_codes WHERE booking_ref = '1' ORDER BY id$$,
  $$VALUES ('11111111-1111-1111-1111-111111111111'::uuid, 'cancelled'::text), ('11111111-1111-1111-1111-111111111111', 'cancelled'),
           ('33333333-3333-3333-3333-333333333333', 'queued')$$, 'changing the room supersedes it too');
UPDATE bookings SET state = 'cancelled' WHERE id = 1;
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = '1' AND status = 'queued'), 0::bigint, 'cancelling the booking cancels what is queued');
INSERT INTO bookings VALUES (2, 200, 'Bo', (SELECT d + 20 + time '16:00' FROM t), (SELECT d + 22 + time '10:00' FROM t));
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = '2'), 0::bigint, 'a room without a lock requests nothing');
SELECT throws_ok($$INSERT INTO bookings VALUES (3, 101, 'Cy', (SELECT d + 20 + time '09:00' FROM t), (SELECT d + 22 + time '17:00' FROM t))$$,
  'OC001', 'no time slots found', 'by default a booking no slot fits is refused (OC001)');
INSERT INTO bookings VALUES (4, 101, 'Di', (SELECT d + 25 + time '16:00' FROM t), (SELECT d + 27 + time '10:00' FROM t));
DELETE FROM bookings WHERE id = 4;
SELECT is((SELECT status FROM oracode.access_codes WHERE booking_ref = '4'), 'cancelled', 'deleting a booking cancels its queued request');

CREATE TEMP TABLE lenient (id int, lock uuid, s timestamptz, e timestamptz);
CREATE TRIGGER lenient_oracode AFTER INSERT ON lenient FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=s', 'ends=e', 'ref=id', 'on_error=warn');
SELECT lives_ok($$INSERT INTO lenient VALUES (5, '11111111-1111-1111-1111-111111111111', (SELECT d + 20 + time '09:00' FROM t), (SELECT d + 22 + time '17:00' FROM t))$$,
  'on_error=warn keeps the booking when no slot fits');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = '5'), 0::bigint, '... and requests nothing');
SELECT throws_ok($$CREATE TEMP TABLE bad (id int); CREATE TRIGGER x AFTER INSERT ON bad FOR EACH ROW EXECUTE FUNCTION oracode_booking_trigger('nonsense'); INSERT INTO bad VALUES (1)$$,
  '22023', NULL, 'a malformed trigger argument: 22023');

-- every status change is in the history
SELECT is((SELECT count(*) FROM oracode.access_codes a WHERE NOT EXISTS
  (SELECT 1 FROM oracode.access_code_events e WHERE e.access_code_id = a.id AND e.new_status = a.status)), 0::bigint,
  'every row''s current status has its event');

SELECT * FROM finish();
ROLLBACK;
