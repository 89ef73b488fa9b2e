-- Secrets and privileges, checked as non-superuser roles: the API key and the
-- webhook secret cannot be read through SHOW, current_setting, pg_settings,
-- pg_file_settings or pg_stat_activity, and never reach the server log (even
-- at debug5 with log_statement = all); PUBLIC has no access to oracode's
-- tables; reading PINs needs an explicit grant; SECURITY DEFINER functions
-- pin search_path; the README's roles recipe works.
-- Needs FAKE_API_KEY and ORACODE_TEST_SERVER_LOG (set by test/run).
\set ON_ERROR_STOP 1
\getenv api_key FAKE_API_KEY
SET client_min_messages = warning;

-- 1. the server log, at its most verbose, while keys change and Seam refuses one
SELECT 'seam_probe_' || md5(random()::text) AS probe_key,
       'whsec_' || encode(sha256(random()::text::bytea), 'base64') AS probe_secret \gset
ALTER SYSTEM SET log_min_messages = debug5;
ALTER SYSTEM SET log_statement = 'all';
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
ALTER SYSTEM SET oracode.api_key = :'probe_key';
ALTER SYSTEM SET oracode.webhook_secret = :'probe_secret';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
CREATE FUNCTION pg_temp.sync_error() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM oracode_sync_devices();
  RETURN 'no error';
EXCEPTION WHEN others THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
SELECT pg_temp.sync_error() AS refused \gset
SELECT pg_sleep(1.5);  -- the worker meets the refused key too, and pauses
ALTER SYSTEM RESET oracode.api_key;
ALTER SYSTEM RESET oracode.webhook_secret;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT oracode_sync_devices() > 0 AS synced_again \gset
ALTER SYSTEM RESET log_min_messages;
ALTER SYSTEM RESET log_statement;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\setenv PROBE_KEY :probe_key
\setenv PROBE_SECRET :probe_secret
\set log_probe_key `grep -c -F -e "$PROBE_KEY" "$ORACODE_TEST_SERVER_LOG"`
\set log_probe_secret `grep -c -F -e "$PROBE_SECRET" "$ORACODE_TEST_SERVER_LOG"`
\set log_suite_key `grep -c -F -e "$FAKE_API_KEY" "$ORACODE_TEST_SERVER_LOG"`
\set log_bearer `grep -c -i -e "authorization" -e "bearer" "$ORACODE_TEST_SERVER_LOG"`
\set log_changed `grep -c -F -e 'parameter "oracode.api_key" changed to "********"' "$ORACODE_TEST_SERVER_LOG"`

BEGIN;
SELECT plan(34);
SELECT is(:'refused'::text, '28000 the Seam API key was rejected', 'Seam refused the probe key (28000)');
SELECT ok(:'synced_again'::boolean, 'after RESET and reload the right key works again');
SELECT is(:'log_probe_key'::text, '0', 'a key set by ALTER SYSTEM and reloaded never appears in the log at debug5');
SELECT is(:'log_probe_secret'::text, '0', 'nor does the webhook secret');
SELECT is(:'log_suite_key'::text, '0', 'nor the key from postgresql.conf');
SELECT is(:'log_bearer'::text, '0', 'no Authorization header was ever logged (curl is never verbose)');
SELECT cmp_ok(:'log_changed'::int, '>=', 1, 'the reload is still logged, with the value masked');

-- 2. superusers see it masked too
SELECT is(current_setting('oracode.api_key'), '********', 'current_setting shows ******** even to a superuser');
SELECT is((SELECT count(*) FROM pg_settings WHERE name = 'oracode.api_key'), 0::bigint, 'pg_settings does not list the key, even for a superuser');
SELECT is((SELECT count(*) FROM pg_settings WHERE :'api_key' IN (setting, reset_val, boot_val)), 0::bigint,
  'no pg_settings column holds the key');

-- 3. a role with no grants at all
CREATE ROLE oc_nobody;
SET LOCAL ROLE oc_nobody;
SELECT throws_ok('SHOW oracode.api_key', '42501', NULL, 'SHOW oracode.api_key: permission denied');
SELECT throws_ok($$SELECT current_setting('oracode.api_key')$$, '42501', NULL, 'current_setting(oracode.api_key): permission denied');
SELECT throws_ok($$SELECT current_setting('oracode.webhook_secret')$$, '42501', NULL, 'current_setting(oracode.webhook_secret): permission denied');
SELECT is((SELECT count(*) FROM pg_settings WHERE name IN ('oracode.api_key', 'oracode.webhook_secret', 'oracode.api_key_file')), 0::bigint,
  'pg_settings does not list the secret settings');
