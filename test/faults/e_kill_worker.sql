-- Scenario e: kill -9 of the worker in the middle of a batch. The proxy forwards the first
-- creates but holds their answers, so when the worker dies those codes exist at the fake
-- and the worker never heard of them; the rest of the batch is claimed ('sending') and not
-- sent. The postmaster restarts everything (this session too: it reconnects, and pgTAP's
-- plan starts after that). The new worker must list the devices, adopt the codes that
-- exist, send the others, and bring every request to set.
\ir common.psql
SELECT faults.begin('e kill -9 worker');
\set devs `"$FAULTS_CTL" seed 4 e`
\o /dev/null
SELECT oracode_sync_devices();
\o
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset

\! "$FAULTS_CTL" faults '{"rules":[{"path":"/access_codes/create","action":"delay","ms":20000}]}'
SELECT faults.queue('e', :'devs', 6) AS queued \gset
-- wait until the worker is inside its first round of creates (8 at a time), all made at the fake
SELECT faults.wait_for(format($$SELECT count(*) = 24 FROM oracode.access_codes WHERE device_id = ANY (%L) AND status = 'sending'$$, :'devs')) AS all_sending \gset
\set sent_before `"$FAULTS_CTL" wait_forwarded /access_codes/create 8`
SELECT faults.worker_pid() AS pid_killed \gset
\setenv PID_KILLED :pid_killed
\! "$FAULTS_CTL" kill_worker "$PID_KILLED"
\! "$FAULTS_CTL" clear
\set scenario 'e kill -9 worker'
\ir settle.psql
\set killed `"$FAULTS_CTL" log_count "$LOGSZ" 'oracode worker. [(]PID [0-9]+[)] was terminated by signal 9'`
SELECT count(*) AS restarted_events FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
 WHERE a.device_id = ANY (:'devs') AND e.detail LIKE '%the worker restarted while it was in flight%' \gset

SELECT plan(12);
SELECT is(:queued, 24, '24 requests queued over 4 locks');
SELECT ok(:'all_sending', 'the worker had claimed the whole batch when it was killed');
SELECT cmp_ok(:sent_before, '>', 0, format('%s creates had reached the fake unanswered', :sent_before));
SELECT is(:killed, 1, 'the server log shows the worker killed by signal 9');
SELECT isnt(faults.worker_pid(), :pid_killed, 'a new worker is running');
SELECT ok(:'settled', 'every request reached set');
SELECT is(duplicates, 0, 'no code was created twice (every name once at the fake)') FROM faults.results WHERE scenario = 'e kill -9 worker';
SELECT is(at_fake, requests, 'the fake holds exactly one code per request, none stray') FROM faults.results WHERE scenario = 'e kill -9 worker';
SELECT ok(mismatched = 0 AND bad_history = 0, 'every row carries its code''s id and PIN, and its whole history')
  FROM faults.results WHERE scenario = 'e kill -9 worker';
SELECT is(adopted, :sent_before, 'every code made before the kill was adopted') FROM faults.results WHERE scenario = 'e kill -9 worker';
SELECT is(:restarted_events, 24, 'every row''s history says the worker restarted while its create was in flight');
SELECT is(:creates_forwarded, 24, 'the fake received exactly 24 creates: none twice');
SELECT * FROM finish();
