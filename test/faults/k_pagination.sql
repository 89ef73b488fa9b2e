-- Scenario k: a device's code list comes in pages. Creates take effect with no answer, so the
-- worker must list each device's codes before it may send again; every device's first listing
-- answers with a first page that holds none of its codes and says more pages follow (Seam's
-- pagination: has_next_page, next_page_cursor). Such a page proves nothing: the worker must
-- read the next page, find the codes and adopt them. Had it trusted the first page, it would
-- have created every lost code a second time (a code cannot be deleted). Status polls answered
-- the same way read the next page too, rather than reading the codes as gone.
\ir common.psql
SELECT faults.begin('k paginated lists');
\set devs `"$FAULTS_CTL" seed 2 k`
\o /dev/null
SELECT oracode_sync_devices();
\o
\set logsz `"$FAULTS_CTL" log_size`
\setenv LOGSZ :logsz
SELECT faults.worker_pid() AS pid0 \gset
SELECT d[1] AS d1, d[2] AS d2 FROM (SELECT :'devs'::uuid[] AS d) x \gset

-- per device: 3 creates take effect unanswered; its first two listings are a first page
-- without its codes; the first two polls of everyone too
SELECT jsonb_build_object('rules', jsonb_build_array(
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d1', 'action', 'drop', 'count', 3),
  jsonb_build_object('path', '/access_codes/create', 'device_id', :'d2', 'action', 'drop', 'count', 3),
  jsonb_build_object('path', '/access_codes/list', 'device_id', :'d1', 'action', 'first_page', 'count', 2),
  jsonb_build_object('path', '/access_codes/list', 'device_id', :'d2', 'action', 'first_page', 'count', 2),
  '{"path":"/access_codes/list","action":"first_page","count":2}'::jsonb))::text AS rules \gset
\setenv RULES :rules
\! "$FAULTS_CTL" faults "$RULES"
SELECT faults.queue('k', :'devs', 4) AS queued \gset
SELECT faults.wait_for(format('SELECT faults.unsettled(%L) = 0', :'devs'), 60) AS settled \gset
\set fake `"$FAULTS_CTL" fake_codes`
\set log `"$FAULTS_CTL" proxy_log /access_codes/create`
\set lists `"$FAULTS_CTL" proxy_log /access_codes/list`
SELECT count(*) AS creates_sent, count(*) FILTER (WHERE upstream_status IS NOT NULL) AS creates_forwarded
  FROM faults.creates(:'log', :'devs') \gset
SELECT count(*) FILTER (WHERE e ->> 'fault' = 'first_page') AS first_pages,
       count(*) FILTER (WHERE (e ->> 'next_page')::boolean AND e ->> 'device_id' IS NULL) AS poll_next_pages
  FROM jsonb_array_elements(:'lists'::jsonb) e \gset
SELECT (faults.finish('k paginated lists', :'devs', :'fake', :creates_sent)).scenario IS NOT NULL AS finished \gset
\set crashes `"$FAULTS_CTL" log_count "$LOGSZ" 'exited with exit code|terminated by signal'`

SELECT plan(9);
SELECT is(:queued, 8, '8 requests queued over 2 locks');
SELECT ok(:'settled', 'every request reached set');
SELECT cmp_ok(:first_pages, '>=', 4, 'listings were answered with a first page that says more follow');
SELECT is(duplicates, 0, 'no code was created twice: a page with more after it proved nothing') FROM faults.results WHERE scenario = 'k paginated lists';
SELECT is(at_fake, requests, 'the fake holds exactly one code per request') FROM faults.results WHERE scenario = 'k paginated lists';
SELECT is(adopted, 6, 'the 6 codes made unanswered were adopted from a later page, not sent again') FROM faults.results WHERE scenario = 'k paginated lists';
SELECT is(:creates_forwarded, 8, 'the fake received exactly 8 creates');
SELECT cmp_ok(:poll_next_pages, '>=', 1, 'a status poll answered with a first page asked for the next one, with the same ids');
SELECT ok(faults.worker_pid() = :pid0 AND :crashes = 0, 'the worker never crashed or restarted');
SELECT * FROM finish();
