-- Scenario j: hostile answers. Seam (or something posing as it) echoes the request's headers,
-- the API key included, in error texts and in seam-request-id; answers with a body larger than
-- oracode.max_response_size, with and without a Content-Length; answers with a body under the
-- limit whose JSON would take far more memory to parse than its size; and names devices and
-- slots with newlines that would forge server log lines. No table may hold the key or a bearer
-- token, the log must not hold a forged line, the key or the token, the refused answers count
-- as failed requests (a create's is reconciled, never resent), and the same worker process
-- brings every request to set with no code made twice.
\ir common.psql
SELECT faults.begin('j hostile answers');
\getenv key FAKE_API_KEY
SELECT 'jtok_' || md5(random()::text) AS token \gset
\set devs `"$FAULTS_CTL" seed 3 j`
\set refused_dev `"$FAULTS_CTL" seed 1 jr`
SELECT d[1] AS d1, d[2] AS d2, d[3] AS d3 FROM (SELECT :'devs'::uuid[] AS d) x \gset
SELECT (:'refused_dev'::uuid[])[1] AS d4 \gset
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset

-- two locks whose names (and one slot) carry a forged log line; the second has an id that is
-- not a UUID, which the sync skips with a WARNING naming it
SELECT E'\n1999-12-31 23:59:59.999 UTC [4242] postmaster LOG:  forged by ' AS forge \gset
SELECT jsonb_build_object(
  'name', 'Lobby j' || :'forge' || 'a device name',
  'time_zone', 'America/Los_Angeles',
  'time_slots', jsonb_build_array(
    jsonb_build_object('name', 'Guest 4pm-11am' || :'forge' || 'a slot name', 'prefix', 1,
      'check_in_time', '16:00:00[America/Los_Angeles]', 'check_out_time', '11:00:00[America/Los_Angeles]',
      'is_24_hour', false, 'is_biweekly_mode', false, 'is_one_shot', false, 'is_master', false),
    jsonb_build_object('name', 'Bad slot' || :'forge' || 'a malformed slot', 'prefix', 2,
      'check_in_time', '25:00:00' || :'forge' || 'a slot time', 'check_out_time', '11:00:00[America/Los_Angeles]',
      'is_24_hour', false, 'is_biweekly_mode', false, 'is_one_shot', false, 'is_master', false)))::text AS lock1,
  jsonb_build_object('name', E'Annex j\r' || :'forge' || 'a device name',
                     'device_id', 'j-annex-' || md5(random()::text))::text AS lock2 \gset
\setenv LOCK1 :lock1
\setenv LOCK2 :lock2
\set hostile1 `"$FAULTS_CTL" seed_lock "$LOCK1"`
\set hostile2 `"$FAULTS_CTL" seed_lock "$LOCK2"`
SET client_min_messages = error;
SELECT oracode_sync_devices() > 0 AS synced \gset
SET client_min_messages = warning;
SELECT count(*) AS hostile_synced FROM oracode.devices WHERE device_id = :'hostile1' AND display_name LIKE E'Lobby j\n%' \gset

-- phase 1: answers that echo the request's headers. d1's two creates take effect but come back
-- as a 503 echo, its first listing too; d4's create is refused with a 400 echo (a permanent
-- failure whose error is stored); polls come back as 502 echoes
SELECT jsonb_build_object('rules', jsonb_build_array(
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d1', 'action', 'echo_headers', 'status', 503, 'forward', true, 'token', :'token', 'count', 2),
  jsonb_build_object('path', '/access_codes/list', 'device_id', :'d1', 'action', 'echo_headers', 'status', 500, 'token', :'token', 'count', 1),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d4', 'action', 'echo_headers', 'status', 400, 'token', :'token', 'count', 1),
  jsonb_build_object('path', '/access_codes/list', 'action', 'echo_headers', 'status', 502, 'token', :'token', 'count', 3)))::text AS rules1 \gset
