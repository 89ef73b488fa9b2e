-- oracode tried as an attacker with ordinary roles would (issue 11, items 1–3).
--
-- oc_attacker has what the README gives a PMS role (EXECUTE on create, cancel, cancel_booking,
-- webhook ingest and sync; USAGE on schema oracode and the status columns, not the PIN) plus
-- pg_monitor, and owns a schema, evil, in which it shadows "=", "<>", "<", "<=", ">", ">=" and
-- "||" for the types oracode's statements compare (uuid, text, bigint, integer, timestamptz)
-- and the functions now() and transaction_timestamp(). Every shadow logs the role it runs as
-- and tries ALTER ROLE oc_attacker SUPERUSER. With evil first on its search_path it calls every
-- entry point: both forms of matching, explain, create (new, repeated, changed, refused with
-- OC001), cancel, cancel_booking, the booking trigger (one row and a batched bulk insert, an
-- update, a delete), webhook ingest and sync. Afterwards no shadow ran as anyone but the
-- attacker, and the attacker is not a superuser. A role with no grant at all matches by device;
-- no function hands a PIN to a role without SELECT (code), and no view shows one to pg_monitor.
-- The tests run as the cluster's superuser, so the owner of the extension is one: what is at
-- stake is exactly what 0.3.0 gave away.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
SELECT 'whsec_' || encode(sha256('oracode attacker test secret'), 'base64') AS secret \gset
ALTER SYSTEM SET oracode.webhook_secret = :'secret';
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);

BEGIN;
SELECT plan(30);

-- six locks nobody has matched in this session yet (each first use reads the slots as the owner)
INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes)
SELECT ('a77ac4e0-0000-4000-8000-00000000000' || i)::uuid, 'Attacked room ' || i, 'UTC', true
FROM generate_series(1, 6) i;
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time)
SELECT ('a77ac4e0-0000-4000-8000-00000000000' || i)::uuid, 0, '4pm-10am', '16:00Z', '10:00Z'
FROM generate_series(1, 6) i;

CREATE ROLE oc_attacker;
CREATE ROLE oc_bare;            -- no grant at all
CREATE ROLE oc_pms;             -- the README's PMS role: requests, no PIN
CREATE ROLE oc_frontdesk;       -- and the front desk, granted the PIN
GRANT pg_monitor TO oc_attacker;
GRANT USAGE ON SCHEMA oracode TO oc_attacker, oc_pms, oc_frontdesk;
GRANT EXECUTE ON FUNCTION oracode_create_code(uuid, timestamptz, timestamptz, text, text, text, timestamptz),
  oracode_cancel_code(bigint), oracode_cancel_booking(text), oracode_ingest_webhook(jsonb, text),
  oracode_sync_devices() TO oc_attacker, oc_pms, oc_frontdesk;
GRANT SELECT (id, device_id, booking_ref, status, slot_name, starts_at, ends_at, errors, created_at, updated_at)
  ON oracode.access_codes TO oc_attacker, oc_pms, oc_frontdesk;
GRANT SELECT (code) ON oracode.access_codes TO oc_frontdesk;
CREATE SCHEMA evil AUTHORIZATION oc_attacker;

-- item 2: a role with no grant at all matches by device (first, so that this session's slot
-- query is prepared for it) ---------------------------------------------------------------------
SET LOCAL ROLE oc_bare;
SELECT is((SELECT slot_name FROM oracode_match_slot('a77ac4e0-0000-4000-8000-000000000005'::uuid,
  current_date + 10 + time '16:20', current_date + 12 + time '09:50')), '4pm-10am',
  'a role with no grant matches by device');
SELECT is((SELECT count(*) FROM oracode_explain_match('a77ac4e0-0000-4000-8000-000000000005'::uuid,
  current_date + 10 + time '16:20', current_date + 12 + time '09:50')), 1::bigint, 'and explains by device');
SELECT throws_ok($$SELECT oracode_match_slot('a77ac4e0-0000-4000-8000-00000000ffff'::uuid, now(), now() + interval '1 day')$$,
  'OC004', NULL, 'an unknown device is still OC004 for it');
SELECT throws_ok('SELECT * FROM oracode.time_slots', '42501', NULL, 'and it still cannot read the slots table');
RESET ROLE;

