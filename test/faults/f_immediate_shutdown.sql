-- Scenario f: an immediate shutdown of PostgreSQL in the middle of a batch, then a restart.
-- As in scenario e, the first creates have reached the fake unanswered and the rest of the
-- batch is claimed but not sent when the server stops without a checkpoint (pg_ctl stop -m
-- immediate); after crash recovery the new worker must adopt what exists, send the rest, and
-- bring every request to set. This session reconnects; pgTAP's plan starts after that.
\ir common.psql
SELECT faults.begin('f immediate shutdown');
\set devs `"$FAULTS_CTL" seed 4 f`
\o /dev/null
SELECT oracode_sync_devices();
\o
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset

\! "$FAULTS_CTL" faults '{"rules":[{"path":"/access_codes/create","action":"delay","ms":20000}]}'
SELECT faults.queue('f', :'devs', 6) AS queued \gset
-- wait until the worker is inside its first round of creates (8 at a time), all made at the fake
SELECT faults.wait_for(format($$SELECT count(*) = 24 FROM oracode.access_codes WHERE device_id = ANY (%L) AND status = 'sending'$$, :'devs')) AS all_sending \gset
\set sent_before `"$FAULTS_CTL" wait_forwarded /access_codes/create 8`
SELECT faults.worker_pid() AS pid_before \gset
\set stop_ms `"$FAULTS_CTL" stop_immediate`
\! "$FAULTS_CTL" clear
\! "$FAULTS_CTL" start
\set scenario 'f immediate shutdown'
\ir settle.psql
\set stopped `"$FAULTS_CTL" log_count "$LOGSZ" 'received immediate shutdown request'`
\set recovered `"$FAULTS_CTL" log_count "$LOGSZ" 'database system was interrupted|was not properly shut down'`
SELECT count(*) AS restarted_events FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
 WHERE a.device_id = ANY (:'devs') AND e.detail LIKE '%the worker restarted while it was in flight%' \gset

SELECT plan(12);
SELECT is(:queued, 24, '24 requests queued over 4 locks');
SELECT ok(:'all_sending', 'the worker had claimed the whole batch when the server stopped');
SELECT cmp_ok(:sent_before, '>', 0, format('%s creates had reached the fake unanswered', :sent_before));
SELECT ok(:stopped = 1 AND :recovered > 0, format('the server stopped at once (%s ms) and recovered from its crash at start', :stop_ms));
SELECT isnt(faults.worker_pid(), :pid_before, 'a new worker is running');
SELECT ok(:'settled', 'every request reached set');
SELECT is(duplicates, 0, 'no code was created twice (every name once at the fake)') FROM faults.results WHERE scenario = 'f immediate shutdown';
SELECT is(at_fake, requests, 'the fake holds exactly one code per request, none stray') FROM faults.results WHERE scenario = 'f immediate shutdown';
SELECT ok(mismatched = 0 AND bad_history = 0, 'every row carries its code''s id and PIN, and its whole history')
  FROM faults.results WHERE scenario = 'f immediate shutdown';
SELECT is(adopted, :sent_before, 'every code made before the shutdown was adopted') FROM faults.results WHERE scenario = 'f immediate shutdown';
SELECT is(:restarted_events, 24, 'every row''s history says the worker restarted while its create was in flight');
SELECT is(:creates_forwarded, 24, 'the fake received exactly 24 creates: none twice');
SELECT * FROM finish();
