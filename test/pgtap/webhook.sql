-- oracode_ingest_webhook(headers, body): Svix signatures made here with a
-- known whsec_ secret; valid, forged, tampered, stale, future, replayed,
-- duplicate, unknown type, several signatures in one header.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
-- the secret: whsec_ + base64 of 32 known bytes
SELECT 'whsec_' || encode(sha256('oracode webhook test secret'), 'base64') AS secret \gset
ALTER SYSTEM SET oracode.webhook_secret = :'secret';
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);

BEGIN;
SELECT plan(39);

-- sign "<id>.<ts>.<body>" as Svix does
CREATE FUNCTION pg_temp.sig(id text, ts bigint, body text, secret text) RETURNS text LANGUAGE sql AS $$
  SELECT 'v1,' || encode(hmac(convert_to(id || '.' || ts || '.' || body, 'UTF8'),
                              decode(substr(secret, 7), 'base64'), 'sha256'), 'base64')
$$;
CREATE FUNCTION pg_temp.headers(id text, ts bigint, sig text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('svix-id', id, 'svix-timestamp', ts::text, 'svix-signature', sig)
$$;
CREATE FUNCTION pg_temp.now_s() RETURNS bigint LANGUAGE sql AS $$ SELECT floor(extract(epoch FROM clock_timestamp()))::bigint $$;
CREATE FUNCTION pg_temp.event(id text, type text, acid text, code text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
  SELECT jsonb_build_object('event_id', id, 'event_type', type, 'access_code_id', acid, 'code', code,
    'workspace_id', 'w1', 'device_id', 'd1', 'created_at', now(), 'occurred_at', now())::text
$$;

INSERT INTO oracode.devices (device_id, display_name, can_program_offline_access_codes)
VALUES ('44444444-4444-4444-4444-444444444444', 'Webhook room', true);
INSERT INTO oracode.access_codes (device_id, requested_starts_at, requested_ends_at, starts_at, ends_at,
  slot_name, bound, time_zone, status, seam_access_code_id, seam_name)
VALUES ('44444444-4444-4444-4444-444444444444', now() + interval '1 day', now() + interval '3 days',
        now() + interval '1 day', now() + interval '3 days', 'Guest', 'hourly', 'UTC', 'unset', 'ac-wh-1', 'w #1');

CREATE TEMP TABLE b AS SELECT pg_temp.event('evt-1', 'access_code.set_on_device', 'ac-wh-1', '123456') AS body;

-- a valid delivery is applied
SELECT is(oracode_ingest_webhook(pg_temp.headers('msg_1', pg_temp.now_s(), pg_temp.sig('msg_1', pg_temp.now_s(), body, :'secret')), body),
  'applied', 'a valid signature: applied') FROM b;
SELECT results_eq($$SELECT status, code FROM oracode.access_codes WHERE seam_access_code_id = 'ac-wh-1'$$,
  $$VALUES ('set'::text, '123456'::text)$$, 'set_on_device sets the status and the PIN');
SELECT is((SELECT detail FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
           WHERE a.seam_access_code_id = 'ac-wh-1' ORDER BY e.id DESC LIMIT 1), 'webhook: set on the device', 'the change is in the history');
SELECT is((SELECT count(*) FROM oracode.webhook_events WHERE event_id = 'evt-1'), 1::bigint, 'the event is recorded');

-- what must be refused, changing nothing
CREATE TEMP TABLE before AS SELECT (SELECT count(*) FROM oracode.webhook_events) AS ev,
  (SELECT count(*) FROM oracode.access_code_events) AS hist;
CREATE TEMP TABLE b2 AS SELECT pg_temp.event('evt-2', 'access_code.changed', 'ac-wh-1', '999999') AS body;
SELECT throws_ok(format('SELECT oracode_ingest_webhook(%L, %L)',
  pg_temp.headers('msg_2', pg_temp.now_s(), pg_temp.sig('msg_2', pg_temp.now_s(), body, 'whsec_' || encode(sha256('another secret'), 'base64'))), body),
  'OC006', 'webhook signature invalid or stale', 'forged (signed with another secret): OC006') FROM b2;
SELECT throws_ok(format('SELECT oracode_ingest_webhook(%L, %L)',
  pg_temp.headers('msg_2', pg_temp.now_s(), pg_temp.sig('msg_2', pg_temp.now_s(), body, :'secret')), replace(body, '999999', '000000')),
  'OC006', NULL, 'a body that does not match its signature: OC006') FROM b2;
SELECT throws_ok(format('SELECT oracode_ingest_webhook(%L, %L)',
  pg_temp.headers('msg_2', pg_temp.now_s() - 310, pg_temp.sig('msg_2', pg_temp.now_s() - 310, body, :'secret')), body),
  'OC006', NULL, 'stale (310 s old): OC006') FROM b2;
SELECT throws_ok(format('SELECT oracode_ingest_webhook(%L, %L)',
  pg_temp.headers('msg_2', pg_temp.now_s() + 310, pg_temp.sig('msg_2', pg_temp.now_s() + 310, body, :'secret')), body),
  'OC006', NULL, 'future (310 s ahead): OC006') FROM b2;
SELECT throws_ok(format('SELECT oracode_ingest_webhook(%L, %L)',
  pg_temp.headers('msg_2', pg_temp.now_s(), 'v2,' || substr(pg_temp.sig('msg_2', pg_temp.now_s(), body, :'secret'), 4)), body),
  'OC006', NULL, 'only a non-v1 signature: OC006') FROM b2;
SELECT throws_ok(format('SELECT oracode_ingest_webhook(%L, %L)',
  jsonb_build_object('svix-id', 'msg_2', 'svix-timestamp', pg_temp.now_s()::text), body),
  'OC006', NULL, 'no signature header: OC006') FROM b2;
SELECT throws_ok(format('SELECT oracode_ingest_webhook(%L, %L)',
  pg_temp.headers('msg_2', pg_temp.now_s(), 'v1,not-base64-at-all'), body),
  'OC006', NULL, 'garbage signature: OC006') FROM b2;
SELECT throws_ok($$SELECT oracode_ingest_webhook('"headers"', '{}')$$, 'OC006', NULL, 'headers not an object: OC006');
SELECT is((SELECT count(*) FROM oracode.webhook_events), (SELECT ev FROM before), 'refused deliveries recorded no event');
SELECT is((SELECT count(*) FROM oracode.access_code_events), (SELECT hist FROM before), 'refused deliveries changed no request');
SELECT is((SELECT code FROM oracode.access_codes WHERE seam_access_code_id = 'ac-wh-1'), '123456', 'the PIN is unchanged');

-- inside the window: 290 s old is still accepted
SELECT is(oracode_ingest_webhook(pg_temp.headers('msg_3', pg_temp.now_s() - 290,
  pg_temp.sig('msg_3', pg_temp.now_s() - 290, body, :'secret')), body), 'applied', '290 s old is within the window') FROM b2;
SELECT is((SELECT code FROM oracode.access_codes WHERE seam_access_code_id = 'ac-wh-1'), '123456',
  'access_code.changed carries no PIN: the PIN stays (0.4)');
SELECT ok((SELECT next_attempt_at <= now() FROM oracode.access_codes WHERE seam_access_code_id = 'ac-wh-1'),
  '... and the code is due for a poll at once');

-- replayed and duplicate deliveries change nothing and do not raise
UPDATE oracode.access_codes SET code = '123456' WHERE seam_access_code_id = 'ac-wh-1';
SELECT is(oracode_ingest_webhook(pg_temp.headers('msg_3', pg_temp.now_s() - 290,
  pg_temp.sig('msg_3', pg_temp.now_s() - 290, body, :'secret')), body), 'duplicate', 'the same delivery replayed: duplicate') FROM b2;
SELECT is(oracode_ingest_webhook(pg_temp.headers('msg_4', pg_temp.now_s(),
  pg_temp.sig('msg_4', pg_temp.now_s(), body, :'secret')), body), 'duplicate', 'the same event in a new delivery: duplicate') FROM b2;
SELECT is((SELECT code FROM oracode.access_codes WHERE seam_access_code_id = 'ac-wh-1'), '123456', 'neither changed the PIN');

-- several signatures in one header (key rotation): any v1 match is enough
CREATE TEMP TABLE b3 AS SELECT pg_temp.event('evt-3', 'access_code.delay_in_setting_on_device', 'ac-wh-1') AS body;
SELECT is(oracode_ingest_webhook(pg_temp.headers('msg_5', pg_temp.now_s(),
  'v1,' || encode(sha256('x'), 'base64') || ' v1a,abc ' || pg_temp.sig('msg_5', pg_temp.now_s(), body, :'secret')), body),
  'applied', 'a valid v1 among other signatures: applied') FROM b3;
SELECT is((SELECT warnings -> -1 ->> 'warning_code' FROM oracode.access_codes WHERE seam_access_code_id = 'ac-wh-1'),
  'delay_in_setting_on_device', 'a delay is kept as a warning');
SELECT is((SELECT status FROM oracode.access_codes WHERE seam_access_code_id = 'ac-wh-1'), 'set', '... and changes no status');

-- a code Seam could not set on the lock: the request has failed (0.4), Seam's error kept
INSERT INTO oracode.access_codes (device_id, requested_starts_at, requested_ends_at, starts_at, ends_at,
  slot_name, bound, time_zone, status, seam_access_code_id, seam_name)
VALUES ('44444444-4444-4444-4444-444444444444', now() + interval '1 day', now() + interval '3 days',
        now() + interval '1 day', now() + interval '3 days', 'Guest', 'hourly', 'UTC', 'setting', 'ac-wh-fail', 'w #2');
CREATE TEMP TABLE b3f AS SELECT pg_temp.event('evt-3f', 'access_code.failed_to_set_on_device', 'ac-wh-fail') AS body;
SELECT is(oracode_ingest_webhook(pg_temp.headers('msg_5f', pg_temp.now_s(), pg_temp.sig('msg_5f', pg_temp.now_s(), body, :'secret')), body),
  'applied', 'access_code.failed_to_set_on_device is applied') FROM b3f;
SELECT results_eq($$SELECT status, errors -> -1 ->> 'error_code', (errors -> -1 ->> 'is_access_code_error')::boolean
                    FROM oracode.access_codes WHERE seam_access_code_id = 'ac-wh-fail'$$,
  $$VALUES ('failed'::text, 'failed_to_set_on_device'::text, true)$$,
  '... and fails the request, keeping the error');

-- a code Seam deleted before its end: failed, saying whether it had been set (0.4); after its end: expired
INSERT INTO oracode.access_codes (device_id, requested_starts_at, requested_ends_at, starts_at, ends_at,
  slot_name, bound, time_zone, status, seam_access_code_id, seam_name, code)
VALUES ('44444444-4444-4444-4444-444444444444', now() + interval '1 day', now() + interval '3 days',
        now() + interval '1 day', now() + interval '3 days', 'Guest', 'hourly', 'UTC', 'set', 'ac-wh-del', 'w #3', '424242'),
       ('44444444-4444-4444-4444-444444444444', now() - interval '3 days', now() - interval '1 hour',
        now() - interval '3 days', now() - interval '1 hour', 'Guest', 'hourly', 'UTC', 'set', 'ac-wh-old', 'w #4', '434343');
CREATE TEMP TABLE b3d AS SELECT pg_temp.event('evt-3d', 'access_code.deleted', 'ac-wh-del') AS body
  UNION ALL SELECT pg_temp.event('evt-3o', 'access_code.removed_from_device', 'ac-wh-old');
SELECT is(oracode_ingest_webhook(pg_temp.headers('msg_' || md5(body), pg_temp.now_s(),
          pg_temp.sig('msg_' || md5(body), pg_temp.now_s(), body, :'secret')), body), 'applied',
  'access_code.deleted / removed_from_device are applied') FROM b3d;
SELECT results_eq($$SELECT status, errors -> -1 ->> 'error_code', last_error FROM oracode.access_codes
                    WHERE seam_access_code_id = 'ac-wh-del'$$,
  $$VALUES ('failed'::text, 'oracode_removed_at_seam'::text,
            'Seam removed the code before its end; it had been set on the lock.'::text)$$,
  'a code deleted before its end fails the request, saying it had been set (not "expired")');
SELECT is((SELECT status FROM oracode.access_codes WHERE seam_access_code_id = 'ac-wh-old'), 'expired',
  'a code removed after its end is expired');

-- the body as bytea: the signature is checked over the exact bytes Seam sent (0.4)
CREATE TEMP TABLE b6 AS SELECT convert_to(pg_temp.event('evt-6', 'access_code.set_on_device', 'ac-wh-fail', '555555')
                                          || ' ', 'UTF8') || '\x0a'::bytea AS body;
SELECT is(oracode_ingest_webhook(pg_temp.headers('msg_9', pg_temp.now_s(),
          'v1,' || encode(hmac(convert_to('msg_9.' || pg_temp.now_s() || '.', 'UTF8') || body,
                               decode(substr(:'secret', 7), 'base64'), 'sha256'), 'base64')), body),
  'ignored', 'a bytea body signed over its bytes (trailing newline included) is verified and recorded') FROM b6;
SELECT throws_ok(format('SELECT oracode_ingest_webhook(%L::jsonb, %L::bytea)',
  pg_temp.headers('msg_9b', pg_temp.now_s(), 'v1,' || encode(hmac(convert_to('msg_9b.' || pg_temp.now_s() || '.', 'UTF8') || body,
                  decode(substr(:'secret', 7), 'base64'), 'sha256'), 'base64')), rtrim(body, '\x0a'::bytea)),
  'OC006', NULL, 'the same bytes less the newline do not match: OC006') FROM b6;
CREATE TEMP TABLE b7 AS SELECT '\x7b22e9227d'::bytea AS body;   -- {"<0xE9>"}: not UTF-8
SELECT throws_ok(format('SELECT oracode_ingest_webhook(%L::jsonb, %L::bytea)',
  pg_temp.headers('msg_10', pg_temp.now_s(), 'v1,' || encode(hmac(convert_to('msg_10.' || pg_temp.now_s() || '.', 'UTF8') || body,
                  decode(substr(:'secret', 7), 'base64'), 'sha256'), 'base64')), body),
  '22023', 'webhook body is not JSON', 'signed bytes that are not UTF-8: 22023 after the signature passed') FROM b7;
SELECT ok(NOT has_function_privilege('public', 'oracode_ingest_webhook(jsonb, bytea)', 'EXECUTE'),
  'PUBLIC cannot ingest webhooks as bytea without a grant');

-- header names are case-insensitive, and the unbranded webhook-* names work
CREATE TEMP TABLE b4 AS SELECT pg_temp.event('evt-4', 'access_code.set_on_device', 'ac-unknown', '1') AS body;
SELECT is(oracode_ingest_webhook(jsonb_build_object('Webhook-Id', 'msg_6', 'WEBHOOK-TIMESTAMP', pg_temp.now_s()::text,
  'webhook-signature', pg_temp.sig('msg_6', pg_temp.now_s(), body, :'secret')), body),
  'ignored', 'a code oracode did not request: ignored (but verified)') FROM b4;

-- an unknown event type is recorded and ignored
CREATE TEMP TABLE b5 AS SELECT pg_temp.event('evt-5', 'lock.unlocked', NULL) AS body;
SELECT is(oracode_ingest_webhook(pg_temp.headers('msg_7', pg_temp.now_s(), pg_temp.sig('msg_7', pg_temp.now_s(), body, :'secret')), body),
  'ignored', 'an unknown event type: ignored') FROM b5;
SELECT is((SELECT event_type FROM oracode.webhook_events WHERE event_id = 'evt-5'), 'lock.unlocked', 'and recorded');

-- a signed body that is not JSON
SELECT throws_ok(format('SELECT oracode_ingest_webhook(%L, %L)',
  pg_temp.headers('msg_8', pg_temp.now_s(), pg_temp.sig('msg_8', pg_temp.now_s(), 'not json', :'secret')), 'not json'),
  '22023', 'webhook body is not JSON', 'a signed body that is not JSON: 22023');

-- callers need a grant
SELECT ok(NOT has_function_privilege('public', 'oracode_ingest_webhook(jsonb, text)', 'EXECUTE'),
  'PUBLIC cannot ingest webhooks without a grant');

SELECT * FROM finish();
ROLLBACK;

ALTER SYSTEM RESET oracode.webhook_secret;
SELECT pg_reload_conf();
