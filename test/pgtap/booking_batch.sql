-- The requests of one statement's bookings are buffered and written at the end of that
-- statement (src/booking_batch.c): the same rows and history as one booking at a time, the
-- same errors at the same row, idempotency and superseding, and what stays immediate.
-- All inside one rolled-back transaction, so the worker never sees these rows.
BEGIN;
SELECT plan(40);
SET LOCAL timezone = 'Europe/Berlin';

INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes, code_limit)
VALUES ('b1111111-1111-4111-8111-111111111111', 'Batch 1', 'Europe/Berlin', true, NULL),
       ('b2222222-2222-4222-8222-222222222222', 'Batch 2', 'Europe/Berlin', true, NULL),
       ('b3333333-3333-4333-8333-333333333333', 'Capped', 'Europe/Berlin', true, 2);
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time)
SELECT device_id, 0, '3pm-11am', '15:00:00[Europe/Berlin]', '11:00:00[Europe/Berlin]' FROM oracode.devices
 WHERE device_id::text LIKE 'b%';
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time, is_24_hour)
VALUES ('b2222222-2222-4222-8222-222222222222', 1, 'Day', '00:00:00[Europe/Berlin]', '00:00:00[Europe/Berlin]', true);
CREATE TEMP TABLE t AS SELECT (date_trunc('day', now()) + interval '30 days')::date AS d;

-- a PMS-shaped bookings table; "seen" records, from a row trigger that fires after oracode's,
-- how many requests of the statement were already in the outbox
CREATE TEMP TABLE bookings (ref text, lock uuid, guest text, s timestamptz, e timestamptz,
                            status text NOT NULL DEFAULT 'confirmed');
CREATE TRIGGER a_oracode AFTER INSERT OR UPDATE OR DELETE ON bookings FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=s', 'ends=e', 'ref=ref', 'name=guest',
    'cancelled=status:cancelled', 'issue_before=35 days');
CREATE TEMP TABLE seen (ref text, outbox_rows bigint);
CREATE FUNCTION pg_temp.note_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.guest = 'boom' THEN
    RAISE EXCEPTION 'the PMS refuses guest %', NEW.guest USING ERRCODE = 'P0001';
  END IF;
  IF NEW.ref LIKE 'B-%' THEN
    INSERT INTO seen VALUES (NEW.ref, (SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'B-%'));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER b_note AFTER INSERT ON bookings FOR EACH ROW EXECUTE FUNCTION pg_temp.note_seen();

-- the bookings both paths receive: S-n one statement each, B-n in one statement
CREATE TEMP TABLE src AS
SELECT n, lock, guest, d + s AS s, d + e AS e FROM t, (VALUES
  (1, 'b1111111-1111-4111-8111-111111111111'::uuid, 'Ann',  interval '15:10', interval '2 days 10:50'),
  (2, 'b2222222-2222-4222-8222-222222222222',       NULL,   interval '15:00', interval '3 days 11:00'),
  (3, 'b1111111-1111-4111-8111-111111111111',       'Bo',   interval '40 days 15:20', interval '42 days 10:40'),
  (4, 'b2222222-2222-4222-8222-222222222222',       'Cy',   interval '5 days 00:00', interval '6 days 00:00'),
  (5, 'b1111111-1111-4111-8111-111111111111',       repeat('é', 90), interval '7 days 15:00', interval '8 days 11:00')) v(n, lock, guest, s, e);
INSERT INTO bookings SELECT 'S-1', lock, guest, s, e FROM src WHERE n = 1;
INSERT INTO bookings SELECT 'S-2', lock, guest, s, e FROM src WHERE n = 2;
INSERT INTO bookings SELECT 'S-3', lock, guest, s, e FROM src WHERE n = 3;
INSERT INTO bookings SELECT 'S-4', lock, guest, s, e FROM src WHERE n = 4;
INSERT INTO bookings SELECT 'S-5', lock, guest, s, e FROM src WHERE n = 5;
DELETE FROM seen;
INSERT INTO bookings SELECT 'B-' || n, lock, guest, s, e FROM src ORDER BY n;

