-- pg_dump / pg_restore keep oracode's data: devices, slots, requests (PINs
-- included), events, webhook events and the id sequences, because the tables
-- and sequences are registered with pg_extension_config_dump. Runs in two
-- databases of its own (not the suite's, whose database the worker serves):
-- fill the source, pg_dump -Fc, pg_restore into a fresh database, compare.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT current_database() AS home_db \gset
\set srcdb oracode_dump_src
\set dstdb oracode_dump_dst
\setenv ORACODE_SRCDB :srcdb
\setenv ORACODE_DSTDB :dstdb
\! dropdb --if-exists "$ORACODE_SRCDB" 2>/dev/null; dropdb --if-exists "$ORACODE_DSTDB" 2>/dev/null; createdb "$ORACODE_SRCDB" && createdb "$ORACODE_DSTDB"

-- the source: requests in every kind of state, with their history ------------------------------
\c :srcdb
SET client_min_messages = warning;
CREATE EXTENSION oracode;
INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes, code_limit)
VALUES ('cccccccc-0000-4000-8000-000000000001', 'Dump Room 1', 'Asia/Tokyo', true, 20),
       ('cccccccc-0000-4000-8000-000000000002', 'Dump Room 2', 'Asia/Tokyo', false, NULL);
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time, is_24_hour, user_level_id)
VALUES ('cccccccc-0000-4000-8000-000000000001', 0, 'Guest 3pm-10am', '15:00[Asia/Tokyo]', '10:00[Asia/Tokyo]', false, 'cccccccc-0000-4000-8000-0000000000a1'),
       ('cccccccc-0000-4000-8000-000000000001', 1, 'Guest 24h', '12:00+09:00', '12:00+09:00', true, NULL),
       ('cccccccc-0000-4000-8000-000000000002', 0, 'Guest 3pm-10am', '15:00[Asia/Tokyo]', '10:00[Asia/Tokyo]', false, NULL);
SELECT count(*) AS n FROM generate_series(1, 8) i,
  LATERAL oracode_create_code('cccccccc-0000-4000-8000-000000000001',
    ((now() AT TIME ZONE 'Asia/Tokyo')::date + 5 + 2 * i + time '15:00') AT TIME ZONE 'Asia/Tokyo',
    ((now() AT TIME ZONE 'Asia/Tokyo')::date + 6 + 2 * i + time '10:00') AT TIME ZONE 'Asia/Tokyo',
    'Guest ' || i, 'DMP-' || i, issue_at => CASE WHEN i = 8 THEN now() + interval '3 days' END) c \gset
-- a changed booking (superseded_by points forward in the same table), a cancellation, codes set
SELECT count(*) AS n FROM oracode_create_code('cccccccc-0000-4000-8000-000000000001',
    ((now() AT TIME ZONE 'Asia/Tokyo')::date + 30 + time '15:00') AT TIME ZONE 'Asia/Tokyo',
    ((now() AT TIME ZONE 'Asia/Tokyo')::date + 32 + time '10:00') AT TIME ZONE 'Asia/Tokyo', 'Guest 1', 'DMP-1') \gset
SELECT oracode_cancel_booking('DMP-2') AS n \gset
UPDATE oracode.access_codes SET status = 'sending', attempts = 1 WHERE booking_ref IN ('DMP-3', 'DMP-4', 'DMP-5');
UPDATE oracode.access_codes SET status = 'unset', seam_access_code_id = 'seam-' || booking_ref WHERE booking_ref IN ('DMP-3', 'DMP-4');
UPDATE oracode.access_codes SET status = 'set', code = '77' || id, warnings = '[{"warning_code":"x"}]' WHERE booking_ref = 'DMP-3';
UPDATE oracode.access_codes SET status = 'failed', errors = '[{"error_code":"bad"}]', last_error = 'HTTP 400' WHERE booking_ref = 'DMP-5';
INSERT INTO oracode.webhook_events (event_id, event_type, payload) VALUES ('evt_dump_1', 'access_code.set_on_device', '{"a":1}');

-- the same digest of the data, run in either database by a second psql
SELECT $fp$
  SELECT md5(string_agg(t, E'\n' ORDER BY t)) || ' ' || count(*) FROM (
    SELECT 'd ' || d::text AS t FROM oracode.devices d
    UNION ALL SELECT 's ' || s::text FROM oracode.time_slots s
    UNION ALL SELECT 'a ' || a::text FROM oracode.access_codes a
    UNION ALL SELECT 'e ' || e::text FROM oracode.access_code_events e
    UNION ALL SELECT 'w ' || w::text FROM oracode.webhook_events w
    UNION ALL SELECT 'q ' || last_value || ' ' || is_called FROM oracode.access_codes_id_seq
    UNION ALL SELECT 'r ' || last_value || ' ' || is_called FROM oracode.access_code_events_id_seq) x
