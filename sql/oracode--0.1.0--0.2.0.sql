-- oracode 0.1.0 → 0.2.0: reporting views, the worker's health, and
-- oracode_explain_match for a synced device.
--
-- There is no oracode--0.2.0.sql: CREATE EXTENSION oracode runs 0.1.0 and
-- then this script, so a fresh install and an upgraded one are built by the
-- same statements and cannot drift apart.
\echo Use "ALTER EXTENSION oracode UPDATE TO '0.2.0'" to load this file. \quit

---------------------------------------------------------------------------
-- Dumps: a restored request keeps its own history
---------------------------------------------------------------------------
-- pg_restore loads oracode.access_codes (a pg_extension_config_dump table)
-- with COPY, which fires row triggers: in 0.1.0 every restored request got a
-- second "queued" event, whose id then collided with the restored events.
-- A row whose created_at is older than the inserting transaction was created
-- elsewhere (a restore, a copy between databases) and brings its events
-- with it; only a request created now starts its history here.
DROP TRIGGER access_codes_events ON oracode.access_codes;
CREATE TRIGGER access_codes_events AFTER UPDATE OF status ON oracode.access_codes
    FOR EACH ROW EXECUTE FUNCTION oracode.record_status_change();
CREATE TRIGGER access_codes_events_insert AFTER INSERT ON oracode.access_codes
    FOR EACH ROW WHEN (NEW.created_at >= transaction_timestamp())
    EXECUTE FUNCTION oracode.record_status_change();

---------------------------------------------------------------------------
-- oracode_explain_match for a device's synced slots (src/explain.c)
---------------------------------------------------------------------------
-- Raises OC004 for a device not in oracode.devices; a NULL device explains nothing.
CREATE FUNCTION @extschema@.oracode_explain_match(device_id uuid, starts_at timestamptz,
        ends_at timestamptz, max_time_rounding text DEFAULT '1hour')
    RETURNS TABLE (slot_name text, check_in time, check_out time, time_zone text, bound text,
                   start_candidate timestamptz, end_candidate timestamptz,
                   start_shift interval, end_shift interval, verdict text)
    AS 'MODULE_PATHNAME', 'oracode_explain_match_device' LANGUAGE C STABLE PARALLEL SAFE ROWS 8;
COMMENT ON FUNCTION @extschema@.oracode_explain_match(uuid, timestamptz, timestamptz, text) IS
    'one row per synced slot of the device: its candidate start and end for the booking and why it qualified or not';

-- An untyped literal fits both the jsonb and the uuid form, which PostgreSQL
-- would call ambiguous; with a text form it picks this one, which dispatches.
-- PL/pgSQL, not SQL: an inlined SQL function would fold the cast of the
-- branch not taken at plan time and fail on it.
CREATE FUNCTION @extschema@.oracode_explain_match(time_slots_or_device text, starts_at timestamptz,
        ends_at timestamptz, max_time_rounding text DEFAULT '1hour')
    RETURNS TABLE (slot_name text, check_in time, check_out time, time_zone text, bound text,
                   start_candidate timestamptz, end_candidate timestamptz,
                   start_shift interval, end_shift interval, verdict text)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 8 AS $$
BEGIN
  IF $1 ~* '^\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*$' THEN
    RETURN QUERY SELECT * FROM @extschema@.oracode_explain_match($1::uuid, $2, $3, $4);
  ELSE
    RETURN QUERY SELECT * FROM @extschema@.oracode_explain_match($1::jsonb, $2, $3, $4);
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.oracode_explain_match(text, timestamptz, timestamptz, text) IS
    'oracode_explain_match for an untyped literal: a device id or a slots JSON array';

---------------------------------------------------------------------------
-- The worker's shared state (src/health.c)
---------------------------------------------------------------------------
-- Without shared_preload_libraries: one row with preloaded = false.
CREATE FUNCTION oracode.worker_state(OUT preloaded boolean, OUT pid integer,
        OUT started_at timestamptz, OUT last_poll_at timestamptz, OUT last_send_at timestamptz,
        OUT last_sync_at timestamptz, OUT paused_unauthorized boolean, OUT last_error text,
        OUT last_error_at timestamptz)
    RETURNS record
    AS 'MODULE_PATHNAME', 'oracode_worker_state' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION oracode.worker_state() IS
    'the background worker''s shared state: pid, last poll, send and sync, 401 pause, last error';

---------------------------------------------------------------------------
-- Reports. None of them has the PIN (access_codes.code), so a monitoring
-- role can read them all; they run with the rights of the extension's owner.
---------------------------------------------------------------------------
-- Requests per device and status, one column per status.
CREATE VIEW oracode.status_counts AS
SELECT d.device_id, d.display_name,
       count(a.id) FILTER (WHERE a.status = 'queued')    AS queued,
       count(a.id) FILTER (WHERE a.status = 'sending')   AS sending,
       count(a.id) FILTER (WHERE a.status = 'unset')     AS unset,
       count(a.id) FILTER (WHERE a.status = 'setting')   AS setting,
       count(a.id) FILTER (WHERE a.status = 'set')       AS set,
       count(a.id) FILTER (WHERE a.status = 'removing')  AS removing,
       count(a.id) FILTER (WHERE a.status = 'unknown')   AS unknown,
       count(a.id) FILTER (WHERE a.status = 'failed')    AS failed,
       count(a.id) FILTER (WHERE a.status = 'expired')   AS expired,
       count(a.id) FILTER (WHERE a.status = 'cancelled') AS cancelled,
       count(a.id) AS total
