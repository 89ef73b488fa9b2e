-- oracode 0.3.0 → 0.4.0.
\echo Use "ALTER EXTENSION oracode UPDATE TO '0.4.0'" to load this file. \quit

-- New columns first: the views below read them. A lock's code_constraints
-- (the longest name it keeps, whether names must be unique), and a code's
-- times as Seam reports them (issue 13).
-- The statuses of a request, as sets: all, at_seam (Seam's own statuses: the code exists
-- there and is polled), final, live (not final), pending (live, not yet set) or unsent
-- (never reached Seam). The names are defined once, in src/code_status.c; IMMUTABLE, so a
-- call folds into a constant array and a partial index matches as with a literal list.
CREATE FUNCTION oracode.statuses(kind text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'oracode_statuses' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- Every role may read the sets: a view (oracode.pending, read by pg_monitor) and the CHECK on
-- access_codes.status call it with the rights of the role that reads or writes, not the
-- owner's (the names are no secret). Revoked first, as by the
-- install script's REVOKE ALL ON ALL FUNCTIONS, so both leave the same privileges.
REVOKE ALL ON FUNCTION oracode.statuses(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oracode.statuses(text) TO PUBLIC;

ALTER TABLE oracode.devices
    ADD COLUMN code_name_max_length integer,
    ADD COLUMN code_names_unique boolean NOT NULL DEFAULT false;
ALTER TABLE oracode.access_codes
    ADD COLUMN seam_starts_at timestamptz,
    ADD COLUMN seam_ends_at timestamptz;

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
-- Events (issue 16): every status change is announced with NOTIFY
-- oracode_code_status at commit (src/status_notify.c), and so is a PIN that
-- reaches a code already set, which changes `code` alone.
---------------------------------------------------------------------------
CREATE OR REPLACE TRIGGER access_codes_events AFTER UPDATE OF status, code ON oracode.access_codes
    FOR EACH ROW EXECUTE FUNCTION oracode.record_status_change();

---------------------------------------------------------------------------
-- Monitoring reads no personal data (issue 14): oracode.pending loses the
-- guest's name. A column cannot be dropped from a view in place.
---------------------------------------------------------------------------
DROP VIEW oracode.pending;
CREATE VIEW oracode.pending AS
SELECT a.id, a.device_id, d.display_name, a.booking_ref, a.status,
       a.slot_name, coalesce(a.seam_starts_at, a.starts_at) AS starts_at,
       coalesce(a.seam_ends_at, a.ends_at) AS ends_at, a.created_at,
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
WHERE a.status = ANY (oracode.statuses('pending'));
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
       coalesce(a.seam_starts_at, a.starts_at) AS starts_at, coalesce(a.seam_ends_at, a.ends_at) AS valid_until,
       CASE WHEN a.superseded_by <> a.id THEN a.superseded_by END AS replaced_by,
       a.status_detail AS why, a.updated_at AS superseded_at
FROM oracode.access_codes a
JOIN oracode.devices d ON d.device_id = a.device_id
WHERE a.superseded_by IS NOT NULL
  AND a.status = ANY (oracode.statuses('at_seam'))
  AND coalesce(a.seam_ends_at, a.ends_at) > now();
COMMENT ON VIEW oracode.stale_codes IS
    'codes still valid at a lock whose booking was cancelled, deleted, moved or changed after they were sent';
REVOKE ALL ON oracode.stale_codes FROM PUBLIC;
GRANT SELECT ON oracode.stale_codes TO pg_monitor;

---------------------------------------------------------------------------
-- Seam's code lifecycle (issue 13): what real Seam does to a code after it
-- accepted the create decides the request's status; Seam's own times are
-- kept; a create Seam answered is never sent again; the health view shows
-- a Seam that hangs or fails.
---------------------------------------------------------------------------
-- Seam's own times of a code (seam_starts_at, seam_ends_at), where they differ from the
-- matched ones: a warning on the row (oracode_times_differ, kept when a poll replaces
-- Seam's warnings) and, when Seam's times change, an event that says so.
CREATE FUNCTION oracode.note_seam_times() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  utc constant text := 'YYYY-MM-DD"T"HH24:MI:SS"Z"';
  msg text := format('Seam holds the code from %s to %s; it was matched to %s to %s.',
                     to_char(coalesce(NEW.seam_starts_at, NEW.starts_at) AT TIME ZONE 'UTC', utc),
                     to_char(coalesce(NEW.seam_ends_at, NEW.ends_at) AT TIME ZONE 'UTC', utc),
                     to_char(NEW.starts_at AT TIME ZONE 'UTC', utc), to_char(NEW.ends_at AT TIME ZONE 'UTC', utc));
BEGIN
  NEW.warnings := coalesce((SELECT jsonb_agg(w) FROM jsonb_array_elements(
                              CASE WHEN jsonb_typeof(NEW.warnings) = 'array' THEN NEW.warnings ELSE '[]' END) w
                            WHERE w ->> 'warning_code' IS DISTINCT FROM 'oracode_times_differ'), '[]'::jsonb)
                  || jsonb_build_array(jsonb_build_object('warning_code', 'oracode_times_differ', 'message', msg));
  IF NEW.seam_starts_at IS DISTINCT FROM OLD.seam_starts_at OR NEW.seam_ends_at IS DISTINCT FROM OLD.seam_ends_at THEN
    INSERT INTO oracode.access_code_events (access_code_id, old_status, new_status, detail)
    VALUES (NEW.id, NEW.status, NEW.status, 'Seam''s times differ from the matched ones: ' || msg);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER access_codes_seam_times BEFORE UPDATE OF seam_starts_at, seam_ends_at, warnings
    ON oracode.access_codes FOR EACH ROW
    WHEN (NEW.seam_starts_at <> NEW.starts_at OR NEW.seam_ends_at <> NEW.ends_at)
    EXECUTE FUNCTION oracode.note_seam_times();
REVOKE ALL ON FUNCTION oracode.note_seam_times() FROM PUBLIC;

-- The signature is checked over bytes now (both overloads of oracode_ingest_webhook).
DROP FUNCTION oracode.webhook_check_signature(text, text, text, text);
CREATE FUNCTION oracode.webhook_check_signature(msg_id text, ts text, signatures text, body bytea)
    RETURNS void AS 'MODULE_PATHNAME', 'oracode_webhook_check_signature' LANGUAGE C VOLATILE;

-- Verify a delivery over the exact bytes Seam sent, then apply it once (oracode.webhook_apply).
CREATE FUNCTION @extschema@.oracode_ingest_webhook(headers jsonb, body bytea) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  h jsonb;
  ev jsonb;
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
    ev := convert_from(body, 'UTF8')::jsonb;
  EXCEPTION WHEN invalid_text_representation OR character_not_in_repertoire OR untranslatable_character THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'webhook body is not JSON',
      DETAIL = 'The signature is valid, but the body cannot be read as a Seam event in this database''s encoding.';
  END;
  IF jsonb_typeof(ev) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'webhook body is not JSON',
      DETAIL = 'The signature is valid, but the body is not a JSON object.';
  END IF;
  RETURN oracode.webhook_apply(h, ev);
END $$;
COMMENT ON FUNCTION @extschema@.oracode_ingest_webhook(jsonb, bytea) IS
    'verify a Seam webhook (Svix signature over the exact bytes, ±5 min) and apply its event once';

-- The body as text: Seam signed its UTF-8 bytes, so they are what is verified,
-- whatever the database's encoding.
CREATE OR REPLACE FUNCTION @extschema@.oracode_ingest_webhook(headers jsonb, body text) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT @extschema@.oracode_ingest_webhook(headers, convert_to(body, 'UTF8'))
$$;
COMMENT ON FUNCTION @extschema@.oracode_ingest_webhook(jsonb, text) IS
    'verify a Seam webhook (Svix signature, ±5 min) and apply its event once';
REVOKE ALL ON FUNCTION oracode.webhook_check_signature(text, text, text, bytea) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.oracode_ingest_webhook(jsonb, bytea) FROM PUBLIC;

-- Live codes against code_limit, counted as oracode_create_code counts them (OC003).
-- A code's times here and in the views below are Seam's where Seam reported them.
CREATE OR REPLACE VIEW oracode.capacity AS
SELECT d.device_id, d.display_name, d.code_limit,
       count(a.id) AS live_codes,
       d.code_limit - count(a.id) AS free,
       round(100.0 * count(a.id) / nullif(d.code_limit, 0), 1) AS used_pct,
       min(coalesce(a.seam_ends_at, a.ends_at)) AS next_end
FROM oracode.devices d
LEFT JOIN oracode.access_codes a ON a.device_id = d.device_id
      AND a.status <> ALL (oracode.statuses('final')) AND coalesce(a.seam_ends_at, a.ends_at) > now()
GROUP BY d.device_id;
COMMENT ON VIEW oracode.capacity IS
    'live codes (not failed, cancelled or expired, not yet ended) per device against its code_limit';
COMMENT ON COLUMN oracode.capacity.next_end IS 'when the first live code ends and frees a place';

-- Many databases (issue 15): oracode.database may name several, one worker
-- each, started by a launcher. worker_health says 'other database' only for a
-- database the list does not name; worker_health_all shows every worker.
CREATE FUNCTION oracode.worker_state_all(OUT database text, OUT state text, OUT pid integer,
        OUT started_at timestamptz, OUT last_poll_at timestamptz, OUT last_send_at timestamptz,
        OUT last_sync_at timestamptz, OUT paused_unauthorized boolean, OUT last_error text,
        OUT last_error_at timestamptz, OUT next_start_at timestamptz, OUT last_success_at timestamptz)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'oracode_worker_state_all' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION oracode.worker_state_all() IS
    'the shared state of the worker of every database in oracode.database, and the launcher''s view of it';

-- Is a database one of those oracode.database names (so served by a worker)?
CREATE FUNCTION oracode.worker_serves(database text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'oracode_worker_serves' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION oracode.worker_serves(text) IS
    'whether the database is one of those named in oracode.database';

-- worker_state() gains last_success_at: its row type changes, and the view over it with it.
DROP VIEW oracode.worker_health;
DROP FUNCTION oracode.worker_state();
CREATE FUNCTION oracode.worker_state(OUT preloaded boolean, OUT pid integer,
        OUT started_at timestamptz, OUT last_poll_at timestamptz, OUT last_send_at timestamptz,
        OUT last_sync_at timestamptz, OUT paused_unauthorized boolean, OUT last_error text,
        OUT last_error_at timestamptz, OUT last_success_at timestamptz)
    RETURNS record
    AS 'MODULE_PATHNAME', 'oracode_worker_state' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION oracode.worker_state() IS
    'the background worker''s shared state: pid, last poll, send and sync, 401 pause, current error, last success';
-- One row: is the worker doing its job for this database?
--   state: running | paused (Seam refused the key) | stopped (no worker process)
--          | standby (in recovery: the worker starts at promotion)
--          | other database (the worker serves oracode.database, not this one)
--          | not preloaded (oracode is not in shared_preload_libraries)
CREATE VIEW oracode.worker_health AS
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
       w.paused_unauthorized, w.last_error, w.last_error_at,
       w.last_success_at,
       now() - q.oldest_sent AS oldest_in_flight_age
FROM oracode.worker_state() w,
     (SELECT count(*) FILTER (WHERE a.status = 'queued') AS queued,
             count(*) FILTER (WHERE a.status = 'queued' AND coalesce(a.issue_at, a.created_at) <= now()) AS queued_due,
             min(greatest(a.created_at, a.issue_at)) FILTER (WHERE a.status = 'queued'
                 AND coalesce(a.issue_at, a.created_at) <= now()) AS oldest_due,
             count(*) FILTER (WHERE a.status <> 'queued') AS in_flight,
             min(a.sent_at) FILTER (WHERE a.status = 'sending') AS oldest_sent
      FROM oracode.access_codes a
      WHERE a.status = ANY (oracode.statuses('pending'))) q;
COMMENT ON VIEW oracode.worker_health IS
    'the background worker: state, last poll, send and sync, queue depth, oldest queued age, 401 pause, last error';
COMMENT ON COLUMN oracode.worker_health.oldest_queued_age IS
    'how long the oldest queued request has been due (held requests count from their issue_at)';
COMMENT ON COLUMN oracode.worker_health.last_error IS
    'the worker''s current error (a timeout, a 5xx, a refused key, a failed sync); cleared by Seam''s next 2xx answer';
COMMENT ON COLUMN oracode.worker_health.last_success_at IS
    'when Seam last answered the worker with a 2xx';
COMMENT ON COLUMN oracode.worker_health.oldest_in_flight_age IS
    'how long ago the oldest create still without a recorded answer (status sending) was sent';
REVOKE ALL ON FUNCTION oracode.worker_state() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oracode.worker_state() TO pg_monitor;
REVOKE ALL ON oracode.worker_health FROM PUBLIC;
GRANT SELECT ON oracode.worker_health TO pg_monitor;
---------------------------------------------------------------------------
-- Seam's create limit as Seam counts it (issue 17): a create counts against
-- its device from the moment it left the worker, over Seam's minute plus a
-- margin; a 429 to a create holds that device only, for a rate window when
-- Seam gives no Retry-After. The attempts are pruned at every claim.
---------------------------------------------------------------------------
-- at NULL: claimed, the moment it left not yet recorded (counts as just sent)
ALTER TABLE oracode.create_attempts ALTER COLUMN at DROP NOT NULL, ALTER COLUMN at DROP DEFAULT,
  ADD COLUMN access_code_id bigint;
CREATE INDEX create_attempts_unrecorded ON oracode.create_attempts (access_code_id) WHERE at IS NULL;

-- How long a create counts against its device's oracode.create_rate_limit, from the moment it
-- left the worker: Seam's minute, plus 2 s for the time a create may take to reach Seam after
-- it left (so Seam, counting from its arrival, never sees one more within its minute).
CREATE FUNCTION oracode.create_rate_window() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
  SELECT interval '62 seconds'
$$;
REVOKE ALL ON FUNCTION oracode.create_rate_window() FROM PUBLIC;

-- One row per database in oracode.database: is its worker doing its job? For
-- the DBA of a cluster that serves several databases (readable from any of them).
--   state: running | paused | starting | restarting (it stopped; next_start_at)
--          | no extension (the database has no oracode: looked at again every 10 s)
--          | cannot connect (no such database?) | dropped | no worker slot (max_worker_processes)
--          | stopping (the name left oracode.database) | over max_databases | standby
CREATE VIEW oracode.worker_health_all AS
SELECT w.database,
       CASE WHEN pg_catalog.pg_is_in_recovery() THEN 'standby' ELSE w.state END AS state,
       w.pid IS NOT NULL AS running, w.pid, w.started_at, w.last_poll_at, w.last_send_at,
       w.last_sync_at, w.paused_unauthorized, w.last_error, w.last_error_at, w.next_start_at,
       w.last_success_at
FROM oracode.worker_state_all() w;
COMMENT ON VIEW oracode.worker_health_all IS
    'the worker of every database in oracode.database: state, pid, last poll, send and sync, 401 pause, last error';

REVOKE ALL ON FUNCTION oracode.worker_state_all(), oracode.worker_serves(text) FROM PUBLIC;
REVOKE ALL ON oracode.worker_health_all FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oracode.worker_state_all(), oracode.worker_serves(text) TO pg_monitor;
GRANT SELECT ON oracode.worker_health_all TO pg_monitor;

---------------------------------------------------------------------------
-- The code lifecycle in one place (issue 12): the worker hands SQL typed
-- rows instead of JSON text, and every set of statuses is read from
-- oracode.statuses(), whose names are defined once in the C library.
---------------------------------------------------------------------------
DROP FUNCTION oracode.worker_claim_creates(jsonb);
DROP FUNCTION oracode.worker_apply_create_results(jsonb);
DROP FUNCTION oracode.worker_apply_reconcile(jsonb);
DROP FUNCTION oracode.worker_claim_polls(jsonb);
DROP FUNCTION oracode.worker_apply_poll_results(jsonb);
-- Seam's status is mapped to ours in C now (src/code_status.c)
DROP FUNCTION oracode.seam_status(text);

ALTER TABLE oracode.access_codes DROP CONSTRAINT access_codes_status_check,
    ADD CONSTRAINT access_codes_status_check CHECK (status = ANY (oracode.statuses('all')));
DROP INDEX oracode.access_codes_due;
CREATE INDEX access_codes_due ON oracode.access_codes (next_attempt_at)
    WHERE status = ANY (oracode.statuses('live'));
DROP INDEX oracode.access_codes_polled;
CREATE INDEX access_codes_polled ON oracode.access_codes (next_attempt_at, id)
    WHERE status = ANY (oracode.statuses('at_seam')) AND seam_access_code_id IS NOT NULL;

-- A create or a reconciliation the worker claimed (worker_claim_creates).
CREATE TYPE oracode.create_claim AS (
    reconcile   boolean,        -- list the device's codes: the create may have reached Seam
    id          bigint,
    device_id   uuid,
    seam_name   text,
    starts_at   timestamptz,    -- the rest: a create's, NULL for a reconciliation
    ends_at     timestamptz,
    time_zone   text,
    bound       text
);

-- An access code as Seam reported it, as the worker read it.
CREATE TYPE oracode.seam_code AS (
    access_code_id  text,
    device_id       text,
    name            text,
    status          text,       -- ours: Seam's, or 'unknown' for one not in statuses('at_seam')
    seam_status     text,       -- Seam's, as it gave it (NULL if it gave none)
    code            text,
    waiting_for_code boolean,   -- is_waiting_for_code_assignment
    starts_at       timestamptz,
    ends_at         timestamptz,
    errors          jsonb,
    warnings        jsonb,
    action_attempt_error jsonb  -- a create's failed action attempt, NULL if none
);

-- What came of one create (worker_apply_create_results). outcome:
--   created   Seam answered with a code (access_code)
--   failed    Seam refused it, for good (http_status, error_type, error_message, validation_errors)
--   retry     surely not created: 429, no connection, held back after another's 429 (error, retry_after)
--   unknown   may have been created: 5xx, 408, timeout, an unreadable 200 (error, retry_after,
--             answered_code_id when the 200 named a code)
--   paused    Seam refused the key (401, missing_workspace_id), or held back after that
CREATE TYPE oracode.create_result AS (
    id              bigint,
    outcome         text,
    sent            boolean,     -- false: it never left the worker, and does not count against the rate
    sent_at         timestamptz, -- when it left the worker, the moment its attempt counts from
    rate_limited    boolean,     -- Seam answered 429 to it: its device is held
    request_id      text,
    error           text,
    retry_after     integer,
    answered_code_id text,
    http_status     integer,
    error_type      text,
    error_message   text,
    validation_errors jsonb,
    access_code     oracode.seam_code
);

-- One device's code list for the reconciliations of its requests ids
-- (worker_apply_reconcile): ok with every page's codes of that device, or
-- not ok with why (then nothing is concluded: a missing page could hold the code).
CREATE TYPE oracode.reconcile_result AS (
    device_id   uuid,
    ids         bigint[],
    ok          boolean,
    error       text,
    retry_after integer,
    codes       oracode.seam_code[]
);

-- What a poll learnt of one code (worker_apply_poll_results): found or not
-- (access_code), or error when the list could not be read whole.
CREATE TYPE oracode.poll_result AS (
    id          bigint,
    found       boolean,
    error       text,
    retry_after integer,
    access_code oracode.seam_code
);

-- Seconds to wait before retry n: exponential with jitter, capped, at least Retry-After.
CREATE OR REPLACE FUNCTION oracode.retry_delay(attempts integer, retry_after integer DEFAULT NULL) RETURNS interval
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
  SELECT make_interval(secs => greatest(coalesce(retry_after, 0),
           least(extract(epoch FROM current_setting('oracode.retry_max_delay')::interval),
                 power(2, least(greatest(attempts, 1), 16)) * (0.8 + random() * 0.4))))
$$;

-- When to look at a code next: a set code whose PIN came at its end, anything else after
-- a poll interval.
CREATE OR REPLACE FUNCTION oracode.next_poll(status text, ends_at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE WHEN status = 'set' THEN greatest(ends_at, now())
              ELSE now() END + current_setting('oracode.poll_interval')::interval
$$;

-- The error a request gets when Seam drops its code before the code's end
-- (a poll that no longer finds it, or a deleted / removed_from_device event).
CREATE FUNCTION oracode.removed_at_seam(status text) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT jsonb_build_object('error_code', 'oracode_removed_at_seam',
           'message', CASE WHEN status = 'set'
                           THEN 'Seam removed the code before its end; it had been set on the lock.'
                           ELSE 'Seam removed the code before its end; it had never been set on the lock.' END)
$$;

-- At start: rows a crash left in 'sending' may have reached Seam: reconcile them first.
CREATE OR REPLACE FUNCTION oracode.worker_recover() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE n integer;
BEGIN
  UPDATE oracode.access_codes a SET reconcile = true, next_attempt_at = now(),
         last_error = 'worker restarted while the create was in flight',
         status_detail = 'no answer to the create: the worker restarted while it was in flight'
   WHERE a.status = 'sending';
  GET DIAGNOSTICS n = ROW_COUNT;
  -- a create claimed before the restart left by now, if at all: count it from now
  UPDATE oracode.create_attempts SET at = now() WHERE at IS NULL;
  DELETE FROM oracode.create_attempts WHERE at <= now() - oracode.create_rate_window();
  RETURN n;
END $$;

-- queued → sending: claim up to batch creates (at most rate per device within the rate
-- window), and first the 'sending' rows whose lease ran out, to reconcile (unless
-- creates_only). FOR UPDATE SKIP LOCKED; each claimed row is the worker's for lease.
CREATE FUNCTION oracode.worker_claim_creates(batch integer, rate integer, lease interval,
                                             creates_only boolean)
RETURNS SETOF oracode.create_claim
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  recent_dev uuid[];
  recent_n integer[];
  held uuid[];
BEGIN
  -- a 'sending' row whose lease ran out: its create may or may not have reached Seam.
  -- A batch claimed ahead is claimed while creates are in flight: a row among them
  -- whose lease ran out must not be listed at Seam before its answer (creates_only).
  RETURN QUERY
  WITH due AS (
    SELECT a.id FROM oracode.access_codes a
    WHERE a.status = 'sending' AND a.next_attempt_at <= now() AND NOT creates_only
    ORDER BY a.next_attempt_at, a.id LIMIT batch
    FOR UPDATE SKIP LOCKED),
  upd AS (
    UPDATE oracode.access_codes a SET reconcile = true, next_attempt_at = now() + lease,
           status_detail = CASE WHEN a.reconcile THEN a.status_detail
                                ELSE 'no answer to the create: its lease ran out' END
    FROM due WHERE a.id = due.id
    RETURNING a.id, a.device_id, a.seam_name)
  SELECT true, upd.id, upd.device_id, upd.seam_name,
         NULL::timestamptz, NULL::timestamptz, NULL::text, NULL::text
    FROM upd ORDER BY upd.id;

  -- creates per device within the rate window (counted from the moment each left the
  -- worker; one claimed and not yet recorded as just sent), and the devices that may not send now
  SELECT coalesce(array_agg(c.device_id), '{}'), coalesce(array_agg(c.n), '{}')
    INTO recent_dev, recent_n
    FROM (SELECT c.device_id, count(*)::int AS n FROM oracode.create_attempts c
          WHERE c.at IS NULL OR c.at > now() - oracode.create_rate_window() GROUP BY c.device_id) c;
  SELECT coalesce(array_agg(h.device_id), '{}') INTO held
    FROM (SELECT d.device_id FROM oracode.devices d WHERE d.send_after > now()
          UNION
          SELECT r.device_id FROM unnest(recent_dev, recent_n) r(device_id, n) WHERE r.n >= rate) h;

  RETURN QUERY
  WITH locked AS (
    SELECT a.id, a.device_id, a.next_attempt_at FROM oracode.access_codes a
    WHERE a.status = 'queued' AND a.next_attempt_at <= now()
      AND (a.issue_at IS NULL OR a.issue_at <= now())
      AND a.device_id <> ALL (held)
    ORDER BY a.next_attempt_at, a.id LIMIT batch * 4
    FOR UPDATE SKIP LOCKED),
  recent AS (
    SELECT r.device_id, r.n FROM unnest(recent_dev, recent_n) r(device_id, n)),
  chosen AS (
    SELECT l.id FROM (
      SELECT l.*, row_number() OVER (PARTITION BY l.device_id ORDER BY l.next_attempt_at, l.id) AS rn
      FROM locked l) l
    LEFT JOIN recent r ON r.device_id = l.device_id
    WHERE l.rn <= rate - coalesce(r.n, 0)
    ORDER BY l.next_attempt_at, l.id LIMIT batch),
  upd AS (
    UPDATE oracode.access_codes a
       SET status = 'sending', attempts = a.attempts + 1, sent_at = now(), reconcile = false,
           next_attempt_at = now() + lease, status_detail = 'create sent to Seam',
           -- cut to the lock's name_length here, so the name stored is the name Seam keeps
           -- (never inside "#<id>", which reconciliation finds the code by)
           seam_name = left(a.seam_name, greatest(coalesce((SELECT d.code_name_max_length FROM oracode.devices d
                                                             WHERE d.device_id = a.device_id), 2147483647),
                                                  length('#' || a.id)))
    FROM chosen WHERE a.id = chosen.id
    RETURNING a.id, a.device_id, a.seam_name, a.starts_at, a.ends_at, a.time_zone, a.bound),
  -- the attempt's moment is recorded with its answer (worker_apply_create_results)
  logged AS (
    INSERT INTO oracode.create_attempts (device_id, access_code_id) SELECT upd.device_id, upd.id FROM upd),
  -- what no longer counts goes, for the devices claimed (by index): the table keeps at most
  -- one window's attempts per device
  pruned AS (
    DELETE FROM oracode.create_attempts c
     WHERE c.device_id IN (SELECT upd.device_id FROM upd)
       AND c.at <= now() - oracode.create_rate_window())
  SELECT false, upd.id, upd.device_id, upd.seam_name, upd.starts_at, upd.ends_at, upd.time_zone, upd.bound
    FROM upd ORDER BY upd.id;
END $$;

-- sending → Seam's status, failed, queued, or sending to reconcile: what came of creates.
-- Once Seam answered a create with a code id, that create is never sent again: an answer
-- naming a code another request holds is recorded as an anomaly (oracode_answer_anomaly in
-- errors) and settled by listing the device's codes, and a request with that anomaly whose
-- code is not found there fails rather than going back to the queue.
CREATE FUNCTION oracode.worker_apply_create_results(results oracode.create_result[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r oracode.create_result;
  ac oracode.seam_code;
  holder bigint;
  done bigint[];
  held_until timestamptz;
  poll_interval interval := current_setting('oracode.poll_interval')::interval;
BEGIN
  -- each claimed attempt: counted from the moment its create left the worker, or gone when it
  -- never did (an attempt with no moment given counts from now, later than it left)
  DELETE FROM oracode.create_attempts c
   USING unnest(results) x
   WHERE c.access_code_id = x.id AND c.at IS NULL AND NOT x.sent;
  UPDATE oracode.create_attempts c SET at = coalesce(x.sent_at, now())
    FROM unnest(results) x
   WHERE c.access_code_id = x.id AND c.at IS NULL AND x.sent;

  -- the plain answers, recorded in one statement: a code named once, by no other request,
  -- whose action attempt did not fail
  WITH res AS (
    SELECT x.id, x.request_id, x.access_code AS ac,
           count(*) OVER (PARTITION BY (x.access_code).access_code_id) AS named
    FROM unnest(results) x
    WHERE x.outcome = 'created' AND x.sent)
  SELECT coalesce(array_agg(res.id), '{}') INTO done
    FROM res
   WHERE res.named = 1 AND (res.ac).action_attempt_error IS NULL
     AND NOT EXISTS (SELECT 1 FROM oracode.access_codes o
                     WHERE o.seam_access_code_id = (res.ac).access_code_id AND o.id <> res.id);
  -- each row found by its id (the answers come first: the plan is a probe of the primary key
  -- per answer, whatever the statistics say); oracode.next_poll() written out: called per row
  -- it costs more than the rest of the update
  UPDATE oracode.access_codes a
     SET (status, seam_access_code_id, code, errors, warnings, reconcile, last_error, last_request_id,
          next_attempt_at, status_detail, seam_starts_at, seam_ends_at) =
         ((x.access_code).status, (x.access_code).access_code_id, coalesce((x.access_code).code, a.code),
          (x.access_code).errors, (x.access_code).warnings, false, NULL::text, x.request_id,
          CASE WHEN (x.access_code).status = 'set' AND coalesce((x.access_code).code, a.code) IS NOT NULL
               THEN greatest(coalesce((x.access_code).ends_at, a.ends_at), now())
               ELSE now() END + poll_interval,
          format('created at Seam as %s', (x.access_code).access_code_id),
          (x.access_code).starts_at, (x.access_code).ends_at)
    FROM unnest(results) x
   WHERE a.id = x.id AND x.id = ANY (done) AND a.status = 'sending';

  -- the rest one by one, in the order they came
  FOREACH r IN ARRAY results LOOP
    CONTINUE WHEN r.id = ANY (done);
    ac := r.access_code;
    CASE r.outcome
    WHEN 'created' THEN
      SELECT o.id INTO holder FROM oracode.access_codes o
       WHERE o.seam_access_code_id = ac.access_code_id AND o.id <> r.id;
      IF holder IS NOT NULL THEN
        -- an answer naming a code another request holds: never send again; settle it by listing
        UPDATE oracode.access_codes a
           SET reconcile = true, last_request_id = r.request_id,
               errors = coalesce(a.errors, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
                 'error_code', 'oracode_answer_anomaly', 'access_code_id', ac.access_code_id,
                 'message', format('Seam answered the create with access code %s, which request %s holds.',
                                   ac.access_code_id, holder))),
               last_error = format('answer anomaly: Seam named access code %s, which request %s holds; the create is not sent again',
                                   ac.access_code_id, holder),
               status_detail = format('Seam answered with access code %s, which another request holds; looking for ours',
                                      ac.access_code_id),
               next_attempt_at = now() + oracode.retry_delay(a.attempts)
         WHERE a.id = r.id AND a.status = 'sending';
        CONTINUE;
      END IF;
      IF ac.action_attempt_error IS NOT NULL THEN
        -- Seam made the code's id but its action attempt failed: the code will not be made
        UPDATE oracode.access_codes a
           SET status = 'failed', seam_access_code_id = ac.access_code_id,
               errors = CASE WHEN jsonb_typeof(ac.errors) = 'array' THEN ac.errors ELSE '[]'::jsonb END
                        || jsonb_build_array(ac.action_attempt_error),
               warnings = ac.warnings, reconcile = false, last_request_id = r.request_id,
               seam_starts_at = ac.starts_at, seam_ends_at = ac.ends_at,
               last_error = format('Seam: the create''s action attempt failed: %s: %s',
                                   ac.action_attempt_error ->> 'error_code',
                                   ac.action_attempt_error ->> 'message'),
               status_detail = format('the create''s action attempt failed at Seam: %s',
                                      ac.action_attempt_error ->> 'error_code')
         WHERE a.id = r.id AND a.status = 'sending';
        CONTINUE;
      END IF;
      -- the same code named twice in one batch: the first answer takes it
      UPDATE oracode.access_codes a
         SET status = ac.status, seam_access_code_id = ac.access_code_id,
             code = coalesce(ac.code, a.code), errors = ac.errors, warnings = ac.warnings,
             reconcile = false, last_error = NULL, last_request_id = r.request_id,
             seam_starts_at = ac.starts_at, seam_ends_at = ac.ends_at,
             next_attempt_at = oracode.next_poll(CASE WHEN coalesce(ac.code, a.code) IS NULL THEN 'unset'
                                                      ELSE ac.status END,
                                                 coalesce(ac.ends_at, a.ends_at)),
             status_detail = format('created at Seam as %s', ac.access_code_id)
       WHERE a.id = r.id AND a.status = 'sending';
    WHEN 'failed' THEN
      UPDATE oracode.access_codes a
         SET status = 'failed', reconcile = false, last_request_id = r.request_id,
             errors = jsonb_build_array(jsonb_build_object('error_code', r.error_type,
                        'message', r.error_message, 'http_status', r.http_status)
                        || CASE WHEN r.validation_errors IS NOT NULL
                                THEN jsonb_build_object('validation_errors', r.validation_errors)
                                ELSE '{}'::jsonb END),
             last_error = format('HTTP %s %s: %s', r.http_status, r.error_type, r.error_message),
             status_detail = format('refused by Seam: HTTP %s %s', r.http_status, r.error_type)
       WHERE a.id = r.id AND a.status = 'sending';
    WHEN 'retry' THEN
      UPDATE oracode.access_codes a
         SET status = 'queued', reconcile = false, last_request_id = r.request_id,
             last_error = r.error,
             next_attempt_at = now() + oracode.retry_delay(a.attempts, r.retry_after),
             status_detail = format('not created (%s); will retry', r.error)
       WHERE a.id = r.id AND a.status = 'sending';
      -- a 429 holds its device, and only it: until Retry-After, and without one for a whole
      -- rate window, after which no create Seam counted against the device is in its minute
      -- (creates held back after another's 429 carry its Retry-After, if any)
      IF r.retry_after IS NOT NULL OR coalesce(r.rate_limited, false) THEN
        held_until := now() + coalesce(make_interval(secs => r.retry_after), oracode.create_rate_window());
        UPDATE oracode.devices d SET send_after = greatest(d.send_after, held_until)
         WHERE d.device_id = (SELECT a.device_id FROM oracode.access_codes a WHERE a.id = r.id);
      END IF;
    WHEN 'unknown' THEN
      -- a 200 that named a code but could not be trusted is an answer too: never sent again
      UPDATE oracode.access_codes a
         SET reconcile = true, last_request_id = r.request_id, last_error = r.error,
             errors = CASE WHEN r.answered_code_id IS NOT NULL
                           THEN coalesce(a.errors, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
                                  'error_code', 'oracode_answer_anomaly', 'access_code_id', r.answered_code_id,
                                  'message', format('Seam answered the create with access code %s, but %s',
                                                    r.answered_code_id, r.error)))
                           ELSE a.errors END,
             status_detail = format('no answer to the create: %s', r.error),
             next_attempt_at = now() + oracode.retry_delay(a.attempts, r.retry_after)
       WHERE a.id = r.id AND a.status = 'sending';
    WHEN 'paused' THEN
      UPDATE oracode.access_codes a
         SET status = 'queued', attempts = greatest(a.attempts - 1, 0), last_error = r.error,
             next_attempt_at = now(), status_detail = 'sending paused: Seam refused the API key'
       WHERE a.id = r.id AND a.status = 'sending';
    ELSE
      RAISE EXCEPTION 'unknown create outcome %', r.outcome;
    END CASE;
  END LOOP;
END $$;

-- sending (to reconcile) → Seam's status, queued or failed: settle unanswered creates from
-- the device's codes at Seam. A code created under the request's name is adopted; else the
-- request is sent again, unless Seam answered its create with a code id (an
-- oracode_answer_anomaly in errors): such a request fails instead.
-- A lock may cut a code's name: names begin with the request's id ("#42 Smith"), so a code
-- whose name is a cut of ours that keeps "#42" whole is ours; one cut inside the id ("#4")
-- could be any of several requests, and proves nothing.
CREATE FUNCTION oracode.worker_apply_reconcile(results oracode.reconcile_result[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r oracode.reconcile_result;
  row oracode.access_codes;
  ac oracode.seam_code;
  token text;
  answered boolean;
BEGIN
  FOREACH r IN ARRAY results LOOP
    FOR row IN SELECT * FROM oracode.access_codes a
               WHERE a.id = ANY (r.ids) AND a.status = 'sending' AND a.reconcile
               ORDER BY a.id FOR UPDATE LOOP
      IF NOT r.ok THEN
        UPDATE oracode.access_codes a SET last_error = r.error,
               next_attempt_at = now() + oracode.retry_delay(a.attempts, r.retry_after)
         WHERE a.id = row.id;
        CONTINUE;
      END IF;
      token := '#' || row.id;
      SELECT c.* INTO ac FROM unnest(r.codes) c
       WHERE c.device_id = row.device_id::text
         AND (c.name = row.seam_name
              OR (starts_with(row.seam_name, token || ' ') AND starts_with(row.seam_name, c.name)
                  AND (c.name = token OR starts_with(c.name, token || ' '))))
         AND NOT EXISTS (SELECT 1 FROM oracode.access_codes o
                         WHERE o.seam_access_code_id = c.access_code_id)
       ORDER BY c.name = row.seam_name DESC, c.access_code_id LIMIT 1;
      answered := coalesce(row.errors @> '[{"error_code": "oracode_answer_anomaly"}]', false);
      IF ac.access_code_id IS NOT NULL THEN
        UPDATE oracode.access_codes a
           SET status = ac.status, seam_access_code_id = ac.access_code_id,
               code = coalesce(ac.code, a.code),
               errors = CASE WHEN answered THEN coalesce(a.errors, '[]'::jsonb) ELSE '[]'::jsonb END
                        || CASE WHEN jsonb_typeof(ac.errors) = 'array' THEN ac.errors ELSE '[]'::jsonb END,
               warnings = ac.warnings,
               seam_starts_at = ac.starts_at, seam_ends_at = ac.ends_at,
               reconcile = false, last_error = NULL,
               next_attempt_at = oracode.next_poll(CASE WHEN coalesce(ac.code, a.code) IS NULL THEN 'unset'
                                                        ELSE ac.status END,
                                                   coalesce(ac.ends_at, a.ends_at)),
               status_detail = format('adopted %s from the device''s code list after %s',
                                      ac.access_code_id, coalesce(row.status_detail, 'no answer to the create'))
         WHERE a.id = row.id;
      ELSIF EXISTS (SELECT 1 FROM unnest(r.codes) c
                    WHERE c.device_id = row.device_id::text AND length(c.name) > 0
                      AND length(c.name) < length(token) AND starts_with(token, c.name)
                      AND NOT EXISTS (SELECT 1 FROM oracode.access_codes o
                                      WHERE o.seam_access_code_id = c.access_code_id)) THEN
        -- a name cut inside the id: it may be ours; sending again could make a second code
        UPDATE oracode.access_codes a
           SET last_error = 'reconciliation inconclusive: the lock cut a code''s name inside the request id',
               next_attempt_at = now() + oracode.retry_delay(a.attempts)
         WHERE a.id = row.id;
      ELSIF answered THEN
        UPDATE oracode.access_codes a
           SET status = 'failed', reconcile = false,
               last_error = 'answer anomaly: Seam answered the create with another request''s code, and ours is not in the device''s code list; the create is not sent again',
               status_detail = 'Seam answered the create with another request''s code; not sent again'
         WHERE a.id = row.id;
      ELSE
        UPDATE oracode.access_codes a
           SET status = 'queued', reconcile = false, next_attempt_at = now(),
               status_detail = format('not in the device''s code list after %s; will send again',
                                      coalesce(row.status_detail, 'no answer to the create'))
         WHERE a.id = row.id;
      END IF;
    END LOOP;
  END LOOP;
END $$;

-- Claim codes Seam holds whose status is due for a poll (FOR UPDATE SKIP LOCKED, with a lease).
CREATE FUNCTION oracode.worker_claim_polls(batch integer, lease interval)
RETURNS TABLE (id bigint, seam_access_code_id text)
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
  WITH due AS (
    SELECT a.id FROM oracode.access_codes a
    WHERE a.status = ANY (oracode.statuses('at_seam'))
      AND a.seam_access_code_id IS NOT NULL AND a.next_attempt_at <= now()
    ORDER BY a.next_attempt_at, a.id LIMIT batch
    FOR UPDATE SKIP LOCKED),
  upd AS (
    UPDATE oracode.access_codes a SET next_attempt_at = now() + lease
    FROM due WHERE a.id = due.id
    RETURNING a.id, a.seam_access_code_id)
  SELECT upd.id, upd.seam_access_code_id FROM upd ORDER BY upd.id
$$;

-- Seam's status → Seam's status, failed or expired: what polls found. A code's end is
-- Seam's where Seam reported one (seam_ends_at), else the matched one.
CREATE FUNCTION oracode.worker_apply_poll_results(results oracode.poll_result[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  poll_interval interval := current_setting('oracode.poll_interval')::interval;
BEGIN
  -- oracode.next_poll() written out, as in worker_apply_create_results
  WITH polled AS (
    SELECT x.id, x.access_code AS ac,
           -- an access-code error (is_access_code_error) fails the request; warnings stay warnings
           (SELECT e FROM jsonb_array_elements(CASE WHEN jsonb_typeof((x.access_code).errors) = 'array'
                                                   THEN (x.access_code).errors ELSE '[]' END) e
             WHERE coalesce((e ->> 'is_access_code_error')::boolean, false) LIMIT 1) AS code_error
    FROM unnest(results) x
    WHERE x.error IS NULL AND x.found),
  found AS (
    SELECT p.id, p.ac, p.code_error,
           CASE WHEN p.code_error IS NOT NULL THEN 'failed' ELSE (p.ac).status END AS st
    FROM polled p)
  UPDATE oracode.access_codes a
     SET status = f.st, code = coalesce((f.ac).code, a.code),
         errors = (f.ac).errors, warnings = (f.ac).warnings,
         seam_starts_at = coalesce((f.ac).starts_at, a.seam_starts_at),
         seam_ends_at = coalesce((f.ac).ends_at, a.seam_ends_at),
         last_error = CASE WHEN f.code_error IS NOT NULL
                           THEN 'Seam: ' || coalesce(f.code_error ->> 'message', f.code_error ->> 'error_code') END,
         -- a set code is polled again only at its end, unless its PIN has not come yet
         next_attempt_at = CASE WHEN f.st = 'set' AND coalesce((f.ac).code, a.code) IS NOT NULL
                                     AND NOT coalesce((f.ac).waiting_for_code, false)
                                THEN greatest(coalesce((f.ac).ends_at, a.seam_ends_at, a.ends_at), now())
                                ELSE now() END + poll_interval,
         status_detail = CASE WHEN f.code_error IS NOT NULL
                              THEN format('Seam reported an access code error: %s', coalesce(f.code_error ->> 'error_code', 'unknown'))
                              WHEN f.st = 'unknown' AND coalesce((f.ac).seam_status, 'unknown') <> 'unknown'
                              THEN format('Seam reported status "%s"', (f.ac).seam_status)
                              WHEN f.st = 'set' AND (coalesce((f.ac).code, a.code) IS NULL
                                                     OR coalesce((f.ac).waiting_for_code, false))
                              THEN 'set at Seam; waiting for its PIN'
                              ELSE 'polled' END
    FROM found f
   WHERE a.id = f.id AND a.status <> ALL (oracode.statuses('final'));

  -- a code whose end has passed is expired, listed or not, and polled no more
  UPDATE oracode.access_codes a
     SET status = 'expired', last_error = NULL, status_detail = 'its end has passed'
    FROM unnest(results) x
   WHERE a.id = x.id AND x.error IS NULL AND x.found
     AND coalesce(a.seam_ends_at, a.ends_at) <= now() AND a.status <> ALL (oracode.statuses('final'));

  -- a failed poll keeps the status and tries again later
  UPDATE oracode.access_codes a SET last_error = x.error,
         next_attempt_at = now() + oracode.retry_delay(2, x.retry_after)
    FROM unnest(results) x
   WHERE a.id = x.id AND x.error IS NOT NULL;

  -- Seam forgets a code once it is removed from the lock after its end; one gone
  -- before its end was removed at Seam, and the guest has no working code
  UPDATE oracode.access_codes a
     SET status = CASE WHEN coalesce(a.seam_ends_at, a.ends_at) <= now() THEN 'expired' ELSE 'failed' END,
         errors = CASE WHEN coalesce(a.seam_ends_at, a.ends_at) <= now() THEN a.errors
                       ELSE coalesce(a.errors, '[]'::jsonb) || jsonb_build_array(oracode.removed_at_seam(a.status)) END,
         last_error = CASE WHEN coalesce(a.seam_ends_at, a.ends_at) <= now() THEN NULL
                           ELSE oracode.removed_at_seam(a.status) ->> 'message' END,
         status_detail = CASE WHEN coalesce(a.seam_ends_at, a.ends_at) <= now() THEN 'Seam no longer knows the code after its end'
                              ELSE 'Seam no longer lists the code, before its end' END
    FROM unnest(results) x
   WHERE a.id = x.id AND x.error IS NULL AND NOT x.found AND a.status <> ALL (oracode.statuses('final'));
END $$;

-- Seconds until the next row is due (the worker sleeps at most this long). A queued row is
-- due when its device may send again: after the device's Retry-After (send_after) and once
-- its create rate allows (the rate-th most recent attempt has left the rate window); otherwise
-- the worker would wake every 50 ms while a device is held back.
CREATE OR REPLACE FUNCTION oracode.worker_next_due() RETURNS double precision
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  WITH queued AS (
    SELECT a.device_id, min(greatest(a.next_attempt_at, a.issue_at)) AS due
    FROM oracode.access_codes a
    WHERE a.status = 'queued'
    GROUP BY a.device_id),
  held AS (
    SELECT greatest(q.due, d.send_after, r.free_at) AS due
    FROM queued q
    JOIN oracode.devices d ON d.device_id = q.device_id
    LEFT JOIN LATERAL (
      SELECT coalesce(c.at, now()) + oracode.create_rate_window() AS free_at FROM oracode.create_attempts c
      WHERE c.device_id = q.device_id AND (c.at IS NULL OR c.at > now() - oracode.create_rate_window())
      ORDER BY c.at DESC NULLS FIRST
      OFFSET greatest(current_setting('oracode.create_rate_limit')::int - 1, 0) LIMIT 1) r ON true)
  SELECT extract(epoch FROM least(
           (SELECT min(a.next_attempt_at) FROM oracode.access_codes a
             WHERE a.status = ANY (oracode.statuses('live')) AND a.status <> 'queued'),
           (SELECT min(held.due) FROM held)) - now())
$$;

-- Seam's status → set, failed or expired: apply one verified Seam event once (a repeated
-- event id changes nothing). h: the delivery's headers, names in lower case. Returns 'applied', 'ignored'
-- (no request with that Seam id, or an event type oracode does not act on; it
-- is still recorded) or 'duplicate'.
CREATE FUNCTION oracode.webhook_apply(h jsonb, ev jsonb) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  evid text := coalesce(ev ->> 'event_id', h ->> 'svix-id', h ->> 'webhook-id');
  etype text := coalesce(ev ->> 'event_type', 'unknown');
  acid text := ev ->> 'access_code_id';
  n integer := 0;
BEGIN
  INSERT INTO oracode.webhook_events (event_id, event_type, payload) VALUES (evid, etype, ev)
    ON CONFLICT (event_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN 'duplicate';
  END IF;

  CASE etype
  WHEN 'access_code.set_on_device' THEN
    UPDATE oracode.access_codes a SET status = 'set', code = coalesce(ev ->> 'code', a.code),
           status_detail = 'webhook: set on the device'
     WHERE a.seam_access_code_id = acid AND a.status <> ALL (oracode.statuses('final'));
    GET DIAGNOSTICS n = ROW_COUNT;
  WHEN 'access_code.scheduled_on_device' THEN
    UPDATE oracode.access_codes a SET code = coalesce(ev ->> 'code', a.code),
           status_detail = 'webhook: ' || etype
     WHERE a.seam_access_code_id = acid;
    GET DIAGNOSTICS n = ROW_COUNT;
  WHEN 'access_code.changed' THEN
    -- the event says only that something changed (no PIN, no status): poll the code now
    UPDATE oracode.access_codes a SET next_attempt_at = now(), status_detail = 'webhook: ' || etype
     WHERE a.seam_access_code_id = acid AND a.status = ANY (oracode.statuses('at_seam'));
    GET DIAGNOSTICS n = ROW_COUNT;
  WHEN 'access_code.failed_to_set_on_device' THEN
    -- an access-code error: the request has failed, Seam's error kept
    UPDATE oracode.access_codes a
       SET status = 'failed',
           errors = coalesce(a.errors, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
             'error_code', 'failed_to_set_on_device', 'is_access_code_error', true,
             'message', 'Seam could not set the code on the device.', 'created_at', ev ->> 'occurred_at')),
           last_error = 'Seam: failed_to_set_on_device', status_detail = 'webhook: ' || etype
     WHERE a.seam_access_code_id = acid AND a.status <> ALL (oracode.statuses('final'));
    GET DIAGNOSTICS n = ROW_COUNT;
  WHEN 'access_code.delay_in_setting_on_device' THEN
    UPDATE oracode.access_codes a
       SET warnings = coalesce(a.warnings, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
             'warning_code', replace(etype, 'access_code.', ''), 'created_at', ev ->> 'occurred_at')),
           last_error = 'Seam: ' || replace(etype, 'access_code.', '')
     WHERE a.seam_access_code_id = acid;
    GET DIAGNOSTICS n = ROW_COUNT;
  WHEN 'access_code.removed_from_device', 'access_code.deleted' THEN
    -- after its end the code has simply expired; before it, the guest has no working code
    UPDATE oracode.access_codes a
       SET status = CASE WHEN coalesce(a.seam_ends_at, a.ends_at) <= now() THEN 'expired' ELSE 'failed' END,
           errors = CASE WHEN coalesce(a.seam_ends_at, a.ends_at) <= now() THEN a.errors
                         ELSE coalesce(a.errors, '[]'::jsonb) || jsonb_build_array(oracode.removed_at_seam(a.status)) END,
           last_error = CASE WHEN coalesce(a.seam_ends_at, a.ends_at) <= now() THEN a.last_error
                             ELSE oracode.removed_at_seam(a.status) ->> 'message' END,
           status_detail = 'webhook: ' || etype
     WHERE a.seam_access_code_id = acid AND a.status <> ALL (oracode.statuses('final'));
    GET DIAGNOSTICS n = ROW_COUNT;
  ELSE
    NULL;
  END CASE;
  RETURN CASE WHEN n > 0 THEN 'applied' ELSE 'ignored' END;
END $$;

REVOKE ALL ON FUNCTION oracode.removed_at_seam(text), oracode.webhook_apply(jsonb, jsonb),
    oracode.worker_claim_creates(integer, integer, interval, boolean),
    oracode.worker_apply_create_results(oracode.create_result[]),
    oracode.worker_apply_reconcile(oracode.reconcile_result[]),
    oracode.worker_claim_polls(integer, interval),
    oracode.worker_apply_poll_results(oracode.poll_result[]) FROM PUBLIC;
