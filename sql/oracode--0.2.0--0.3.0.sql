-- oracode 0.2.0 → 0.3.0: the costs a PMS pays (issue 6). The booking
-- trigger and the queueing path of oracode_create_code() move to C, and the
-- worker's claims and records become index-shaped and set-based.
--
-- As with 0.2.0 there is no full script: CREATE EXTENSION oracode runs
-- 0.1.0, 0.1.0 → 0.2.0 and this script.
\echo Use "ALTER EXTENSION oracode UPDATE TO '0.3.0'" to load this file. \quit

---------------------------------------------------------------------------
-- Requests and the booking trigger in C (src/create_code.c, src/booking_trigger.c)
---------------------------------------------------------------------------
-- Same signature, defaults, rights and pinned search_path as before; the
-- body is C (a booking's whole cost was PL/pgSQL's, see BENCHMARKS.md).
CREATE OR REPLACE FUNCTION @extschema@.oracode_create_code(device_id uuid, starts_at timestamptz,
        ends_at timestamptz, name text DEFAULT NULL, booking_ref text DEFAULT NULL,
        max_time_rounding text DEFAULT '1hour', issue_at timestamptz DEFAULT NULL)
    RETURNS oracode.access_codes
    AS 'MODULE_PATHNAME', 'oracode_create_code'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- Still not SECURITY DEFINER: device_sql runs as the role writing the booking.
CREATE OR REPLACE FUNCTION @extschema@.oracode_booking_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'oracode_booking_trigger' LANGUAGE C;

-- The history trigger in C (src/status_events.c): same triggers, same rows.
CREATE OR REPLACE FUNCTION oracode.record_status_change() RETURNS trigger
    AS 'MODULE_PATHNAME', 'oracode_record_status_change' LANGUAGE C;

-- The immutability guard in C (src/guard.c): the same checks, OC005 messages and updated_at.
CREATE OR REPLACE FUNCTION oracode.guard_sent_code() RETURNS trigger
    AS 'MODULE_PATHNAME', 'oracode_guard_sent_code' LANGUAGE C;

-- oracode_create_code() reads the device row from the backend's slot cache
-- too, so a change to any column it reads must flush that cache (send_after,
-- errors and synced_at, which the worker and the sync write, need not).
DROP TRIGGER devices_cache_invalidate ON oracode.devices;
CREATE TRIGGER devices_cache_invalidate
    AFTER INSERT OR DELETE OR UPDATE OF device_id, display_name, can_program_offline_access_codes,
        code_limit, removed_at OR TRUNCATE ON oracode.devices
    FOR EACH STATEMENT EXECUTE FUNCTION oracode.slot_cache_invalidate();


---------------------------------------------------------------------------
-- The worker's steps: claims walk an index, results are applied set-based
---------------------------------------------------------------------------
-- The claims walk these in order and stop at their LIMIT. access_codes_due
-- holds every active row by next_attempt_at alone, so a claim that wants one
-- status (and the oldest first) read and sorted every due row of all of
-- them: during a backfill the 20,000 queued rows, for each claim of 400.
CREATE INDEX access_codes_queued ON oracode.access_codes (next_attempt_at, id)
    WHERE status = 'queued';
CREATE INDEX access_codes_sending ON oracode.access_codes (next_attempt_at, id)
    WHERE status = 'sending';
CREATE INDEX access_codes_polled ON oracode.access_codes (next_attempt_at, id)
    WHERE status IN ('unset', 'setting', 'set', 'removing', 'unknown') AND seam_access_code_id IS NOT NULL;