\setenv RULES :rules1
\! "$FAULTS_CTL" faults "$RULES"
SELECT faults.queue('j1', :'devs', 2) + faults.queue('j1r', ARRAY[:'d4']::uuid[], 1) AS queued1 \gset
\set spent1 `"$FAULTS_CTL" wait_rules_spent`
SELECT faults.wait_for(format($$SELECT status = 'failed' FROM oracode.access_codes WHERE device_id = %L$$, :'d4')) AS refused_failed \gset
SELECT faults.wait_for(format('SELECT faults.unsettled(%L) = 0', :'devs'), 60) AS settled1 \gset
SELECT coalesce(errors -> 0 ->> 'message', '') AS refused_message, coalesce(last_error, '') AS refused_last_error,
       coalesce(last_request_id, '') AS refused_request_id
  FROM oracode.access_codes WHERE device_id = :'d4' \gset
SELECT coalesce(sum(n), 0)::bigint AS leaks1, coalesce(string_agg(relname, ', ') FILTER (WHERE n > 0), 'none') AS leaked1
  FROM faults.leaks(ARRAY[:'key', :'token']) \gset

-- phase 2: the worker's device sync is answered with a 400 echo (twice)
SELECT jsonb_build_object('rules', jsonb_build_array(
  jsonb_build_object('path', '/devices/list', 'action', 'echo_headers', 'status', 400, 'token', :'token', 'count', 2)))::text AS rules2,
       jsonb_build_object('rules', jsonb_build_array(
  jsonb_build_object('path', '/devices/list', 'action', 'echo_headers', 'status', 400, 'token', :'token')))::text AS rules2b \gset
\setenv RULES :rules2
\! "$FAULTS_CTL" faults "$RULES"
\o /dev/null
ALTER SYSTEM SET oracode.sync_interval = 1;
SELECT pg_reload_conf();
\o
SELECT faults.wait_for($$SELECT last_error LIKE 'device sync failed: unexpected HTTP status 400 from Seam for /devices/list%' FROM oracode.worker_health$$) AS sync_failed \gset
\set spent2 `"$FAULTS_CTL" wait_rules_spent`
\o /dev/null
ALTER SYSTEM RESET oracode.sync_interval;
SELECT pg_reload_conf();
\o

-- the same error raised by oracode_sync_devices() in this session: its DETAIL quotes Seam's text
\setenv RULES :rules2b
\! "$FAULTS_CTL" faults "$RULES"
DO $$
DECLARE d text;
BEGIN
  PERFORM oracode_sync_devices();
  PERFORM set_config('faults.j_detail', 'no error', false);
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  PERFORM set_config('faults.j_detail', d, false);
END $$;
SELECT current_setting('faults.j_detail') AS sync_detail \gset
\! "$FAULTS_CTL" clear

-- phase 3: answers too large to accept or too costly to parse, under a 2 MB limit. The creates
-- of d1 and d2 take effect but come back larger than the limit (with a Content-Length, and
-- chunked); d3's comes back under the limit as a dense array; d2's and d3's first listings and
-- one poll fare the same
\o /dev/null
\set ON_ERROR_STOP 0
ALTER SYSTEM SET oracode.max_response_size = '2MB';
\set ON_ERROR_STOP 1
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\o
SELECT coalesce(current_setting('oracode.max_response_size', true), 'none') AS limit_set \gset
SELECT jsonb_build_object('rules', jsonb_build_array(
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d1', 'action', 'oversized', 'bytes', 3000000, 'count', 1),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d2', 'action', 'oversized', 'bytes', 3000000, 'chunked', true, 'count', 1),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d3', 'action', 'dense', 'bytes', 1900000, 'count', 1),
  jsonb_build_object('path', '/access_codes/list', 'device_id', :'d2', 'action', 'oversized', 'bytes', 3000000, 'count', 1),
  jsonb_build_object('path', '/access_codes/list', 'device_id', :'d3', 'action', 'dense', 'bytes', 1900000, 'count', 1),
  jsonb_build_object('path', '/access_codes/list', 'action', 'dense', 'bytes', 1900000, 'count', 1)))::text AS rules3 \gset