-- 1-6: the same rows and history as one booking per statement
CREATE TEMP VIEW outbox AS
SELECT substr(a.booking_ref, 1, 1) AS path, substr(a.booking_ref, 3) AS n, a.device_id, a.name,
       a.requested_starts_at, a.requested_ends_at, a.starts_at, a.ends_at, a.slot_name, a.bound,
       a.time_zone, a.status, a.issue_at, a.next_attempt_at, a.status_detail, a.superseded_by,
       a.attempts, a.reconcile, a.errors, a.seam_access_code_id, a.sent_at
FROM oracode.access_codes a;
SELECT set_eq($$SELECT n, device_id, name, requested_starts_at, requested_ends_at, starts_at, ends_at, slot_name, bound,
                       time_zone, status, issue_at, next_attempt_at, status_detail, superseded_by, attempts, reconcile,
                       errors, seam_access_code_id, sent_at FROM outbox WHERE path = 'B'$$,
  $$SELECT n, device_id, name, requested_starts_at, requested_ends_at, starts_at, ends_at, slot_name, bound,
           time_zone, status, issue_at, next_attempt_at, status_detail, superseded_by, attempts, reconcile,
           errors, seam_access_code_id, sent_at FROM outbox WHERE path = 'S'$$,
  'five bookings in one statement make the same rows, column by column, as one booking per statement');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'B-%' AND status = 'queued'), 5::bigint,
  'one queued request per booking of the statement');
SELECT is((SELECT count(*) FROM oracode.access_codes a WHERE a.booking_ref LIKE 'B-%' AND
           a.seam_name = '#' || a.id || ' ' || left(coalesce(a.name, a.booking_ref), 80)), 5::bigint,
  'each has its seam_name from its own id (80 characters of the name, else the reference)');
SELECT is(array(SELECT booking_ref FROM oracode.access_codes WHERE booking_ref LIKE 'B-%' ORDER BY id),
  array['B-1', 'B-2', 'B-3', 'B-4', 'B-5'], 'ids in booking order');
SELECT set_eq($$SELECT substr(a.booking_ref, 3), e.old_status, e.new_status, e.detail, count(*) OVER (PARTITION BY a.id)
                FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id WHERE a.booking_ref LIKE 'B-%'$$,
  $$SELECT substr(a.booking_ref, 3), e.old_status, e.new_status, e.detail, count(*) OVER (PARTITION BY a.id)
    FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id WHERE a.booking_ref LIKE 'S-%'$$,
  'each has exactly one history row, the same as one booking per statement writes');
SELECT is((SELECT count(*) FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
           WHERE a.booking_ref LIKE 'B-%' AND e.old_status IS NULL AND e.new_status = 'queued'
             AND e.detail = a.status_detail AND e.at >= a.created_at), 5::bigint,
  'history rows are NULL → queued with the request''s status_detail');

-- 7: the requests after the first were written at the end of the statement, not row by row
SELECT is((SELECT array_agg(outbox_rows ORDER BY ref) FROM seen), array[1, 1, 1, 1, 1]::bigint[],
  'a row trigger firing after oracode''s sees the first booking''s request (written at once), none of the others');

-- 8-10: a refused row refuses the statement, at once, leaving nothing
SELECT count(*) AS events_before FROM oracode.access_code_events \gset
SELECT throws_ok($$INSERT INTO bookings SELECT 'X-' || n, lock, guest, CASE WHEN n = 3 THEN s - interval '6 hours' ELSE s END, e FROM src ORDER BY n$$,
  'OC001', 'no time slots found', 'a multi-row statement with one booking no slot fits raises OC001');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'X-%'), 0::bigint, '... and leaves no request');
