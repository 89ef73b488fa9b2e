-- Scenario d: a burst of 429s, and the per-device rate. oracode.create_rate_limit is 5 per
-- minute. Lock A gets 8 requests and no 429 (the rate alone holds back 3 for a minute); lock
-- B gets 3 requests and its first 2 creates are answered 429 with Retry-After: 6 (the rate
-- leaves room, so only Retry-After holds them back); lock C gets 8 requests and both. Polls
-- get 429s too. At the proxy: no 6 creates for one lock within a minute (less 1 s for the
-- spread of one batch's sends), and nothing for a lock before its Retry-After ran out, not
-- even the creates of the same turn that had not gone out yet when the 429 came.
\ir common.psql
SELECT faults.begin('d 429 and rate');
\set devs `"$FAULTS_CTL" seed 3 d`
\o /dev/null
SELECT oracode_sync_devices();
ALTER SYSTEM SET oracode.create_rate_limit = 5;
-- two creates at a time, so a lock's creates of one turn go out in several rounds
ALTER SYSTEM SET oracode.max_connections = 2;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\o
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset
SELECT d[1] AS dev_a, d[2] AS dev_b, d[3] AS dev_c FROM (SELECT :'devs'::uuid[] AS d) x \gset

SELECT jsonb_build_object('rules', jsonb_build_array(
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'dev_b', 'action', 'status', 'status', 429, 'retry_after', 6, 'count', 2),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'dev_c', 'action', 'status', 'status', 429, 'retry_after', 6, 'count', 2),
  jsonb_build_object('path', '/access_codes/list', 'action', 'status', 'status', 429, 'retry_after', 2, 'count', 3)))::text AS rules \gset
\setenv RULES :rules
\! "$FAULTS_CTL" faults "$RULES"
SELECT faults.queue('dA', ARRAY[:'dev_a']::uuid[], 8) + faults.queue('dB', ARRAY[:'dev_b']::uuid[], 3)
     + faults.queue('dC', ARRAY[:'dev_c']::uuid[], 8) AS queued \gset
-- while the rate holds lock A's last 3 (and C's) back, the worker must sleep until they may
-- go, not wake every few milliseconds: count the database's commits over 5 s (a worker turn
-- commits 3 or 4 transactions; polls of the set codes come once a second)
SELECT faults.wait_for(format($$SELECT count(*) = 3 FROM oracode.access_codes WHERE device_id = %L AND status = 'set'$$, :'dev_b'), 30) AS b_done \gset
SELECT xact_commit AS commits0 FROM pg_stat_database WHERE datname = current_database() \gset
SELECT pg_sleep(5);
SELECT pg_stat_clear_snapshot();
SELECT xact_commit - :commits0 AS idle_commits,
       (SELECT count(*) FROM oracode.access_codes WHERE device_id = :'dev_a' AND status = 'queued') AS a_held
  FROM pg_stat_database WHERE datname = current_database() \gset
SELECT faults.wait_for(format('SELECT faults.unsettled(%L) = 0', :'devs'), 120) AS settled \gset
\set fake `"$FAULTS_CTL" fake_codes`
\set log `"$FAULTS_CTL" proxy_log /access_codes/create`
\set lists `"$FAULTS_CTL" proxy_log /access_codes/list`
SELECT count(*) AS creates_sent, count(*) FILTER (WHERE status = '429') AS got_429
  FROM faults.creates(:'log', :'devs') \gset
SELECT (faults.finish('d 429 and rate', :'devs', :'fake', :creates_sent)).scenario IS NOT NULL AS finished \gset
\set crashes `"$FAULTS_CTL" log_count "$LOGSZ" 'exited with exit code|terminated by signal'`

-- the most creates one lock saw within 59 s, per lock
CREATE TEMP TABLE creates AS SELECT * FROM faults.creates(:'log', :'devs');
SELECT max(n) AS max_per_minute FROM (
  SELECT (SELECT count(*) FROM creates c2 WHERE c2.device_id = c1.device_id
            AND c2.t >= c1.t AND c2.t < c1.t + interval '59 s') AS n FROM creates c1) x \gset
-- how long after each 429 the next create to that lock came (must be >= 6 s); creates that
-- were already on the wire with it (sent in the same round, arriving within 0.5 s) do not count
SELECT min(extract(epoch FROM (SELECT min(c2.t) FROM creates c2 WHERE c2.device_id = c1.device_id
                                 AND c2.t > c1.t_done + interval '0.5 s') - c1.t_done)) AS min_wait_after_429
  FROM creates c1 WHERE c1.status = '429' \gset
SELECT extract(epoch FROM max(t) - min(t)) AS span_a FROM creates WHERE device_id = :'dev_a' \gset
SELECT count(*) FILTER (WHERE e ->> 'status' = '429') AS lists_429 FROM jsonb_array_elements(:'lists'::jsonb) e \gset
SELECT count(*) AS retry_events FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
 WHERE a.device_id = ANY (:'devs') AND e.new_status = 'queued' AND e.detail LIKE 'not created (HTTP 429 too_many_requests%will retry' \gset

SELECT count(*) AS held_events FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
 WHERE a.device_id = ANY (:'devs') AND e.new_status = 'queued'
   AND e.detail LIKE 'not created (not sent: Seam answered 429 to another create for this device (Retry-After 6 s))%' \gset

SELECT plan(15);
SELECT is(:queued, 19, '19 requests queued over 3 locks');
SELECT ok(:'settled', 'every request reached set');
SELECT is(duplicates, 0, 'no code was created twice (every name once at the fake)') FROM faults.results WHERE scenario = 'd 429 and rate';
SELECT is(at_fake, requests, 'the fake holds exactly one code per request, none stray') FROM faults.results WHERE scenario = 'd 429 and rate';
SELECT ok(mismatched = 0 AND bad_history = 0, 'every row carries its code''s id and PIN, and its whole history')
  FROM faults.results WHERE scenario = 'd 429 and rate';
SELECT is(:got_429, 4, 'four creates were answered 429');
SELECT is(:retry_events, 4, 'each went back to queued, its history saying why');
SELECT cmp_ok(:held_events, '>', 0, 'creates of the same turn for a lock that got a 429 were held back unsent');
-- (less 50 ms: the proxy stamps t_done just after handing the 429 to its socket, which can be a
-- millisecond after the worker read the answer and started the 6 s; a create that ignored
-- Retry-After would come seconds earlier)
SELECT cmp_ok(:min_wait_after_429::numeric, '>=', 5.95::numeric, 'no create reached a lock before its Retry-After (6 s) ran out');
SELECT cmp_ok(:max_per_minute::int, '<=', 5, 'no lock saw more than 5 creates within a minute');
SELECT ok(:a_held = 3 AND :idle_commits < 60,
  format('while the rate held 3 requests back the worker slept: %s commits in 5 s', :idle_commits));
SELECT cmp_ok(:span_a::numeric, '>=', 59::numeric, 'the rate held lock A''s last 3 requests back for a minute');
SELECT is(:creates_sent, 23, '19 creates and the 4 the 429s sent back, nothing more');
SELECT is(:lists_429, 3, 'polls were answered 429 three times, and polling carried on');
SELECT ok(faults.worker_pid() = :pid0 AND :crashes = 0, 'the worker never crashed or restarted');
SELECT * FROM finish();
