-- oracode_booking_trigger() and oracode_create_code() in C (0.3.0): how the
-- trigger reads a bookings table's columns of various types, its argument
-- checks, on_error=warn, the device row read through the slot cache (each
-- change seen at once), and the history the C events trigger writes.
-- All inside one rolled-back transaction, so the worker never sees these rows.
BEGIN;
SELECT plan(32);
SET LOCAL timezone = 'Europe/Berlin';

INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes)
VALUES ('a1111111-1111-4111-8111-111111111111', 'Berlin 1', 'Europe/Berlin', true),
       ('a2222222-2222-4222-8222-222222222222', 'Berlin 2', 'Europe/Berlin', true);
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time)
VALUES ('a1111111-1111-4111-8111-111111111111', 0, '3pm-11am', '15:00:00[Europe/Berlin]', '11:00:00[Europe/Berlin]'),
       ('a2222222-2222-4222-8222-222222222222', 0, '3pm-11am', '15:00:00[Europe/Berlin]', '11:00:00[Europe/Berlin]');
CREATE TEMP TABLE t AS SELECT (date_trunc('day', now()) + interval '30 days')::date AS d;

-- arguments are checked, with the right SQLSTATE --------------------------------------------------
CREATE TEMP TABLE plain (id bigint, lock uuid, s timestamptz, e timestamptz);
CREATE TRIGGER misspelt AFTER INSERT ON plain FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('devcie=lock', 'starts=s', 'ends=e', 'ref=id');
SELECT throws_ok($$INSERT INTO plain VALUES (1, 'a1111111-1111-4111-8111-111111111111', now() + interval '1 day', now() + interval '2 days')$$,
  '22023', 'invalid oracode_booking_trigger argument "devcie=lock"', 'an unknown key: 22023, naming the argument');
DROP TRIGGER misspelt ON plain;
CREATE TRIGGER no_colon AFTER INSERT ON plain FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=s', 'ends=e', 'ref=id', 'cancelled=status');
SELECT throws_ok($$INSERT INTO plain VALUES (1, 'a1111111-1111-4111-8111-111111111111', now() + interval '1 day', now() + interval '2 days')$$,
  '22023', 'invalid oracode_booking_trigger argument "cancelled=status"', 'cancelled without column:value: 22023');
DROP TRIGGER no_colon ON plain;
CREATE TRIGGER missing AFTER INSERT ON plain FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=arrive', 'ends=e', 'ref=id');
SELECT throws_ok($$INSERT INTO plain VALUES (1, 'a1111111-1111-4111-8111-111111111111', now() + interval '1 day', now() + interval '2 days')$$,
  '42703', NULL, 'a column the table does not have: 42703');
DROP TRIGGER missing ON plain;
CREATE TRIGGER incomplete AFTER INSERT ON plain FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=s', 'ends=e');
SELECT throws_ok($$INSERT INTO plain VALUES (1, 'a1111111-1111-4111-8111-111111111111', now() + interval '1 day', now() + interval '2 days')$$,
  '22023', 'oracode_booking_trigger needs device (or device_sql), starts, ends and ref', 'no ref: 22023');
DROP TRIGGER incomplete ON plain;
SELECT throws_ok($$SELECT oracode_booking_trigger()$$, NULL, NULL, 'calling the trigger function directly fails');

-- columns of other types than uuid / timestamptz / text --------------------------------------------
-- the lock as text, times without zone (read in the session's zone), a bigint reference,
-- a varchar name and a boolean cancelled flag
CREATE TEMP TABLE typed (ref bigint, lock text, arrive timestamp, depart timestamp, guest varchar(40),
                         is_cancelled boolean NOT NULL DEFAULT false);
CREATE TRIGGER typed_oracode AFTER INSERT OR UPDATE OR DELETE ON typed FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=arrive', 'ends=depart', 'ref=ref',
    'name=guest', 'cancelled=is_cancelled:true', 'issue_before=3 days');
INSERT INTO typed VALUES (9000000001, 'A1111111-1111-4111-8111-111111111111',
  (SELECT d + time '15:10' FROM t), (SELECT d + 2 + time '10:50' FROM t), 'Zoë');