SELECT is((SELECT count(*) FROM oracode.access_code_events), :events_before::bigint, '... and no history');

-- 11-12: other refusals raise at their row too
SELECT throws_ok($$INSERT INTO bookings SELECT 'Y-' || n, CASE WHEN n = 4 THEN 'ffffffff-ffff-4fff-8fff-ffffffffffff' ELSE lock END, guest, s, e FROM src$$,
  'OC004', 'unknown device ffffffff-ffff-4fff-8fff-ffffffffffff', 'an unknown lock in a later row: OC004');
SELECT throws_ok($$INSERT INTO bookings SELECT 'Y-' || n, lock, guest, CASE WHEN n = 5 THEN e ELSE s END, CASE WHEN n = 5 THEN s ELSE e END FROM src$$,
  '22023', 'ends_at must be after starts_at', 'a booking that ends before it starts in a later row: 22023');

-- 13-14: a user trigger's error in a later row rolls back everything
SELECT throws_ok($$INSERT INTO bookings SELECT 'Z-' || n, lock, CASE WHEN n = 4 THEN 'boom' ELSE guest END, s, e FROM src$$,
  'P0001', 'the PMS refuses guest boom', 'a later row''s own trigger raises');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'Z-%') +
          (SELECT count(*) FROM oracode.access_code_events) - :events_before::bigint, 0::bigint,
  '... and no request nor history of the statement is left');

-- 15-17: a reference repeated within one statement supersedes, as one by one
INSERT INTO bookings SELECT 'R-1', lock, guest, s + (n - 1) * interval '1 day', e + (n - 1) * interval '1 day'
  FROM src WHERE n = 1 UNION ALL SELECT 'R-1', lock, guest, s + interval '1 day', e + interval '1 day' FROM src WHERE n = 1;
SELECT results_eq($$SELECT status, superseded_by, status_detail FROM oracode.access_codes WHERE booking_ref = 'R-1' ORDER BY id$$,
  $$SELECT 'cancelled'::text, max(id), 'superseded by request ' || max(id) FROM oracode.access_codes WHERE booking_ref = 'R-1'
    UNION ALL SELECT 'queued', NULL, 'requested'$$,
  'the second row of a reference supersedes the first: cancelled, pointing at the new request');
SELECT results_eq($$SELECT e.old_status, e.new_status FROM oracode.access_code_events e
                    JOIN oracode.access_codes a ON a.id = e.access_code_id WHERE a.booking_ref = 'R-1' ORDER BY e.id$$,
  $$VALUES (NULL::text, 'queued'::text), (NULL, 'queued'), ('queued', 'cancelled')$$,
  '... with the history of both requests and the cancellation');
INSERT INTO bookings SELECT 'R-2', lock, guest, s, e FROM src WHERE n = 1
  UNION ALL SELECT 'R-2', lock, guest, s + interval '10 minutes', e - interval '10 minutes' FROM src WHERE n = 1;
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = 'R-2'), 1::bigint,
  'a reference repeated with the same matched times within one statement makes one request');

-- 18-19: re-inserting bookings with the same references and times keeps their requests
SELECT array_agg(id ORDER BY id)::text AS b_ids FROM oracode.access_codes WHERE booking_ref LIKE 'B-%' \gset
INSERT INTO bookings SELECT 'B-' || n, lock, guest, s, e FROM src ORDER BY n;
SELECT is((SELECT array_agg(id ORDER BY id)::text FROM oracode.access_codes WHERE booking_ref LIKE 'B-%'), :'b_ids',
  'bookings inserted again with the same references and times keep their requests (idempotent)');
SELECT is((SELECT count(*) FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
           WHERE a.booking_ref LIKE 'B-%'), 5::bigint, '... and add no history');

-- 20: a function that books and then reads the outbox sees its requests
CREATE FUNCTION pg_temp.book_and_count() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bookings SELECT 'F-' || n, lock, guest, s, e FROM src;
  RETURN (SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'F-%' AND status = 'queued');
