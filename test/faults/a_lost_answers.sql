-- Scenario a: answers lost after the create reached Seam. The proxy forwards some creates and
-- then drops the connection, resets it, or answers 500; it resets or answers 503 to others
-- before forwarding them. Polls and reconciliations lose answers too. The worker must adopt
-- every code an unanswered create made (listing the device first), resend only those that
-- never arrived, and bring every request to 'set'.
\ir common.psql
SELECT faults.begin('a lost answers');
\set devs `"$FAULTS_CTL" seed 4 a`
\o /dev/null
SELECT oracode_sync_devices();
\o
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset

-- 20 creates: the first 8 pass, so the faults hit kept-alive connections too;
-- 8 take effect with no answer, 4 are refused before they reach the fake
\! "$FAULTS_CTL" faults '{"rules":[{"path":"/access_codes/create","action":"pass","count":8},{"path":"/access_codes/create","action":"drop","count":4},{"path":"/access_codes/create","action":"reset","count":2},{"path":"/access_codes/create","action":"reset","forward":true,"count":2},{"path":"/access_codes/create","action":"status","status":500,"forward":true,"count":2},{"path":"/access_codes/create","action":"status","status":503,"body":"","count":2},{"path":"/access_codes/list","action":"drop","count":2},{"path":"/access_codes/list","action":"reset","count":1}]}'
SELECT faults.queue('a', :'devs', 5) AS queued \gset
SELECT faults.wait_for(format('SELECT faults.unsettled(%L) = 0', :'devs'), 60) AS settled \gset
\set fake `"$FAULTS_CTL" fake_codes`
\set log `"$FAULTS_CTL" proxy_log /access_codes/create`
SELECT count(*) AS creates_sent, count(*) FILTER (WHERE upstream_status IS NOT NULL) AS creates_forwarded,
       count(*) FILTER (WHERE fault IN ('drop', 'reset', 'status') AND upstream_status IS NOT NULL) AS took_effect_unanswered
  FROM faults.creates(:'log', :'devs') \gset
SELECT (faults.finish('a lost answers', :'devs', :'fake', :creates_sent)).scenario IS NOT NULL AS finished \gset
\set crashes `"$FAULTS_CTL" log_count "$LOGSZ" 'exited with exit code|terminated by signal'`

SELECT plan(12);
SELECT is(:queued, 20, '20 requests queued over 4 locks');
SELECT ok(:'settled', 'every request reached set');
SELECT is(duplicates, 0, 'no code was created twice (every name once at the fake)') FROM faults.results WHERE scenario = 'a lost answers';
SELECT is(strays, 0, 'the fake holds no code under a name that is not ours') FROM faults.results WHERE scenario = 'a lost answers';
SELECT is(at_fake, requests, 'the fake holds exactly one code per request') FROM faults.results WHERE scenario = 'a lost answers';
SELECT is(mismatched, 0, 'every row carries the Seam id and PIN of its code at the fake') FROM faults.results WHERE scenario = 'a lost answers';
SELECT is(bad_history, 0, 'every row''s events chain from queued through sending to set') FROM faults.results WHERE scenario = 'a lost answers';
SELECT is(:took_effect_unanswered, 8, '8 creates took effect with no answer (drop, reset after forwarding, 500)');
SELECT is(adopted, 8, 'each of those 8 was adopted after listing the device, not sent again') FROM faults.results WHERE scenario = 'a lost answers';
SELECT is(:creates_forwarded, 20, 'the fake received exactly 20 creates: none twice');
SELECT is(:creates_sent, 24, 'the 4 creates refused before the fake (reset, 503) were sent again');
SELECT ok(faults.worker_pid() = :pid0 AND :crashes = 0, 'the worker never crashed or restarted');
SELECT * FROM finish();
