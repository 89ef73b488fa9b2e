-- Scenario l: Seam's create limit as Seam counts it, at full speed across locks. A chain's
-- backfill: 20 locks × 15 requests, queued lock by lock, oracode.create_rate_limit 10, every
-- answer held 150 ms by the proxy (a round trip to Seam). At the proxy, which stands where
-- Seam is: no lock sees 11 creates within 60 s (the worker counts each create from the moment
-- it left, over the minute plus oracode.create_rate_window()'s margin), while at least 190 of
-- the 300 creates arrive in the first 60 s (10 per lock, the most the limit allows, is 200).
-- Besides, two 429s and their scope: lock 21's first create is answered 429 without
-- Retry-After, which holds lock 21 (only it) for a rate window; the first code list (a poll)
-- is answered 429 with Retry-After 4, a workspace's 429, which holds every request for 4 s.
\ir common.psql
SELECT faults.begin('l rate window');
\set devs `"$FAULTS_CTL" seed 21 l`
\o /dev/null
SELECT oracode_sync_devices();
ALTER SYSTEM SET oracode.create_rate_limit = 10;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\o
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset
SELECT d[21] AS dev_x, d[1:20] AS main FROM (SELECT :'devs'::uuid[] AS d) x \gset

SELECT jsonb_build_object('rules', jsonb_build_array(
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'dev_x', 'action', 'status', 'status', 429, 'count', 1),
  jsonb_build_object('path', '/access_codes/list', 'action', 'status', 'status', 429, 'retry_after', 4, 'count', 1),
  jsonb_build_object('action', 'delay', 'ms', 150)))::text AS rules \gset
\setenv RULES :rules
\! "$FAULTS_CTL" faults "$RULES"
SELECT faults.queue('l', :'main', 15) + faults.queue('lx', ARRAY[:'dev_x']::uuid[], 3) AS queued \gset
SELECT faults.wait_for(format('SELECT faults.unsettled(%L) = 0', :'devs'), 150) AS settled \gset
\set fake `"$FAULTS_CTL" fake_codes`
\set log `"$FAULTS_CTL" proxy_log /access_codes/create`
\set lists `"$FAULTS_CTL" proxy_log /access_codes/list`
CREATE TEMP TABLE creates AS SELECT * FROM faults.creates(:'log', :'devs');
SELECT count(*) AS creates_sent FROM creates \gset
SELECT (faults.finish('l rate window', :'devs', :'fake', :creates_sent)).scenario IS NOT NULL AS finished \gset
\set crashes `"$FAULTS_CTL" log_count "$LOGSZ" 'exited with exit code|terminated by signal'`

-- per lock, how long after each create its 10th next one arrived (Seam allows 10 a minute)
SELECT coalesce(round(min(gap), 3), 0) AS min_gap, count(DISTINCT device_id) AS locks_over_10 FROM (
  SELECT device_id, extract(epoch FROM lead(t, 10) OVER (PARTITION BY device_id ORDER BY t, seq) - t) AS gap
  FROM creates) g WHERE gap IS NOT NULL \gset
SELECT count(*) FILTER (WHERE t < t0 + interval '60 s') AS first_minute, count(*) AS main_creates
  FROM creates, (SELECT min(t) AS t0 FROM creates WHERE device_id = ANY (:'main')) f
 WHERE device_id = ANY (:'main') \gset
-- lock 21: its 429, the next create it got after it (creates already on the wire with it,
-- arriving within 0.5 s, do not count), and the other locks' creates in between
SELECT coalesce(min(t_done), 'infinity') AS x_429_at FROM creates WHERE device_id = :'dev_x' AND status = '429' \gset
SELECT coalesce(round(extract(epoch FROM min(t) - :'x_429_at'::timestamptz), 3), 0) AS x_wait,
       (SELECT count(*) FROM creates c WHERE c.device_id <> :'dev_x' AND c.t > :'x_429_at'::timestamptz
           AND c.t < min(x.t)) AS others_meanwhile
  FROM creates x WHERE x.device_id = :'dev_x' AND x.t > :'x_429_at'::timestamptz + interval '0.5 s' \gset
-- the workspace's 429: the next request of any kind that reached the proxy after it
CREATE TEMP TABLE lists AS
  SELECT to_timestamp((e ->> 't')::float8 / 1000) AS t, to_timestamp((e ->> 't_done')::float8 / 1000) AS t_done,
         e ->> 'status' AS status
  FROM jsonb_array_elements(:'lists'::jsonb) e;
SELECT coalesce(min(t_done), 'infinity') AS ws_429_at FROM lists WHERE status = '429' \gset
SELECT coalesce(round(extract(epoch FROM min(t) - :'ws_429_at'::timestamptz), 3), 0) AS ws_wait
  FROM (SELECT t FROM lists UNION ALL SELECT t FROM creates) r
 WHERE r.t > :'ws_429_at'::timestamptz + interval '0.5 s' \gset
\echo 'l rate window: creates of the 20 locks in the first 60 s:' :first_minute 'of' :main_creates '; shortest time from a lock''s create to its 10th next:' :min_gap 's'

SELECT plan(12);
SELECT is(:queued, 303, '303 requests queued over 21 locks');
SELECT ok(:'settled', 'every request reached set');
SELECT is(duplicates, 0, 'no code was created twice (every name once at the fake)') FROM faults.results WHERE scenario = 'l rate window';
SELECT is(at_fake, requests, 'the fake holds exactly one code per request, none stray') FROM faults.results WHERE scenario = 'l rate window';
SELECT ok(mismatched = 0 AND bad_history = 0, 'every row carries its code''s id and PIN, and its whole history')
  FROM faults.results WHERE scenario = 'l rate window';
SELECT is(:main_creates::int, 300, 'the 20 locks got 300 creates: none sent twice, none answered 429');
SELECT cmp_ok(:min_gap::numeric, '>=', 60::numeric,
  format('no lock saw 11 creates within 60 s: a create''s 10th next came %s s after it at the soonest', :min_gap));
SELECT cmp_ok(:first_minute::int, '>=', 190,
  format('%s of the 300 creates reached Seam in the first 60 s (the limit allows 200)', :first_minute));
SELECT cmp_ok(:x_wait::numeric, '>=', 60::numeric,
  format('a 429 without Retry-After held its lock for a rate window (next create %s s later)', :x_wait));
SELECT cmp_ok(:others_meanwhile::int, '>', 0, 'the other locks'' creates went on meanwhile');
SELECT cmp_ok(:ws_wait::numeric, '>=', 3.95::numeric,
  format('a 429 to a code list (the workspace''s) held every request for its Retry-After, 4 s (next after %s s)', :ws_wait));
SELECT ok(faults.worker_pid() = :pid0 AND :crashes = 0, 'the worker never crashed or restarted');
SELECT * FROM finish();