END $$;
SELECT is(pg_temp.book_and_count(), 5::bigint, 'a PL/pgSQL function that inserts bookings sees their requests in its next statement');

-- 21-23: COPY FROM writes its rows' requests at its end as well
DELETE FROM seen;
COPY bookings (ref, lock, guest, s, e) FROM STDIN;
B-9	b1111111-1111-4111-8111-111111111111	Copy one	2030-01-10 15:00+01	2030-01-12 11:00+01
B-10	b2222222-2222-4222-8222-222222222222	Copy two	2030-01-10 15:00+01	2030-01-12 11:00+01
\.
SELECT results_eq($$SELECT booking_ref, status, starts_at, ends_at FROM oracode.access_codes WHERE booking_ref IN ('B-9', 'B-10') ORDER BY id$$,
  $$VALUES ('B-9'::text, 'queued'::text, '2030-01-10 15:00+01'::timestamptz, '2030-01-12 11:00+01'::timestamptz),
           ('B-10', 'queued', '2030-01-10 15:00+01', '2030-01-12 11:00+01')$$,
  'COPY FROM creates the requests of its bookings');
SELECT is((SELECT count(*) FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
           WHERE a.booking_ref IN ('B-9', 'B-10')), 2::bigint, '... each with one history row');
SELECT is((SELECT array_agg(outbox_rows) FROM seen), array[6, 6]::bigint[], '... the second written at the end of the COPY');

-- 24: ROLLBACK leaves nothing
SAVEPOINT before_rollback;
INSERT INTO bookings SELECT 'Q-' || n, lock, guest, s, e FROM src;
ROLLBACK TO SAVEPOINT before_rollback;
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'Q-%'), 0::bigint,
  'a rolled-back multi-row statement leaves no request');

-- 25-27: a capped device is counted at each of its rows (its bookings all the same night: the
-- limit counts codes valid at the same time)
SELECT throws_ok($$INSERT INTO bookings SELECT 'C-' || i, CASE WHEN i % 2 = 0 THEN 'b3333333-3333-4333-8333-333333333333'::uuid
                     ELSE 'b1111111-1111-4111-8111-111111111111' END, 'Cap',
                     d + CASE WHEN i % 2 = 0 THEN 1 ELSE i END + time '15:00', d + CASE WHEN i % 2 = 0 THEN 1 ELSE i END + 1 + time '11:00'
                   FROM t, generate_series(1, 7) i ORDER BY i$$,
  'OC003', 'device "Capped" has reached its code limit', 'the third booking of a device capped at 2 raises OC003');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'C-%'), 0::bigint, '... and leaves nothing');
SELECT lives_ok($$INSERT INTO bookings SELECT 'C-' || i, CASE WHEN i % 2 = 0 THEN 'b3333333-3333-4333-8333-333333333333'::uuid
                    ELSE 'b1111111-1111-4111-8111-111111111111' END, 'Cap',
                    d + CASE WHEN i % 2 = 0 THEN 1 ELSE i END + time '15:00', d + CASE WHEN i % 2 = 0 THEN 1 ELSE i END + 1 + time '11:00'
                  FROM t, generate_series(1, 5) i ORDER BY i$$,
  'two bookings of the capped device among others are taken');

-- 28-30: on_error=warn in a multi-row statement
CREATE TEMP TABLE lenient (ref text, lock uuid, s timestamptz, e timestamptz);
CREATE TRIGGER lenient_oracode AFTER INSERT ON lenient FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=s', 'ends=e', 'ref=ref', 'on_error=warn');
SELECT lives_ok($$INSERT INTO lenient SELECT 'W-' || i, CASE WHEN i = 4 THEN 'b3333333-3333-4333-8333-333333333333'::uuid
                    ELSE 'b1111111-1111-4111-8111-111111111111' END,
                    d + CASE WHEN i = 4 THEN 1 ELSE 50 + i END + CASE WHEN i = 2 THEN time '09:00' ELSE time '15:00' END,
                    d + CASE WHEN i = 4 THEN 2 ELSE 51 + i END + time '11:00'
                  FROM t, generate_series(1, 5) i ORDER BY i$$,
  'on_error=warn: a multi-row statement with a booking no slot fits and one over the code limit stands');
