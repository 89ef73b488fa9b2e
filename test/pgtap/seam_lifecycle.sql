-- What real Seam does to a code after it accepted the create (issue 13), end to end: the
-- worker against Seam's fake, whose store the test changes as real Seam would (the project's
-- /_oracode/update_access_code and delete_access_code routes): an access-code error, a code
-- removed before its end (unset, and after it was set), a code set before its PIN is assigned,
-- and a code whose times Seam reports differently from the matched ones.
-- Needs: FAKE_URL and FAKE_API_KEY (test/run), oracode.poll_interval = 1s.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\ir helpers.psql

-- a fake store change: POST body (JSON text) to /_oracode/<route>
CREATE FUNCTION pg_temp.fake_body(seam_id text, fields jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT (jsonb_build_object('access_code_id', seam_id) || fields)::text
$$;

\set lock `curl -sS -X POST -H 'Content-Type: application/json' -d "{\"api_key\":\"$FAKE_API_KEY\",\"name\":\"Lifecycle\",\"time_zone\":\"Europe/Berlin\"}" "$FAKE_URL/_oracode/seed_lock"`
SELECT (:'lock'::jsonb ->> 'device_id')::uuid AS dev \gset
SELECT oracode_sync_devices() >= 1 AS synced \gset

SELECT plan(16);
SELECT ok(:'synced', 'the lock synced from the fake');

CREATE TEMP TABLE stays AS
SELECT ref, (d + time '15:40') AT TIME ZONE 'Europe/Berlin' AS s, (d + 2 + time '10:20') AT TIME ZONE 'Europe/Berlin' AS e
FROM (VALUES ('LC-ERR', 1), ('LC-GONE', 4), ('LC-GONESET', 7), ('LC-LATE', 10), ('LC-TIMES', 13)) v(ref, n),
     LATERAL (SELECT (now() AT TIME ZONE 'Europe/Berlin')::date + 5 + n AS d) x;
SELECT count(*) FROM stays, LATERAL oracode_create_code(:'dev', s, e, 'Guest ' || ref, ref) c;
SELECT ok(pg_temp.wait_for($$SELECT count(*) = 5 FROM oracode.access_codes WHERE booking_ref LIKE 'LC-%' AND status = 'unset'$$),
  'five codes created at Seam, unset');
SELECT json_object_agg(booking_ref, seam_access_code_id) AS ids FROM oracode.access_codes WHERE booking_ref LIKE 'LC-%' \gset

-- item 1: an access-code error on the code fails the request, Seam's error kept
SELECT pg_temp.fake_body(:'ids'::json ->> 'LC-ERR', '{"errors":[{"error_code":"dormakaba_oracode_invalid_time_range","message":"No user level is configured for the requested time range.","is_access_code_error":true,"created_at":"2026-01-01T00:00:00.000Z"}]}') AS body \gset
\setenv BODY :body
\set ignored `curl -sS -X POST -H 'Content-Type: application/json' -d "$BODY" "$FAKE_URL/_oracode/update_access_code"`
SELECT ok(pg_temp.wait_for($$SELECT status = 'failed' FROM oracode.access_codes WHERE booking_ref = 'LC-ERR'$$),
  'an is_access_code_error on the polled code fails the request');
SELECT results_eq($$SELECT errors -> 0 ->> 'error_code', last_error FROM oracode.access_codes WHERE booking_ref = 'LC-ERR'$$,
  $$VALUES ('dormakaba_oracode_invalid_time_range'::text, 'Seam: No user level is configured for the requested time range.'::text)$$,
  '... with Seam''s error in errors and last_error');

-- item 2: a code Seam removes before its end has failed (it had never been set) ...
SELECT :'ids'::json ->> 'LC-GONE' AS gone \gset
\setenv SEAM_ID :gone
\set ignored `curl -sS -X POST -H 'Content-Type: application/json' -d "{\"access_code_id\":\"$SEAM_ID\"}" "$FAKE_URL/_oracode/delete_access_code"`
SELECT ok(pg_temp.wait_for($$SELECT status = 'failed' FROM oracode.access_codes WHERE booking_ref = 'LC-GONE'$$),
  'a code Seam stops listing before its end has failed, not expired');
SELECT results_eq($$SELECT errors -> -1 ->> 'error_code', last_error FROM oracode.access_codes WHERE booking_ref = 'LC-GONE'$$,
  $$VALUES ('oracode_removed_at_seam'::text, 'Seam removed the code before its end; it had never been set on the lock.'::text)$$,
  '... with an error saying it was removed at Seam, never set');
-- ... and one removed after it was set says so
SELECT pg_temp.fake_body(:'ids'::json ->> 'LC-GONESET', '{"status":"set","code":"111222"}') AS body \gset
\setenv BODY :body
\set ignored `curl -sS -X POST -H 'Content-Type: application/json' -d "$BODY" "$FAKE_URL/_oracode/update_access_code"`
SELECT ok(pg_temp.wait_for($$SELECT status = 'set' AND code = '111222' FROM oracode.access_codes WHERE booking_ref = 'LC-GONESET'$$),
  'a code set with its PIN');
SELECT :'ids'::json ->> 'LC-GONESET' AS goneset \gset
\setenv SEAM_ID :goneset
\set ignored `curl -sS -X POST -H 'Content-Type: application/json' -d "{\"access_code_id\":\"$SEAM_ID\"}" "$FAKE_URL/_oracode/delete_access_code"`
-- a set code is polled next at its end: ask for a poll now, as access_code.changed would
UPDATE oracode.access_codes SET next_attempt_at = now() WHERE booking_ref = 'LC-GONESET';
SELECT ok(pg_temp.wait_for($$SELECT status = 'failed' FROM oracode.access_codes WHERE booking_ref = 'LC-GONESET'$$),
  '... then removed at Seam before its end: failed');
SELECT is((SELECT last_error FROM oracode.access_codes WHERE booking_ref = 'LC-GONESET'),
  'Seam removed the code before its end; it had been set on the lock.', '... saying it had been set');

-- item 3: set before its PIN is assigned: polled until the PIN arrives
SELECT pg_temp.fake_body(:'ids'::json ->> 'LC-LATE', '{"status":"set","code":null,"is_waiting_for_code_assignment":true}') AS body \gset
\setenv BODY :body
\set ignored `curl -sS -X POST -H 'Content-Type: application/json' -d "$BODY" "$FAKE_URL/_oracode/update_access_code"`
-- (the fake answered the create with a PIN of its own: a PIN Seam has not assigned yet is not final)
SELECT ok(pg_temp.wait_for($$SELECT status = 'set' AND status_detail = 'set at Seam; waiting for its PIN'
                                    AND next_attempt_at <= now() + interval '2 seconds'
                             FROM oracode.access_codes WHERE booking_ref = 'LC-LATE'$$),
  'set at Seam while waiting for its PIN: set, waiting for its PIN, and polled again within the poll interval');
SELECT pg_temp.fake_body(:'ids'::json ->> 'LC-LATE', '{"code":"271828","is_waiting_for_code_assignment":false}') AS body \gset
\setenv BODY :body
\set ignored `curl -sS -X POST -H 'Content-Type: application/json' -d "$BODY" "$FAKE_URL/_oracode/update_access_code"`
SELECT ok(pg_temp.wait_for($$SELECT code = '271828' FROM oracode.access_codes WHERE booking_ref = 'LC-LATE'$$),
  '... and the PIN that comes late arrives');

-- item 4: Seam's own times are kept; a difference is a warning and an event; reports use Seam's
SELECT pg_temp.fake_body(:'ids'::json ->> 'LC-TIMES', jsonb_build_object(
         'starts_at', to_char((starts_at + interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000Z"'),
         'ends_at', to_char((ends_at - interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000Z"'))) AS body,
       starts_at + interval '1 hour' AS seam_s, ends_at - interval '1 hour' AS seam_e
  FROM oracode.access_codes WHERE booking_ref = 'LC-TIMES' \gset
\setenv BODY :body
\set ignored `curl -sS -X POST -H 'Content-Type: application/json' -d "$BODY" "$FAKE_URL/_oracode/update_access_code"`
SELECT ok(pg_temp.wait_for($$SELECT seam_starts_at IS DISTINCT FROM starts_at FROM oracode.access_codes WHERE booking_ref = 'LC-TIMES'$$),
  'the poll recorded Seam''s times');
SELECT results_eq($$SELECT seam_starts_at, seam_ends_at, warnings -> -1 ->> 'warning_code' FROM oracode.access_codes WHERE booking_ref = 'LC-TIMES'$$,
  format($$VALUES (%L::timestamptz, %L::timestamptz, 'oracode_times_differ'::text)$$, :'seam_s', :'seam_e'),
  'seam_starts_at/seam_ends_at hold Seam''s times, and a warning says they differ from the matched ones');
SELECT is((SELECT count(*) FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
            WHERE a.booking_ref = 'LC-TIMES' AND e.detail LIKE 'Seam''s times differ from the matched ones: %'), 1::bigint,
  '... an event records it once, though the code is polled again and again');
SELECT results_eq($$SELECT starts_at, ends_at FROM oracode.pending WHERE booking_ref = 'LC-TIMES'$$,
  format($$VALUES (%L::timestamptz, %L::timestamptz)$$, :'seam_s', :'seam_e'),
  'oracode.pending shows the times the code is valid at Seam');
-- the booking is cancelled (as the booking trigger resolves a sent code): the code stays valid
-- at the lock until Seam's end, not the matched one
UPDATE oracode.access_codes SET superseded_by = id, status_detail = 'booking cancelled' WHERE booking_ref = 'LC-TIMES';
SELECT is((SELECT valid_until FROM oracode.stale_codes WHERE booking_ref = 'LC-TIMES'), :'seam_e'::timestamptz,
  'oracode.stale_codes says how long the code stays valid by Seam''s end');

SELECT * FROM finish();
