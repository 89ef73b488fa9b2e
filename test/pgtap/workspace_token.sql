-- A personal access token as the key (issue 13, item 11): Seam wants the workspace named in a
-- seam-workspace header, which oracode.workspace_id supplies. Without it, a sync says what to
-- set, and the worker pauses (requests stay queued) instead of failing requests; with it set
-- and reloaded, sync and sending work. Seam's fake checks the header as Seam does.
-- Needs: FAKE_URL, FAKE_API_KEY and FAKE_WORKSPACE_ID (test/run).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\ir helpers.psql
\getenv workspace FAKE_WORKSPACE_ID
\getenv api_key FAKE_API_KEY
\set pat `curl -sS -X POST "$FAKE_URL/_oracode/add_access_token"`
SELECT :'pat'::jsonb ->> 'token' AS token \gset
\set lock `curl -sS -X POST -H 'Content-Type: application/json' -d "{\"api_key\":\"$FAKE_API_KEY\",\"name\":\"Token lock\",\"time_zone\":\"UTC\"}" "$FAKE_URL/_oracode/seed_lock"`
SELECT (:'lock'::jsonb ->> 'device_id')::uuid AS dev \gset
SELECT oracode_sync_devices() >= 1 AS synced \gset
-- ALTER SYSTEM cannot run in pgTAP's transaction: a session of its own says what it refused
\set refused `psql -X -q -c "ALTER SYSTEM SET oracode.workspace_id = 'x'' seam-workspace: y'" 2>&1`

SELECT plan(9);
SELECT alike(:'refused'::text, '%invalid value for parameter "oracode.workspace_id"%',
  'oracode.workspace_id takes a workspace id (a UUID), nothing else (no header can be smuggled in)');

ALTER SYSTEM SET oracode.api_key = :'token';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT throws_ok('SELECT oracode_sync_devices()', '28000', 'the Seam key needs a workspace',
  'a personal access token without oracode.workspace_id: the sync says what is missing');

-- a request while the workspace is missing waits, paused, and fails nothing
SELECT id AS req FROM oracode_create_code(:'dev', ((now() AT TIME ZONE 'UTC')::date + 200 + time '16:00') AT TIME ZONE 'UTC',
  ((now() AT TIME ZONE 'UTC')::date + 202 + time '10:00') AT TIME ZONE 'UTC', 'Token guest', 'PAT-1') \gset
SELECT ok(pg_temp.wait_for($$SELECT state = 'paused' FROM oracode.worker_health$$),
  'the worker pauses on Seam''s missing_workspace_id, as on a refused key');
SELECT results_eq(format('SELECT status FROM oracode.access_codes WHERE id = %s', :req), $$VALUES ('queued'::text)$$,
  '... and the request waits queued, not failed');

ALTER SYSTEM SET oracode.workspace_id = :'workspace';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT cmp_ok(oracode_sync_devices(), '>=', 1, 'with oracode.workspace_id set, the token syncs the workspace''s devices');
SELECT ok(pg_temp.wait_for(format('SELECT seam_access_code_id IS NOT NULL FROM oracode.access_codes WHERE id = %s', :req)),
  'after the reload the worker sends the request with the token');
\set stats `curl -sS "$FAKE_URL/_oracode/stats"`
SELECT cmp_ok((:'stats'::jsonb ->> 'requests_with_token')::int, '>=', 2,
  'the fake took the sync and the create as the token''s, in the workspace its seam-workspace header named');
SELECT is((SELECT state FROM oracode.worker_health), 'running', '... and runs again');
SELECT is(current_setting('oracode.workspace_id'), :'workspace', 'the workspace id is shown (it is no secret)');

ALTER SYSTEM RESET oracode.workspace_id;
ALTER SYSTEM RESET oracode.api_key;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT * FROM finish();
