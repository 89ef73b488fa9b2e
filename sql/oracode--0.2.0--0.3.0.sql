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
