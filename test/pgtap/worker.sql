-- The worker end to end against Seam's fake server: a committed request is
-- sent once, polled until set, every step recorded; a rolled-back one never
-- reaches Seam; polling is batched; a code Seam forgets after its end has
-- expired; a 401 pauses sending until the key is fixed and reloaded.
-- Needs: FAKE_URL and FAKE_API_KEY (test/run seeds the workspace and sets
-- oracode.api_key, oracode.poll_interval = 1s, oracode.sync_interval = 0).
\set ON_ERROR_STOP 1
\getenv fake_url FAKE_URL
\getenv api_key FAKE_API_KEY
SET client_min_messages = warning;

\ir helpers.psql

-- two locks in the test workspace, in different zones
\set lock_a `curl -sS -X POST -H 'Content-Type: application/json' -d "{\"api_key\":\"$FAKE_API_KEY\",\"name\":\"Worker A\",\"time_zone\":\"America/Los_Angeles\"}" "$FAKE_URL/_oracode/seed_lock"`
\set lock_b `curl -sS -X POST -H 'Content-Type: application/json' -d "{\"api_key\":\"$FAKE_API_KEY\",\"name\":\"Worker B\",\"time_zone\":\"Europe/Berlin\"}" "$FAKE_URL/_oracode/seed_lock"`
SELECT (:'lock_a'::jsonb ->> 'device_id')::uuid AS dev_a, (:'lock_b'::jsonb ->> 'device_id')::uuid AS dev_b \gset
SELECT oracode_sync_devices() >= 2 AS synced \gset

SELECT plan(25);
SELECT ok(:'synced', 'both locks synced from the fake');

-- three stays on A, two on B, committed; one on A rolled back
CREATE TEMP TABLE stays AS
SELECT dev, ref, (d + time '15:40') AT TIME ZONE tz AS s, (d + n + time '10:20') AT TIME ZONE tz AS e
FROM (VALUES (:'dev_a'::uuid, 'W-A1', 'America/Los_Angeles', 1), (:'dev_a'::uuid, 'W-A2', 'America/Los_Angeles', 2),
             (:'dev_a'::uuid, 'W-A3', 'America/Los_Angeles', 4), (:'dev_b'::uuid, 'W-B1', 'Europe/Berlin', 1),
             (:'dev_b'::uuid, 'W-B2', 'Europe/Berlin', 3)) v(dev, ref, tz, n),
     LATERAL (SELECT (now() AT TIME ZONE tz)::date + 10 + n AS d) x;
SELECT count(*) FROM stays, LATERAL oracode_create_code(dev, s, e, 'Guest ' || ref, ref) c;
BEGIN;
SELECT id AS rolled_back_id FROM stays, oracode_create_code(dev, s + interval '1 day', e + interval '1 day', 'Rolled back', 'W-RB')
 WHERE ref = 'W-A1' \gset
ROLLBACK;

SELECT ok(pg_temp.wait_for($$SELECT count(*) = 5 FROM oracode.access_codes WHERE booking_ref LIKE 'W-%' AND seam_access_code_id IS NOT NULL$$),
  'the worker sent all five committed requests');
SELECT is((SELECT array_agg(DISTINCT status) FROM oracode.access_codes WHERE booking_ref LIKE 'W-%'), ARRAY['unset'],
  'Seam answered each create with status unset');

-- what the fake holds: one code per request, under the request's unique name
\setenv DEV_A :dev_a
\set fake_a `curl -sS "$FAKE_URL/_oracode/access_codes?device_id=$DEV_A"`
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE device_id = :'dev_a'), 3::bigint, 'three rows for lock A');
SELECT is((SELECT jsonb_array_length(:'fake_a'::jsonb)), 3, 'exactly three codes at the fake for lock A (none twice, none rolled back)');
SELECT set_eq(format($$SELECT c ->> 'name' FROM jsonb_array_elements(%L::jsonb) c$$, :'fake_a'),
  format($$SELECT seam_name FROM oracode.access_codes WHERE device_id = %L$$, :'dev_a'),
  'the fake''s codes are ours, by name');