-- Claim creates to send and unanswered creates to reconcile (FOR UPDATE SKIP LOCKED, with a lease).
-- The devices that may not send now (Seam's Retry-After, or the rate of the
-- last minute used up) are found first, so the walk of access_codes_queued
-- skips their rows and a device held back cannot keep the others waiting;
-- the walk locks at most batch * 4 rows, the rate then caps each device.
CREATE OR REPLACE FUNCTION oracode.worker_claim_creates(opts jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  batch integer := (opts ->> 'batch')::int;
  rate integer := (opts ->> 'rate')::int;
  lease interval := make_interval(secs => (opts ->> 'lease_seconds')::int);
  recent_dev uuid[];
  recent_n integer[];
  held uuid[];
  rec jsonb;
  cre jsonb;
BEGIN
  -- a 'sending' row whose lease ran out: its create may or may not have reached Seam
  WITH due AS (
    SELECT a.id FROM oracode.access_codes a
    WHERE a.status = 'sending' AND a.next_attempt_at <= now()
      -- a batch claimed ahead is claimed while creates are in flight: a row among
      -- them whose lease ran out must not be listed at Seam before its answer
      AND NOT coalesce((opts ->> 'creates_only')::boolean, false)
    ORDER BY a.next_attempt_at, a.id LIMIT batch
    FOR UPDATE SKIP LOCKED),
  upd AS (
    UPDATE oracode.access_codes a SET reconcile = true, next_attempt_at = now() + lease,
           status_detail = CASE WHEN a.reconcile THEN a.status_detail
                                ELSE 'no answer to the create: its lease ran out' END
    FROM due WHERE a.id = due.id
    RETURNING a.id, a.device_id, a.seam_name)
  SELECT coalesce(jsonb_agg(to_jsonb(upd) ORDER BY upd.id), '[]') INTO rec FROM upd;

  -- creates per device in the last minute, and the devices that may not send now
  SELECT coalesce(array_agg(c.device_id), '{}'), coalesce(array_agg(c.n), '{}')
    INTO recent_dev, recent_n
    FROM (SELECT c.device_id, count(*)::int AS n FROM oracode.create_attempts c
          WHERE c.at > now() - interval '1 minute' GROUP BY c.device_id) c;
  SELECT coalesce(array_agg(h.device_id), '{}') INTO held
    FROM (SELECT d.device_id FROM oracode.devices d WHERE d.send_after > now()
          UNION
          SELECT r.device_id FROM unnest(recent_dev, recent_n) r(device_id, n) WHERE r.n >= rate) h;

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
           next_attempt_at = now() + lease, status_detail = 'create sent to Seam'
    FROM chosen WHERE a.id = chosen.id
    RETURNING a.id, a.device_id, a.seam_name, a.starts_at, a.ends_at, a.time_zone, a.bound),
  logged AS (
    INSERT INTO oracode.create_attempts (device_id) SELECT upd.device_id FROM upd)
  SELECT coalesce(jsonb_agg(to_jsonb(upd) ORDER BY upd.id), '[]') INTO cre FROM upd;

  RETURN jsonb_build_object('reconcile', rec, 'create', cre);
END $$;

