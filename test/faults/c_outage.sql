-- Scenario c: a 30-second outage. Seam's fake answers 503 (empty body) to every create and
-- list of the suite's workspace (/_fake/simulate_workspace_outage). The worker keeps every
-- request visible as queued or sending, fails none, creates nothing twice while it retries,
-- and brings every request to set once the outage ends. oracode.worker_health shows the
-- outage while it lasts (README's monitoring probe is not ok) and forgets it at the first
-- successful answer.
\ir common.psql
SELECT faults.begin('c 30 s outage');
-- the README's monitoring probe, as printed there
\set probe `"$FAULTS_CTL" readme_probe`
\set devs `"$FAULTS_CTL" seed 4 c`
\o /dev/null
SELECT oracode_sync_devices();
\o
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset

\! "$FAULTS_CTL" outage '["/access_codes/create","/access_codes/list"]'
SELECT clock_timestamp() AS outage_start \gset
SELECT faults.queue('c', :'devs', 5) AS queued \gset
-- halfway through: nothing made, nothing failed, everything still being worked on
SELECT pg_sleep(15);
\set fake_mid `"$FAULTS_CTL" fake_codes`
SELECT count(*) FILTER (WHERE status IN ('queued', 'sending')) AS mid_waiting,
       count(*) FILTER (WHERE status = 'failed') AS mid_failed,
       count(*) FILTER (WHERE last_error LIKE '%HTTP 503%') AS mid_503
  FROM oracode.access_codes WHERE device_id = ANY (:'devs') \gset
SELECT count(*) AS mid_at_fake FROM jsonb_array_elements(:'fake_mid'::jsonb) c
 WHERE c ->> 'device_id' = ANY (:'devs'::text[]) \gset
SELECT last_error AS mid_health_error, oldest_in_flight_age > interval '0' AS mid_in_flight_aged FROM oracode.worker_health \gset
SELECT ok AS mid_probe_ok FROM (:probe) p \gset
SELECT pg_sleep(greatest(0, 30 - extract(epoch FROM clock_timestamp() - :'outage_start'::timestamptz)));
\! "$FAULTS_CTL" end_outage
SELECT clock_timestamp() AS outage_end \gset
SELECT faults.wait_for(format('SELECT faults.unsettled(%L) = 0', :'devs'), 60) AS settled \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'outage_end'::timestamptz))::int AS recovery_s \gset
SELECT last_error IS NULL AS after_no_error, last_success_at > :'outage_end'::timestamptz AS after_success,
       oldest_in_flight_age IS NULL AS after_nothing_in_flight FROM oracode.worker_health \gset
SELECT ok AS after_probe_ok FROM (:probe) p \gset
\set fake `"$FAULTS_CTL" fake_codes`
\set log `"$FAULTS_CTL" proxy_log /access_codes/create`
SELECT count(*) AS creates_sent, count(*) FILTER (WHERE upstream_status = 200) AS creates_made
  FROM faults.creates(:'log', :'devs') \gset
SELECT (faults.finish('c 30 s outage', :'devs', :'fake', :creates_sent)).scenario IS NOT NULL AS finished \gset
\set crashes `"$FAULTS_CTL" log_count "$LOGSZ" 'exited with exit code|terminated by signal'`

SELECT plan(16);
SELECT is(:queued, 20, '20 requests queued over 4 locks');
SELECT is(:mid_waiting, 20, 'during the outage every request is visibly queued or sending');
SELECT is(:mid_failed, 0, 'no request failed because of the outage');
SELECT is(:mid_503, 20, 'every row''s last_error shows the 503');
SELECT is(:mid_at_fake, 0, 'nothing was created during the outage');
SELECT ok(:'settled', 'after the outage every request reached set');
SELECT cmp_ok(:recovery_s, '<=', 15, 'within 15 s of the outage''s end (retry_max_delay is 3 s)');
SELECT is(duplicates, 0, 'no code was created twice (every name once at the fake)') FROM faults.results WHERE scenario = 'c 30 s outage';
SELECT is(at_fake, requests, 'the fake holds exactly one code per request, none stray') FROM faults.results WHERE scenario = 'c 30 s outage';
SELECT ok(mismatched = 0 AND bad_history = 0, 'every row carries its code''s id and PIN, and its whole history')
  FROM faults.results WHERE scenario = 'c 30 s outage';
SELECT ok(:creates_sent > :creates_made AND :creates_made = 20,
  format('the worker kept retrying (%s creates sent) and 20 took effect', :creates_sent));
SELECT alike(:'mid_health_error'::text, 'Seam answered HTTP 503 to /access_codes/%',
  'during the outage worker_health.last_error shows the 503 (not only each row)');
SELECT ok(:'mid_in_flight_aged' AND NOT :'mid_probe_ok', '... oldest_in_flight_age grows, and the README''s probe is not ok');
SELECT ok(:'after_no_error' AND :'after_success', 'after it, the first 2xx clears last_error and sets last_success_at');
SELECT ok(:'after_nothing_in_flight' AND :'after_probe_ok', '... nothing is left in flight and the probe is ok again');
SELECT ok(faults.worker_pid() = :pid0 AND :crashes = 0, 'the worker never crashed or restarted');
SELECT * FROM finish();