SELECT ok(NOT (:'fake_a' LIKE '%Rolled back%'), 'the rolled-back booking reached nothing at the fake');
SELECT set_eq(format($$SELECT (c ->> 'starts_at')::timestamptz AS s, (c ->> 'ends_at')::timestamptz AS e FROM jsonb_array_elements(%L::jsonb) c$$, :'fake_a'),
  format($$SELECT starts_at, ends_at FROM oracode.access_codes WHERE device_id = %L$$, :'dev_a'),
  'the codes carry the matched slot times');
SELECT ok((SELECT bool_and(c ->> 'is_offline_access_code' IS NOT NULL) FROM jsonb_array_elements(:'fake_a'::jsonb) c),
  'codes were stored by the fake');

-- the fake never sets a code by itself: set them through its store, then the worker polls
\set ignored `curl -sS -X POST -H 'Content-Type: application/json' -d '{"status":"set"}' "$FAKE_URL/_oracode/set_all"`
SELECT ok(pg_temp.wait_for($$SELECT bool_and(status = 'set' AND code IS NOT NULL) FROM oracode.access_codes WHERE booking_ref LIKE 'W-%'$$),
  'polling brought every code to set with its PIN');
\set fake_all `curl -sS "$FAKE_URL/_oracode/access_codes"`
SELECT is((SELECT count(*) FROM oracode.access_codes a JOIN jsonb_array_elements(:'fake_all'::jsonb) c
            ON c ->> 'access_code_id' = a.seam_access_code_id AND c ->> 'code' = a.code
           WHERE a.booking_ref LIKE 'W-%'), 5::bigint, 'the stored PINs are Seam''s');
SELECT results_eq($$SELECT string_agg(coalesce(old_status, '-') || '>' || new_status, ' ' ORDER BY e.id)
                     FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
                    WHERE a.booking_ref = 'W-A1'$$,
  $$VALUES ('->queued queued>sending sending>unset unset>set'::text)$$, 'the whole lifecycle is in access_code_events');
SELECT is((SELECT count(*) FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
           WHERE a.booking_ref LIKE 'W-%'), 20::bigint, 'four events per request');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = 'W-RB'), 0::bigint, 'the rolled-back request left no row');

