-- Scenario m: what real Seam may answer to a create, and locks that cut names (issue 13).
--   lock 1: the first create's answer carries a failed action_attempt; the second is refused
--           with validation_errors; the third goes through. Both reasons are kept; nothing is
--           sent twice.
--   lock 2: after a first code is set, Seam answers a create (that never reached it) with that
--           code's id, and answers another (that did) with it too. Neither is ever sent again:
--           the second is found under its own name and adopted, the first fails.
--   lock 3: the lock keeps only 6 characters of a name, without declaring it; three creates take
--           effect unanswered. Names begin with "#<id>", so the cut codes are found and adopted.
--   lock 4: the lock declares code_constraints name_length 10: names are cut to 10 before sending.
--   lock 5: the lock cuts names to 2 characters, inside "#<id>"; a create takes effect unanswered.
--           Its code cannot be told from others', so it is neither adopted nor sent again.
\ir common.psql
SELECT faults.begin('m seam answers');
\set d1 `"$FAULTS_CTL" seed_lock '{"name":"Fault m answers"}'`
\set d2 `"$FAULTS_CTL" seed_lock '{"name":"Fault m anomaly"}'`
\set d3 `"$FAULTS_CTL" seed_lock '{"name":"Fault m cut","cut_names_to":6}'`
\set d4 `"$FAULTS_CTL" seed_lock '{"name":"Fault m constrained","code_constraints":[{"constraint_type":"name_length","max_length":10},{"constraint_type":"name_must_be_unique"}]}'`
\set d5 `"$FAULTS_CTL" seed_lock '{"name":"Fault m cut short","cut_names_to":2}'`
\o /dev/null
SELECT oracode_sync_devices();
\o
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset

-- phase 1: locks 1, 3, 4, 5
SELECT jsonb_build_object('rules', jsonb_build_array(
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d1', 'action', 'merge', 'count', 1,
    'merge', '{"action_attempt":{"action_attempt_id":"aa-m-1","action_type":"CREATE_ACCESS_CODE","status":"error","result":null,"error":{"type":"uncategorized_error","message":"The lock refused the code."}}}'::jsonb),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d1', 'action', 'status', 'status', 400, 'count', 1,
    'body', '{"error":{"type":"invalid_input","message":"Invalid input","validation_errors":{"_errors":[],"ends_at":{"_errors":["ends_at must be in the future"]}}},"ok":false}'),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d3', 'action', 'drop', 'count', 3),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d5', 'action', 'drop', 'count', 1)))::text AS rules \gset
\setenv RULES :rules
\! "$FAULTS_CTL" faults "$RULES"
SELECT faults.queue('m', ARRAY[:'d1'::uuid], 3) + faults.queue('m', ARRAY[:'d3'::uuid, :'d4'::uuid], 3)
       + faults.queue('m', ARRAY[:'d5'::uuid], 1) AS queued \gset
SELECT faults.wait_for(format($$SELECT count(*) = 0 FROM oracode.access_codes
                                WHERE device_id = ANY (ARRAY[%L, %L]::uuid[]) AND status <> 'set'
                                   OR device_id = %L AND status IN ('queued', 'sending')$$,
                              :'d3', :'d4', :'d1'), 60) AS settled1 \gset
SELECT faults.wait_for(format($$SELECT last_error LIKE 'reconciliation inconclusive%%' FROM oracode.access_codes
                                WHERE device_id = %L$$, :'d5'), 30) AS inconclusive \gset

-- phase 2: lock 2. A first code is set; then two creates are answered with its id
SELECT faults.queue('m1', ARRAY[:'d2'::uuid], 1) AS queued2a \gset
SELECT faults.wait_for(format($$SELECT status = 'set' FROM oracode.access_codes WHERE device_id = %L$$, :'d2'), 30) AS first_set \gset
SELECT seam_access_code_id AS held FROM oracode.access_codes WHERE device_id = :'d2' \gset
SELECT jsonb_build_object('rules', jsonb_build_array(
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d2', 'action', 'status', 'status', 200, 'count', 1,
    'body', jsonb_build_object('access_code', jsonb_build_object('access_code_id', :'held', 'device_id', :'d2',
              'name', 'someone else', 'status', 'unset', 'code', NULL, 'errors', '[]'::jsonb, 'warnings', '[]'::jsonb,
              'type', 'time_bound', 'is_managed', true), 'ok', true)::text),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d2', 'action', 'merge', 'count', 1,
    'merge', jsonb_build_object('access_code', jsonb_build_object('access_code_id', :'held')))))::text AS rules2 \gset
\setenv RULES :rules2
\! "$FAULTS_CTL" faults "$RULES"
SELECT faults.queue('m2', ARRAY[:'d2'::uuid], 2, 20) AS queued2b \gset
SELECT faults.wait_for(format($$SELECT count(*) = 0 FROM oracode.access_codes
                                WHERE device_id = %L AND status IN ('queued', 'sending')$$, :'d2'), 60) AS settled2 \gset
-- long enough for a resend (retry_max_delay is 3 s) to show
SELECT pg_sleep(4);

\set fake `"$FAULTS_CTL" fake_codes`
\set log `"$FAULTS_CTL" proxy_log /access_codes/create`
CREATE TEMP TABLE m_fake AS SELECT * FROM jsonb_to_recordset(:'fake'::jsonb)
  AS c(access_code_id text, device_id uuid, name text, status text, code text);