\setenv RULES :rules3
\! "$FAULTS_CTL" faults "$RULES"
SELECT faults.queue('j2', :'devs', 3, 20) AS queued2 \gset
\set spent3 `"$FAULTS_CTL" wait_rules_spent`
\! "$FAULTS_CTL" clear
SELECT faults.wait_for(format('SELECT faults.unsettled(%L) = 0', :'devs'), 60) AS settled \gset

\set fake `"$FAULTS_CTL" fake_codes`
\set log `"$FAULTS_CTL" proxy_log /access_codes/create`
SELECT count(*) AS creates_sent, count(*) FILTER (WHERE upstream_status IS NOT NULL) AS creates_forwarded
  FROM faults.creates(:'log', :'devs') \gset
SELECT (faults.finish('j hostile answers', :'devs', :'fake', :creates_sent)).scenario IS NOT NULL AS finished \gset
CREATE TEMP TABLE ev AS SELECT e.* FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
 WHERE a.device_id = ANY (:'devs');
SELECT count(*) FILTER (WHERE detail LIKE 'adopted % after no answer to the create: HTTP 503 echo: %') AS adopted_echo,
       count(*) FILTER (WHERE detail LIKE 'adopted % after no answer to the create: response body larger than oracode.max_response_size (2 MB)') AS adopted_oversized,
       count(*) FILTER (WHERE detail LIKE 'adopted % after no answer to the create: unreadable 200 answer: Parsing the response body would take more than % times its size in memory.') AS adopted_dense,
       count(*) FILTER (WHERE new_status IN ('unknown', 'failed', 'expired')) AS wrong_states
  FROM ev \gset
SELECT coalesce(sum(n), 0)::bigint AS leaks, coalesce(string_agg(relname, ', ') FILTER (WHERE n > 0), 'none') AS leaked
  FROM faults.leaks(ARRAY[:'key', :'token']) \gset

-- the server log since the scenario began
SELECT '^[[:space:]]*(1999-12-31 23:59:59|authorization: |Proxy-Authorization: )' AS forged_re,
       E'\\n1999-12-31 23:59:59.999 UTC [4242] postmaster LOG:  forged by ' AS escaped_forge,
       E'\\r\\nauthorization: Bearer ****' AS escaped_echo,
       E'[\x01-\x08\x0b-\x1f\x7f]' AS cntrl_re \gset
\setenv FORGED_RE :forged_re
\setenv ESCAPED_FORGE :escaped_forge
\setenv ESCAPED_ECHO :escaped_echo
\setenv CNTRL_RE :cntrl_re
\setenv KEY :key
\setenv TOKEN :token
\set forged_lines `"$FAULTS_CTL" log_count "$LOGSZ" "$FORGED_RE"`
\set escaped_lines `"$FAULTS_CTL" log_count_fixed "$LOGSZ" "$ESCAPED_FORGE"`
\set echo_lines `"$FAULTS_CTL" log_count_fixed "$LOGSZ" "$ESCAPED_ECHO"`
\set control_lines `"$FAULTS_CTL" log_count "$LOGSZ" "$CNTRL_RE"`
\set key_lines `"$FAULTS_CTL" log_count_fixed "$LOGSZ" "$KEY"`
\set token_lines `"$FAULTS_CTL" log_count_fixed "$LOGSZ" "$TOKEN"`
\set crashes `"$FAULTS_CTL" log_count "$LOGSZ" 'exited with exit code|terminated by signal|PANIC|TRAP'`

-- back to the suite's settings
\o /dev/null
\set ON_ERROR_STOP 0
ALTER SYSTEM RESET oracode.max_response_size;
\set ON_ERROR_STOP 1
ALTER SYSTEM RESET oracode.sync_interval;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\o
SELECT coalesce(current_setting('oracode.max_response_size', true), 'none') AS limit_after,
       current_setting('oracode.sync_interval') AS sync_after \gset

