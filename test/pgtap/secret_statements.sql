-- Statements that set a secret, in every spelling the server accepts (issue 11, items 4–5):
-- upper case, quoted names, a comment between name and value, dollar quotes, spaces around
-- the dot, SET, ALTER SYSTEM, ALTER DATABASE/ROLE ... SET, set_config(), dynamic SQL in a
-- DO block, and one that does not parse. Each runs in a session of its own that then stays
-- idle, with log_statement = all, log_min_duration_statement = 0 and the default
-- log_min_error_statement = error. Afterwards no value appears in the server log, and a
-- pg_monitor role sees none in pg_stat_activity, though it sees those sessions.
-- Needs ORACODE_TEST_SERVER_LOG (set by test/run).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT 'sk' || substr(md5(random()::text), 1, 20) AS token \gset
-- the queries below name it in two halves, so that their own log lines do not carry it
SELECT left(:'token', 11) AS tok_a, substr(:'token', 12) AS tok_b \gset
\setenv TOKEN :token
SELECT current_database() AS db \gset
\setenv DB :db
ALTER SYSTEM SET log_statement = 'all';
ALTER SYSTEM SET log_min_duration_statement = 0;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);

-- one session per statement (test/pgtap/secret_probes.sh): run it, then stay idle
\set nprobes `test/pgtap/secret_probes.sh 20`

CREATE FUNCTION pg_temp.probes_idle() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM pg_stat_activity WHERE application_name = 'oc_secret_probe' AND state LIKE 'idle%'
$$;
SET oc.nprobes = :nprobes;
DO $$
BEGIN
  FOR i IN 1..200 LOOP
    EXIT WHEN pg_temp.probes_idle() >= current_setting('oc.nprobes')::int;
    PERFORM pg_sleep(0.1);
    PERFORM pg_stat_clear_snapshot();   -- a transaction sees one snapshot of activity otherwise
  END LOOP;
END $$;

DROP ROLE IF EXISTS oc_secret_monitor;
CREATE ROLE oc_secret_monitor;
GRANT pg_monitor TO oc_secret_monitor;
SET ROLE oc_secret_monitor;
SELECT count(*) AS probes_seen FROM pg_stat_activity WHERE application_name = 'oc_secret_probe' AND state LIKE 'idle%' \gset
-- (idle ones: while a statement is being parsed, before any hook sees it, PostgreSQL shows its
-- raw text as the running query for that moment; README, "Secrets")
SELECT count(*) AS probes_shown FROM pg_stat_activity WHERE application_name = 'oc_secret_probe' AND state LIKE 'idle%'
   AND query LIKE '%' || :'tok_a' || :'tok_b' || '%' \gset
SELECT coalesce(string_agg(query, E'\n'), '') AS shown FROM pg_stat_activity WHERE application_name = 'oc_secret_probe'
   AND state LIKE 'idle%' AND query LIKE '%' || :'tok_a' || :'tok_b' || '%' \gset
SELECT count(*) AS probes_oracode FROM pg_stat_activity WHERE application_name = 'oc_secret_probe' AND query ILIKE '%oracode%' \gset
RESET ROLE;

-- let the sessions end, then put everything back (the probes were never reloaded)
\! sleep 20.5
ALTER SYSTEM RESET oracode.api_key;
ALTER SYSTEM RESET oracode.webhook_secret;
ALTER DATABASE :"db" RESET oracode.webhook_secret;
ALTER ROLE CURRENT_USER RESET oracode.api_key;
ALTER ROLE CURRENT_USER IN DATABASE :"db" RESET oracode.api_key;
ALTER SYSTEM RESET log_statement;
ALTER SYSTEM RESET log_min_duration_statement;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
DROP ROLE oc_secret_monitor;

\set log_token `grep -c -F -e "$TOKEN" "$ORACODE_TEST_SERVER_LOG"`
\set log_lines `grep -F -e "$TOKEN" "$ORACODE_TEST_SERVER_LOG" | head -3`
\set log_masked `grep -c -F -e 'ALTER SYSTEM SET ORACODE.API_KEY * *****' "$ORACODE_TEST_SERVER_LOG"`

BEGIN;
SELECT plan(7);
SELECT is(:'probes_seen'::int, :nprobes, 'pg_monitor sees the ' || :nprobes || ' idle sessions that set a secret');
SELECT is(:'probes_shown'::int, 0, 'but none of their texts shows a value');
SELECT is(:'shown'::text, '', '(the texts that did)');
SELECT cmp_ok(:'probes_oracode'::int, '>=', 12, 'the masked texts still say which setting was set');
SELECT is(:'log_token'::int, 0, 'no value reached the server log, under log_statement = all, durations and errors');
SELECT is(:'log_lines'::text, '', '(the lines that carried one)');
SELECT cmp_ok(:'log_masked'::int, '>=', 1, 'the statement is logged, with its value masked');
SELECT * FROM finish();
ROLLBACK;
