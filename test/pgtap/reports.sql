-- The DBA's views (0.2.0): status counts, capacity, pending work, time-to-set
-- percentiles, the worker's health; oracode_explain_match by device; and who
-- may read them (pg_monitor: the views, never the PIN).
-- First a committed request for a lock at Seam's fake, to watch the health
-- view go to "paused" on a 401 and back; then everything else in one
-- rolled-back (repeatable read) transaction, so the worker never sees it.
-- Needs FAKE_URL and FAKE_API_KEY (test/run).
\set ON_ERROR_STOP 1
\getenv fake_url FAKE_URL
\getenv api_key FAKE_API_KEY
SET client_min_messages = warning;

SELECT plan(54);

-- the health view during a 401 pause (committed: the worker has to try) -----------------------
\set lock `curl -sS -X POST -H 'Content-Type: application/json' -d "{\"api_key\":\"$FAKE_API_KEY\",\"name\":\"Report lock\",\"time_zone\":\"UTC\"}" "$FAKE_URL/_oracode/seed_lock"`
SELECT (:'lock'::jsonb ->> 'device_id')::uuid AS dev \gset
SELECT oracode_sync_devices() > 0 AS synced \gset
\ir helpers.psql
ALTER SYSTEM SET oracode.api_key = 'seam_wrong_key_for_reports';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT id AS paused_id FROM oracode_create_code(:'dev', date_trunc('day', now()) + interval '10 days 16 hours',
  date_trunc('day', now()) + interval '12 days 10 hours', 'Report 401', 'RPT-401') \gset
SELECT ok(pg_temp.wait_for($$SELECT state = 'paused' AND paused_unauthorized AND last_error LIKE '%401%' FROM oracode.worker_health$$),
  'worker_health: a 401 shows as paused, with the error');
SELECT ok((SELECT queued >= 1 AND oldest_queued_age IS NOT NULL FROM oracode.worker_health), 'worker_health: the request waits in the queue');
ALTER SYSTEM RESET oracode.api_key;
SELECT pg_reload_conf();
SELECT ok(pg_temp.wait_for(format('SELECT status = %L FROM oracode.access_codes WHERE id = %s', 'unset', :paused_id)),
  'with the key fixed the request is sent');
SELECT ok(pg_temp.wait_for($$SELECT state = 'running' AND NOT paused_unauthorized AND last_send_at IS NOT NULL FROM oracode.worker_health$$),
  'worker_health: running again, with the time of the last send');
-- leave the code set, so that it is not polled for the rest of the suite
\setenv REPORT_DEV :dev
\set ignored `curl -sS -X POST -H 'Content-Type: application/json' -d "{\"device_id\":\"$REPORT_DEV\",\"status\":\"set\"}" "$FAKE_URL/_oracode/set_all"`
SELECT ok(pg_temp.wait_for(format('SELECT status = %L FROM oracode.access_codes WHERE id = %s', 'set', :paused_id)),
  'polled to set');
SELECT ok((SELECT time_to_set > interval '0' FROM oracode.set_times WHERE id = :paused_id), 'set_times has the real request');

BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL timezone = 'Europe/Berlin';

INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes, code_limit)
VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'Report Room 1', 'Europe/Berlin', true, NULL),
       ('aaaaaaaa-0000-4000-8000-000000000002', 'Report Room 2', 'Europe/Berlin', true, NULL);
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time, is_24_hour, is_one_shot, is_master)
SELECT d, p, n, ci::oracode_tod, co::oracode_tod, h, os, m
FROM (VALUES ('aaaaaaaa-0000-4000-8000-000000000001'::uuid, 0, 'Guest 3pm-11am', '15:00[Europe/Berlin]', '11:00[Europe/Berlin]', false, false, false),
             ('aaaaaaaa-0000-4000-8000-000000000001', 1, 'Day 24h', '12:00[Europe/Berlin]', '12:00[Europe/Berlin]', true, false, false),
             ('aaaaaaaa-0000-4000-8000-000000000001', 2, 'Cleaner once', '08:00[Europe/Berlin]', '09:00[Europe/Berlin]', false, true, false),
             ('aaaaaaaa-0000-4000-8000-000000000001', 3, 'Master', '00:00[Europe/Berlin]', '23:59[Europe/Berlin]', false, false, true),
             ('aaaaaaaa-0000-4000-8000-000000000002', 0, 'Guest 4pm-10am', '16:00[Europe/Berlin]', '10:00[Europe/Berlin]', false, false, false))
     AS s(d, p, n, ci, co, h, os, m);
