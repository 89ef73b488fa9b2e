-- test/pgtap/sync.sql — oracode_sync_devices() against Seam's fake server, and
-- oracode_match_slot(device_id uuid, ...) on the synced slots.
--
-- Seeds its own workspace at the fake (three Oracode locks and an August lock),
-- points oracode.api_key at it with oracode.batch_size = 2 (the page size of
-- /devices/list, so four devices take two pages) and oracode.sync_interval = 0
-- (so the worker does not sync behind our back), and checks what a sync
-- stores, keeps and replaces; that the device form of oracode_match_slot
-- answers like the jsonb form and follows slot changes at once; and how HTTP
-- failures are reported. Configuration changes go through reconf.psql, which
-- runs ALTER SYSTEM in a second session. Everything but the configuration and
-- one committed device (removed at the end) is rolled back.
--
-- Needs FAKE_URL (test/run exports it); ORACODE_TEST_SERVER_LOG is optional.
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\getenv fake_url FAKE_URL
\getenv server_log ORACODE_TEST_SERVER_LOG
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS oracode;

\if :{?fake_url}

-- ---------------------------------------------------------------------------
-- a workspace at the fake: lock A (Seam's default slots, Los Angeles),
-- lock B (our slots, Berlin), lock C (malformed slots, no offline codes),
-- and an August lock that the sync must leave out
-- ---------------------------------------------------------------------------
\set seed_a `curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' --data-binary '{"name":"Sync A","time_zone":"America/Los_Angeles","site_name":"Seaside"}' "$FAKE_URL/_oracode/seed_lock"`
SELECT :'seed_a'::jsonb ->> 'api_key' AS key, :'seed_a'::jsonb ->> 'device_id' AS dev_a \gset

SELECT $$[
  {"name": "Gast 15-11", "prefix": 1, "check_in_time": "15:00:00[Europe/Berlin]", "check_out_time": "11:00:00[Europe/Berlin]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 1, "dormakaba_oracode_user_level_id": "5e0c8c1a-1b53-4f1e-9a0e-000000000b01"},
  {"name": "Gast 14-12", "prefix": 2, "check_in_time": "14:00:00+01:00[Europe/Berlin]", "check_out_time": "12:00:00+01:00[Europe/Berlin]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 2, "dormakaba_oracode_user_level_id": "5e0c8c1a-1b53-4f1e-9a0e-000000000b02"},
  {"name": "Tag 12-12", "prefix": 3, "check_in_time": "12:00:00[Europe/Berlin]", "check_out_time": "12:00:00[Europe/Berlin]",
   "is_24_hour": true, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 3, "dormakaba_oracode_user_level_id": "5e0c8c1a-1b53-4f1e-9a0e-000000000b03"},
  {"name": "Eigentümer", "prefix": 4, "check_in_time": "15:30:00[Europe/Berlin]", "check_out_time": "10:30:00[Europe/Berlin]",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": true,
   "ext_dormakaba_oracode_user_level_prefix": 4, "dormakaba_oracode_user_level_id": "5e0c8c1a-1b53-4f1e-9a0e-000000000b04"},
  {"name": "Zweiwöchig", "prefix": 5, "check_in_time": "16:00:00Z", "check_out_time": "09:00:00Z",
   "is_24_hour": false, "is_biweekly_mode": true, "is_one_shot": false, "is_master": false,
   "ext_dormakaba_oracode_user_level_prefix": 5, "dormakaba_oracode_user_level_id": "5e0c8c1a-1b53-4f1e-9a0e-000000000b05"}
]$$ AS slots_b,
$$[
  {"name": "C early", "prefix": 1, "check_in_time": "06:00:00Z", "check_out_time": "05:00:00Z",
   "is_24_hour": false, "is_biweekly_mode": false, "is_one_shot": false, "is_master": false},
  {"name": "bad hour", "check_in_time": "25:00:00Z", "check_out_time": "10:00:00Z"},
  {"name": "bad zone", "check_in_time": "15:00:00[Mars/Olympus_Mons]", "check_out_time": "10:00:00Z"},
  {"name": "bad flag", "check_in_time": "15:00:00Z", "check_out_time": "10:00:00Z", "is_master": "no"},
  {"check_in_time": "15:00:00Z", "check_out_time": "10:00:00Z"},
  {"name": "C late", "prefix": "7", "check_in_time": "18:00:00Z", "check_out_time": "09:00:00Z",
   "dormakaba_oracode_user_level_id": "not-a-uuid", "some_future_field": {"x": 1}}
]$$ AS slots_c \gset

SELECT jsonb_build_object('api_key', :'key', 'name', 'Sync B', 'time_zone', 'Europe/Berlin',
                          'site_name', 'Altstadt', 'time_slots', :'slots_b'::jsonb)::text AS body_b,
       jsonb_build_object('api_key', :'key', 'name', 'Sync C', 'time_zone', 'UTC',
                          'can_program_offline_access_codes', false, 'time_slots', :'slots_c'::jsonb)::text AS body_c,
       jsonb_build_object('device_id', :'dev_a')::text AS get_a,
       jsonb_build_object('workspace_id', :'seed_a'::jsonb ->> 'workspace_id')::text AS workspace,
       jsonb_build_object('workspace_id', :'seed_a'::jsonb ->> 'workspace_id', 'routes', jsonb_build_array('/devices/list'))::text AS outage,
       'Authorization: Bearer ' || :'key' AS auth \gset
\set seed_b `curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' --data-binary :'body_b' "$FAKE_URL/_oracode/seed_lock"`
\set seed_c `curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' --data-binary :'body_c' "$FAKE_URL/_oracode/seed_lock"`
SELECT :'seed_b'::jsonb ->> 'device_id' AS dev_b, :'seed_c'::jsonb ->> 'device_id' AS dev_c \gset

\set webview `curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' -H :'auth' --data-binary '{}' "$FAKE_URL/connect_webviews/create"`
SELECT jsonb_build_object('connect_webview_id', :'webview'::jsonb #>> '{connect_webview,connect_webview_id}')::text AS webview_id \gset
\set webview_done `curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' --data-binary :'webview_id' "$FAKE_URL/_fake/complete_connect_webview"`

-- lock A's slots exactly as Seam returns them on the device
\set device_a `curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' -H :'auth' --data-binary :'get_a' "$FAKE_URL/devices/get"`
SELECT :'device_a'::jsonb #>> '{device,properties,dormakaba_oracode_metadata,predefined_time_slots}' AS slots_a \gset

-- a committed device of our own, for the cache test across sessions
SELECT gen_random_uuid() AS dev_x \gset
INSERT INTO oracode.devices (device_id, display_name) VALUES (:'dev_x', 'Cache X');
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time)
VALUES (:'dev_x', 1, 'X 15-11', '15:00:00[Europe/Berlin]', '11:00:00[Europe/Berlin]');
SELECT format('UPDATE oracode.time_slots SET name = %L WHERE device_id = %L', 'X renamed', :'dev_x') AS rename_x \gset

SELECT format('ALTER SYSTEM SET oracode.api_key = %L; ALTER SYSTEM SET oracode.batch_size = 2; '
              'ALTER SYSTEM SET oracode.sync_interval = 0', :'key') AS conf \gset
\ir reconf.psql

-- the error a statement raises, as "SQLSTATE | message | detail | hint"
CREATE FUNCTION pg_temp.error_text(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; m text; d text; h text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN concat_ws(' | ', st, m, d, h);
END $$;

-- a slot table row set from Seam's JSON, in the table's column order
CREATE FUNCTION pg_temp.seam_slots(slots jsonb) RETURNS TABLE (
    "position" integer, name text, prefix integer, check_in_time oracode_tod, check_out_time oracode_tod,
    is_24_hour boolean, is_biweekly_mode boolean, is_one_shot boolean, is_master boolean,
    user_level_prefix integer, user_level_id uuid)
LANGUAGE sql AS $$
  SELECT ord::int, e ->> 'name', (e ->> 'prefix')::int, (e ->> 'check_in_time')::oracode_tod,
         (e ->> 'check_out_time')::oracode_tod, (e ->> 'is_24_hour')::boolean,
         (e ->> 'is_biweekly_mode')::boolean, (e ->> 'is_one_shot')::boolean, (e ->> 'is_master')::boolean,
         (e ->> 'ext_dormakaba_oracode_user_level_prefix')::int, (e ->> 'dormakaba_oracode_user_level_id')::uuid
  FROM jsonb_array_elements(slots) WITH ORDINALITY AS t(e, ord) ORDER BY ord
$$;

BEGIN;
SET LOCAL client_min_messages = error;   -- the malformed slots' WARNINGs are expected
SELECT plan(41);

-- ---------------------------------------------------------------------------
-- the slot cache follows a change another session commits (before any sync
-- here: a sync holds a lock that would make the other session wait)
-- ---------------------------------------------------------------------------
SELECT is((oracode_match_slot(:'dev_x'::uuid, '2025-06-10 15:10+02', '2025-06-12 10:50+02')).slot_name,
  'X 15-11', 'the device form matches a committed slot');
\set other_session `psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -c :'rename_x' 2>&1`
SELECT is((oracode_match_slot(:'dev_x'::uuid, '2025-06-10 15:10+02', '2025-06-12 10:50+02')).slot_name,
  'X renamed', 'a slot change another session commits is seen by the next statement');

-- ---------------------------------------------------------------------------
-- what a sync stores
-- ---------------------------------------------------------------------------
\set reset_stats `curl -sS --fail-with-body -X POST "$FAKE_URL/_oracode/reset_stats"`
SELECT is(oracode_sync_devices(), 3, 'oracode_sync_devices() counts the three Oracode locks, not the August lock');
\set stats `curl -sS --fail-with-body "$FAKE_URL/_oracode/stats"`
SELECT is((:'stats'::jsonb #>> '{requests,/devices/list}')::int, 2,
  'with oracode.batch_size = 2 the workspace''s four devices took two pages');

SELECT results_eq(
  format($$SELECT display_name, device_type, timezone, site_name, door_name, can_program_offline_access_codes,
                  errors, code_limit, removed_at IS NULL, synced_at = now()
           FROM oracode.devices WHERE device_id IN (%L, %L, %L) ORDER BY display_name$$, :'dev_a', :'dev_b', :'dev_c'),
  $$VALUES ('Sync A'::text, 'dormakaba_oracode_door'::text, 'America/Los_Angeles'::text, 'Seaside'::text, 'Sync A'::text,
            true, '[]'::jsonb, NULL::int, true, true),
           ('Sync B', 'dormakaba_oracode_door', 'Europe/Berlin', 'Altstadt', 'Sync B', true, '[]', NULL, true, true),
           ('Sync C', 'dormakaba_oracode_door', 'UTC', 'Test Site', 'Sync C', false, '[]', NULL, true, true)$$,
  'each lock is stored with its name, type, zone, site, door, offline capability and errors');
SELECT is((SELECT count(*) FROM oracode.devices WHERE removed_at IS NULL), 3::bigint,
  'only those three are current: no row for the August lock, other devices marked removed');

SELECT results_eq(format('SELECT "position", name, prefix, check_in_time, check_out_time, is_24_hour, is_biweekly_mode, '
                         'is_one_shot, is_master, user_level_prefix, user_level_id FROM oracode.time_slots '
                         'WHERE device_id = %L ORDER BY "position"', :'dev_a'),
  format('SELECT * FROM pg_temp.seam_slots(%L)', :'slots_a'),
  'lock A''s time slots are stored as Seam lists them, in its order');
SELECT results_eq(format('SELECT "position", name, prefix, check_in_time, check_out_time, is_24_hour, is_biweekly_mode, '
                         'is_one_shot, is_master, user_level_prefix, user_level_id FROM oracode.time_slots '
                         'WHERE device_id = %L ORDER BY "position"', :'dev_b'),
  format('SELECT * FROM pg_temp.seam_slots(%L)', :'slots_b'),
  'lock B''s time slots too: 24-hour, master, biweekly and non-ASCII names included');
SELECT is((SELECT check_in_time FROM oracode.time_slots WHERE device_id = :'dev_a' AND "position" = 1),
  '15:30:00[America/Los_Angeles]'::oracode_tod, 'check_in_time is an oracode_tod in the lock''s zone');
SELECT is((SELECT check_in_time::text FROM oracode.time_slots WHERE device_id = :'dev_b' AND "position" = 2),
  '14:00:00+01:00[Europe/Berlin]', 'a time of day with both an offset and a zone keeps both');
SELECT results_eq(format('SELECT "position", name, prefix, user_level_id FROM oracode.time_slots '
                         'WHERE device_id = %L ORDER BY "position"', :'dev_c'),
  $$VALUES (1, 'C early'::text, 1, NULL::uuid), (6, 'C late', NULL, NULL)$$,
  'lock C keeps its two good slots at Seam''s positions; the four malformed ones are skipped, '
  'a prefix that is not a number and a user level id that is not a UUID read as NULL');

-- ---------------------------------------------------------------------------
-- what a re-sync keeps, replaces and marks
-- ---------------------------------------------------------------------------
UPDATE oracode.devices SET code_limit = 7 WHERE device_id = :'dev_a';
UPDATE oracode.devices SET removed_at = now() - interval '1 day' WHERE device_id = :'dev_b';
UPDATE oracode.devices SET removed_at = '2020-01-01 00:00Z' WHERE device_id = :'dev_x';
UPDATE oracode.time_slots SET name = 'tampered', is_master = true WHERE device_id = :'dev_a' AND "position" = 1;
INSERT INTO oracode.time_slots (device_id, "position", name, check_in_time, check_out_time)
VALUES (:'dev_a', 99, 'stale', '08:00Z', '09:00Z');
SELECT gen_random_uuid() AS dev_gone \gset
INSERT INTO oracode.devices (device_id, display_name) VALUES (:'dev_gone', 'Gone');

SELECT is(oracode_sync_devices(), 3, 'a re-sync sees the same three locks');
SELECT is((SELECT code_limit FROM oracode.devices WHERE device_id = :'dev_a'), 7,
  'the operator''s code_limit survives a re-sync');
SELECT results_eq(format('SELECT "position", name, prefix, check_in_time, check_out_time, is_24_hour, is_biweekly_mode, '
                         'is_one_shot, is_master, user_level_prefix, user_level_id FROM oracode.time_slots '
                         'WHERE device_id = %L ORDER BY "position"', :'dev_a'),
  format('SELECT * FROM pg_temp.seam_slots(%L)', :'slots_a'),
  'a re-sync replaces the device''s slots with Seam''s: local edits and extra rows are gone');
SELECT ok((SELECT removed_at IS NULL FROM oracode.devices WHERE device_id = :'dev_b'),
  'a device Seam lists again is no longer marked removed');
SELECT is((SELECT removed_at FROM oracode.devices WHERE device_id = :'dev_gone'), now(),
  'a device Seam does not list gets removed_at = now()');
SELECT is((SELECT removed_at FROM oracode.devices WHERE device_id = :'dev_x'), '2020-01-01 00:00Z'::timestamptz,
  'a device removed earlier keeps its first removal time');
SELECT is((SELECT count(*) FROM oracode.time_slots WHERE device_id = :'dev_x'), 1::bigint,
  'a removed device is kept, and so are its slots');

-- ---------------------------------------------------------------------------
-- the device form answers like the jsonb form on the same slots
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE bookings AS
SELECT l.dev, l.slots, (day + interval '13:30' + i * interval '20 min') AT TIME ZONE l.tz AS s,
       (day + n * interval '1 day' + interval '09:00' + j * interval '30 min') AT TIME ZONE l.tz AS e, r
FROM (VALUES (:'dev_a'::uuid, :'slots_a'::jsonb, 'America/Los_Angeles'),
             (:'dev_b'::uuid, :'slots_b'::jsonb, 'Europe/Berlin')) AS l(dev, slots, tz),
     unnest('{2024-03-08,2024-03-09,2024-03-30,2024-06-15,2024-10-26,2024-11-02,2024-12-31}'::date[]) AS day,
     generate_series(0, 12) AS i, generate_series(1, 3) AS n, generate_series(0, 7) AS j,
     unnest('{1hour,1d}'::text[]) AS r;
SELECT is_empty($$SELECT * FROM bookings WHERE oracode_match_slot(dev, s, e, r) IS DISTINCT FROM oracode_match_slot(slots, s, e, r)$$,
  'on 8,736 bookings around DST changes the device form gives the jsonb form''s answer');
SELECT cmp_ok((SELECT count(*) FROM bookings WHERE oracode_match_slot(dev, s, e, r) IS NOT NULL), '>', 2000::bigint,
  'and thousands of them match a slot');

-- ---------------------------------------------------------------------------
-- the device form follows slot changes at once
-- ---------------------------------------------------------------------------
SELECT is((oracode_match_slot(:'dev_b'::uuid, '2025-07-01 15:10+02', '2025-07-03 10:50+02')).slot_name,
  'Gast 15-11', 'a booking matches lock B''s slot');
UPDATE oracode.time_slots SET name = 'Gast 15-11 neu' WHERE device_id = :'dev_b' AND "position" = 1;
SELECT is((oracode_match_slot(:'dev_b'::uuid, '2025-07-01 15:10+02', '2025-07-03 10:50+02')).slot_name,
  'Gast 15-11 neu', 'a renamed slot is seen by the next statement');
UPDATE oracode.time_slots SET check_in_time = '18:00:00[Europe/Berlin]' WHERE device_id = :'dev_b' AND "position" = 1;
SELECT ok(oracode_match_slot(:'dev_b'::uuid, '2025-07-01 15:10+02', '2025-07-03 10:50+02') IS NULL,
  'a slot moved out of reach leaves the booking unmatched at once');
DELETE FROM oracode.time_slots WHERE device_id = :'dev_b';
SELECT ok(oracode_match_slot(:'dev_b'::uuid, '2025-07-01 15:10+02', '2025-07-03 10:50+02') IS NULL,
  'a known device without slots gives NULL');
SELECT is(oracode_sync_devices(), 3, 'a sync brings the slots back');
SELECT is((oracode_match_slot(:'dev_b'::uuid, '2025-07-01 15:10+02', '2025-07-03 10:50+02')).slot_name,
  'Gast 15-11', 'and the match follows');

SELECT throws_ok($$SELECT oracode_match_slot('00000000-0000-4000-8000-000000000000'::uuid, now(), now() + interval '1 day')$$,
  'OC004', 'unknown device 00000000-0000-4000-8000-000000000000', 'a device not in oracode.devices raises OC004');
SELECT ok(oracode_match_slot(NULL::uuid, now(), now() + interval '1 day') IS NULL, 'a NULL device gives NULL');
SELECT ok(oracode_match_slot(:'dev_b'::uuid, NULL, now()) IS NULL AND oracode_match_slot(:'dev_b'::uuid, now(), now()) IS NULL,
  'a booking without times, or one no code can serve, is no slot (NULL), as in the jsonb form');
SELECT throws_ok(format('SELECT oracode_match_slot(%L::uuid, now(), now() + interval ''1 day'', ''2h'')', :'dev_b'),
  '22023', 'invalid max_time_rounding "2h"', 'a malformed rounding raises 22023 as in the jsonb form');

-- ---------------------------------------------------------------------------
-- HTTP failures: clear errors, no key in them, nothing written
-- ---------------------------------------------------------------------------
-- an outage: 503 with an empty body
\set outage_on `curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' --data-binary :'outage' "$FAKE_URL/_fake/simulate_workspace_outage"`
SELECT error_text AS err_503 FROM pg_temp.error_text('SELECT oracode_sync_devices()') \gset
\set outage_off `curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' --data-binary :'workspace' "$FAKE_URL/_oracode/end_outage"`
SELECT matches(:'err_503'::text,
  '^38000 \| unexpected HTTP status 503 from Seam for /devices/list \| The body is not a Seam error: \(empty body\) \(request id request[0-9]+\)\. \| This is likely temporary',
  'an outage''s empty 503 raises 38000 with the status, the request id and a hint that it is temporary');

SELECT 'seam_wrong_' || md5(random()::text) AS wrong_key \gset
SELECT format('ALTER SYSTEM SET oracode.api_key = %L', :'wrong_key') AS conf \gset
\ir reconf.psql
SELECT throws_ok('SELECT oracode_sync_devices()', '28000', 'the Seam API key was rejected',
  'a key Seam does not know raises 28000');
SELECT error_text AS err_401 FROM pg_temp.error_text('SELECT oracode_sync_devices()') \gset
SELECT ok(position(:'wrong_key' IN :'err_401') = 0, 'the key appears nowhere in the message, detail or hint');
SELECT matches(:'err_401'::text, 'HTTP 401 .*API Key not found.*request id request[0-9]+',
  'the detail gives the status, Seam''s message and the seam-request-id');
SELECT is((SELECT count(*) FROM oracode.devices WHERE removed_at IS NULL), 3::bigint,
  'a failed sync changes nothing');

\set conf 'ALTER SYSTEM SET oracode.api_key = '''''
\ir reconf.psql
SELECT throws_ok('SELECT oracode_sync_devices()', '22023', 'oracode.api_key is not set',
  'without a key the sync raises 22023 before any request');

SELECT format('ALTER SYSTEM SET oracode.api_key = %L; ALTER SYSTEM SET oracode.api_url = %L',
              :'key', 'http://example.com') AS conf \gset
\ir reconf.psql
SELECT throws_ok('SELECT oracode_sync_devices()', '22023', 'oracode.api_url must use https',
  'plain http to another host is refused before any request');

SELECT format('ALTER SYSTEM SET oracode.api_url = %L', :'fake_url' || '/nowhere') AS conf \gset
\ir reconf.psql
SELECT throws_ok('SELECT oracode_sync_devices()', '38000', 'unexpected HTTP status 404 from Seam for /devices/list',
  'a non-JSON 404 raises 38000 with the status');

\set conf 'ALTER SYSTEM SET oracode.api_url = ''http://127.0.0.1:1'''
\ir reconf.psql
SELECT throws_ok('SELECT oracode_sync_devices()', '08001', NULL,
  'a refused connection raises 08001 (the request surely never reached Seam)');

\set conf 'ALTER SYSTEM RESET oracode.api_url'
\ir reconf.psql
SELECT is(oracode_sync_devices(), 3, 'with the URL back, the next sync works');

\if :{?server_log}
\set log_hits `grep -c -F -e :'wrong_key' "$ORACODE_TEST_SERVER_LOG"`
SELECT is(:'log_hits'::text, '0', 'the API key appears nowhere in the server log');
\else
SELECT skip('ORACODE_TEST_SERVER_LOG is not set', 1);
\endif

SELECT * FROM finish();
ROLLBACK;

\o /dev/null
DELETE FROM oracode.devices WHERE device_id = :'dev_x';
ALTER SYSTEM RESET oracode.api_key;
ALTER SYSTEM RESET oracode.api_url;
ALTER SYSTEM RESET oracode.batch_size;
ALTER SYSTEM RESET oracode.sync_interval;
ALTER SYSTEM RESET oracode.request_timeout;
SELECT pg_reload_conf();
\o

\else
SELECT plan(1);
SELECT skip('FAKE_URL is not set: Seam''s fake server is not running', 1);
SELECT * FROM finish();
\endif