SELECT results_eq($$SELECT device_id, requested_starts_at, starts_at, ends_at, name, seam_name, status
                    FROM oracode.access_codes WHERE booking_ref = '9000000001'$$,
  $$SELECT 'a1111111-1111-4111-8111-111111111111'::uuid, (d + time '15:10')::timestamptz, (d + time '15:00')::timestamptz,
           (d + 2 + time '11:00')::timestamptz, 'Zoë'::text, '#' || (SELECT id FROM oracode.access_codes WHERE booking_ref = '9000000001') || ' Zoë',
           'queued'::text FROM t$$,
  'text lock, zone-less times, bigint ref and varchar name are read as the README says');
SELECT results_eq($$SELECT issue_at, status_detail FROM oracode.access_codes WHERE booking_ref = '9000000001'$$,
  $$SELECT (d + time '15:10')::timestamptz - interval '3 days', 'requested; held until ' || ((d + time '15:10')::timestamptz - interval '3 days')::text FROM t$$,
  'issue_before holds the request until 3 days before arrival');
UPDATE typed SET guest = 'Zoë K.' WHERE ref = 9000000001;
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = '9000000001'), 1::bigint, 'a change to the name alone requests nothing');
UPDATE typed SET is_cancelled = true WHERE ref = 9000000001;
SELECT is((SELECT status FROM oracode.access_codes WHERE booking_ref = '9000000001'), 'cancelled', 'a boolean cancelled flag (cancelled=is_cancelled:true) cancels');
UPDATE typed SET is_cancelled = false, lock = NULL WHERE ref = 9000000001;
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = '9000000001' AND status = 'queued'), 0::bigint,
  'an un-cancelled booking in a room without a lock requests nothing');
SELECT throws_ok($$INSERT INTO typed VALUES (9000000002, 'not-a-uuid', now() + interval '1 day', now() + interval '2 days', 'X')$$,
  '22P02', NULL, 'a lock column that is not a uuid: the cast''s own error');

-- device_sql: its first column may be text; no row means no lock --------------------------------
CREATE TEMP TABLE rooms (no int, lock_text text);
INSERT INTO rooms VALUES (1, 'a2222222-2222-4222-8222-222222222222'), (2, NULL);
CREATE TEMP TABLE stays (id int, room int, s timestamptz, e timestamptz);
CREATE TRIGGER stays_oracode AFTER INSERT ON stays FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device_sql=SELECT lock_text FROM pg_temp.rooms WHERE no = ($1->>''room'')::int',
    'starts=s', 'ends=e', 'ref=id');
INSERT INTO stays VALUES (71, 1, (SELECT d + 4 + time '15:00' FROM t), (SELECT d + 5 + time '11:00' FROM t)),
                         (72, 2, (SELECT d + 4 + time '15:00' FROM t), (SELECT d + 5 + time '11:00' FROM t)),
                         (73, 3, (SELECT d + 4 + time '15:00' FROM t), (SELECT d + 5 + time '11:00' FROM t));
SELECT results_eq($$SELECT booking_ref, device_id FROM oracode.access_codes WHERE booking_ref IN ('71', '72', '73')$$,
  $$VALUES ('71'::text, 'a2222222-2222-4222-8222-222222222222'::uuid)$$,
  'device_sql returning text finds the lock; a NULL or no row requests nothing');

-- on_error=warn turns only the refusals into warnings ---------------------------------------------
CREATE TEMP TABLE lenient (id int, lock uuid, s timestamptz, e timestamptz);
CREATE TRIGGER lenient_oracode AFTER INSERT ON lenient FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=s', 'ends=e', 'ref=id', 'on_error=warn');
SELECT lives_ok($$INSERT INTO lenient VALUES (81, 'a1111111-1111-4111-8111-111111111111', (SELECT d + time '09:00' FROM t), (SELECT d + 2 + time '18:00' FROM t))$$,
  'a booking no slot fits stands with on_error=warn');
SELECT lives_ok($$INSERT INTO lenient VALUES (82, 'ffffffff-ffff-4fff-8fff-ffffffffffff', (SELECT d + time '15:00' FROM t), (SELECT d + 2 + time '11:00' FROM t))$$,
  'so does one for an unknown lock (OC004)');