-- polling is batched: 25 codes in flight, 10 ids per request → 3 list requests per cycle
-- (Seam's 10 creates per minute per device would take three minutes here)
ALTER SYSTEM SET oracode.batch_size = 10;
ALTER SYSTEM SET oracode.create_rate_limit = 1000;
SELECT pg_reload_conf();
SELECT count(*) FROM generate_series(1, 25) i,
  LATERAL oracode_create_code(:'dev_b', ((now() AT TIME ZONE 'Europe/Berlin')::date + 20 + i + time '15:40') AT TIME ZONE 'Europe/Berlin',
                              ((now() AT TIME ZONE 'Europe/Berlin')::date + 21 + i + time '10:20') AT TIME ZONE 'Europe/Berlin',
                              NULL, 'W-P' || i) c;
SELECT ok(pg_temp.wait_for($$SELECT count(*) = 25 FROM oracode.access_codes WHERE booking_ref LIKE 'W-P%' AND status = 'unset'$$),
  '25 more codes in flight');
\set ignored `curl -sS -X POST "$FAKE_URL/_oracode/reset_stats"`
SELECT pg_sleep(3.5);
\set stats `curl -sS "$FAKE_URL/_oracode/stats"`
SELECT (:'stats'::jsonb -> 'requests' ->> '/access_codes/list')::int AS list_requests \gset
SELECT cmp_ok(:list_requests, '>=', 3, 'at least one poll cycle ran (3 requests)');
SELECT cmp_ok(:list_requests, '<=', 15, 'a handful of list requests over ~3 cycles, not one per code per cycle');
SELECT cmp_ok(:list_requests, '<', 25, 'fewer list requests over all those cycles than codes in flight');
ALTER SYSTEM RESET oracode.batch_size;
ALTER SYSTEM RESET oracode.create_rate_limit;
SELECT pg_reload_conf();

-- a code Seam forgets after its end has expired
SELECT to_char(now() AT TIME ZONE 'UTC' + interval '2 seconds', 'HH24:MI:SS') || ' ' || to_char(now() AT TIME ZONE 'UTC' + interval '4 seconds', 'HH24:MI:SS') AS near \gset
SELECT split_part(:'near', ' ', 1) AS cin, split_part(:'near', ' ', 2) AS cout \gset
\setenv CIN :cin
\setenv COUT :cout
\set lock_c `curl -sS -X POST -H 'Content-Type: application/json' -d "{\"api_key\":\"$FAKE_API_KEY\",\"name\":\"Worker C\",\"time_zone\":\"UTC\",\"time_slots\":[{\"name\":\"now\",\"prefix\":0,\"check_in_time\":\"${CIN}Z\",\"check_out_time\":\"${COUT}Z\",\"is_24_hour\":false,\"is_biweekly_mode\":false,\"is_one_shot\":false,\"is_master\":false}]}" "$FAKE_URL/_oracode/seed_lock"`
SELECT (:'lock_c'::jsonb ->> 'device_id')::uuid AS dev_c \gset
SELECT oracode_sync_devices() > 0;
SELECT id AS short_id FROM oracode_create_code(:'dev_c', now() + interval '2 seconds', now() + interval '4 seconds', 'Short', 'W-SHORT') \gset
SELECT ok(pg_temp.wait_for(format('SELECT seam_access_code_id IS NOT NULL FROM oracode.access_codes WHERE id = %s', :short_id)),
  'the short code was created');
SELECT seam_access_code_id AS short_seam FROM oracode.access_codes WHERE id = :short_id \gset
\setenv SHORT_SEAM :short_seam
SELECT pg_sleep(greatest(0, extract(epoch FROM (SELECT ends_at FROM oracode.access_codes WHERE id = :short_id) - now()))::float8 + 0.2);
\set ignored `curl -sS -X POST -H 'Content-Type: application/json' -d "{\"access_code_id\":\"$SHORT_SEAM\"}" "$FAKE_URL/_oracode/delete_access_code"`
SELECT ok(pg_temp.wait_for(format('SELECT status = %L FROM oracode.access_codes WHERE id = %s', 'expired', :short_id)),
  'Seam no longer knows it after its end: expired');

-- a wrong key pauses sending (rows stay queued), a reload with the right key resumes
ALTER SYSTEM SET oracode.api_key = 'seam_wrong_key';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
\set ignored `curl -sS -X POST "$FAKE_URL/_oracode/reset_stats"`
SELECT id AS paused_id FROM stays, oracode_create_code(dev, s + interval '20 days', e + interval '20 days', 'Paused', 'W-401')
 WHERE ref = 'W-A1' \gset
SELECT pg_sleep(2);
SELECT is((SELECT status FROM oracode.access_codes WHERE id = :paused_id), 'queued', 'with a refused key the request stays queued');
SELECT is((SELECT attempts FROM oracode.access_codes WHERE id = :paused_id), 0, 'a refused key does not count as an attempt');
\set stats `curl -sS "$FAKE_URL/_oracode/stats"`
SELECT cmp_ok(coalesce((:'stats'::jsonb -> 'requests' ->> '/access_codes/create')::int, 0), '<=', 1,
  'after the first 401 the worker stops trying');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'W-%' AND status = 'failed'), 0::bigint,
  'a 401 failed no row');
ALTER SYSTEM RESET oracode.api_key;
SELECT pg_reload_conf();
SELECT ok(pg_temp.wait_for(format('SELECT status = %L FROM oracode.access_codes WHERE id = %s', 'unset', :paused_id)),
  'after the key is fixed and the configuration reloaded, the request is sent');

SELECT * FROM finish();