CREATE TEMP TABLE m_log AS SELECT * FROM faults.creates(:'log', ARRAY[:'d1', :'d2', :'d3', :'d4', :'d5']::uuid[]);
\set crashes `"$FAULTS_CTL" log_count "$LOGSZ" 'exited with exit code|terminated by signal'`

SELECT plan(20);
SELECT is(:queued, 10, '10 requests over locks 1, 3, 4 and 5');
-- lock 1
SELECT ok(:'settled1', 'locks 1, 3 and 4 settled');
SELECT results_eq(format($$SELECT status, seam_access_code_id IS NOT NULL, errors -> -1 ->> 'error_code',
                                  (errors -> -1 ->> 'is_action_attempt_error')::boolean, errors -> -1 ->> 'message'
                           FROM oracode.access_codes WHERE device_id = %L AND errors @> '[{"is_action_attempt_error": true}]'$$, :'d1'),
  $$VALUES ('failed'::text, true, 'uncategorized_error'::text, true, 'The lock refused the code.'::text)$$,
  'a create whose action attempt failed: failed, with the action attempt''s error kept');
SELECT results_eq(format($$SELECT status, errors -> 0 ->> 'error_code', errors -> 0 -> 'validation_errors' -> 'ends_at' -> '_errors' ->> 0
                           FROM oracode.access_codes WHERE device_id = %L AND errors -> 0 ? 'validation_errors'$$, :'d1'),
  $$VALUES ('failed'::text, 'invalid_input'::text, 'ends_at must be in the future'::text)$$,
  'a create refused as invalid_input: failed, with Seam''s validation_errors kept');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE device_id = :'d1' AND status = 'set'), 1::bigint,
  'the third create on lock 1 went through');
SELECT is((SELECT count(*) FROM m_log WHERE device_id = :'d1'), 3::bigint, 'lock 1: three creates sent, none twice');
-- lock 3
SELECT is((SELECT count(*) FROM oracode.access_codes a WHERE a.device_id = :'d3' AND a.status = 'set'
             AND EXISTS (SELECT 1 FROM oracode.access_code_events e WHERE e.access_code_id = a.id AND e.detail LIKE 'adopted %')),
  3::bigint, 'lock 3: the three codes made unanswered were adopted under their cut names');
SELECT is((SELECT count(*) FROM m_fake c JOIN oracode.access_codes a ON a.seam_access_code_id = c.access_code_id
            WHERE c.device_id = :'d3' AND length(c.name) = 6 AND starts_with(a.seam_name, c.name)),
  3::bigint, '... each code at the fake holds the first 6 characters of its request''s name');
SELECT is((SELECT count(*) FROM m_fake WHERE device_id = :'d3'), 3::bigint, '... and none was created twice');
-- lock 4
SELECT is((SELECT code_name_max_length FROM oracode.devices WHERE device_id = :'d4'), 10,
  'lock 4: the sync read code_constraints name_length');
SELECT ok((SELECT code_names_unique FROM oracode.devices WHERE device_id = :'d4'), '... and name_must_be_unique');
SELECT is((SELECT count(*) FROM oracode.access_codes a JOIN m_fake c ON c.access_code_id = a.seam_access_code_id
            WHERE a.device_id = :'d4' AND a.status = 'set' AND c.name = a.seam_name AND length(c.name) <= 10
              AND starts_with(c.name, '#' || a.id || ' ')),
  3::bigint, '... its names were cut to 10 characters before sending, the request id first');
-- lock 5
SELECT ok(:'inconclusive', 'lock 5: a name cut inside the request id settles nothing');
SELECT results_eq(format($$SELECT status, (SELECT count(*) FROM m_fake c WHERE c.device_id = %L),
                                  (SELECT count(*) FROM m_log l WHERE l.device_id = %L)
                           FROM oracode.access_codes WHERE device_id = %L$$, :'d5', :'d5', :'d5'),
  $$VALUES ('sending'::text, 1::bigint, 1::bigint)$$,
  '... the request waits in sending, one code at the fake, one create sent: not sent again');
-- lock 2
SELECT ok(:'first_set' AND :'settled2', 'lock 2: its first code was set, and the two anomalous answers settled');
SELECT results_eq(format($$SELECT status, coalesce(last_error LIKE 'answer anomaly%%', false), errors @> '[{"error_code": "oracode_answer_anomaly"}]'
                           FROM oracode.access_codes WHERE device_id = %L AND booking_ref LIKE 'F-m2-%%' ORDER BY status$$, :'d2'),
  $$VALUES ('failed'::text, true, true), ('set', false, true)$$,
  'answered with another request''s code: the one whose code exists is adopted, the other fails; both keep the anomaly');
SELECT is((SELECT count(*) FROM m_log l JOIN oracode.access_codes a ON a.seam_name = l.name
            WHERE a.device_id = :'d2' AND a.booking_ref LIKE 'F-m2-%'), 2::bigint,
  '... each was sent once: a create Seam answered with a code id is never sent again');
SELECT is((SELECT count(*) FROM m_fake WHERE device_id = :'d2'), 2::bigint, '... and the fake holds two codes for lock 2');
SELECT is((SELECT count(*) FROM m_fake c GROUP BY c.name ORDER BY 1 DESC LIMIT 1), 1::bigint, 'no name twice at the fake');
SELECT ok(faults.worker_pid() = :pid0 AND :crashes = 0, 'the worker never crashed or restarted');
SELECT * FROM finish();
