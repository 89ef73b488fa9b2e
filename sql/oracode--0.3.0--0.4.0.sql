-- oracode 0.3.0 → 0.4.0.
\echo Use "ALTER EXTENSION oracode UPDATE TO '0.4.0'" to load this file. \quit

---------------------------------------------------------------------------
-- Security (issue 11): nothing run with the owner's rights is steered by
-- the caller's search_path, and no function hands a PIN to a role that may
-- not read it.
---------------------------------------------------------------------------
-- No longer SECURITY DEFINER at the SQL level: the C function switches to
-- the tables' owner itself, with search_path pinned (src/owner.c), so that
-- it knows its caller and returns `code` only to one that may SELECT it.
-- EXECUTE stays revoked from PUBLIC (CREATE OR REPLACE keeps the grants).
CREATE OR REPLACE FUNCTION @extschema@.oracode_create_code(device_id uuid, starts_at timestamptz,
        ends_at timestamptz, name text DEFAULT NULL, booking_ref text DEFAULT NULL,
        max_time_rounding text DEFAULT '1hour', issue_at timestamptz DEFAULT NULL)
    RETURNS oracode.access_codes
    AS 'MODULE_PATHNAME', 'oracode_create_code'
    LANGUAGE C VOLATILE;

-- The rules of a cancel, run by oracode_cancel_code() as the tables' owner.
CREATE FUNCTION oracode.cancel_request(p_id bigint) RETURNS oracode.access_codes
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  row oracode.access_codes;
BEGIN
  SELECT * INTO row FROM oracode.access_codes a WHERE a.id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('no access code request %s', p_id);
  END IF;
  IF row.status = 'cancelled' THEN
    RETURN row;
  END IF;
  IF row.status <> 'queued' THEN
    RAISE EXCEPTION USING ERRCODE = 'OC005',
      MESSAGE = format('access code request %s was already sent', row.id),
      DETAIL = format('Its status is %s; an Oracode code cannot be deleted once created.', row.status);
  END IF;
  UPDATE oracode.access_codes a SET status = 'cancelled', status_detail = 'cancelled by request'
   WHERE a.id = row.id RETURNING * INTO row;
  RETURN row;
END $$;
REVOKE ALL ON FUNCTION oracode.cancel_request(bigint) FROM PUBLIC;

-- Same signature and grants; C now (src/cancel_code.c), for the same reason as create.
CREATE OR REPLACE FUNCTION @extschema@.oracode_cancel_code(id bigint) RETURNS oracode.access_codes
    AS 'MODULE_PATHNAME', 'oracode_cancel_code' LANGUAGE C VOLATILE;

---------------------------------------------------------------------------
-- Monitoring reads no personal data (issue 14): oracode.pending loses the
-- guest's name. A column cannot be dropped from a view in place.
---------------------------------------------------------------------------
DROP VIEW oracode.pending;
CREATE VIEW oracode.pending AS
SELECT a.id, a.device_id, d.display_name, a.booking_ref, a.status,
       a.slot_name, a.starts_at, a.ends_at, a.created_at,
       now() - a.created_at AS age,
       now() - coalesce(e.last_change, a.created_at) AS in_status_for,
       a.attempts,
       CASE WHEN a.status = 'queued' THEN greatest(a.next_attempt_at, a.issue_at, d.send_after)
            ELSE a.next_attempt_at END AS next_attempt_at,
       a.issue_at, a.reconcile, a.seam_access_code_id, a.last_error, a.status_detail
FROM oracode.access_codes a
JOIN oracode.devices d ON d.device_id = a.device_id
LEFT JOIN LATERAL (SELECT max(ev.at) AS last_change FROM oracode.access_code_events ev
                   WHERE ev.access_code_id = a.id) e ON true
WHERE a.status IN ('queued', 'sending', 'unset', 'setting');
COMMENT ON VIEW oracode.pending IS
    'requests queued, sending, unset or setting, with their age, next attempt and last error';
REVOKE ALL ON oracode.pending FROM PUBLIC;
GRANT SELECT ON oracode.pending TO pg_monitor;

-- The hotel's security question: which PINs still open a door they should not? Codes sent to
-- a lock and still valid there whose booking was cancelled, deleted, moved or changed after
-- they were sent (the trigger marked them superseded: Oracode codes cannot be deleted). Re-key
-- or watch those doors until valid_until.
CREATE VIEW oracode.stale_codes AS
SELECT a.id, a.device_id, d.display_name, a.booking_ref, a.status,
       a.starts_at, a.ends_at AS valid_until,
       CASE WHEN a.superseded_by <> a.id THEN a.superseded_by END AS replaced_by,
       a.status_detail AS why, a.updated_at AS superseded_at