SELECT throws_ok('SELECT * FROM pg_file_settings', '42501', NULL, 'pg_file_settings: permission denied');
SELECT is((SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%' || :'api_key' || '%'), 0::bigint,
  'no visible query text carries the key');
SELECT throws_ok('SELECT * FROM oracode.access_codes', '42501', NULL, 'oracode.access_codes: no access for PUBLIC');
SELECT throws_ok('SELECT * FROM oracode.devices', '42501', NULL, 'oracode.devices: no access for PUBLIC');
SELECT throws_ok($$SELECT oracode_create_code('11111111-1111-1111-1111-111111111111', now() + interval '1 day', now() + interval '2 days')$$,
  '42501', NULL, 'requesting a code needs a grant');
SELECT throws_ok('SELECT oracode_sync_devices()', '42501', NULL, 'syncing needs a grant');
SELECT lives_ok($$SELECT oracode_match_slot('[]'::jsonb, now(), now() + interval '1 day')$$, 'matching is open to everyone');
RESET ROLE;

-- 4. every SECURITY DEFINER function of the extension pins search_path (the C entry points
--    that run as the owner pin it themselves: test/pgtap/attacker.sql tries them)
SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
           JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'oracode'
           WHERE p.prosecdef AND NOT coalesce(p.proconfig::text[] @> ARRAY['search_path=pg_catalog, pg_temp'], false)),
  0::bigint, 'every SECURITY DEFINER function sets search_path = pg_catalog, pg_temp');
SELECT cmp_ok((SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
           JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'oracode' WHERE p.prosecdef), '>=', 2::bigint,
  '(there are SECURITY DEFINER functions to check)');

-- 5. the roles recipe from the README
CREATE ROLE oc_pms;
CREATE ROLE oc_monitor;
CREATE ROLE oc_front_desk;
GRANT EXECUTE ON FUNCTION oracode_create_code(uuid, timestamptz, timestamptz, text, text, text, timestamptz),
                          oracode_cancel_code(bigint), oracode_cancel_booking(text) TO oc_pms;
GRANT USAGE ON SCHEMA oracode TO oc_monitor, oc_front_desk;
GRANT SELECT ON oracode.devices, oracode.time_slots, oracode.access_code_events TO oc_monitor;
SELECT format('GRANT SELECT (%s) ON oracode.access_codes TO oc_monitor',
              string_agg(quote_ident(attname), ', ' ORDER BY attnum))
FROM pg_attribute WHERE attrelid = 'oracode.access_codes'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'code'
\gexec
GRANT SELECT (id, booking_ref, status, code) ON oracode.access_codes TO oc_front_desk;

INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes)
VALUES ('55555555-5555-5555-5555-555555555555', 'Secure room', 'UTC', true);
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time)
VALUES ('55555555-5555-5555-5555-555555555555', 0, '4pm-10am', '16:00Z', '10:00Z');
CREATE TABLE pg_temp.pms_bookings (id int, room uuid, a timestamptz, b timestamptz);
GRANT ALL ON pg_temp.pms_bookings TO oc_pms;
CREATE TRIGGER oracode AFTER INSERT OR UPDATE OR DELETE ON pg_temp.pms_bookings FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=room', 'starts=a', 'ends=b', 'ref=id');

SET LOCAL ROLE oc_pms;
SELECT lives_ok($$SELECT oracode_create_code('55555555-5555-5555-5555-555555555555',
  (current_date + 5) + time '16:00', (current_date + 7) + time '10:00', 'Sec', 'SEC-1')$$,
  'the PMS role can request a code');
SELECT lives_ok($$INSERT INTO pg_temp.pms_bookings VALUES (2, '55555555-5555-5555-5555-555555555555',
  (current_date + 8) + time '16:00', (current_date + 9) + time '10:00')$$, 'and book through the trigger');
SELECT lives_ok($$DELETE FROM pg_temp.pms_bookings WHERE id = 2$$, 'and cancel through the trigger');
SELECT throws_ok('SELECT code FROM oracode.access_codes', '42501', NULL, 'but cannot read the table');
RESET ROLE;
SELECT is((SELECT status FROM oracode.access_codes WHERE booking_ref = '2'), 'cancelled', 'the trigger ran with the PMS role''s rights');

SET LOCAL ROLE oc_monitor;
SELECT lives_ok($$SELECT id, status, slot_name, last_error FROM oracode.access_codes$$, 'the monitoring role reads requests');
SELECT throws_ok('SELECT code FROM oracode.access_codes', '42501', NULL, 'but not the PIN');
SELECT throws_ok('SELECT * FROM oracode.access_codes', '42501', NULL, 'not even through SELECT *');
RESET ROLE;

SET LOCAL ROLE oc_front_desk;
SELECT lives_ok($$SELECT booking_ref, code FROM oracode.access_codes$$, 'the front desk, granted the column, reads PINs');
RESET ROLE;

-- the trigger calls oracode_create_code with the booking writer's rights: without EXECUTE, no code
GRANT ALL ON pg_temp.pms_bookings TO oc_front_desk;
INSERT INTO pg_temp.pms_bookings VALUES (4, '55555555-5555-5555-5555-555555555555',
  (current_date + 12) + time '16:00', (current_date + 13) + time '10:00');
SET LOCAL ROLE oc_front_desk;
SELECT throws_ok($$INSERT INTO pg_temp.pms_bookings VALUES (3, '55555555-5555-5555-5555-555555555555',
  (current_date + 10) + time '16:00', (current_date + 11) + time '10:00')$$, '42501',
  'permission denied for function oracode_create_code', 'a role without EXECUTE on oracode_create_code cannot request a code through the trigger');
SELECT throws_ok($$DELETE FROM pg_temp.pms_bookings WHERE id = 4$$, '42501',
  'permission denied for function oracode_cancel_booking', 'nor cancel one through it');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