SELECT results_eq($$SELECT booking_ref, status FROM oracode.access_codes WHERE booking_ref LIKE 'W-%' ORDER BY booking_ref$$,
  $$VALUES ('W-1'::text, 'queued'::text), ('W-3', 'queued'), ('W-5', 'queued')$$,
  '... the refused rows have no request, the others are queued');
SELECT is((SELECT count(*) FROM lenient), 5::bigint, '... and the table kept every booking');

-- 31-32: updates and deletes of a multi-row statement's bookings
UPDATE bookings SET s = s + interval '1 day', e = e + interval '1 day' WHERE ref IN ('F-1', 'F-3');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref IN ('F-1', 'F-3') AND status = 'cancelled'
             AND superseded_by IS NOT NULL), 2::bigint, 'new dates in a multi-row UPDATE supersede the requests');
DELETE FROM bookings WHERE ref LIKE 'F-%';
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'F-%' AND status = 'queued'), 0::bigint,
  'a multi-row DELETE cancels them');

-- 33-34: a deferred trigger fired by a utility statement (SET CONSTRAINTS) inside another
-- statement's trigger writes at once, not into that statement's buffer
CREATE TEMP TABLE deferred_bookings (ref text, lock uuid, s timestamptz, e timestamptz);
CREATE CONSTRAINT TRIGGER deferred_oracode AFTER INSERT ON deferred_bookings DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=s', 'ends=e', 'ref=ref');
INSERT INTO deferred_bookings SELECT 'D-' || n, lock, s, e FROM src;
CREATE TEMP TABLE kick (x int);
CREATE FUNCTION pg_temp.kick() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SET CONSTRAINTS deferred_oracode IMMEDIATE;
  INSERT INTO seen VALUES ('kick', (SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'D-%'));
  RETURN NULL;
END $$;
CREATE TRIGGER kick AFTER INSERT ON kick FOR EACH ROW EXECUTE FUNCTION pg_temp.kick();
INSERT INTO kick VALUES (1);
SELECT is((SELECT outbox_rows FROM seen WHERE ref = 'kick'), 5::bigint,
  'the trigger that ran SET CONSTRAINTS sees the deferred bookings'' requests at once');
SELECT is((SELECT count(*) FROM oracode.access_codes a WHERE a.booking_ref LIKE 'D-%' AND EXISTS
           (SELECT 1 FROM oracode.access_code_events e WHERE e.access_code_id = a.id)), 5::bigint,
  'when it fires, its requests are written with their history');

-- 35: a buffer is not written inside a subtransaction its statement did not start (whose
-- rollback would lose the other bookings' requests): here a PMS trigger retries each booking
-- on a full lock, under an exception block that swallows the OC003
CREATE TEMP TABLE retried (ref text, lock uuid, s timestamptz, e timestamptz);
CREATE TRIGGER a_oracode AFTER INSERT ON retried FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=s', 'ends=e', 'ref=ref');
CREATE FUNCTION pg_temp.try_capped() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    -- the night the capped lock is full (C-2 and C-4)
    PERFORM oracode_create_code('b3333333-3333-4333-8333-333333333333', (SELECT d + 1 + time '15:00' FROM t),
                                (SELECT d + 2 + time '11:00' FROM t), NULL, NEW.ref);
  EXCEPTION WHEN sqlstate 'OC003' THEN NULL;
  END;
  RETURN NULL;
END $$;
CREATE TRIGGER b_try_capped AFTER INSERT ON retried FOR EACH ROW EXECUTE FUNCTION pg_temp.try_capped();
INSERT INTO retried SELECT 'T-' || n, 'b1111111-1111-4111-8111-111111111111', s + interval '70 days', e + interval '70 days' FROM src WHERE n <> 4;
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'T-%' AND status = 'queued'
             AND device_id = 'b1111111-1111-4111-8111-111111111111'), 4::bigint,
  'a rolled-back subtransaction in a later trigger loses none of the statement''s requests');

