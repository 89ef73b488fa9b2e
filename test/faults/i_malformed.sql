-- Scenario i: malformed answers never crash the worker, and the rows record what happened.
-- Creates take effect at the fake but come back truncated (a complete HTTP message with half
-- the JSON, or a body cut short by a closed connection), as HTML, or as JSON with wrongly
-- typed fields. The device listings that settle them come back garbled first (a code list
-- with one unreadable code proves nothing, so the worker must list again, not resend), and
-- polls come back as HTML, then with wrongly typed statuses. The same worker process must
-- adopt every code, create nothing twice, never misread a status, and bring every request
-- to set; last_error and the events say what went wrong.
\ir common.psql
SELECT faults.begin('i malformed answers');
\set devs `"$FAULTS_CTL" seed 4 i`
\o /dev/null
SELECT oracode_sync_devices();
\o
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset
SELECT d[1] AS d1, d[2] AS d2, d[3] AS d3, d[4] AS d4 FROM (SELECT :'devs'::uuid[] AS d) x \gset

-- phase 1: garbled creates (10 of 20, on every lock), garbled device listings (each lock's
-- first listings), polls answered with HTML; it lasts until every counted rule has fired
SELECT jsonb_build_object('rules', jsonb_build_array(
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d1', 'action', 'truncate', 'count', 2),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d1', 'action', 'short_body', 'count', 2),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d2', 'action', 'non_json', 'count', 2),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d3', 'action', 'wrong_types', 'count', 2),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d4', 'action', 'wrong_types', 'fields', jsonb_build_array('status'), 'count', 1),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d4', 'action', 'wrong_types', 'fields', jsonb_build_array('access_code'), 'count', 1),
  jsonb_build_object('path', '/access_codes/list', 'device_id', :'d1', 'action', 'wrong_types', 'fields', jsonb_build_array('access_code_id'), 'count', 2),
  jsonb_build_object('path', '/access_codes/list', 'device_id', :'d2', 'action', 'wrong_types', 'fields', jsonb_build_array('status'), 'count', 2),
  jsonb_build_object('path', '/access_codes/list', 'device_id', :'d3', 'action', 'wrong_types', 'fields', jsonb_build_array('access_codes'), 'count', 1),
  jsonb_build_object('path', '/access_codes/list', 'device_id', :'d3', 'action', 'truncate', 'count', 1),
  jsonb_build_object('path', '/access_codes/list', 'device_id', :'d4', 'action', 'non_json', 'count', 2),
  '{"path":"/access_codes/list","action":"non_json"}'::jsonb))::text AS rules1 \gset
\setenv RULES :rules1
\! "$FAULTS_CTL" faults "$RULES"
SELECT faults.queue('i', :'devs', 5) AS queued \gset
\set spent `"$FAULTS_CTL" wait_rules_spent`
SELECT faults.wait_for(format($$SELECT count(*) >= 5 FROM oracode.access_codes WHERE device_id = ANY (%L)
  AND last_error LIKE 'status poll failed: unreadable code list: The response body is not JSON.%%'$$, :'devs')) AS poll_html_recorded \gset

-- phase 2: polls (and listings) with wrongly typed statuses
\! "$FAULTS_CTL" faults '{"rules":[{"path":"/access_codes/list","action":"wrong_types","fields":["status"]}]}'
SELECT faults.wait_for(format($$SELECT count(*) >= 5 FROM oracode.access_codes WHERE device_id = ANY (%L)
  AND last_error LIKE 'status poll failed: unreadable code list: %% access codes in the answer are malformed (an access code has no status string).'$$, :'devs')) AS poll_types_recorded \gset

-- phase 3: no more faults
\! "$FAULTS_CTL" clear
SELECT faults.wait_for(format('SELECT faults.unsettled(%L) = 0', :'devs'), 60) AS settled \gset
\set fake `"$FAULTS_CTL" fake_codes`
\set log `"$FAULTS_CTL" proxy_log /access_codes/create`
\set lists `"$FAULTS_CTL" proxy_log /access_codes/list`
SELECT count(*) AS creates_sent, count(*) FILTER (WHERE upstream_status IS NOT NULL) AS creates_forwarded
  FROM faults.creates(:'log', :'devs') \gset
SELECT count(*) AS garbled_listings FROM jsonb_array_elements(:'lists'::jsonb) e
 WHERE e ->> 'device_id' = ANY (:'devs'::text[]) AND e ->> 'fault' IS NOT NULL \gset
SELECT (faults.finish('i malformed answers', :'devs', :'fake', :creates_sent)).scenario IS NOT NULL AS finished \gset
\set crashes `"$FAULTS_CTL" log_count "$LOGSZ" 'exited with exit code|terminated by signal|PANIC|TRAP'`
CREATE TEMP TABLE ev AS SELECT e.* FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
 WHERE a.device_id = ANY (:'devs');
SELECT count(*) FILTER (WHERE detail LIKE 'adopted % after no answer to the create: unreadable 200 answer: %') AS adopted_unreadable,
       count(*) FILTER (WHERE detail LIKE 'adopted % after no answer to the create: no response: transfer closed%') AS adopted_cut,
       count(*) FILTER (WHERE new_status IN ('unknown', 'failed', 'expired')) AS wrong_states
  FROM ev \gset

SELECT plan(15);
SELECT is(:queued, 20, '20 requests queued over 4 locks');
SELECT ok(:'spent', 'every garbled create and device listing was served');
SELECT ok(:'poll_html_recorded', 'polls answered with HTML: last_error says the answer was not JSON');
SELECT ok(:'poll_types_recorded', 'polls with wrongly typed statuses: last_error says which code field was malformed');
SELECT ok(:'settled', 'every request reached set once the answers were readable again');
SELECT is(duplicates, 0, 'no code was created twice (every name once at the fake)') FROM faults.results WHERE scenario = 'i malformed answers';
SELECT is(at_fake, requests, 'the fake holds exactly one code per request, none stray') FROM faults.results WHERE scenario = 'i malformed answers';
SELECT ok(mismatched = 0 AND bad_history = 0, 'every row carries its code''s id and PIN, and its whole history')
  FROM faults.results WHERE scenario = 'i malformed answers';
SELECT is(:creates_forwarded, 20, 'the fake received exactly 20 creates: none twice');
SELECT is(adopted, 10, 'the 10 creates answered unreadably were each adopted') FROM faults.results WHERE scenario = 'i malformed answers';
SELECT is(:adopted_unreadable, 8, 'the events of 8 say the 200 answer was unreadable');
SELECT is(:adopted_cut, 2, 'the events of 2 say the answer was cut short');
SELECT cmp_ok(:garbled_listings, '>=', 8, format('%s garbled device listings led to no resend', :garbled_listings));
SELECT is(:wrong_states, 0, 'no row was ever marked unknown, failed or expired from a garbled answer');
SELECT ok(faults.worker_pid() = :pid0 AND :crashes = 0, 'the worker never crashed or restarted (same pid, nothing in the log)');
SELECT * FROM finish();