FROM oracode.devices d
LEFT JOIN oracode.access_codes a ON a.device_id = d.device_id
GROUP BY d.device_id;
COMMENT ON VIEW oracode.status_counts IS 'access code requests per device, by status';

-- Live codes against code_limit, counted as oracode_create_code counts them (OC003).
CREATE VIEW oracode.capacity AS
SELECT d.device_id, d.display_name, d.code_limit,
       count(a.id) AS live_codes,
       d.code_limit - count(a.id) AS free,
       round(100.0 * count(a.id) / nullif(d.code_limit, 0), 1) AS used_pct,
       min(a.ends_at) AS next_end
FROM oracode.devices d
LEFT JOIN oracode.access_codes a ON a.device_id = d.device_id
      AND a.status NOT IN ('failed', 'cancelled', 'expired') AND a.ends_at > now()
GROUP BY d.device_id;
COMMENT ON VIEW oracode.capacity IS
    'live codes (not failed, cancelled or expired, not yet ended) per device against its code_limit';
COMMENT ON COLUMN oracode.capacity.next_end IS 'when the first live code ends and frees a place';

-- Work not finished yet: what the worker still has to send or to see set.
-- next_attempt_at is when the worker will look at the row next, holds
-- (issue_at) and Seam's back-off for the device (Retry-After) included.
CREATE VIEW oracode.pending AS
SELECT a.id, a.device_id, d.display_name, a.booking_ref, a.name, a.status,
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

-- Per request that reached "set": when it was queued, when it could first be
-- sent (a held request waits for issue_at), and when Seam reported it set.
CREATE VIEW oracode.set_times AS
SELECT a.id, a.device_id, e.queued_at, greatest(e.queued_at, a.issue_at) AS due_at, e.set_at,
       e.set_at - greatest(e.queued_at, a.issue_at) AS time_to_set
FROM (SELECT ev.access_code_id,
             min(ev.at) FILTER (WHERE ev.old_status IS NULL) AS queued_at,
             min(ev.at) FILTER (WHERE ev.new_status = 'set') AS set_at
      FROM oracode.access_code_events ev
      GROUP BY ev.access_code_id) e
JOIN oracode.access_codes a ON a.id = e.access_code_id
WHERE e.set_at IS NOT NULL AND e.queued_at IS NOT NULL;
COMMENT ON VIEW oracode.set_times IS
    'per request that reached set: time from being due (queued, or issue_at if later) to set';

-- Time-to-set percentiles per device (filter oracode.set_times for other windows).
CREATE VIEW oracode.time_to_set AS
SELECT d.device_id, d.display_name, count(*) AS codes_set,
       make_interval(secs => percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.time_to_set))) AS p50,
       make_interval(secs => percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.time_to_set))) AS p90,
       make_interval(secs => percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM t.time_to_set))) AS p95,
       make_interval(secs => percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM t.time_to_set))) AS p99,
       max(t.time_to_set) AS max,
       max(t.set_at) AS last_set_at
FROM oracode.set_times t
JOIN oracode.devices d ON d.device_id = t.device_id
GROUP BY d.device_id;
COMMENT ON VIEW oracode.time_to_set IS
    'per device: percentiles of the time from a request being due to Seam reporting its code set';

-- One row: is the worker doing its job for this database?
--   state: running | paused (Seam refused the key) | stopped (no worker process)
--          | standby (in recovery: the worker starts at promotion)
--          | other database (the worker serves oracode.database, not this one)
--          | not preloaded (oracode is not in shared_preload_libraries)
CREATE VIEW oracode.worker_health AS
SELECT CASE WHEN NOT w.preloaded THEN 'not preloaded'
            WHEN pg_catalog.pg_is_in_recovery() THEN 'standby'
            WHEN current_setting('oracode.database', true) IS DISTINCT FROM current_database()
              THEN 'other database'
            WHEN w.pid IS NULL THEN 'stopped'
            WHEN w.paused_unauthorized THEN 'paused'
            ELSE 'running' END AS state,
       w.pid IS NOT NULL AS running, w.pid, w.preloaded,
       current_setting('oracode.database', true) AS database,
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
COMMENT ON VIEW oracode.worker_health IS
    'the background worker: state, last poll, send and sync, queue depth, oldest queued age, 401 pause, last error';
COMMENT ON COLUMN oracode.worker_health.oldest_queued_age IS
    'how long the oldest queued request has been due (held requests count from their issue_at)';

---------------------------------------------------------------------------
-- Who may read what. The views are for monitoring: pg_monitor (and every
-- role granted it) reads them. Nobody but the owner reads the tables, and
-- the PIN column only with an explicit column grant (see README, "Roles").
---------------------------------------------------------------------------
REVOKE ALL ON FUNCTION oracode.worker_state() FROM PUBLIC;
REVOKE ALL ON oracode.status_counts, oracode.capacity, oracode.pending, oracode.set_times,
              oracode.time_to_set, oracode.worker_health FROM PUBLIC;
GRANT USAGE ON SCHEMA oracode TO pg_monitor;
GRANT EXECUTE ON FUNCTION oracode.worker_state() TO pg_monitor;
GRANT SELECT ON oracode.status_counts, oracode.capacity, oracode.pending, oracode.set_times,
                oracode.time_to_set, oracode.worker_health TO pg_monitor;