$fp$ AS fp_sql \gset
\setenv ORACODE_FP_SQL :fp_sql
\set src_fp `psql -X -q -At -v ON_ERROR_STOP=1 -d "$ORACODE_SRCDB" -c "$ORACODE_FP_SQL" 2>&1`
SELECT (SELECT count(*) FROM oracode.access_codes) AS src_codes, (SELECT count(*) FROM oracode.access_code_events) AS src_events,
       (SELECT max(id) FROM oracode.access_codes) AS src_max_id \gset

-- dump and restore ---------------------------------------------------------------------------
\set dump_rc `d=$(mktemp -d) && pg_dump -Fc -d "$ORACODE_SRCDB" -f "$d/db.dump" 2>"$d/dump.err" && pg_restore --exit-on-error -d "$ORACODE_DSTDB" "$d/db.dump" 2>"$d/restore.err"; rc=$?; cat "$d/restore.err" >&2; rm -rf "$d"; echo $rc`

\c :dstdb
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
SELECT plan(14);
SELECT is(:'dump_rc'::text, '0', 'pg_dump -Fc and pg_restore --exit-on-error succeed');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'oracode'), '0.4.0', 'the restored database has oracode 0.4.0');
SELECT set_eq($$SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'oracode'$$,
  ARRAY['oracode.devices', 'oracode.time_slots', 'oracode.access_codes', 'oracode.access_code_events', 'oracode.webhook_events',
        'oracode.access_codes_id_seq', 'oracode.access_code_events_id_seq'],
  'tables and identity sequences are registered with pg_extension_config_dump');
\set dst_fp `psql -X -q -At -v ON_ERROR_STOP=1 -d "$ORACODE_DSTDB" -c "$ORACODE_FP_SQL" 2>&1`
SELECT is(:'dst_fp'::text, :'src_fp'::text, 'devices, slots, requests, events, webhook events and sequences are restored as they were');
SELECT is((SELECT count(*) FROM oracode.access_codes), :src_codes::bigint, 'every request is restored');
SELECT is((SELECT count(*) FROM oracode.access_code_events), :src_events::bigint, 'restoring requests adds no events to their history');
SELECT is((SELECT code FROM oracode.access_codes WHERE booking_ref = 'DMP-3'), '77' || (SELECT id FROM oracode.access_codes WHERE booking_ref = 'DMP-3'),
  'the PIN is restored');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE superseded_by IS NOT NULL), 1::bigint, 'the superseded request still points to its successor');
SELECT results_eq($$SELECT set, failed, cancelled, queued FROM oracode.status_counts WHERE device_id = 'cccccccc-0000-4000-8000-000000000001'$$,
  $$VALUES (1::bigint, 1::bigint, 2::bigint, 4::bigint)$$, 'the views read the restored data');
SELECT is((SELECT slot_name FROM oracode_match_slot('cccccccc-0000-4000-8000-000000000001'::uuid,
    ((now() AT TIME ZONE 'Asia/Tokyo')::date + 3 + time '12:20') AT TIME ZONE 'Asia/Tokyo',
    ((now() AT TIME ZONE 'Asia/Tokyo')::date + 4 + time '11:50') AT TIME ZONE 'Asia/Tokyo')),
  'Guest 24h', 'the restored slots match bookings');
-- the restored database goes on where the source stopped
SELECT cmp_ok((SELECT id FROM oracode_create_code('cccccccc-0000-4000-8000-000000000001',
    ((now() AT TIME ZONE 'Asia/Tokyo')::date + 50 + time '15:00') AT TIME ZONE 'Asia/Tokyo',
    ((now() AT TIME ZONE 'Asia/Tokyo')::date + 52 + time '10:00') AT TIME ZONE 'Asia/Tokyo', 'After restore', 'DMP-NEW')),
  '>', :src_max_id::bigint, 'a new request gets an id after the restored ones (sequence restored)');
SELECT results_eq($$SELECT old_status, new_status FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
                    WHERE a.booking_ref = 'DMP-NEW'$$, $$VALUES (NULL::text, 'queued'::text)$$, 'and a new request starts its own history');
SELECT throws_ok($$UPDATE oracode.access_codes SET ends_at = ends_at + interval '1 day' WHERE booking_ref = 'DMP-3'$$, 'OC005', NULL,
  'restored sent codes are still immutable (OC005)');
SELECT is((SELECT id FROM oracode_create_code('cccccccc-0000-4000-8000-000000000001',
    ((now() AT TIME ZONE 'Asia/Tokyo')::date + 13 + time '15:00') AT TIME ZONE 'Asia/Tokyo',
    ((now() AT TIME ZONE 'Asia/Tokyo')::date + 14 + time '10:00') AT TIME ZONE 'Asia/Tokyo', 'Guest 4', 'DMP-4')),
  (SELECT id FROM oracode.access_codes WHERE booking_ref = 'DMP-4'), 'a restored request is still found by its booking (idempotent)');
SELECT * FROM finish();
\c :home_db
\! dropdb --if-exists "$ORACODE_SRCDB"; dropdb --if-exists "$ORACODE_DSTDB"