-- Record what Seam answered to creates (the shapes are those of 0.1.0).
--   created: {id, outcome, request_id, access_code:{access_code_id,status,code,errors,warnings}}
--   failed (Seam refused; permanent): {id, outcome, http_status, error_type, error_message, request_id}
--   retry (surely not created: 429, no connection): {id, outcome, error, retry_after, request_id}
--   unknown (may have been created): {id, outcome, error, retry_after, request_id}
--   paused (401: the key is wrong; nothing was created): {id, outcome, error}
--   "sent": false on retry or paused: the create never left the worker (no connection, or
--   held back after a 429 or 401 to another create), so it does not count against the rate
-- Nearly every answer is "created" with a code no other request holds: those
-- are recorded by one UPDATE. The rest go row by row, in the order given: a
-- code another request holds (or that two answers name) is settled by listing.
CREATE OR REPLACE FUNCTION oracode.worker_apply_create_results(results jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r jsonb;
  ac jsonb;
  done bigint[];
  answer jsonb;
  poll_interval interval := current_setting('oracode.poll_interval')::interval;
BEGIN
  WITH res AS (
    SELECT x.id, x.request_id, x.access_code AS ac,
           count(*) OVER (PARTITION BY x.access_code ->> 'access_code_id') AS named
    FROM jsonb_to_recordset(results) AS x(id bigint, outcome text, sent boolean, request_id text,
                                          access_code jsonb)
    WHERE x.outcome = 'created' AND x.sent IS DISTINCT FROM false)
  SELECT coalesce(array_agg(res.id), '{}'),
         coalesce(jsonb_object_agg(res.id, jsonb_build_object('ac', res.ac, 'request_id', res.request_id)), '{}')
    INTO done, answer
    FROM res
   WHERE res.named = 1
     AND NOT EXISTS (SELECT 1 FROM oracode.access_codes o
                     WHERE o.seam_access_code_id = res.ac ->> 'access_code_id' AND o.id <> res.id);
  -- rows found by id (a join with the answers would be planned on the guess
  -- that a function returns one row), each answer looked up by its id
  -- oracode.seam_status() and oracode.next_poll(), written out: called per row
  -- they cost more than the rest of the row's update
  UPDATE oracode.access_codes a
     SET (status, seam_access_code_id, code, errors, warnings, reconcile, last_error, last_request_id,
          next_attempt_at, status_detail) =
         (SELECT x.st, x.ac ->> 'access_code_id',
                 coalesce(x.ac ->> 'code', a.code), x.ac -> 'errors', x.ac -> 'warnings', false, NULL::text,
                 x.request_id,
                 CASE WHEN x.st = 'set' THEN greatest(a.ends_at, now()) ELSE now() END + poll_interval,
                 format('created at Seam as %s', x.ac ->> 'access_code_id')
            FROM (SELECT y.ac, y.request_id,
                         CASE WHEN y.ac ->> 'status' IN ('unset', 'setting', 'set', 'removing', 'unknown')
                              THEN y.ac ->> 'status' ELSE 'unknown' END AS st
                    FROM (SELECT answer -> a.id::text -> 'ac' AS ac,
                                 answer -> a.id::text ->> 'request_id' AS request_id) y) x)
   WHERE a.id = ANY (done) AND a.status = 'sending';

  FOR r IN SELECT e.value FROM jsonb_array_elements(results) WITH ORDINALITY e(value, n)
           WHERE NOT ((e.value ->> 'id')::bigint = ANY (done)) ORDER BY e.n LOOP
    IF (r ->> 'sent') = 'false' THEN
      DELETE FROM oracode.create_attempts c
       WHERE c.ctid = (SELECT c2.ctid FROM oracode.create_attempts c2
                        WHERE c2.device_id = (SELECT a.device_id FROM oracode.access_codes a
                                               WHERE a.id = (r ->> 'id')::bigint)
                        ORDER BY c2.at DESC LIMIT 1);
    END IF;
    CASE r ->> 'outcome'
    WHEN 'created' THEN
      ac := r -> 'access_code';
      -- an answer naming a code another request holds is garbled: settle it by listing
      IF EXISTS (SELECT 1 FROM oracode.access_codes o
                 WHERE o.seam_access_code_id = ac ->> 'access_code_id' AND o.id <> (r ->> 'id')::bigint) THEN
        UPDATE oracode.access_codes a
           SET reconcile = true, last_request_id = r ->> 'request_id',
               last_error = format('unreadable 200 answer: Seam named access code %s, which request %s holds',
                                   ac ->> 'access_code_id',
                                   (SELECT o.id FROM oracode.access_codes o
                                     WHERE o.seam_access_code_id = ac ->> 'access_code_id')),
               status_detail = format('no answer to the create: Seam named access code %s, which another request holds',
                                      ac ->> 'access_code_id'),
               next_attempt_at = now() + oracode.retry_delay(a.attempts)
         WHERE a.id = (r ->> 'id')::bigint AND a.status = 'sending';
        CONTINUE;
      END IF;
      UPDATE oracode.access_codes a
         SET status = oracode.seam_status(ac ->> 'status'), seam_access_code_id = ac ->> 'access_code_id',
             code = coalesce(ac ->> 'code', a.code), errors = ac -> 'errors', warnings = ac -> 'warnings',
             reconcile = false, last_error = NULL, last_request_id = r ->> 'request_id',
             next_attempt_at = oracode.next_poll(oracode.seam_status(ac ->> 'status'), a.ends_at),
             status_detail = format('created at Seam as %s', ac ->> 'access_code_id')
       WHERE a.id = (r ->> 'id')::bigint AND a.status = 'sending';
    WHEN 'failed' THEN
      UPDATE oracode.access_codes a
         SET status = 'failed', reconcile = false, last_request_id = r ->> 'request_id',
             errors = jsonb_build_array(jsonb_build_object('error_code', r ->> 'error_type',
                        'message', r ->> 'error_message', 'http_status', (r ->> 'http_status')::int)),
             last_error = format('HTTP %s %s: %s', r ->> 'http_status', r ->> 'error_type', r ->> 'error_message'),
             status_detail = format('refused by Seam: HTTP %s %s', r ->> 'http_status', r ->> 'error_type')
       WHERE a.id = (r ->> 'id')::bigint AND a.status = 'sending';
    WHEN 'retry' THEN
      UPDATE oracode.access_codes a
         SET status = 'queued', reconcile = false, last_request_id = r ->> 'request_id',
             last_error = r ->> 'error',
             next_attempt_at = now() + oracode.retry_delay(a.attempts, (r ->> 'retry_after')::int),
             status_detail = format('not created (%s); will retry', r ->> 'error')
       WHERE a.id = (r ->> 'id')::bigint AND a.status = 'sending';
      IF (r ->> 'retry_after') IS NOT NULL THEN
        UPDATE oracode.devices d SET send_after = now() + make_interval(secs => (r ->> 'retry_after')::int)
         WHERE d.device_id = (SELECT a.device_id FROM oracode.access_codes a WHERE a.id = (r ->> 'id')::bigint);
      END IF;
    WHEN 'unknown' THEN
      UPDATE oracode.access_codes a
         SET reconcile = true, last_request_id = r ->> 'request_id', last_error = r ->> 'error',
             status_detail = format('no answer to the create: %s', r ->> 'error'),
             next_attempt_at = now() + oracode.retry_delay(a.attempts, (r ->> 'retry_after')::int)
       WHERE a.id = (r ->> 'id')::bigint AND a.status = 'sending';
    WHEN 'paused' THEN
      UPDATE oracode.access_codes a
         SET status = 'queued', attempts = greatest(a.attempts - 1, 0), last_error = r ->> 'error',
             next_attempt_at = now(), status_detail = 'sending paused: Seam refused the API key'
       WHERE a.id = (r ->> 'id')::bigint AND a.status = 'sending';
    ELSE
      RAISE EXCEPTION 'unknown create outcome %', r ->> 'outcome';
    END CASE;
  END LOOP;
END $$;

-- Record polled statuses: [{id, found:true, access_code:{...}}, {id, found:false}, {id, error, retry_after}]
-- A code found in Seam's list (nearly every one) is recorded by one UPDATE;
-- failed polls and codes Seam no longer lists go row by row as in 0.1.0.
CREATE OR REPLACE FUNCTION oracode.worker_apply_poll_results(results jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r jsonb;
  poll_interval interval := current_setting('oracode.poll_interval')::interval;
BEGIN
  -- oracode.seam_status() and oracode.next_poll() written out, as in
  -- worker_apply_create_results
  WITH found AS (
    SELECT (e ->> 'id')::bigint AS id, e -> 'access_code' AS ac,
           CASE WHEN e -> 'access_code' ->> 'status' IN ('unset', 'setting', 'set', 'removing', 'unknown')
                THEN e -> 'access_code' ->> 'status' ELSE 'unknown' END AS st
    FROM jsonb_array_elements(results) e
    WHERE NOT e ? 'error' AND coalesce((e ->> 'found')::boolean, false))
  UPDATE oracode.access_codes a
     SET status = f.st, code = coalesce(f.ac ->> 'code', a.code),
         errors = f.ac -> 'errors', warnings = f.ac -> 'warnings', last_error = NULL,
         next_attempt_at = CASE WHEN f.st = 'set' THEN greatest(a.ends_at, now()) ELSE now() END + poll_interval,
         status_detail = CASE WHEN f.st = 'unknown' AND f.ac ->> 'status' <> 'unknown'
                              THEN format('Seam reported status "%s"', f.ac ->> 'status')
                              ELSE 'polled' END
    FROM found f
   WHERE a.id = f.id;

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