CREATE TEMP TABLE day AS SELECT (now() AT TIME ZONE 'Europe/Berlin')::date + 20 AS d;
CREATE TEMP TABLE h0 AS SELECT * FROM oracode.worker_health;

-- room 1: six requests (one held by issue_at); room 2: one
CREATE TEMP TABLE req AS
SELECT i, (oracode_create_code('aaaaaaaa-0000-4000-8000-000000000001', (d + 2 * i + time '15:10') AT TIME ZONE 'Europe/Berlin',
          (d + 2 * i + 1 + time '10:50') AT TIME ZONE 'Europe/Berlin', 'Guest ' || i, 'RPT-' || i,
          issue_at => CASE WHEN i = 6 THEN now() + interval '5 days' END)).id
FROM day, generate_series(1, 6) i;
SELECT oracode_create_code('aaaaaaaa-0000-4000-8000-000000000002', (d + time '16:00') AT TIME ZONE 'Europe/Berlin',
       (d + 2 + time '10:00') AT TIME ZONE 'Europe/Berlin', 'Guest R2', 'RPT-R2') IS NOT NULL FROM day;

-- move them along as the worker would: 1-3 set (Seam took 1..3 minutes), 4 failed, 5 sending
UPDATE oracode.access_codes SET status = 'sending', attempts = 1 WHERE id IN (SELECT id FROM req WHERE i <= 5);
UPDATE oracode.access_codes SET status = 'unset', seam_access_code_id = 'rpt-seam-' || id WHERE id IN (SELECT id FROM req WHERE i <= 3);
UPDATE oracode.access_codes SET status = 'set', code = '12345' || id WHERE id IN (SELECT id FROM req WHERE i <= 3);
UPDATE oracode.access_code_events e SET at = q.at + make_interval(mins => r.i)
  FROM req r, oracode.access_code_events q
 WHERE e.access_code_id = r.id AND e.new_status = 'set' AND q.access_code_id = r.id AND q.old_status IS NULL;
UPDATE oracode.access_codes SET status = 'failed', last_error = 'HTTP 400 invalid_input: test' WHERE id = (SELECT id FROM req WHERE i = 4);
UPDATE oracode.access_codes SET last_error = 'timeout after 30 s', reconcile = true WHERE id = (SELECT id FROM req WHERE i = 5);

-- status_counts -------------------------------------------------------------------------
SELECT results_eq($$SELECT queued, sending, unset, setting, set, failed, cancelled, total FROM oracode.status_counts
                    WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001'$$,
  $$VALUES (1::bigint, 1::bigint, 0::bigint, 0::bigint, 3::bigint, 1::bigint, 0::bigint, 6::bigint)$$,
  'status_counts: one column per status, per device');
SELECT results_eq($$SELECT queued, total FROM oracode.status_counts WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000002'$$,
  $$VALUES (1::bigint, 1::bigint)$$, 'status_counts: the other device counts apart');
SELECT hasnt_column('oracode', 'status_counts', 'code', 'status_counts has no PIN');

-- capacity ------------------------------------------------------------------------------
UPDATE oracode.devices SET code_limit = 4 WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001';
SELECT results_eq($$SELECT code_limit, live_codes, free, used_pct FROM oracode.capacity WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001'$$,
  $$VALUES (4, 5::bigint, -1::bigint, 125.0::numeric)$$,
  'capacity: five live codes (failed left out) against a limit of 4');