-- the attacker's traps ---------------------------------------------------------------------------
SET LOCAL ROLE oc_attacker;
CREATE TABLE evil.log (who name, what text);
GRANT INSERT, SELECT ON evil.log TO PUBLIC;
-- log who runs this, and try to become superuser with their rights
CREATE FUNCTION evil.spring(what text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  INSERT INTO evil.log VALUES (current_user, what);
  BEGIN
    EXECUTE 'ALTER ROLE oc_attacker SUPERUSER';
  EXCEPTION WHEN others THEN NULL;
  END;
END $$;
DO $$
DECLARE
  op text;
  t text;
  n int := 0;
BEGIN
  FOREACH op IN ARRAY ARRAY['=', '<>', '<', '<=', '>', '>='] LOOP
    FOREACH t IN ARRAY ARRAY['uuid', 'text', 'bigint', 'integer', 'timestamptz'] LOOP
      n := n + 1;
      EXECUTE format('CREATE FUNCTION evil.trap%s(l %s, r %s) RETURNS boolean LANGUAGE plpgsql
                      SET search_path = pg_catalog AS $f$ BEGIN PERFORM evil.spring(%L);
                      RETURN l OPERATOR(pg_catalog.%s) r; END $f$', n, t, t, op || ' ' || t, op);
      EXECUTE format('CREATE OPERATOR evil.%s (FUNCTION = evil.trap%s, LEFTARG = %s, RIGHTARG = %s)', op, n, t, t);
    END LOOP;
  END LOOP;
  FOREACH t IN ARRAY ARRAY['text', 'bigint'] LOOP
    n := n + 1;
    EXECUTE format('CREATE FUNCTION evil.trap%s(l text, r %s) RETURNS text LANGUAGE plpgsql
                    SET search_path = pg_catalog AS $f$ BEGIN PERFORM evil.spring(%L);
                    RETURN l OPERATOR(pg_catalog.||) r::text; END $f$', n, t, '|| ' || t);
    EXECUTE format('CREATE OPERATOR evil.|| (FUNCTION = evil.trap%s, LEFTARG = text, RIGHTARG = %s)', n, t);
  END LOOP;
END $$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM evil.spring('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION evil.transaction_timestamp() RETURNS timestamptz LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM evil.spring('transaction_timestamp()'); RETURN pg_catalog.transaction_timestamp(); END $$;
-- the attacker's own bookings table, with the README's trigger
CREATE TABLE evil.bookings (id text, room uuid, arrive timestamptz, leave timestamptz);
CREATE TRIGGER oracode AFTER INSERT OR UPDATE OR DELETE ON evil.bookings FOR EACH ROW
  EXECUTE FUNCTION public.oracode_booking_trigger('device=room', 'starts=arrive', 'ends=leave', 'ref=id');
SET LOCAL search_path = evil, pg_catalog, public;

-- every entry point, with evil first on the path (no pgTAP call until the path is reset: its
-- own functions run on the caller's path, and would trip the traps) ------------------------------
CREATE TEMP TABLE got (k text, v text);
INSERT INTO got SELECT 'live', ('a'::text = 'a'::text)::text;
INSERT INTO got SELECT 'match', slot_name FROM oracode_match_slot('a77ac4e0-0000-4000-8000-000000000001'::uuid,
  current_date + 10 + time '16:20', current_date + 12 + time '09:50');
INSERT INTO got SELECT 'match text', slot_name FROM oracode_match_slot('a77ac4e0-0000-4000-8000-000000000006',
  current_date + 10 + time '16:20', current_date + 12 + time '09:50');
INSERT INTO got SELECT 'explain', verdict FROM oracode_explain_match('a77ac4e0-0000-4000-8000-000000000002'::uuid,
  current_date + 10 + time '16:20', current_date + 12 + time '09:50');
INSERT INTO got SELECT 'create', id::text FROM oracode_create_code('a77ac4e0-0000-4000-8000-000000000003',
  current_date + 10 + time '16:00', current_date + 12 + time '10:00', 'Eve', 'EVIL-1');
INSERT INTO got SELECT 'again', id::text FROM oracode_create_code('a77ac4e0-0000-4000-8000-000000000003',
  current_date + 10 + time '16:00', current_date + 12 + time '10:00', 'Eve', 'EVIL-1');
INSERT INTO got SELECT 'changed', id::text FROM oracode_create_code('a77ac4e0-0000-4000-8000-000000000003',
  current_date + 11 + time '16:00', current_date + 12 + time '10:00', 'Eve', 'EVIL-1');
DO $$
BEGIN
  PERFORM oracode_create_code('a77ac4e0-0000-4000-8000-000000000003',
    current_date + 11 + time '03:00', current_date + 12 + time '03:00', 'Eve', 'EVIL-2');
  INSERT INTO got VALUES ('no slot', 'no error');
EXCEPTION WHEN others THEN
  INSERT INTO got VALUES ('no slot', SQLSTATE);
END $$;
INSERT INTO got SELECT 'cancel', status FROM oracode_cancel_code((SELECT max(v::bigint) FROM got WHERE k = 'changed'));
INSERT INTO got SELECT 'cancel booking', oracode_cancel_booking('EVIL-1')::text;
INSERT INTO evil.bookings VALUES ('EVIL-3', 'a77ac4e0-0000-4000-8000-000000000004', current_date + 20 + time '16:00', current_date + 22 + time '10:00');
INSERT INTO evil.bookings SELECT 'EVIL-B' || i::text, 'a77ac4e0-0000-4000-8000-000000000004',
  current_date + 30 + i + time '16:00', current_date + 31 + i + time '10:00' FROM generate_series(1, 5) i;
UPDATE evil.bookings SET arrive = arrive + interval '1 day' WHERE id = 'EVIL-3';
DELETE FROM evil.bookings WHERE id = 'EVIL-B1';
INSERT INTO got SELECT 'webhook', oracode_ingest_webhook(
  jsonb_build_object('svix-id', 'msg_evil', 'svix-timestamp', floor(extract(epoch FROM clock_timestamp()))::bigint::text,
    'svix-signature', 'v1,' || encode(hmac(convert_to('msg_evil.' || floor(extract(epoch FROM clock_timestamp()))::bigint || '.' || b, 'UTF8'),
                                            decode(substr(:'secret', 7), 'base64'), 'sha256'), 'base64')), b)
FROM (SELECT '{"event_id":"evt_evil","event_type":"access_code.set_on_device","access_code_id":"none","code":"1"}'::text AS b) x;
INSERT INTO got SELECT 'sync', (oracode_sync_devices() >= 0)::text;
RESET search_path;
RESET ROLE;
-- the sync marked the locks made up here as gone from Seam; bring them back for what follows
UPDATE oracode.devices SET removed_at = NULL WHERE display_name LIKE 'Attacked room %';

SELECT ok((SELECT v FROM got WHERE k = 'live') = 'true' AND (SELECT count(*) FROM evil.log WHERE who = 'oc_attacker') > 0,
  'the traps are live: "=" on text resolved to evil.= on the attacker''s search_path');
SELECT is((SELECT v FROM got WHERE k = 'no slot'), 'OC001', 'a booking no slot fits was refused (raise_no_slot ran as the owner)');
SELECT is((SELECT v FROM got WHERE k = 'match'), '4pm-10am', 'match by device ran');
SELECT is((SELECT v FROM got WHERE k = 'match text'), '4pm-10am', 'match by a device id as text ran');
SELECT is((SELECT v FROM got WHERE k = 'explain'), 'chosen', 'explain by device ran');
SELECT is((SELECT v FROM got WHERE k = 'again'), (SELECT v FROM got WHERE k = 'create'), 'a repeated create returned the same request');
SELECT isnt((SELECT v FROM got WHERE k = 'changed'), (SELECT v FROM got WHERE k = 'create'), 'a changed booking made a new request');
SELECT is((SELECT v FROM got WHERE k = 'cancel'), 'cancelled', 'cancel ran');
SELECT is((SELECT v FROM got WHERE k = 'webhook'), 'ignored', 'webhook ingest ran');
SELECT is((SELECT v FROM got WHERE k = 'sync'), 'true', 'sync ran');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'EVIL-B%'), 5::bigint,
  'the bulk insert through the trigger wrote its five requests at the statement''s end');
SELECT is((SELECT status FROM oracode.access_codes WHERE booking_ref = 'EVIL-B1'), 'cancelled', 'the delete cancelled one');
SELECT is((SELECT count(*) FROM oracode.access_codes WHERE booking_ref = 'EVIL-3'), 2::bigint, 'the update superseded one');

SELECT is((SELECT string_agg(DISTINCT who || ': ' || what, ', ') FROM evil.log WHERE who <> 'oc_attacker'), NULL,
  'no shadowed operator or function ran as anyone but the attacker');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'oc_attacker'), 'the attacker is not a superuser');

-- item 3: a PIN reaches only roles that may read it --------------------------------------------------
SELECT id AS pin_id FROM oracode_create_code('a77ac4e0-0000-4000-8000-000000000005',
  current_date + 40 + time '16:00', current_date + 42 + time '10:00', 'Pat', 'PIN-1') \gset
UPDATE oracode.access_codes SET status = 'sending' WHERE id = :pin_id;
UPDATE oracode.access_codes SET status = 'set', seam_access_code_id = 'ac-pin-1', code = '736194' WHERE id = :pin_id;
SELECT id AS queued_id FROM oracode_create_code('a77ac4e0-0000-4000-8000-000000000005',
  current_date + 50 + time '16:00', current_date + 52 + time '10:00', 'Pat', 'PIN-2') \gset
UPDATE oracode.access_codes SET code = '582047' WHERE id = :queued_id;

SET LOCAL ROLE oc_pms;
SELECT is((SELECT id FROM oracode_create_code('a77ac4e0-0000-4000-8000-000000000005',
  current_date + 40 + time '16:00', current_date + 42 + time '10:00', 'Pat', 'PIN-1')), :pin_id::bigint,
  'the PMS role repeating a create gets the existing request');
SELECT is((SELECT code FROM oracode_create_code('a77ac4e0-0000-4000-8000-000000000005',
  current_date + 40 + time '16:00', current_date + 42 + time '10:00', 'Pat', 'PIN-1')), NULL,
  'but not its PIN');
SELECT is((SELECT (r).code FROM (SELECT oracode_create_code('a77ac4e0-0000-4000-8000-000000000005',
  current_date + 40 + time '16:00', current_date + 42 + time '10:00', 'Pat', 'PIN-1') AS r) x), NULL,
  'nor through the whole row');
SELECT is((SELECT code FROM oracode_cancel_code(:queued_id)), NULL, 'cancel returns no PIN to the PMS role');
SELECT is((SELECT code FROM oracode_cancel_code(:queued_id)), NULL, 'nor does cancelling again');
SELECT throws_ok('SELECT code FROM oracode.access_codes', '42501', NULL, 'and the table refuses it, as before');
RESET ROLE;

SET LOCAL ROLE oc_frontdesk;
SELECT is((SELECT code FROM oracode_create_code('a77ac4e0-0000-4000-8000-000000000005',
  current_date + 40 + time '16:00', current_date + 42 + time '10:00', 'Pat', 'PIN-1')), '736194',
  'the front desk, granted SELECT (code), gets the PIN from a create');
SELECT is((SELECT code FROM oracode_cancel_code(:queued_id)), '582047', 'and from a cancel');
RESET ROLE;

-- no view of schema oracode shows a PIN to pg_monitor (the attacker is one)
CREATE FUNCTION pg_temp.views_with_pin(pin text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v record;
  n bigint;
  found text := NULL;
BEGIN
  FOR v IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
           WHERE s.nspname = 'oracode' AND c.relkind = 'v' AND has_table_privilege(c.oid, 'SELECT') LOOP
    EXECUTE format('SELECT count(*) FROM %s x WHERE to_jsonb(x)::text LIKE %L', v.rel, '%' || pin || '%') INTO n;
    IF n > 0 THEN found := concat_ws(', ', found, v.rel::text); END IF;
  END LOOP;
  RETURN coalesce(found, 'none');
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.views_with_pin(text) TO oc_attacker;
SET LOCAL ROLE oc_attacker;
SELECT cmp_ok((SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
               WHERE s.nspname = 'oracode' AND c.relkind = 'v' AND has_table_privilege(c.oid, 'SELECT')), '>=', 5::bigint,
  'pg_monitor reads the views');
SELECT is(pg_temp.views_with_pin('736194'), 'none', 'no view shows pg_monitor a PIN');
SELECT throws_ok('SELECT payload FROM oracode.webhook_events', '42501', NULL,
  'webhook payloads (which carry PINs) are not readable by pg_monitor');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
ALTER SYSTEM RESET oracode.webhook_secret;
SELECT pg_reload_conf();
