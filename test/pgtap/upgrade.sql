-- Upgrade 0.1.0 → 0.4.0 with data in place: install the old version in a
-- database of its own (not the suite's, whose database the worker serves),
-- create devices, slots, requests and their events, ALTER EXTENSION ...
-- UPDATE, and check that the data is untouched, the new objects work on it,
-- and the upgraded extension is object for object the one a fresh
-- CREATE EXTENSION builds (in a third database, made at the same time).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT current_database() AS home_db \gset
\set updb oracode_upgrade_test
\setenv ORACODE_UPDB :updb
\setenv ORACODE_FRESHDB oracode_upgrade_fresh
\! dropdb --if-exists "$ORACODE_UPDB" 2>/dev/null; dropdb --if-exists "$ORACODE_FRESHDB" 2>/dev/null; createdb "$ORACODE_UPDB" && createdb "$ORACODE_FRESHDB" && psql -X -q -d "$ORACODE_FRESHDB" -c 'CREATE EXTENSION oracode'
\c :updb
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION oracode VERSION '0.1.0';

SELECT plan(25);
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'oracode'), '0.1.0', 'version 0.1.0 installed');
SELECT hasnt_view('oracode', 'worker_health', '0.1.0 has no health view');
SELECT hasnt_function('public', 'oracode_explain_match', ARRAY['uuid', 'timestamp with time zone', 'timestamp with time zone', 'text'],
  '0.1.0 has no oracode_explain_match(device_id, ...)');

-- data made by 0.1.0 ---------------------------------------------------------------------------
INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes, code_limit)
VALUES ('bbbbbbbb-0000-4000-8000-000000000001', 'Upgrade Room 1', 'America/New_York', true, 10),
       ('bbbbbbbb-0000-4000-8000-000000000002', 'Upgrade Room 2', 'America/New_York', true, NULL);
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time, is_24_hour)
VALUES ('bbbbbbbb-0000-4000-8000-000000000001', 0, 'Guest 4pm-11am', '16:00[America/New_York]', '11:00[America/New_York]', false),
       ('bbbbbbbb-0000-4000-8000-000000000001', 1, 'Guest 24h', '12:00[America/New_York]', '12:00[America/New_York]', true),
       ('bbbbbbbb-0000-4000-8000-000000000002', 0, 'Guest 4pm-11am', '16:00[America/New_York]', '11:00[America/New_York]', false);
CREATE TABLE bk AS
SELECT i, dev, ((now() AT TIME ZONE 'America/New_York')::date + 10 + 3 * i + time '16:10') AT TIME ZONE 'America/New_York' AS s,
       ((now() AT TIME ZONE 'America/New_York')::date + 12 + 3 * i + time '10:50') AT TIME ZONE 'America/New_York' AS e
FROM generate_series(1, 6) i,
     LATERAL (SELECT CASE WHEN i <= 4 THEN 'bbbbbbbb-0000-4000-8000-000000000001'::uuid
                          ELSE 'bbbbbbbb-0000-4000-8000-000000000002'::uuid END AS dev) d;
SELECT count(*) FROM bk, LATERAL oracode_create_code(dev, s, e, 'Guest ' || i, 'UP-' || i) c;
-- a changed booking supersedes its first request; one is cancelled; two go through to set
SELECT count(*) FROM bk, LATERAL oracode_create_code(dev, s + interval '1 day', e + interval '1 day', 'Guest 1', 'UP-1') c WHERE i = 1;
SELECT oracode_cancel_booking('UP-3');
UPDATE oracode.access_codes SET status = 'sending', attempts = 1 WHERE booking_ref IN ('UP-2', 'UP-5');
UPDATE oracode.access_codes SET status = 'unset', seam_access_code_id = 'seam-' || booking_ref WHERE booking_ref IN ('UP-2', 'UP-5');
UPDATE oracode.access_codes SET status = 'set', code = '90' || id WHERE booking_ref IN ('UP-2', 'UP-5');