SELECT is((SELECT next_end FROM oracode.capacity WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001'),
  (SELECT min(ends_at) FROM oracode.access_codes WHERE id IN (SELECT id FROM req WHERE i <> 4)), 'capacity: the first live code to end');
SELECT results_eq($$SELECT code_limit, live_codes, free, used_pct FROM oracode.capacity WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000002'$$,
  $$VALUES (NULL::int, 1::bigint, NULL::bigint, NULL::numeric)$$, 'capacity: no limit, no free count');
UPDATE oracode.devices SET code_limit = 10 WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001';
SELECT is((SELECT free FROM oracode.capacity WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001'), 5::bigint,
  'capacity follows code_limit');
UPDATE oracode.devices SET code_limit = 5 WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001';
SELECT is((SELECT free FROM oracode.capacity WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001'), 0::bigint,
  'capacity: full at code_limit');
SELECT throws_ok($$SELECT oracode_create_code('aaaaaaaa-0000-4000-8000-000000000001', (SELECT (d + 2 + time '15:00') AT TIME ZONE 'Europe/Berlin' FROM day),
                   (SELECT (d + 13 + time '11:00') AT TIME ZONE 'Europe/Berlin' FROM day))$$, 'OC003', NULL,
  'free = 0 in capacity is where oracode_create_code refuses (OC003) a stay that overlaps every live code: the same count');

-- pending -------------------------------------------------------------------------------
SELECT set_eq($$SELECT booking_ref, status FROM oracode.pending WHERE device_id IN ('aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002')$$,
  $$VALUES ('RPT-5', 'sending'), ('RPT-6', 'queued'), ('RPT-R2', 'queued')$$,
  'pending: queued and sending rows; set and failed ones are done');
SELECT results_eq($$SELECT attempts, reconcile, last_error FROM oracode.pending WHERE booking_ref = 'RPT-5'$$,
  $$VALUES (1, true, 'timeout after 30 s')$$, 'pending: attempts, reconcile flag and last error');
SELECT is((SELECT next_attempt_at FROM oracode.pending WHERE booking_ref = 'RPT-6'), now() + interval '5 days',
  'pending: a held request''s next attempt is its issue_at');
UPDATE oracode.devices SET send_after = now() + interval '7 days' WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001';
SELECT is((SELECT next_attempt_at FROM oracode.pending WHERE booking_ref = 'RPT-6'), now() + interval '7 days',
  'pending: Seam''s back-off for the device (Retry-After) pushes the next attempt');
UPDATE oracode.devices SET send_after = NULL WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001';
SELECT is((SELECT age FROM oracode.pending WHERE booking_ref = 'RPT-R2'), interval '0',
  'pending: age since created (0 inside the creating transaction)');
UPDATE oracode.access_code_events e SET at = now() - CASE WHEN e.new_status = 'queued' THEN interval '3 hours' ELSE interval '2 hours' END
 WHERE e.access_code_id = (SELECT id FROM req WHERE i = 5);
SELECT is((SELECT in_status_for FROM oracode.pending WHERE booking_ref = 'RPT-5'), interval '2 hours',
  'pending: time in the current status, from the last event');
UPDATE oracode.access_codes SET status = 'setting' WHERE id = (SELECT id FROM req WHERE i = 1);
SELECT is((SELECT status FROM oracode.pending WHERE booking_ref = 'RPT-1'), 'setting', 'pending: a code Seam is setting is pending again');
SELECT hasnt_column('oracode', 'pending', 'code', 'pending has no PIN');

-- time_to_set ---------------------------------------------------------------------------
SELECT results_eq($$SELECT codes_set, p50, p90, max FROM oracode.time_to_set WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001'$$,
  $$VALUES (3::bigint, interval '2 minutes', interval '2 minutes 48 seconds', interval '3 minutes')$$,
  'time_to_set: percentiles of queued → first set (1, 2, 3 minutes), per device');
SELECT is((SELECT time_to_set FROM oracode.set_times WHERE id = (SELECT id FROM req WHERE i = 1)), interval '1 minute',
  'set_times: one row per request that reached set, the first set counts');
SELECT is((SELECT count(*) FROM oracode.time_to_set WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000002'), 0::bigint,
  'time_to_set: a device with no code set has no row');
-- a held request counts from its issue_at, not from when it was queued
UPDATE oracode.access_codes SET issue_at = now() + interval '1 minute', status = 'sending' WHERE booking_ref = 'RPT-R2';
UPDATE oracode.access_codes SET status = 'set', seam_access_code_id = 'rpt-seam-r2' WHERE booking_ref = 'RPT-R2';
UPDATE oracode.access_code_events e SET at = now() + interval '11 minutes'
 WHERE e.new_status = 'set' AND e.access_code_id = (SELECT id FROM oracode.access_codes WHERE booking_ref = 'RPT-R2');
SELECT is((SELECT p50 FROM oracode.time_to_set WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000002'), interval '10 minutes',
  'time_to_set: from the later of queued and issue_at');

-- worker_health -------------------------------------------------------------------------
SELECT is((SELECT state FROM oracode.worker_health), 'running', 'worker_health: the worker is running');
SELECT ok((SELECT running AND preloaded AND NOT in_recovery FROM oracode.worker_health), 'worker_health: running, preloaded, primary');
SELECT is((SELECT pid FROM oracode.worker_health), (SELECT pid FROM pg_stat_activity WHERE backend_type = 'oracode worker'),
  'worker_health: the pid is the worker''s backend');
SELECT is((SELECT database FROM oracode.worker_health), current_database()::text, 'worker_health: serving this database');
SELECT ok((SELECT started_at <= now() FROM oracode.worker_health), 'worker_health: started_at');
SELECT is((SELECT w.queued - h0.queued FROM oracode.worker_health w, h0), 1::bigint,
  'worker_health: queue depth counts queued rows (held ones too)');
SELECT is((SELECT w.queued_due - h0.queued_due FROM oracode.worker_health w, h0), 0::bigint,
  'worker_health: the held request is not due');
SELECT is((SELECT w.in_flight - h0.in_flight FROM oracode.worker_health w, h0), 2::bigint,
  'worker_health: in flight = sending + unset + setting');
UPDATE oracode.access_codes SET created_at = now() - interval '5 hours', issue_at = now() - interval '3 hours' WHERE booking_ref = 'RPT-6';
SELECT is((SELECT oldest_queued_age FROM oracode.worker_health), interval '3 hours',
  'worker_health: oldest queued age counts from when the request became due (its issue_at)');
SELECT is((SELECT w.queued_due - h0.queued_due FROM oracode.worker_health w, h0), 1::bigint, 'worker_health: now due');

-- oracode_explain_match by device ---------------------------------------------------------
SELECT results_eq($$SELECT slot_name, verdict FROM oracode_explain_match('aaaaaaaa-0000-4000-8000-000000000001'::uuid,
                      (SELECT (d + time '14:30') AT TIME ZONE 'Europe/Berlin' FROM day), (SELECT (d + 3 + time '11:20') AT TIME ZONE 'Europe/Berlin' FROM day))$$,
  $$VALUES ('Guest 3pm-11am', 'chosen'), ('Day 24h', 'check-in outside tolerance'), ('Cleaner once', 'one-shot slot'), ('Master', 'master slot')$$,
  'explain by device: one row per synced slot, in Seam''s order, with its verdict');
SELECT results_eq($$SELECT * FROM oracode_explain_match('aaaaaaaa-0000-4000-8000-000000000001'::uuid,
                      (SELECT (d + time '14:30') AT TIME ZONE 'Europe/Berlin' FROM day), (SELECT (d + 3 + time '11:20') AT TIME ZONE 'Europe/Berlin' FROM day), '1day')$$,
  $$SELECT * FROM oracode_explain_match(oracode.device_slots_json('aaaaaaaa-0000-4000-8000-000000000001'),
                      (SELECT (d + time '14:30') AT TIME ZONE 'Europe/Berlin' FROM day), (SELECT (d + 3 + time '11:20') AT TIME ZONE 'Europe/Berlin' FROM day), '1day')$$,
  'explain by device answers as the jsonb form on the same slots');
SELECT results_eq($$SELECT start_candidate, end_candidate, start_shift, end_shift FROM oracode_explain_match('aaaaaaaa-0000-4000-8000-000000000001',
                      (SELECT (d + time '14:30') AT TIME ZONE 'Europe/Berlin' FROM day), (SELECT (d + 3 + time '11:20') AT TIME ZONE 'Europe/Berlin' FROM day))
                    WHERE verdict = 'chosen'$$,
  $$SELECT (d + time '15:00') AT TIME ZONE 'Europe/Berlin', (d + 3 + time '11:00') AT TIME ZONE 'Europe/Berlin', interval '30 minutes', interval '-20 minutes' FROM day$$,
  'an untyped device id literal is taken as a device (text overload)');
SELECT is((SELECT count(*) FROM oracode_explain_match('[{"name":"x","check_in_time":"15:00Z","check_out_time":"11:00Z"}]', now() + interval '1 day', now() + interval '2 days')),
  1::bigint, 'an untyped JSON literal is still taken as slots');
SELECT is((SELECT count(*) FROM oracode_explain_match(NULL::uuid, now(), now() + interval '1 day')), 0::bigint,
  'a NULL device explains nothing');
SELECT throws_ok($$SELECT * FROM oracode_explain_match('aaaaaaaa-0000-4000-8000-00000000dead'::uuid, now(), now() + interval '1 day')$$,
  'OC004', 'unknown device aaaaaaaa-0000-4000-8000-00000000dead', 'explain by device: unknown device is OC004');
SELECT is((SELECT array_agg(DISTINCT verdict) FROM oracode_explain_match('aaaaaaaa-0000-4000-8000-000000000001'::uuid,
            now() + interval '2 days', now() + interval '1 day')), ARRAY['booking ends before it starts'],
  'explain by device: a booking that ends before it starts gets its rows, each saying so (no error)');
UPDATE oracode.time_slots SET check_in_time = '14:30[Europe/Berlin]' WHERE device_id = 'aaaaaaaa-0000-4000-8000-000000000001' AND position = 0;
SELECT is((SELECT start_shift FROM oracode_explain_match('aaaaaaaa-0000-4000-8000-000000000001'::uuid,
             (SELECT (d + time '14:30') AT TIME ZONE 'Europe/Berlin' FROM day), (SELECT (d + 3 + time '11:20') AT TIME ZONE 'Europe/Berlin' FROM day))
           WHERE slot_name = 'Guest 3pm-11am'), interval '0', 'explain by device follows a slot change at once (cache invalidated)');
SELECT throws_matching($$SELECT oracode_create_code('aaaaaaaa-0000-4000-8000-000000000002', (SELECT (d + 50 + time '09:00') AT TIME ZONE 'Europe/Berlin' FROM day),
                         (SELECT (d + 52 + time '17:00') AT TIME ZONE 'Europe/Berlin' FROM day))$$,
  'no time slots found', 'OC001 still fires for an unmatched booking');

-- who may read what --------------------------------------------------------------------------
SELECT '12345' || id AS pin2 FROM req WHERE i = 2 \gset
CREATE ROLE oracode_test_monitor IN ROLE pg_monitor;
CREATE ROLE oracode_test_pms;
GRANT USAGE ON SCHEMA oracode TO oracode_test_pms;
GRANT SELECT (id, device_id, booking_ref, status, starts_at, ends_at) ON oracode.access_codes TO oracode_test_pms;
SET LOCAL ROLE oracode_test_monitor;
SELECT lives_ok($$SELECT * FROM oracode.status_counts, oracode.capacity, oracode.pending, oracode.set_times, oracode.time_to_set, oracode.worker_health$$,
  'a pg_monitor member reads every view');
SELECT is((SELECT state FROM oracode.worker_health), 'running', 'a pg_monitor member sees the worker''s health');
SELECT throws_ok($$SELECT code FROM oracode.access_codes$$, '42501', NULL, 'a pg_monitor member cannot read the PINs');
SELECT throws_ok($$SELECT oracode.worker_claim_creates(1, 1, interval '1 minute', false)$$, '42501', NULL, 'nor run the worker''s steps');
RESET ROLE;
SET LOCAL ROLE oracode_test_pms;
SELECT is((SELECT status FROM oracode.access_codes WHERE booking_ref = 'RPT-2'), 'set', 'a PMS role with a column grant reads status');
SELECT throws_ok($$SELECT code FROM oracode.access_codes$$, '42501', NULL, 'but not the PIN without an explicit grant');
SELECT throws_ok($$SELECT * FROM oracode.pending$$, '42501', NULL, 'and the views are for pg_monitor');
RESET ROLE;
GRANT SELECT (code) ON oracode.access_codes TO oracode_test_pms;
SET LOCAL ROLE oracode_test_pms;
SELECT is((SELECT code FROM oracode.access_codes WHERE booking_ref = 'RPT-2'), :'pin2',
  'with GRANT SELECT (code) the PMS role reads the PIN');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;

