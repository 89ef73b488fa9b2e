-- The launcher and the per-database view (issue 15) with the suite's one database in
-- oracode.database: one launcher connected to no database, one worker for this database;
-- worker_health_all shows it as worker_health does; a worker that ends is started again by the
-- launcher; the list's parser; a database without the extension gets no worker process.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(13);

\ir helpers.psql

SELECT ok(pg_temp.wait_for($$SELECT state = 'running' FROM oracode.worker_health$$), 'the worker runs');
SELECT is((SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oracode launcher' AND datname IS NULL), 1::bigint,
  'one oracode launcher, connected to no database');
SELECT is((SELECT string_agg(datname, ',') FROM pg_stat_activity WHERE backend_type = 'oracode worker'), current_database()::text,
  'one oracode worker, in this database');
SELECT is((SELECT string_agg(a.database || ' ' || a.state || ' ' || (a.pid = h.pid), ',') FROM oracode.worker_health_all a, oracode.worker_health h),
  current_database() || ' running true', 'worker_health_all: one row, this database''s running worker');
SELECT ok(oracode.worker_serves(current_database()) AND NOT oracode.worker_serves('postgres'),
  'worker_serves: this database, not postgres');

-- a worker that ends (here: terminated) is started again by the launcher, 5 s later
SELECT pid AS pid0 FROM oracode.worker_health \gset
SELECT pg_terminate_backend(:pid0);
SELECT ok(pg_temp.wait_for($$SELECT pid IS DISTINCT FROM $$ || :pid0 || $$ AND state = 'running' FROM oracode.worker_health$$, 20),
  'a terminated worker is started again by the launcher');
SELECT is((SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oracode worker'), 1::bigint, 'one worker still');

-- a listed database without the extension: no worker process stays there, the state says why
\! createdb oracode_launcher_noext 2>/dev/null || true
ALTER SYSTEM SET oracode.database = 'oracode_tap, oracode_launcher_noext';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT ok(pg_temp.wait_for($$SELECT state = 'no extension' FROM oracode.worker_health_all WHERE database = 'oracode_launcher_noext'$$, 20),
  'a listed database without the extension: state no extension');
SELECT is((SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oracode worker' AND datname = 'oracode_launcher_noext'), 0::bigint,
  'and no worker process there');
SELECT is((SELECT state FROM oracode.worker_health), 'running', 'this database''s worker runs on');
ALTER SYSTEM RESET oracode.database;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);   -- this session takes in the reload between two statements
SELECT ok(pg_temp.wait_for($$SELECT count(*) = 1 FROM oracode.worker_health_all$$, 10), 'the name removed: one row again');
\! dropdb oracode_launcher_noext

-- the list's syntax (ALTER SYSTEM runs the check; it cannot run in a transaction, so in a psql of its own)
\set bad `psql -X -At -c "ALTER SYSTEM SET oracode.database = 'a,,b'" 2>&1`
SELECT ok(:'bad' LIKE '%invalid value for parameter "oracode.database"%a name is empty%', 'an empty name in oracode.database is refused');
\set good `psql -X -At -c "ALTER SYSTEM SET oracode.database = ' \"we,ird \"\"x\"\"\" , pms '" -c "ALTER SYSTEM RESET oracode.database" 2>&1`
SELECT is(:'good'::text, 'ALTER SYSTEM
ALTER SYSTEM'::text, 'a name in double quotes may hold a comma, a space and a doubled quote');

SELECT * FROM finish();