-- everything 0.1.0 stored, as text, to compare after the upgrade
CREATE FUNCTION data_fingerprint() RETURNS text LANGUAGE sql AS $$
  SELECT md5(string_agg(t, E'\n' ORDER BY t)) FROM (
    -- every column the rows had before the upgrade (0.4.0 adds some, NULL or default on old rows)
    SELECT 'd ' || (to_jsonb(d) - '{code_name_max_length,code_names_unique}'::text[])::text AS t FROM oracode.devices d
    UNION ALL SELECT 's ' || s::text FROM oracode.time_slots s
    UNION ALL SELECT 'a ' || (to_jsonb(a) - '{seam_starts_at,seam_ends_at}'::text[])::text FROM oracode.access_codes a
    UNION ALL SELECT 'e ' || e::text FROM oracode.access_code_events e) x
$$;
SELECT data_fingerprint() AS before_fp, (SELECT count(*) FROM oracode.access_code_events) AS before_events,
       (SELECT last_value FROM oracode.access_codes_id_seq) AS before_seq \gset
SELECT cmp_ok(:before_events, '>=', 13, 'requests and their events exist before the upgrade');

-- the upgrade ------------------------------------------------------------------------------------
SELECT lives_ok('ALTER EXTENSION oracode UPDATE', 'ALTER EXTENSION oracode UPDATE runs');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'oracode'), '0.4.0', 'now at 0.4.0 (0.1.0 → 0.2.0 → 0.3.0 → 0.4.0)');
SELECT is(data_fingerprint(), :'before_fp', 'devices, slots, requests and events are untouched');
SELECT is((SELECT last_value FROM oracode.access_codes_id_seq), :before_seq::bigint, 'the request id sequence is untouched');

-- the new objects, on the old data
SELECT has_view('oracode', v, format('view oracode.%s', v))
FROM unnest(ARRAY['status_counts', 'capacity', 'pending', 'set_times', 'time_to_set', 'worker_health']) v;
SELECT has_function('public', 'oracode_explain_match', ARRAY['uuid', 'timestamp with time zone', 'timestamp with time zone', 'text'],
  'oracode_explain_match(device_id, ...)');
SELECT results_eq($$SELECT queued, set, cancelled, total FROM oracode.status_counts WHERE device_id = 'bbbbbbbb-0000-4000-8000-000000000001'$$,
  $$VALUES (2::bigint, 1::bigint, 2::bigint, 5::bigint)$$, 'status_counts counts the requests made before the upgrade');
SELECT is((SELECT codes_set FROM oracode.time_to_set WHERE device_id = 'bbbbbbbb-0000-4000-8000-000000000002'), 1::bigint,
  'time_to_set reads the events recorded before the upgrade');
SELECT is((SELECT live_codes FROM oracode.capacity WHERE device_id = 'bbbbbbbb-0000-4000-8000-000000000001'), 3::bigint,
  'capacity counts the live codes made before the upgrade');
SELECT is((SELECT state FROM oracode.worker_health), 'other database',
  'worker_health: the worker serves another database (oracode.database), not this one');
SELECT results_eq($$SELECT slot_name, verdict FROM oracode_explain_match('bbbbbbbb-0000-4000-8000-000000000001', (SELECT s FROM bk WHERE i = 1), (SELECT e FROM bk WHERE i = 1))$$,
  $$VALUES ('Guest 4pm-11am', 'chosen'), ('Guest 24h', 'check-in outside tolerance')$$, 'explain by device on slots synced before the upgrade');

-- requests made after the upgrade behave as before: ids go on, history is recorded
SELECT cmp_ok((SELECT id FROM oracode_create_code('bbbbbbbb-0000-4000-8000-000000000002', (SELECT s + interval '40 days' FROM bk WHERE i = 6),
                 (SELECT e + interval '40 days' FROM bk WHERE i = 6), 'After', 'UP-AFTER')), '>', :before_seq::bigint,
  'a request after the upgrade gets the next id');
