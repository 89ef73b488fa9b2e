-- Scenario h: a configuration reload changes the API URL and key without a restart. First
-- the worker talks to the fake directly (oracode.api_url = the fake, the suite's key); then a
-- reload points it at the proxy with a key of a second workspace. The same worker process
-- sends each batch where and as it was told: the proxy sees none of the first batch and all
-- of the second, under the second key's fingerprint, and the fake files the second batch's
-- codes under the second workspace.
\ir common.psql
SELECT faults.begin('h reload url and key');
\getenv fake_url FAKE_URL
\getenv proxy_url PROXY_URL
\getenv key1 FAKE_API_KEY
\getenv ws1 FAKE_WORKSPACE_ID
\set devs1 `"$FAULTS_CTL" seed 2 h1`
\o /dev/null
SELECT oracode_sync_devices();
\o
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset

-- 1: straight to the fake
\o /dev/null
ALTER SYSTEM SET oracode.api_url = :'fake_url';
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\o
SELECT faults.queue('h1', :'devs1', 3) AS queued1 \gset
SELECT faults.wait_for(format('SELECT faults.unsettled(%L) = 0', :'devs1'), 30) AS settled1 \gset
\set log1 `"$FAULTS_CTL" proxy_log /access_codes/create`

-- 2: a second workspace and its key, through the proxy
SELECT 'seam_testh2_' || md5(random()::text) AS key2 \gset
\setenv KEY2 :key2
\set devs2 `"$FAULTS_CTL" seed 2 h2 "$KEY2"`
\o /dev/null
ALTER SYSTEM SET oracode.api_url = :'proxy_url';
ALTER SYSTEM SET oracode.api_key = :'key2';
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\o
SELECT oracode_sync_devices() AS synced2 \gset
SELECT faults.queue('h2', :'devs2', 3) AS queued2 \gset
SELECT faults.wait_for(format('SELECT faults.unsettled(%L) = 0', :'devs2'), 30) AS settled2 \gset
\set log2 `"$FAULTS_CTL" proxy_log /access_codes/create`
\set fake `"$FAULTS_CTL" fake_codes`
SELECT left(encode(sha256(convert_to(:'key2', 'UTF8')), 'hex'), 12) AS fp2,
       left(encode(sha256(convert_to(:'key1', 'UTF8')), 'hex'), 12) AS fp1 \gset
SELECT count(*) AS proxy_saw_1 FROM faults.creates(:'log1', :'devs1') \gset
SELECT count(*) AS proxy_saw_2, count(*) FILTER (WHERE auth = :'fp2') AS with_key2
  FROM faults.creates(:'log2', :'devs2') \gset
SELECT count(*) FILTER (WHERE c ->> 'workspace_id' = :'ws1') AS ws1_codes_1,
       count(*) FILTER (WHERE c ->> 'workspace_id' <> :'ws1') AS other_codes_1
  FROM jsonb_array_elements(:'fake'::jsonb) c WHERE c ->> 'device_id' = ANY (:'devs1'::text[]) \gset
SELECT count(*) FILTER (WHERE c ->> 'workspace_id' <> :'ws1') AS ws2_codes_2
  FROM jsonb_array_elements(:'fake'::jsonb) c WHERE c ->> 'device_id' = ANY (:'devs2'::text[]) \gset
SELECT (faults.finish('h reload url and key', :'devs1'::uuid[] || :'devs2'::uuid[], :'fake', :proxy_saw_2)).scenario IS NOT NULL AS finished \gset
\set crashes `"$FAULTS_CTL" log_count "$LOGSZ" 'exited with exit code|terminated by signal'`

-- back to the suite's settings, and its workspace's devices
\o /dev/null
ALTER SYSTEM RESET ALL;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\o
SELECT oracode_sync_devices() > 0 AS resynced \gset

SELECT plan(12);
SELECT ok(:'settled1' AND :queued1 = 6, 'batch 1 (6 requests, straight to the fake) reached set');
SELECT is(:proxy_saw_1, 0, 'the proxy saw none of batch 1');
SELECT ok(:ws1_codes_1 = 6 AND :other_codes_1 = 0, 'batch 1''s codes are in the suite''s workspace');
SELECT ok(:synced2 >= 2, 'after the reload, a sync with the second key sees the second workspace''s locks');
SELECT ok(:'settled2' AND :queued2 = 6, 'batch 2 (6 requests, through the proxy with the second key) reached set');
SELECT is(:proxy_saw_2, 6, 'the proxy saw every create of batch 2, once');
SELECT is(:with_key2, 6, 'each with the second key');
SELECT is(:ws2_codes_2, 6, 'batch 2''s codes are in the second workspace');
SELECT ok(duplicates = 0 AND strays = 0 AND at_fake = requests AND requests = 12,
  'no code was created twice, none stray, one per request') FROM faults.results WHERE scenario = 'h reload url and key';
SELECT ok(mismatched = 0 AND bad_history = 0, 'every row carries its code''s id and PIN, and its whole history')
  FROM faults.results WHERE scenario = 'h reload url and key';
SELECT ok(faults.worker_pid() = :pid0 AND :crashes = 0, 'one worker process did it all: no restart');
SELECT ok(:'resynced', 'the suite''s settings are back');
SELECT * FROM finish();