SELECT plan(27);
SELECT ok(:'synced' AND :hostile_synced = 1, 'the lock named with a forged log line was synced, its name kept as Seam sent it');
SELECT is(:queued1, 7, 'phase 1: 7 requests queued over 4 locks');
SELECT ok(:'spent1', 'phase 1: every echo of the headers was served');
SELECT ok(:'refused_failed', 'the create refused with a 400 echo failed');
SELECT ok(:'refused_message' LIKE E'fault-proxy: the request''s headers were:\r\n%authorization: Bearer ****%',
  'its errors keep Seam''s message, with the bearer token masked');
SELECT ok(strpos(:'refused_last_error', 'BEARER ****') > 0 AND strpos(:'refused_request_id', 'echo Bearer ****') = 1,
  'last_error masks a bearer token the client never sent; last_request_id masks the echoed header');
SELECT ok(:leaks1 = 0, 'phase 1: no table or view of oracode holds the API key or the token: ' || :'leaked1');
SELECT ok(:'settled1', 'phase 1: every request of the three locks reached set');
SELECT ok(:'sync_failed' AND :'spent2', 'phase 2: the worker''s sync failed on the echo, as worker_health says');
SELECT ok(strpos(:'sync_detail', :'key') = 0 AND strpos(:'sync_detail', :'token') = 0,
  'oracode_sync_devices()''s DETAIL quotes the echo without the key or the token');
SELECT ok(strpos(:'sync_detail', E'\\r\\nauthorization: Bearer ****') > 0 AND :'sync_detail' !~ '[[:cntrl:]]',
  'and with its CR and LF escaped');
SELECT ok(:'limit_set' = '2MB', 'phase 3: oracode.max_response_size is 2MB');
SELECT ok(:'spent3', 'phase 3: every oversized and dense answer was served');
SELECT ok(:'settled', 'every request reached set once the answers were acceptable again');
SELECT is(duplicates, 0, 'no code was created twice (every name once at the fake)') FROM faults.results WHERE scenario = 'j hostile answers';
SELECT is(at_fake, requests, 'the fake holds exactly one code per request, none stray') FROM faults.results WHERE scenario = 'j hostile answers';
SELECT ok(mismatched = 0 AND bad_history = 0, 'every row carries its code''s id and PIN, and its whole history')
  FROM faults.results WHERE scenario = 'j hostile answers';
SELECT is(:creates_forwarded, 15, 'the fake received exactly 15 creates: none twice');
SELECT is(adopted, 5, 'the 5 creates answered by an echo, too large or too dense were each adopted')
  FROM faults.results WHERE scenario = 'j hostile answers';
SELECT ok(:adopted_echo = 2 AND :adopted_oversized = 2 AND :adopted_dense = 1,
  format('their events say why: %s echoes, %s larger than the limit, %s too costly to parse',
         :adopted_echo, :adopted_oversized, :adopted_dense));
SELECT is(:wrong_states, 0, 'no row was ever marked unknown, failed or expired from a hostile answer');
SELECT ok(:leaks = 0, 'in the end no table or view of oracode holds the API key or the token: ' || :'leaked');
SELECT is(:forged_lines, 0, 'no server log line starts with a line forged by a device, a slot or an echo');
SELECT ok(:escaped_lines >= 3 AND :echo_lines >= 1,
  format('the names and the echo are in the log, escaped (%s and %s lines)', :escaped_lines, :echo_lines));
SELECT ok(:control_lines = 0 AND :key_lines = 0 AND :token_lines = 0, 'the log holds no control character, no API key and no token');
SELECT ok(faults.worker_pid() = :pid0 AND :crashes = 0, 'the worker never crashed or restarted (same pid, nothing in the log)');
SELECT ok(:'limit_after' = '32MB' AND :'sync_after' = '0', 'the suite''s settings are back');
SELECT * FROM finish();