SELECT results_eq($$SELECT old_status, new_status FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
                    WHERE a.booking_ref = 'UP-AFTER'$$, $$VALUES (NULL::text, 'queued'::text)$$, 'and its first event');
SELECT throws_ok($$DELETE FROM oracode.access_codes WHERE booking_ref = 'UP-2'$$, 'OC005', NULL, 'sent codes stay immutable (OC005)');

-- object for object what a fresh CREATE EXTENSION builds ---------------------------------------
-- one line per member object (with a digest of its definition), trigger and
-- privilege list, index, constraint, comment and dumped table, run by a second psql in this
-- database and in the one made by CREATE EXTENSION oracode at the start (oracode--0.4.0.sql)
SELECT $fp$
  SELECT string_agg(object || ' ' || definition, E'\n' ORDER BY object) FROM (
    SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS object,
           md5(CASE d.classid
                 WHEN 'pg_proc'::regclass THEN pg_get_functiondef(d.objid) || coalesce((SELECT proacl::text FROM pg_proc WHERE oid = d.objid), '')
                 WHEN 'pg_class'::regclass THEN coalesce(pg_get_viewdef(d.objid),
                     (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull, ',' ORDER BY attnum)
                      FROM pg_attribute WHERE attrelid = d.objid AND attnum > 0 AND NOT attisdropped))
                     || coalesce((SELECT relacl::text FROM pg_class WHERE oid = d.objid), '')
                 WHEN 'pg_namespace'::regclass THEN (SELECT coalesce(nspacl::text, '') FROM pg_namespace WHERE oid = d.objid)
                 WHEN 'pg_type'::regclass THEN format_type(d.objid, NULL)
                 ELSE '' END) AS definition
    FROM pg_depend d
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
      AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'oracode')
    UNION ALL
    SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass, md5(pg_get_triggerdef(t.oid))
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'oracode'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT 'index ' || i.indexrelid::regclass, md5(pg_get_indexdef(i.indexrelid))
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'oracode'::regnamespace
    UNION ALL
    SELECT 'constraint ' || co.conname || ' on ' || co.conrelid::regclass, md5(pg_get_constraintdef(co.oid))
    FROM pg_constraint co WHERE co.connamespace = 'oracode'::regnamespace
    UNION ALL
    SELECT 'comment on ' || pg_describe_object(ds.classoid, ds.objoid, ds.objsubid), md5(ds.description)
    FROM pg_description ds JOIN pg_depend d ON d.classid = ds.classoid AND d.objid = ds.objoid
      AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
      AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'oracode')
    UNION ALL
    SELECT 'dumped tables', md5((SELECT string_agg(c::regclass::text || ' ' || coalesce(w, ''), ',' ORDER BY c::regclass::text)
                                 FROM unnest(e.extconfig, e.extcondition) AS u(c, w)))
    FROM pg_extension e WHERE e.extname = 'oracode') x
$fp$ AS fp_sql \gset
\setenv ORACODE_FP_SQL :fp_sql
\set upgraded `psql -X -q -At -v ON_ERROR_STOP=1 -d "$ORACODE_UPDB" -c "$ORACODE_FP_SQL" 2>&1`
\set fresh `psql -X -q -At -v ON_ERROR_STOP=1 -d "$ORACODE_FRESHDB" -c "$ORACODE_FP_SQL" 2>&1`
SELECT cmp_ok(array_length(string_to_array(:'upgraded', E'\n'), 1), '>', 50, 'the fingerprint lists the extension''s objects');
SELECT is(:'upgraded'::text, :'fresh'::text, 'the upgraded extension has the objects, definitions and grants of a fresh install');

SELECT * FROM finish();
\c :home_db
\! dropdb --if-exists "$ORACODE_UPDB"; dropdb --if-exists "$ORACODE_FRESHDB"