FROM oracode.access_codes a
JOIN oracode.devices d ON d.device_id = a.device_id
WHERE a.superseded_by IS NOT NULL
  AND a.status IN ('unset', 'setting', 'set', 'unknown', 'removing')
  AND a.ends_at > now();
COMMENT ON VIEW oracode.stale_codes IS
    'codes still valid at a lock whose booking was cancelled, deleted, moved or changed after they were sent';
REVOKE ALL ON oracode.stale_codes FROM PUBLIC;
GRANT SELECT ON oracode.stale_codes TO pg_monitor;

---------------------------------------------------------------------------
-- Seam's code lifecycle (issue 13, in part): a PIN that comes late is
-- polled for; a code whose end has passed is expired, listed or not; an
-- access-code error (a poll's is_access_code_error, or the webhook
-- access_code.failed_to_set_on_device) fails the request.
---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION oracode.worker_apply_poll_results(results jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r jsonb;
  poll_interval interval := current_setting('oracode.poll_interval')::interval;
BEGIN
  -- oracode.seam_status() and oracode.next_poll() written out, as in
  -- worker_apply_create_results
  WITH polled AS (
    SELECT (e ->> 'id')::bigint AS id, e -> 'access_code' AS ac,
           -- an access-code error (is_access_code_error) fails the request; warnings stay warnings
           (SELECT x FROM jsonb_array_elements(CASE WHEN jsonb_typeof(e -> 'access_code' -> 'errors') = 'array'
                                                   THEN e -> 'access_code' -> 'errors' ELSE '[]' END) x
             WHERE coalesce((x ->> 'is_access_code_error')::boolean, false) LIMIT 1) AS code_error
    FROM jsonb_array_elements(results) e
    WHERE NOT e ? 'error' AND coalesce((e ->> 'found')::boolean, false)),
  found AS (
    SELECT id, ac, code_error,
           CASE WHEN code_error IS NOT NULL THEN 'failed'
                WHEN ac ->> 'status' IN ('unset', 'setting', 'set', 'removing', 'unknown')
                THEN ac ->> 'status' ELSE 'unknown' END AS st
    FROM polled)
  UPDATE oracode.access_codes a
     SET status = f.st, code = coalesce(f.ac ->> 'code', a.code),
         errors = f.ac -> 'errors', warnings = f.ac -> 'warnings',
         last_error = CASE WHEN f.code_error IS NOT NULL
                           THEN 'Seam: ' || coalesce(f.code_error ->> 'message', f.code_error ->> 'error_code') END,
         -- a set code is polled again only at its end, unless its PIN has not come yet
         next_attempt_at = CASE WHEN f.st = 'set' AND coalesce(f.ac ->> 'code', a.code) IS NOT NULL
                                     AND NOT coalesce((f.ac ->> 'is_waiting_for_code_assignment')::boolean, false)
                                THEN greatest(a.ends_at, now()) ELSE now() END + poll_interval,
         status_detail = CASE WHEN f.code_error IS NOT NULL
                              THEN format('Seam reported an access code error: %s', coalesce(f.code_error ->> 'error_code', 'unknown'))
                              WHEN f.st = 'unknown' AND f.ac ->> 'status' <> 'unknown'
                              THEN format('Seam reported status "%s"', f.ac ->> 'status')
                              WHEN f.st = 'set' AND coalesce(f.ac ->> 'code', a.code) IS NULL
                              THEN 'set at Seam; waiting for its PIN'
                              ELSE 'polled' END
    FROM found f
   WHERE a.id = f.id AND a.status NOT IN ('failed', 'cancelled', 'expired');

  -- a code whose end has passed is expired, listed or not, and polled no more
  UPDATE oracode.access_codes a
     SET status = 'expired', last_error = NULL, status_detail = 'its end has passed'
    FROM jsonb_array_elements(results) e
   WHERE a.id = (e ->> 'id')::bigint AND NOT e ? 'error' AND coalesce((e ->> 'found')::boolean, false)
     AND a.ends_at <= now() AND a.status NOT IN ('failed', 'cancelled', 'expired');

  FOR r IN SELECT e.value FROM jsonb_array_elements(results) WITH ORDINALITY e(value, n)
           WHERE e.value ? 'error' OR NOT coalesce((e.value ->> 'found')::boolean, false) ORDER BY e.n LOOP
    IF r ? 'error' THEN
      UPDATE oracode.access_codes a SET last_error = r ->> 'error',
             next_attempt_at = now() + oracode.retry_delay(2, (r ->> 'retry_after')::int)
       WHERE a.id = (r ->> 'id')::bigint;
    ELSE
      -- Seam forgets a code once it is removed from the lock after its end
      UPDATE oracode.access_codes a
         SET status = CASE WHEN a.ends_at <= now() THEN 'expired' ELSE a.status END,
             last_error = CASE WHEN a.ends_at <= now() THEN NULL
                               ELSE 'Seam did not list the code before its end' END,
             next_attempt_at = oracode.next_poll(a.status, a.ends_at),
             status_detail = CASE WHEN a.ends_at <= now() THEN 'Seam no longer knows the code after its end'
                                  ELSE a.status_detail END
       WHERE a.id = (r ->> 'id')::bigint;
    END IF;
  END LOOP;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.oracode_ingest_webhook(headers jsonb, body text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  h jsonb;
  ev jsonb;
  evid text;
  etype text;
  acid text;
  n integer := 0;
BEGIN
  IF jsonb_typeof(headers) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION USING ERRCODE = 'OC006', MESSAGE = 'webhook signature invalid or stale',
      DETAIL = 'The headers must be a JSON object of header names and values.';
  END IF;
  -- header names are case-insensitive
  SELECT jsonb_object_agg(lower(key), value) INTO h FROM jsonb_each_text(headers);
  PERFORM oracode.webhook_check_signature(coalesce(h ->> 'svix-id', h ->> 'webhook-id'),
      coalesce(h ->> 'svix-timestamp', h ->> 'webhook-timestamp'),
      coalesce(h ->> 'svix-signature', h ->> 'webhook-signature'), body);
  BEGIN
    ev := body::jsonb;
  EXCEPTION WHEN invalid_text_representation THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'webhook body is not JSON',
      DETAIL = 'The signature is valid, but the body cannot be read as a Seam event.';
  END;
  evid := coalesce(ev ->> 'event_id', h ->> 'svix-id', h ->> 'webhook-id');
  etype := coalesce(ev ->> 'event_type', 'unknown');
  acid := ev ->> 'access_code_id';

  INSERT INTO oracode.webhook_events (event_id, event_type, payload) VALUES (evid, etype, ev)
    ON CONFLICT (event_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN 'duplicate';
  END IF;

  CASE etype
  WHEN 'access_code.set_on_device' THEN
    UPDATE oracode.access_codes a SET status = 'set', code = coalesce(ev ->> 'code', a.code),
           status_detail = 'webhook: set on the device'
     WHERE a.seam_access_code_id = acid AND a.status NOT IN ('failed', 'expired', 'cancelled');
    GET DIAGNOSTICS n = ROW_COUNT;
  WHEN 'access_code.scheduled_on_device', 'access_code.changed' THEN
    UPDATE oracode.access_codes a SET code = coalesce(ev ->> 'code', a.code),
           status_detail = 'webhook: ' || etype
     WHERE a.seam_access_code_id = acid;
    GET DIAGNOSTICS n = ROW_COUNT;
  WHEN 'access_code.failed_to_set_on_device' THEN
    -- an access-code error: the request has failed, Seam's error kept
    UPDATE oracode.access_codes a
       SET status = 'failed',
           errors = coalesce(a.errors, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
             'error_code', 'failed_to_set_on_device', 'is_access_code_error', true,
             'message', 'Seam could not set the code on the device.', 'created_at', ev ->> 'occurred_at')),
           last_error = 'Seam: failed_to_set_on_device', status_detail = 'webhook: ' || etype
     WHERE a.seam_access_code_id = acid AND a.status NOT IN ('failed', 'expired', 'cancelled');
    GET DIAGNOSTICS n = ROW_COUNT;
  WHEN 'access_code.delay_in_setting_on_device' THEN
    UPDATE oracode.access_codes a
       SET warnings = coalesce(a.warnings, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
             'warning_code', replace(etype, 'access_code.', ''), 'created_at', ev ->> 'occurred_at')),
           last_error = 'Seam: ' || replace(etype, 'access_code.', '')
     WHERE a.seam_access_code_id = acid;
    GET DIAGNOSTICS n = ROW_COUNT;
  WHEN 'access_code.removed_from_device', 'access_code.deleted' THEN
    UPDATE oracode.access_codes a
       SET status = CASE WHEN a.ends_at <= now() THEN 'expired' ELSE 'removing' END,
           status_detail = 'webhook: ' || etype
     WHERE a.seam_access_code_id = acid AND a.status NOT IN ('failed', 'expired', 'cancelled');
    GET DIAGNOSTICS n = ROW_COUNT;
  ELSE
    NULL;
  END CASE;
  RETURN CASE WHEN n > 0 THEN 'applied' ELSE 'ignored' END;
END $$;

-- Many databases (issue 15): oracode.database may name several, one worker
-- each, started by a launcher. worker_health says 'other database' only for a
-- database the list does not name; worker_health_all shows every worker.
CREATE FUNCTION oracode.worker_state_all(OUT database text, OUT state text, OUT pid integer,
        OUT started_at timestamptz, OUT last_poll_at timestamptz, OUT last_send_at timestamptz,
        OUT last_sync_at timestamptz, OUT paused_unauthorized boolean, OUT last_error text,
        OUT last_error_at timestamptz, OUT next_start_at timestamptz)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'oracode_worker_state_all' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION oracode.worker_state_all() IS
    'the shared state of the worker of every database in oracode.database, and the launcher''s view of it';

-- Is a database one of those oracode.database names (so served by a worker)?
CREATE FUNCTION oracode.worker_serves(database text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'oracode_worker_serves' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION oracode.worker_serves(text) IS
    'whether the database is one of those named in oracode.database';

CREATE OR REPLACE VIEW oracode.worker_health AS
SELECT CASE WHEN NOT w.preloaded THEN 'not preloaded'
            WHEN pg_catalog.pg_is_in_recovery() THEN 'standby'
            WHEN NOT oracode.worker_serves(current_database()) THEN 'other database'
            WHEN w.pid IS NULL THEN 'stopped'
            WHEN w.paused_unauthorized THEN 'paused'
            ELSE 'running' END AS state,
       w.pid IS NOT NULL AS running, w.pid, w.preloaded,
       CASE WHEN oracode.worker_serves(current_database())
            THEN current_database()::text COLLATE "default"    -- one of several: this one
            ELSE current_setting('oracode.database', true) END AS database,
       pg_catalog.pg_is_in_recovery() AS in_recovery,
       w.started_at, w.last_poll_at, w.last_send_at, w.last_sync_at,
       q.queued, q.queued_due,
       now() - q.oldest_due AS oldest_queued_age,
       q.in_flight,
       w.paused_unauthorized, w.last_error, w.last_error_at
FROM oracode.worker_state() w,
     (SELECT count(*) FILTER (WHERE a.status = 'queued') AS queued,
             count(*) FILTER (WHERE a.status = 'queued' AND coalesce(a.issue_at, a.created_at) <= now()) AS queued_due,
             min(greatest(a.created_at, a.issue_at)) FILTER (WHERE a.status = 'queued'
                 AND coalesce(a.issue_at, a.created_at) <= now()) AS oldest_due,
             count(*) FILTER (WHERE a.status IN ('sending', 'unset', 'setting')) AS in_flight
      FROM oracode.access_codes a
      WHERE a.status IN ('queued', 'sending', 'unset', 'setting')) q;

CREATE VIEW oracode.worker_health_all AS
SELECT w.database,
       CASE WHEN pg_catalog.pg_is_in_recovery() THEN 'standby' ELSE w.state END AS state,
       w.pid IS NOT NULL AS running, w.pid, w.started_at, w.last_poll_at, w.last_send_at,
       w.last_sync_at, w.paused_unauthorized, w.last_error, w.last_error_at, w.next_start_at
FROM oracode.worker_state_all() w;
COMMENT ON VIEW oracode.worker_health_all IS
    'the worker of every database in oracode.database: state, pid, last poll, send and sync, 401 pause, last error';

REVOKE ALL ON FUNCTION oracode.worker_state_all(), oracode.worker_serves(text) FROM PUBLIC;
REVOKE ALL ON oracode.worker_health_all FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oracode.worker_state_all(), oracode.worker_serves(text) TO pg_monitor;
GRANT SELECT ON oracode.worker_health_all TO pg_monitor;