SELECT lives_ok($$INSERT INTO lenient VALUES (83, 'a1111111-1111-4111-8111-111111111111', (SELECT d + 2 + time '15:00' FROM t), (SELECT d + time '11:00' FROM t))$$,
  'and one that ends before it starts (a refusal of its code, 22023, warned of since 0.4)');
INSERT INTO lenient VALUES (84, 'a1111111-1111-4111-8111-111111111111', (SELECT d + 6 + time '15:00' FROM t), (SELECT d + 8 + time '11:00' FROM t));
SELECT results_eq($$SELECT booking_ref, status FROM oracode.access_codes WHERE booking_ref IN ('81', '82', '83', '84')$$,
  $$VALUES ('84'::text, 'queued'::text)$$, 'the refused bookings left nothing behind; the next one is queued');
SELECT is((SELECT count(*) FROM lenient), 4::bigint, 'and the lenient table kept all four bookings');

-- the device row comes from the slot cache: every change is seen at once ---------------------------
SELECT lives_ok($$SELECT oracode_create_code('a2222222-2222-4222-8222-222222222222', (SELECT d + 10 + time '15:00' FROM t), (SELECT d + 11 + time '11:00' FROM t))$$,
  'a request loads the device into the cache');
UPDATE oracode.devices SET can_program_offline_access_codes = false WHERE device_id = 'a2222222-2222-4222-8222-222222222222';
SELECT throws_ok($$SELECT oracode_create_code('a2222222-2222-4222-8222-222222222222', (SELECT d + 10 + time '15:00' FROM t), (SELECT d + 11 + time '11:00' FROM t))$$,
  'OC002', 'device "Berlin 2" cannot program offline access codes', 'losing offline codes is seen by the next request (OC002)');
UPDATE oracode.devices SET can_program_offline_access_codes = true, display_name = 'Berlin 2b', code_limit = 0
 WHERE device_id = 'a2222222-2222-4222-8222-222222222222';
SELECT throws_ok($$SELECT oracode_create_code('a2222222-2222-4222-8222-222222222222', (SELECT d + 12 + time '15:00' FROM t), (SELECT d + 13 + time '11:00' FROM t))$$,
  'OC003', 'device "Berlin 2b" has reached its code limit', 'a new code_limit and name are seen too (OC003)');
UPDATE oracode.devices SET code_limit = NULL, removed_at = now() WHERE device_id = 'a2222222-2222-4222-8222-222222222222';
SELECT throws_ok($$SELECT oracode_create_code('a2222222-2222-4222-8222-222222222222', (SELECT d + 12 + time '15:00' FROM t), (SELECT d + 13 + time '11:00' FROM t))$$,
  'OC004', 'unknown device a2222222-2222-4222-8222-222222222222', 'a device Seam stopped listing is refused (OC004)');
UPDATE oracode.devices SET removed_at = NULL WHERE device_id = 'a2222222-2222-4222-8222-222222222222';
UPDATE oracode.time_slots SET check_in_time = '14:00:00[Europe/Berlin]' WHERE device_id = 'a2222222-2222-4222-8222-222222222222';
SELECT is((SELECT starts_at FROM oracode_create_code('a2222222-2222-4222-8222-222222222222', (SELECT d + 12 + time '14:05' FROM t), (SELECT d + 13 + time '11:00' FROM t))),
  (SELECT (d + 12 + time '14:00')::timestamptz FROM t), 'a changed slot is matched by the next request');
SELECT throws_ok($$SELECT oracode_create_code(NULL, now() + interval '1 day', now() + interval '2 days')$$,
  'OC004', 'unknown device NULL', 'a NULL device: OC004');

-- idempotency and superseding through the C path ----------------------------------------------------
SELECT is((SELECT id FROM oracode_create_code('a1111111-1111-4111-8111-111111111111', (SELECT d + 20 + time '15:00' FROM t), (SELECT d + 21 + time '11:00' FROM t), 'I', 'IDEM-1')),
          (SELECT id FROM oracode_create_code('a1111111-1111-4111-8111-111111111111', (SELECT d + 20 + time '15:20' FROM t), (SELECT d + 21 + time '10:40' FROM t), 'I', 'IDEM-1')),
  'the same booking matched to the same times returns the same request');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = 'IDEM-1'), 1::bigint, '... and queues one row');
