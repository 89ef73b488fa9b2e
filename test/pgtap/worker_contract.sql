-- The worker's typed contract with SQL (issue 12, item 2). The worker hands the lifecycle's SQL
-- rows of oracode's composite types and checks each type's columns, by name and type, before it
-- writes one. Here oracode.seam_code is altered as an install script of another version would
-- leave it: the worker stops at the answer it cannot record, naming the type and the column,
-- and writes nothing of it; the request stays 'sending'. Once the type matches again, the
-- restarted worker finds the code Seam made in the lock's list and adopts it: one code at Seam,
-- none sent twice.
-- Needs: FAKE_URL, FAKE_API_KEY and ORACODE_TEST_SERVER_LOG (test/run exports them).
\set ON_ERROR_STOP 1
\getenv fake_url FAKE_URL
\getenv server_log ORACODE_TEST_SERVER_LOG
SET client_min_messages = warning;

\ir helpers.psql

\set lock `curl -sS -X POST -H 'Content-Type: application/json' -d "{\"api_key\":\"$FAKE_API_KEY\",\"name\":\"Contract lock\",\"time_zone\":\"UTC\"}" "$FAKE_URL/_oracode/seed_lock"`
SELECT (:'lock'::jsonb ->> 'device_id')::uuid AS dev \gset
SELECT oracode_sync_devices() >= 1 AS synced \gset
-- the log so far: only what the worker writes from here on counts
SELECT length(pg_read_file(:'server_log')) AS log_from \gset

SELECT plan(7);
SELECT ok(:'synced', 'the lock synced from the fake');

-- the column seam_status under another name, as a mismatched install would have it
ALTER TYPE oracode.seam_code RENAME ATTRIBUTE seam_status TO seam_word;
SELECT c.id AS req FROM oracode_create_code(:'dev', ((now() AT TIME ZONE 'UTC')::date + 10 + time '15:40') AT TIME ZONE 'UTC',
                                          ((now() AT TIME ZONE 'UTC')::date + 12 + time '10:20') AT TIME ZONE 'UTC',
                                          'Contract guest', 'CT-1') c \gset

SELECT ok(pg_temp.wait_for(format($$SELECT position('type oracode.seam_code does not match the oracode library'
                                                    IN substr(pg_read_file(%L), %s)) > 0$$, :'server_log', :log_from + 1), 30),
  'the worker stops at the answer it cannot record, naming the type');
SELECT ok(position('Column 5 is "seam_word" of type text; the library writes "seam_status" there.'
                   IN substr(pg_read_file(:'server_log'), :log_from + 1)) > 0,
  '... and the column, in the DETAIL');
SELECT results_eq(format('SELECT status, seam_access_code_id FROM oracode.access_codes WHERE id = %s', :req),
  $$VALUES ('sending'::text, NULL::text)$$,
  'nothing of that answer was written: the request stays sending, its code not recorded');

ALTER TYPE oracode.seam_code RENAME ATTRIBUTE seam_word TO seam_status;
SELECT ok(pg_temp.wait_for(format($$SELECT status = 'unset' AND seam_access_code_id IS NOT NULL
                                     FROM oracode.access_codes WHERE id = %s$$, :req), 60),
  'once the type matches, the restarted worker settles the request from Seam''s answer');
SELECT matches((SELECT status_detail FROM oracode.access_codes WHERE id = :req), '^adopted ',
  '... adopting the code from the lock''s list, not sending the create again');
\setenv DEV :dev
\set fake_codes `curl -sS "$FAKE_URL/_oracode/access_codes?device_id=$DEV"`
SELECT is(jsonb_array_length(:'fake_codes'::jsonb), 1, 'one code at Seam for the request: none made twice');

SELECT * FROM finish();