-- 36: a booking changed by a nested statement while its request waits in the outer
-- statement's buffer: the buffered request is written first and superseded, as one by one
CREATE TEMP TABLE moved (ref text, lock uuid, s timestamptz, e timestamptz);
CREATE TRIGGER a_oracode AFTER INSERT OR UPDATE ON moved FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=s', 'ends=e', 'ref=ref');
CREATE FUNCTION pg_temp.move_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE moved SET s = s + interval '1 day', e = e + interval '1 day' WHERE ref = NEW.ref;
  RETURN NULL;
END $$;
CREATE TRIGGER b_move AFTER INSERT ON moved FOR EACH ROW EXECUTE FUNCTION pg_temp.move_once();
INSERT INTO moved SELECT 'M-' || n, 'b1111111-1111-4111-8111-111111111111', s + interval '80 days', e + interval '80 days'
  FROM src WHERE n <> 4;
SELECT results_eq($$SELECT a.status, a.requested_starts_at = m.s, a.superseded_by IS NULL, count(*)
                    FROM oracode.access_codes a JOIN moved m ON m.ref = a.booking_ref GROUP BY 1, 2, 3 ORDER BY 1$$,
  $$VALUES ('cancelled'::text, false, false, 4::bigint), ('queued', true, true, 4)$$,
  'bookings moved by a nested statement in the same statement: the moved dates queued, the first superseded');

-- 37-38: a statement longer than one buffer
INSERT INTO bookings SELECT 'L-' || i, 'b1111111-1111-4111-8111-111111111111', 'Long', d + 60 + i % 30 + time '15:00', d + 61 + i % 30 + time '11:00'
FROM t, generate_series(1, 10050) i;
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'L-%'), 10050::bigint,
  'a statement of 10,050 bookings (more than one buffer) queues them all');
SELECT is((SELECT count(*) FROM oracode.access_codes a WHERE NOT EXISTS
  (SELECT 1 FROM oracode.access_code_events e WHERE e.access_code_id = a.id AND e.new_status = a.status)), 0::bigint,
  'every request has its history');

-- 39-40: a partitioned bookings table whose booking trigger is on a partition only: the rows
-- routed there are buffered too (the statement writes the parent, which has no trigger)
CREATE TEMP TABLE pbookings (hotel int, ref text, lock uuid, s timestamptz, e timestamptz) PARTITION BY LIST (hotel);
CREATE TEMP TABLE pbookings_1 PARTITION OF pbookings FOR VALUES IN (1);
CREATE TRIGGER a_oracode AFTER INSERT ON pbookings_1 FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=s', 'ends=e', 'ref=ref');
CREATE FUNCTION pg_temp.note_seen_p() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO seen VALUES (NEW.ref, (SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'P-%'));
  RETURN NULL;
END $$;
CREATE TRIGGER b_note AFTER INSERT ON pbookings_1 FOR EACH ROW EXECUTE FUNCTION pg_temp.note_seen_p();
DELETE FROM seen;
INSERT INTO pbookings SELECT 1, 'P-' || n, lock, s + interval '120 days', e + interval '120 days' FROM src ORDER BY n;
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'P-%'), 5::bigint,
  'bookings routed to a partition with the trigger each get a request');
SELECT is((SELECT array_agg(outbox_rows ORDER BY ref) FROM seen), array[1, 1, 1, 1, 1]::bigint[],
  '... buffered to the end of the statement, though the table written has no booking trigger');

SELECT * FROM finish();
ROLLBACK;