SELECT oracode_create_code('a1111111-1111-4111-8111-111111111111', (SELECT d + 20 + time '15:00' FROM t), (SELECT d + 22 + time '11:00' FROM t), 'I', 'IDEM-1');
SELECT results_eq($$SELECT status, superseded_by IS NOT NULL, status_detail FROM oracode.access_codes WHERE booking_ref = 'IDEM-1' ORDER BY id$$,
  $$SELECT 'cancelled'::text, true, 'superseded by request ' || max(id) FROM oracode.access_codes WHERE booking_ref = 'IDEM-1'
    UNION ALL SELECT 'queued', false, 'requested'$$, 'new dates supersede it: cancelled, pointing at the new request');
SELECT is((SELECT seam_name FROM oracode_create_code('a1111111-1111-4111-8111-111111111111', (SELECT d + 30 + time '15:00' FROM t),
             (SELECT d + 31 + time '11:00' FROM t), repeat('é', 100), 'LONG-1')) ~ ('^#[0-9]+ ' || repeat('é', 80) || '$'), true,
  'the Seam name keeps 80 characters (not bytes) of a long name');

-- the history, written by the C events trigger -----------------------------------------------------
SELECT results_eq($$SELECT e.old_status, e.new_status, e.detail FROM oracode.access_code_events e
                    JOIN oracode.access_codes a ON a.id = e.access_code_id WHERE a.booking_ref = 'IDEM-1' ORDER BY e.id$$,
  $$VALUES (NULL::text, 'queued'::text, 'requested'::text), (NULL, 'queued', 'requested'), ('queued', 'cancelled', 'superseded by request ' ||
            (SELECT max(id) FROM oracode.access_codes WHERE booking_ref = 'IDEM-1'))$$,
  'each request starts with NULL → queued, and superseding adds queued → cancelled');
UPDATE oracode.access_codes SET name = 'renamed' WHERE booking_ref = 'IDEM-1' AND status = 'queued';
UPDATE oracode.access_codes SET status = 'queued', status_detail = 'same' WHERE booking_ref = 'IDEM-1' AND status = 'queued';
SELECT is((SELECT count(*) FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
           WHERE a.booking_ref = 'IDEM-1'), 3::bigint, 'an update that keeps the status adds no event');
SELECT throws_ok($$SELECT oracode.record_status_change()$$, NULL, NULL, 'the events trigger function cannot be called directly');

-- every request has its event, whatever path made it
SELECT is((SELECT count(*) FROM oracode.access_codes a WHERE NOT EXISTS
  (SELECT 1 FROM oracode.access_code_events e WHERE e.access_code_id = a.id AND e.new_status = a.status)), 0::bigint,
  'every row''s current status has its event');

-- a first backfill into an outbox analyzed while empty stays index-shaped ------------------------
-- (plans cached while the outbox is tiny scan it whole, which is right for a few pages; they
-- are re-made each time it doubles, so scans stop once it is bigger — measured: about 1,100
-- scans, all while it was under ~25 pages; with the plans kept, every booking scanned it twice
-- or more)
TRUNCATE oracode.access_codes CASCADE;
ANALYZE oracode.access_codes;
CREATE TEMP TABLE backfill (id int, lock uuid, s timestamptz, e timestamptz);
CREATE TRIGGER backfill_oracode AFTER INSERT ON backfill FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=s', 'ends=e', 'ref=id');
SELECT coalesce((SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'oracode.access_codes'::regclass), 0) AS scans_before \gset
INSERT INTO backfill SELECT i, 'a1111111-1111-4111-8111-111111111111', d + 40 + (i % 50) + time '15:00', d + 41 + (i % 50) + time '11:00'
FROM t, generate_series(1, 3000) i;
SELECT cmp_ok((SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'oracode.access_codes'::regclass) - :scans_before, '<', 3000::bigint,
  format('3,000 bookings into an outbox analyzed empty: %s full scans of it (fewer than one per booking)',
         (SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'oracode.access_codes'::regclass) - :scans_before));

SELECT * FROM finish();
ROLLBACK;
