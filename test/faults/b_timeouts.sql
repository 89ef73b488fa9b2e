-- Scenario b: timeouts. oracode.request_timeout drops to 1.5 s; the proxy forwards some
-- creates at once but holds their answers for 3 s, so the worker gives up on a create that
-- did happen. Some polls and reconciliation lists time out too. Every unanswered create must
-- be adopted, none sent twice.
\ir common.psql
SELECT faults.begin('b timeouts');
\set devs `"$FAULTS_CTL" seed 4 b`
\o /dev/null
SELECT oracode_sync_devices();
ALTER SYSTEM SET oracode.request_timeout = '1500ms';
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\o
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset

-- of 20 creates, 3 pass, then 6 are answered only after the worker's timeout (mixed with
-- passes, so fresh and kept-alive connections both time out); lists time out too
\! "$FAULTS_CTL" faults '{"rules":[{"path":"/access_codes/create","action":"pass","count":3},{"path":"/access_codes/create","action":"delay","ms":3000,"count":3},{"path":"/access_codes/create","action":"pass","count":5},{"path":"/access_codes/create","action":"delay","ms":3000,"count":3},{"path":"/access_codes/list","action":"delay","ms":3000,"count":3}]}'
SELECT faults.queue('b', :'devs', 5) AS queued \gset
SELECT faults.wait_for(format('SELECT faults.unsettled(%L) = 0', :'devs'), 60) AS settled \gset
\set fake `"$FAULTS_CTL" fake_codes`
\set log `"$FAULTS_CTL" proxy_log /access_codes/create`
\set lists `"$FAULTS_CTL" proxy_log /access_codes/list`
SELECT count(*) AS creates_sent, count(*) FILTER (WHERE upstream_status IS NOT NULL) AS creates_forwarded,
       count(*) FILTER (WHERE fault = 'delay' AND status = 'client_gone') AS timed_out
  FROM faults.creates(:'log', :'devs') \gset
SELECT count(*) FILTER (WHERE e ->> 'fault' = 'delay' AND e ->> 'status' = 'client_gone') AS lists_timed_out
  FROM jsonb_array_elements(:'lists'::jsonb) e \gset
SELECT (faults.finish('b timeouts', :'devs', :'fake', :creates_sent)).scenario IS NOT NULL AS finished \gset
\set crashes `"$FAULTS_CTL" log_count "$LOGSZ" 'exited with exit code|terminated by signal'`
SELECT count(*) AS timeout_events FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
 WHERE a.device_id = ANY (:'devs') AND e.detail LIKE 'adopted % after no answer to the create: timeout:%' \gset

SELECT plan(12);
SELECT is(:queued, 20, '20 requests queued over 4 locks');
SELECT ok(:'settled', 'every request reached set');
SELECT is(duplicates, 0, 'no code was created twice (every name once at the fake)') FROM faults.results WHERE scenario = 'b timeouts';
SELECT is(strays, 0, 'the fake holds no code under a name that is not ours') FROM faults.results WHERE scenario = 'b timeouts';
SELECT is(at_fake, requests, 'the fake holds exactly one code per request') FROM faults.results WHERE scenario = 'b timeouts';
SELECT is(mismatched, 0, 'every row carries the Seam id and PIN of its code at the fake') FROM faults.results WHERE scenario = 'b timeouts';
SELECT is(bad_history, 0, 'every row''s events chain from queued through sending to set') FROM faults.results WHERE scenario = 'b timeouts';
SELECT is(:timed_out, 6, 'the worker gave up on 6 creates before their answers came');
SELECT is(adopted, 6, 'each of them was adopted after listing the device') FROM faults.results WHERE scenario = 'b timeouts';
SELECT is(:timeout_events, 6, 'their history says the create timed out and its code was adopted');
SELECT is(:creates_forwarded, 20, 'the fake received exactly 20 creates: none twice');
SELECT ok(faults.worker_pid() = :pid0 AND :crashes = 0 AND :lists_timed_out > 0,
  'lists timed out too, and the worker never crashed or restarted');
SELECT * FROM finish();
