-- Scenario g: DROP DATABASE of another database while the worker runs, and a fast shutdown,
-- neither hangs. The worker is held inside its requests (the proxy holds the answers of the
-- first 8 creates for 25 s, within the 30 s request timeout): DROP DATABASE must still finish
-- at once (it waits until every backend, the worker included, has closed its files: a
-- ProcSignalBarrier), and so must pg_ctl stop -m fast (the worker must end on SIGTERM in
-- the middle of a transfer). After the restart every request reaches set, none twice.
\ir common.psql
SELECT faults.begin('g drop database, fast shutdown');
\set devs `"$FAULTS_CTL" seed 2 g`
\o /dev/null
SELECT oracode_sync_devices();
\o
DROP DATABASE IF EXISTS oracode_faults_other;
CREATE DATABASE oracode_faults_other;

\! "$FAULTS_CTL" faults '{"rules":[{"path":"/access_codes/create","action":"delay","ms":25000}]}'
SELECT faults.queue('g', :'devs', 4) AS queued \gset
\set sent_before `"$FAULTS_CTL" wait_forwarded /access_codes/create 8`
SELECT query AS worker_doing FROM pg_stat_activity WHERE backend_type = 'oracode worker' \gset
SELECT clock_timestamp() AS t0 \gset
DROP DATABASE oracode_faults_other;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2) AS drop_s \gset
SELECT query AS worker_doing_after FROM pg_stat_activity WHERE backend_type = 'oracode worker' \gset
\set stop_ms `"$FAULTS_CTL" stop_fast`
\! "$FAULTS_CTL" clear
\! "$FAULTS_CTL" start
\set scenario 'g drop database, fast shutdown'
\ir settle.psql

SELECT plan(11);
SELECT is(:queued, 8, '8 requests queued over 2 locks');
SELECT is(:sent_before, 8, 'all 8 creates reached the fake, their answers held');
SELECT is(:'worker_doing'::text, 'oracode: 8 creates, 0 reconciliations', 'the worker was waiting for Seam when DROP DATABASE began');
SELECT cmp_ok(:drop_s, '<', 5::numeric, format('DROP DATABASE of another database took %s s, not the 25 s the worker''s requests were held', :drop_s));
SELECT is(:'worker_doing_after'::text, 'oracode: 8 creates, 0 reconciliations', 'and it was still waiting for Seam afterwards');
SELECT cmp_ok(:stop_ms, '<', 10000, format('a fast shutdown with the worker mid-request took %s ms', :stop_ms));
SELECT ok(:'settled', 'after the restart every request reached set');
SELECT is(duplicates, 0, 'no code was created twice (every name once at the fake)') FROM faults.results WHERE scenario = 'g drop database, fast shutdown';
SELECT is(at_fake, requests, 'the fake holds exactly one code per request, none stray') FROM faults.results WHERE scenario = 'g drop database, fast shutdown';
SELECT ok(mismatched = 0 AND bad_history = 0 AND adopted = 8, 'all 8 were adopted, each row carries its code and its whole history')
  FROM faults.results WHERE scenario = 'g drop database, fast shutdown';
SELECT is(:creates_forwarded, 8, 'the fake received exactly 8 creates: none twice');
SELECT * FROM finish();
