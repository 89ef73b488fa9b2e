-- oracode 0.1.0: dormakaba Oracode time slots, booking matching and Seam offline access codes.
\echo Use "CREATE EXTENSION oracode" to load this file. \quit

---------------------------------------------------------------------------
-- oracode_tod: a Seam time of day (SPEC §2.1)
---------------------------------------------------------------------------
CREATE TYPE @extschema@.oracode_tod;

CREATE FUNCTION @extschema@.oracode_tod_in(cstring) RETURNS @extschema@.oracode_tod
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.oracode_tod_out(@extschema@.oracode_tod) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.oracode_tod (
    INPUT = @extschema@.oracode_tod_in,
    OUTPUT = @extschema@.oracode_tod_out,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE @extschema@.oracode_tod IS
    'Seam time of day: HH:MM[:SS[.ffffff]] with Z or ±HH:MM and/or [zone]';

CREATE FUNCTION @extschema@.oracode_tod_eq(@extschema@.oracode_tod, @extschema@.oracode_tod) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.oracode_tod_ne(@extschema@.oracode_tod, @extschema@.oracode_tod) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.oracode_tod_lt(@extschema@.oracode_tod, @extschema@.oracode_tod) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.oracode_tod_le(@extschema@.oracode_tod, @extschema@.oracode_tod) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.oracode_tod_gt(@extschema@.oracode_tod, @extschema@.oracode_tod) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.oracode_tod_ge(@extschema@.oracode_tod, @extschema@.oracode_tod) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.oracode_tod_cmp(@extschema@.oracode_tod, @extschema@.oracode_tod) RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.oracode_tod_hash(@extschema@.oracode_tod) RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.oracode_tod_hash_extended(@extschema@.oracode_tod, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.oracode_tod, RIGHTARG = @extschema@.oracode_tod,
    PROCEDURE = @extschema@.oracode_tod_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.oracode_tod, RIGHTARG = @extschema@.oracode_tod,
    PROCEDURE = @extschema@.oracode_tod_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.oracode_tod, RIGHTARG = @extschema@.oracode_tod,
    PROCEDURE = @extschema@.oracode_tod_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.oracode_tod, RIGHTARG = @extschema@.oracode_tod,
    PROCEDURE = @extschema@.oracode_tod_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.oracode_tod, RIGHTARG = @extschema@.oracode_tod,
    PROCEDURE = @extschema@.oracode_tod_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.oracode_tod, RIGHTARG = @extschema@.oracode_tod,
    PROCEDURE = @extschema@.oracode_tod_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS @extschema@.oracode_tod_ops
    DEFAULT FOR TYPE @extschema@.oracode_tod USING btree AS
        OPERATOR 1 @extschema@.<,
        OPERATOR 2 @extschema@.<=,
        OPERATOR 3 @extschema@.=,
        OPERATOR 4 @extschema@.>=,
        OPERATOR 5 @extschema@.>,
        FUNCTION 1 @extschema@.oracode_tod_cmp(@extschema@.oracode_tod, @extschema@.oracode_tod);

CREATE OPERATOR CLASS @extschema@.oracode_tod_hash_ops
    DEFAULT FOR TYPE @extschema@.oracode_tod USING hash AS
        OPERATOR 1 @extschema@.=,
        FUNCTION 1 @extschema@.oracode_tod_hash(@extschema@.oracode_tod),
        FUNCTION 2 @extschema@.oracode_tod_hash_extended(@extschema@.oracode_tod, bigint);

CREATE FUNCTION @extschema@.oracode_tod_time(@extschema@.oracode_tod) RETURNS time
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.oracode_tod_time(@extschema@.oracode_tod) IS
    'wall-clock time of an oracode_tod';
CREATE FUNCTION @extschema@.oracode_tod_zone(@extschema@.oracode_tod) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.oracode_tod_zone(@extschema@.oracode_tod) IS
    'zone of an oracode_tod: the bracketed zone, else its offset as ±HH:MM';
-- STABLE, not IMMUTABLE: the answer depends on the server's time zone database.
CREATE FUNCTION @extschema@.oracode_tod_at(@extschema@.oracode_tod, date) RETURNS timestamptz
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.oracode_tod_at(@extschema@.oracode_tod, date) IS
    'the instant that wall-clock time occurs on that local date in its zone';

---------------------------------------------------------------------------
-- oracode_match_slot: booking → time slot (SPEC §2.2)
---------------------------------------------------------------------------
CREATE TYPE @extschema@.oracode_slot_match AS (
    slot_name     text,
    starts_at     timestamptz,
    ends_at       timestamptz,
    bound         text,          -- 'hourly' or 'daily' (is_24_hour)
    start_shift   interval,      -- starts_at - requested start
    end_shift     interval,      -- ends_at - requested end
    user_level_id uuid,          -- dormakaba_oracode_user_level_id of the slot
    time_zone     text           -- the slot's zone (its check-in time's), or its fixed offset
);

-- Not STRICT: NULL booking times are an error, NULL slots mean "no slot".
CREATE FUNCTION @extschema@.oracode_match_slot(time_slots jsonb, starts_at timestamptz,
        ends_at timestamptz, max_time_rounding text DEFAULT '1hour')
    RETURNS @extschema@.oracode_slot_match
    AS 'MODULE_PATHNAME', 'oracode_match_slot_jsonb' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.oracode_match_slot(jsonb, timestamptz, timestamptz, text) IS
    'the Oracode time slot a booking maps to, or NULL when none is within tolerance';

-- Every slot weighed against a booking, with why it was or was not chosen.
CREATE FUNCTION @extschema@.oracode_explain_match(time_slots jsonb, starts_at timestamptz,
        ends_at timestamptz, max_time_rounding text DEFAULT '1hour')
    RETURNS TABLE (slot_name text, check_in time, check_out time, time_zone text, bound text,
                   start_candidate timestamptz, end_candidate timestamptz,
                   start_shift interval, end_shift interval, verdict text)
    AS 'MODULE_PATHNAME', 'oracode_explain_match_jsonb' LANGUAGE C STABLE PARALLEL SAFE ROWS 8;
COMMENT ON FUNCTION @extschema@.oracode_explain_match(jsonb, timestamptz, timestamptz, text) IS
    'one row per slot: its candidate start and end for the booking and why it qualified or not';

---------------------------------------------------------------------------
-- State (SPEC §2.4): everything lives in schema oracode
---------------------------------------------------------------------------
CREATE SCHEMA oracode;
REVOKE ALL ON SCHEMA oracode FROM PUBLIC;

-- One row per device synced from Seam. code_limit is the operator's and is
-- never overwritten by a sync; removed_at marks devices Seam stopped listing.
CREATE TABLE oracode.devices (
    device_id       uuid PRIMARY KEY,
    display_name    text NOT NULL,
    device_type     text,
    timezone        text,
    site_name       text,
    door_name       text,
    can_program_offline_access_codes boolean NOT NULL DEFAULT false,
    code_limit      integer CHECK (code_limit >= 0),
    send_after      timestamptz,            -- worker-owned: Seam asked us to wait (429)
    errors          jsonb,
    synced_at       timestamptz NOT NULL DEFAULT now(),
    removed_at      timestamptz
);
COMMENT ON COLUMN oracode.devices.code_limit IS
    'operator-set cap on live codes (not failed/cancelled, not ended); NULL = none; sync never changes it';

-- One row per predefined time slot (Oracode user level) per device, in Seam's order.
CREATE TABLE oracode.time_slots (
    device_id       uuid NOT NULL REFERENCES oracode.devices ON DELETE CASCADE,
    position        integer NOT NULL,
    name            text NOT NULL,
    prefix          integer,
    check_in_time   @extschema@.oracode_tod NOT NULL,
    check_out_time  @extschema@.oracode_tod NOT NULL,
    is_24_hour      boolean NOT NULL DEFAULT false,
    is_biweekly_mode boolean NOT NULL DEFAULT false,
    is_one_shot     boolean NOT NULL DEFAULT false,
    is_master       boolean NOT NULL DEFAULT false,
    user_level_prefix integer,
    user_level_id   uuid,
    PRIMARY KEY (device_id, position)
);

-- One row per code request: the outbox the worker sends from.
CREATE TABLE oracode.access_codes (
    id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    device_id       uuid NOT NULL REFERENCES oracode.devices,
    booking_ref     text,
    name            text,
    requested_starts_at timestamptz NOT NULL,
    requested_ends_at   timestamptz NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    slot_name       text NOT NULL,
    bound           text NOT NULL CHECK (bound IN ('hourly', 'daily')),
    time_zone       text NOT NULL,          -- the slot's zone, for Seam's local times
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN
                    ('queued', 'sending', 'unset', 'setting', 'set', 'removing', 'unknown',
                     'failed', 'expired', 'cancelled')),
    issue_at        timestamptz,            -- hold until then (NULL = at once)
    seam_name       text,                   -- the name sent to Seam (unique per request)
    seam_access_code_id text UNIQUE,
    code            text,                   -- the PIN; needs an explicit grant to read
    errors          jsonb,
    warnings        jsonb,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    reconcile       boolean NOT NULL DEFAULT false,  -- a create may have reached Seam unanswered
    status_detail   text,                   -- why the last status change happened
    last_error      text,
    last_request_id text,
    superseded_by   bigint REFERENCES oracode.access_codes,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX access_codes_due ON oracode.access_codes (next_attempt_at)
    WHERE status IN ('queued', 'sending', 'unset', 'setting', 'set', 'removing', 'unknown');
CREATE INDEX access_codes_booking ON oracode.access_codes (booking_ref) WHERE booking_ref IS NOT NULL;
CREATE INDEX access_codes_device_sent ON oracode.access_codes (device_id, sent_at);

-- One row per status change; the insert of a request is its first (NULL → queued).
CREATE TABLE oracode.access_code_events (
    id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    access_code_id  bigint NOT NULL REFERENCES oracode.access_codes ON DELETE CASCADE,
    old_status      text,
    new_status      text NOT NULL,
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    detail          text
);
CREATE INDEX access_code_events_code ON oracode.access_code_events (access_code_id, at);

-- Webhook events already applied (SPEC §3: a repeated event changes nothing).
CREATE TABLE oracode.webhook_events (
    event_id        text PRIMARY KEY,
    event_type      text NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    payload         jsonb NOT NULL
);

SELECT pg_catalog.pg_extension_config_dump('oracode.devices', '');
SELECT pg_catalog.pg_extension_config_dump('oracode.time_slots', '');
SELECT pg_catalog.pg_extension_config_dump('oracode.access_codes', '');
SELECT pg_catalog.pg_extension_config_dump('oracode.access_code_events', '');
SELECT pg_catalog.pg_extension_config_dump('oracode.webhook_events', '');
SELECT pg_catalog.pg_extension_config_dump('oracode.access_codes_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oracode.access_code_events_id_seq', '');

-- Creation attempts per device, for the per-device create rate limit (worker-owned).
CREATE TABLE oracode.create_attempts (
    device_id       uuid NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX create_attempts_device_at ON oracode.create_attempts (device_id, at);

---------------------------------------------------------------------------
-- History and immutability of requests
---------------------------------------------------------------------------
-- Record every status change (the insert counts as the change to 'queued').
CREATE FUNCTION oracode.record_status_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO oracode.access_code_events (access_code_id, old_status, new_status, detail)
    VALUES (NEW.id, NULL, NEW.status, coalesce(NEW.status_detail, 'requested'));
  ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
    INSERT INTO oracode.access_code_events (access_code_id, old_status, new_status, detail)
    VALUES (NEW.id, OLD.status, NEW.status, NEW.status_detail);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER access_codes_events AFTER INSERT OR UPDATE OF status ON oracode.access_codes
    FOR EACH ROW EXECUTE FUNCTION oracode.record_status_change();

-- A code that may exist at Seam can never change or disappear (SPEC §2.4, OC005).
CREATE FUNCTION oracode.guard_sent_code() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF OLD.status IN ('queued', 'cancelled') THEN
    IF TG_OP = 'UPDATE' THEN
      NEW.updated_at := clock_timestamp();
      RETURN NEW;
    END IF;
    RETURN OLD;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION USING ERRCODE = 'OC005',
      MESSAGE = format('access code request %s cannot be deleted once sent', OLD.id),
      DETAIL = format('Its status is %s; Oracode codes cannot be changed or deleted once created.', OLD.status),
      HINT = 'Leave the row; cancel only requests that are still queued.';
  END IF;
  IF NEW.device_id IS DISTINCT FROM OLD.device_id OR NEW.starts_at IS DISTINCT FROM OLD.starts_at
     OR NEW.ends_at IS DISTINCT FROM OLD.ends_at
     OR (OLD.seam_access_code_id IS NOT NULL
         AND NEW.seam_access_code_id IS DISTINCT FROM OLD.seam_access_code_id) THEN
    RAISE EXCEPTION USING ERRCODE = 'OC005',
      MESSAGE = format('access code request %s is immutable once sent', OLD.id),
      DETAIL = format('Its status is %s; its device, times and Seam id can no longer change.', OLD.status),
      HINT = 'Request a new code with oracode_create_code(); the same booking_ref supersedes the old one.';
  END IF;
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END $$;
CREATE TRIGGER access_codes_guard BEFORE UPDATE OR DELETE ON oracode.access_codes
    FOR EACH ROW EXECUTE FUNCTION oracode.guard_sent_code();

-- Wake the worker when the transaction that queued work commits.
CREATE FUNCTION oracode.wake_worker() RETURNS trigger
    AS 'MODULE_PATHNAME', 'oracode_wake_worker_trigger' LANGUAGE C;
CREATE TRIGGER access_codes_wake AFTER INSERT OR UPDATE OF status, next_attempt_at ON oracode.access_codes
    FOR EACH STATEMENT EXECUTE FUNCTION oracode.wake_worker();

---------------------------------------------------------------------------
-- Requests (SPEC §2.3)
---------------------------------------------------------------------------
-- The slots of a synced device as Seam's JSON array (for explain and hints).
CREATE FUNCTION oracode.device_slots_json(p_device_id uuid) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'name', s.name, 'prefix', s.prefix,
           'check_in_time', s.check_in_time::text, 'check_out_time', s.check_out_time::text,
           'is_24_hour', s.is_24_hour, 'is_biweekly_mode', s.is_biweekly_mode,
           'is_one_shot', s.is_one_shot, 'is_master', s.is_master,
           'dormakaba_oracode_user_level_id', s.user_level_id) ORDER BY s.position), '[]'::jsonb)
  FROM oracode.time_slots s WHERE s.device_id = p_device_id
$$;

-- Raise OC001 with the booking in the lock's local time and the nearest slots.
CREATE FUNCTION oracode.raise_no_slot(dev oracode.devices, p_starts timestamptz, p_ends timestamptz,
                                      p_rounding text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  tz text := coalesce(dev.timezone, 'UTC');
  near text;
  nslots integer;
BEGIN
  SELECT count(*), string_agg(format('"%s" (check-in %s, check-out %s)', e.slot_name,
             oracode.describe_shift(e.start_shift), oracode.describe_shift(e.end_shift)), '; '
             ORDER BY abs(extract(epoch FROM e.start_shift)) + abs(extract(epoch FROM e.end_shift)),
                      e.slot_name COLLATE "C")
               FILTER (WHERE e.verdict NOT IN ('one-shot slot', 'master slot'))
    INTO nslots, near
  FROM @extschema@.oracode_explain_match(oracode.device_slots_json(dev.device_id), p_starts, p_ends, p_rounding) e;
  RAISE EXCEPTION USING ERRCODE = 'OC001', MESSAGE = 'no time slots found',
    DETAIL = format('The booking runs from %s to %s (%s); no usable time slot of device "%s" is within %s of both ends.',
                    to_char(p_starts AT TIME ZONE tz, 'YYYY-MM-DD HH24:MI'),
                    to_char(p_ends AT TIME ZONE tz, 'YYYY-MM-DD HH24:MI'), tz, dev.display_name,
                    CASE WHEN p_rounding IN ('1day', '1d') THEN 'a day' ELSE 'an hour' END),
    HINT = CASE WHEN nslots = 0 THEN 'The device has no synced time slots; run oracode_sync_devices() or ask the installer to configure user levels.'
                ELSE format('Nearest slots: %s. See oracode_explain_match() for every slot.', near) END;
END $$;

-- "2 h 15 min later", "30 min earlier", "on time": how far a slot moves one end of a booking.
CREATE FUNCTION oracode.describe_shift(shift interval) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE WHEN s = 0 THEN 'on time'
              ELSE concat_ws(' ', CASE WHEN abs(s) >= 3600 THEN (abs(s) / 3600)::int || ' h' END,
                             CASE WHEN abs(s) % 3600 >= 60 THEN ((abs(s) % 3600) / 60)::int || ' min' END,
                             CASE WHEN abs(s) < 60 THEN abs(s) || ' s' END)
                   || CASE WHEN s > 0 THEN ' later' ELSE ' earlier' END END
  FROM (SELECT extract(epoch FROM shift)::bigint AS s) x
$$;

CREATE FUNCTION @extschema@.oracode_create_code(device_id uuid, starts_at timestamptz, ends_at timestamptz,
        name text DEFAULT NULL, booking_ref text DEFAULT NULL, max_time_rounding text DEFAULT '1hour',
        issue_at timestamptz DEFAULT NULL)
    RETURNS oracode.access_codes
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  dev oracode.devices;
  m @extschema@.oracode_slot_match;
  row oracode.access_codes;
  new_id bigint;
  live integer;
BEGIN
  -- lock the device so concurrent requests for it count its capacity one at a time
  SELECT * INTO dev FROM oracode.devices d WHERE d.device_id = oracode_create_code.device_id
    FOR NO KEY UPDATE;
  IF NOT FOUND OR dev.removed_at IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'OC004',
      MESSAGE = format('unknown device %s', coalesce(oracode_create_code.device_id::text, 'NULL')),
      DETAIL = CASE WHEN dev.removed_at IS NOT NULL
                    THEN format('Seam stopped listing the device at %s.', dev.removed_at)
                    ELSE 'The device is not in oracode.devices.' END,
      HINT = 'Run oracode_sync_devices() to fetch devices from Seam.';
  END IF;
  IF NOT dev.can_program_offline_access_codes THEN
    RAISE EXCEPTION USING ERRCODE = 'OC002',
      MESSAGE = format('device "%s" cannot program offline access codes', dev.display_name),
      DETAIL = format('Seam reports can_program_offline_access_codes = false for device %s.', dev.device_id),
      HINT = 'Check the lock''s Oracode setup in Seam, then run oracode_sync_devices().';
  END IF;

  -- validates the arguments (22023) and picks the slot
  m := @extschema@.oracode_match_slot(dev.device_id, oracode_create_code.starts_at,
                                      oracode_create_code.ends_at, max_time_rounding);
  IF oracode_create_code.ends_at <= now() THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'ends_at is in the past',
      DETAIL = format('The booking ended at %s.', oracode_create_code.ends_at);
  END IF;
  IF m.slot_name IS NULL THEN
    PERFORM oracode.raise_no_slot(dev, oracode_create_code.starts_at, oracode_create_code.ends_at,
                                  max_time_rounding);
  END IF;

  -- idempotent: the same booking on the same device with the same matched times
  IF oracode_create_code.booking_ref IS NOT NULL THEN
    SELECT * INTO row FROM oracode.access_codes a
    WHERE a.booking_ref = oracode_create_code.booking_ref AND a.device_id = dev.device_id
      AND a.starts_at = m.starts_at AND a.ends_at = m.ends_at AND a.superseded_by IS NULL
      AND a.status NOT IN ('failed', 'cancelled', 'expired')
    ORDER BY a.id DESC LIMIT 1;
    IF FOUND THEN
      RETURN row;
    END IF;
  END IF;

  new_id := nextval(pg_get_serial_sequence('oracode.access_codes', 'id'));
  INSERT INTO oracode.access_codes AS a (id, device_id, booking_ref, name, requested_starts_at,
      requested_ends_at, starts_at, ends_at, slot_name, bound, time_zone, issue_at, seam_name,
      next_attempt_at, status_detail)
  SELECT new_id, dev.device_id, oracode_create_code.booking_ref, oracode_create_code.name,
      oracode_create_code.starts_at, oracode_create_code.ends_at, m.starts_at, m.ends_at,
      m.slot_name, m.bound, m.time_zone, oracode_create_code.issue_at,
      left(coalesce(oracode_create_code.name, oracode_create_code.booking_ref, 'oracode'), 80) || ' #' || new_id,
      greatest(now(), oracode_create_code.issue_at),
      CASE WHEN oracode_create_code.issue_at > now()
           THEN format('requested; held until %s', oracode_create_code.issue_at) ELSE 'requested' END
  RETURNING * INTO row;

  -- a changed booking supersedes its earlier requests; those not yet sent are never sent
  IF oracode_create_code.booking_ref IS NOT NULL THEN
    UPDATE oracode.access_codes a
       SET superseded_by = new_id,
           status = CASE WHEN a.status = 'queued' THEN 'cancelled' ELSE a.status END,
           status_detail = CASE WHEN a.status = 'queued' THEN format('superseded by request %s', new_id)
                                ELSE a.status_detail END
     WHERE a.booking_ref = oracode_create_code.booking_ref AND a.id <> new_id
       AND a.superseded_by IS NULL AND a.status NOT IN ('failed', 'cancelled', 'expired');
  END IF;

  IF dev.code_limit IS NOT NULL THEN
    SELECT count(*) INTO live FROM oracode.access_codes a
    WHERE a.device_id = dev.device_id AND a.status NOT IN ('failed', 'cancelled', 'expired')
      AND a.ends_at > now();
    IF live > dev.code_limit THEN
      RAISE EXCEPTION USING ERRCODE = 'OC003',
        MESSAGE = format('device "%s" has reached its code limit', dev.display_name),
        DETAIL = format('The device holds %s live codes and its code_limit is %s.', live - 1, dev.code_limit),
        HINT = 'Raise oracode.devices.code_limit if the lock has room, or wait until codes end.';
    END IF;
  END IF;
  RETURN row;
END $$;
COMMENT ON FUNCTION @extschema@.oracode_create_code(uuid, timestamptz, timestamptz, text, text, text, timestamptz) IS
    'queue an Oracode offline code for a booking; sent by the worker after commit';

-- Cancel a request that is still queued; a sent one cannot be cancelled (OC005).
CREATE FUNCTION @extschema@.oracode_cancel_code(id bigint) RETURNS oracode.access_codes
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  row oracode.access_codes;
BEGIN
  SELECT * INTO row FROM oracode.access_codes a WHERE a.id = oracode_cancel_code.id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('no access code request %s', oracode_cancel_code.id);
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

-- Cancel every still-queued request of a booking; returns how many were cancelled.
CREATE FUNCTION @extschema@.oracode_cancel_booking(booking_ref text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  n integer;
BEGIN
  UPDATE oracode.access_codes a SET status = 'cancelled', status_detail = 'booking cancelled'
   WHERE a.booking_ref = oracode_cancel_booking.booking_ref AND a.status = 'queued';
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

---------------------------------------------------------------------------
-- For PMS tables: a trigger that requests, supersedes and cancels codes
---------------------------------------------------------------------------
-- Arguments are key=value pairs naming the bookings table's own columns:
--   device=<column holding the lock's device uuid>
--     or device_sql=<query returning the device uuid; $1 is the row as jsonb>
--   starts=<column>  ends=<column>  ref=<column>  [name=<column>]
--   [cancelled=<column>:<value>]  (e.g. cancelled=status:cancelled)
--   [rounding=1hour|1day]  [issue_before=<interval>]  [on_error=raise|warn]
-- Not SECURITY DEFINER and no pinned search_path: device_sql is the PMS's own
-- query and must see its tables as the booking's own statement does.
CREATE FUNCTION @extschema@.oracode_booking_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  opt jsonb := '{}';
  arg text;
  r jsonb;
  o jsonb;
  dev uuid;
  odev uuid;
  cancelled boolean;
  was_cancelled boolean := false;
  starts timestamptz;
  ends timestamptz;
BEGIN
  FOREACH arg IN ARRAY TG_ARGV LOOP
    IF position('=' IN arg) = 0 THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid oracode_booking_trigger argument "%s"', arg),
        HINT = 'Arguments are key=value pairs such as device=lock_id, starts=check_in, ends=check_out, ref=id.';
    END IF;
    opt := opt || jsonb_build_object(split_part(arg, '=', 1), substr(arg, position('=' IN arg) + 1));
  END LOOP;
  IF NOT (opt ? 'starts' AND opt ? 'ends' AND opt ? 'ref' AND (opt ? 'device' OR opt ? 'device_sql')) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'oracode_booking_trigger needs device (or device_sql), starts, ends and ref';
  END IF;

  IF TG_OP = 'DELETE' THEN
    PERFORM @extschema@.oracode_cancel_booking(to_jsonb(OLD) ->> (opt ->> 'ref'));
    RETURN OLD;
  END IF;

  r := to_jsonb(NEW);
  IF opt ? 'device' THEN
    dev := (r ->> (opt ->> 'device'))::uuid;
  ELSE
    EXECUTE opt ->> 'device_sql' INTO dev USING r;
  END IF;
  cancelled := opt ? 'cancelled' AND
      (r ->> split_part(opt ->> 'cancelled', ':', 1)) = substr(opt ->> 'cancelled', position(':' IN opt ->> 'cancelled') + 1);
  starts := (r ->> (opt ->> 'starts'))::timestamptz;
  ends := (r ->> (opt ->> 'ends'))::timestamptz;

  IF TG_OP = 'UPDATE' THEN
    o := to_jsonb(OLD);
    IF opt ? 'device' THEN
      odev := (o ->> (opt ->> 'device'))::uuid;
    ELSE
      EXECUTE opt ->> 'device_sql' INTO odev USING o;
    END IF;
    was_cancelled := opt ? 'cancelled' AND
      (o ->> split_part(opt ->> 'cancelled', ':', 1)) = substr(opt ->> 'cancelled', position(':' IN opt ->> 'cancelled') + 1);
    IF cancelled THEN
      IF NOT was_cancelled THEN
        PERFORM @extschema@.oracode_cancel_booking(r ->> (opt ->> 'ref'));
      END IF;
      RETURN NEW;
    END IF;
    -- nothing the code depends on changed
    IF NOT was_cancelled AND dev IS NOT DISTINCT FROM odev
       AND starts = (o ->> (opt ->> 'starts'))::timestamptz AND ends = (o ->> (opt ->> 'ends'))::timestamptz THEN
      RETURN NEW;
    END IF;
  ELSIF cancelled THEN
    RETURN NEW;
  END IF;

  IF dev IS NULL THEN
    -- the room has no Oracode lock: stop any earlier request of this booking
    PERFORM @extschema@.oracode_cancel_booking(r ->> (opt ->> 'ref'));
    RETURN NEW;
  END IF;
  BEGIN
    PERFORM @extschema@.oracode_create_code(dev, starts, ends, r ->> (opt ->> 'name'), r ->> (opt ->> 'ref'),
        coalesce(opt ->> 'rounding', '1hour'),
        CASE WHEN opt ? 'issue_before' THEN starts - (opt ->> 'issue_before')::interval END);
  EXCEPTION WHEN SQLSTATE 'OC001' OR SQLSTATE 'OC002' OR SQLSTATE 'OC003' OR SQLSTATE 'OC004' THEN
    IF coalesce(opt ->> 'on_error', 'raise') <> 'warn' THEN
      RAISE;
    END IF;
    RAISE WARNING 'oracode: no code requested for booking %: %', r ->> (opt ->> 'ref'), SQLERRM;
  END;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@.oracode_booking_trigger() IS
    'row trigger for a PMS bookings table: requests, supersedes and cancels Oracode codes';

---------------------------------------------------------------------------
-- The worker's steps (SPEC §3), each run in its own short transaction.
-- The worker does HTTP between them, never inside one.
---------------------------------------------------------------------------
-- Seam's status → ours (an unknown new Seam status reads as 'unknown').
CREATE FUNCTION oracode.seam_status(s text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE WHEN s IN ('unset', 'setting', 'set', 'removing', 'unknown') THEN s ELSE 'unknown' END
$$;

-- Seconds to wait before retry n: exponential with jitter, capped, at least Retry-After.
CREATE FUNCTION oracode.retry_delay(attempts integer, retry_after integer DEFAULT NULL) RETURNS interval
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
  SELECT make_interval(secs => greatest(coalesce(retry_after, 0),
           least(extract(epoch FROM current_setting('oracode.retry_max_delay')::interval),
                 power(2, least(greatest(attempts, 1), 16)) * (0.8 + random() * 0.4))))
$$;

-- When to look at a code next, given its Seam status.
CREATE FUNCTION oracode.next_poll(status text, ends_at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE WHEN status = 'set' THEN greatest(ends_at, now())
              ELSE now() END + current_setting('oracode.poll_interval')::interval
$$;

-- At start: rows a crash left in 'sending' may have reached Seam: reconcile them first.
CREATE FUNCTION oracode.worker_recover() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE n integer;
BEGIN
  UPDATE oracode.access_codes SET reconcile = true, next_attempt_at = now(),
         last_error = 'worker restarted while the create was in flight',
         status_detail = 'no answer to the create: the worker restarted while it was in flight'
   WHERE status = 'sending';
  GET DIAGNOSTICS n = ROW_COUNT;
  DELETE FROM oracode.create_attempts WHERE at < now() - interval '1 hour';
  RETURN n;
END $$;

-- Claim creates to send and unanswered creates to reconcile (FOR UPDATE SKIP LOCKED, with a lease).
CREATE FUNCTION oracode.worker_claim_creates(opts jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  batch integer := (opts ->> 'batch')::int;
  rate integer := (opts ->> 'rate')::int;
  lease interval := make_interval(secs => (opts ->> 'lease_seconds')::int);
  rec jsonb;
  cre jsonb;
BEGIN
  -- a 'sending' row whose lease ran out: its create may or may not have reached Seam
  WITH due AS (
    SELECT a.id FROM oracode.access_codes a
    WHERE a.status = 'sending' AND a.next_attempt_at <= now()
    ORDER BY a.next_attempt_at, a.id LIMIT batch
    FOR UPDATE SKIP LOCKED),
  upd AS (
    UPDATE oracode.access_codes a SET reconcile = true, next_attempt_at = now() + lease,
           status_detail = CASE WHEN a.reconcile THEN a.status_detail
                                ELSE 'no answer to the create: its lease ran out' END
    FROM due WHERE a.id = due.id
    RETURNING a.id, a.device_id, a.seam_name)
  SELECT coalesce(jsonb_agg(to_jsonb(upd) ORDER BY upd.id), '[]') INTO rec FROM upd;

  WITH recent AS (
    SELECT c.device_id, count(*) AS n FROM oracode.create_attempts c
    WHERE c.at > now() - interval '1 minute' GROUP BY c.device_id),
  locked AS (
    SELECT a.id, a.device_id, a.next_attempt_at FROM oracode.access_codes a
    JOIN oracode.devices d ON d.device_id = a.device_id
    LEFT JOIN recent r ON r.device_id = a.device_id
    WHERE a.status = 'queued' AND a.next_attempt_at <= now()
      AND (a.issue_at IS NULL OR a.issue_at <= now())
      AND (d.send_after IS NULL OR d.send_after <= now())
      AND coalesce(r.n, 0) < rate
    ORDER BY a.next_attempt_at, a.id LIMIT batch * 4
    FOR UPDATE OF a SKIP LOCKED),
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

-- Record what Seam answered to creates.
--   created: {id, outcome, request_id, access_code:{access_code_id,status,code,errors,warnings}}
--   failed (Seam refused; permanent): {id, outcome, http_status, error_type, error_message, request_id}
--   retry (surely not created: 429, no connection): {id, outcome, error, retry_after, request_id}
--   unknown (may have been created): {id, outcome, error, retry_after, request_id}
--   paused (401: the key is wrong; nothing was created): {id, outcome, error}
--   "sent": false on retry or paused: the create never left the worker (no connection, or
--   held back after a 429 or 401 to another create), so it does not count against the rate
CREATE FUNCTION oracode.worker_apply_create_results(results jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r jsonb;
  ac jsonb;
BEGIN
  FOR r IN SELECT value FROM jsonb_array_elements(results) LOOP
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

-- Settle unanswered creates from the device's codes at Seam: adopt a code
-- created under our name, else send again. Never resend before this ran.
--   [{device_id, ids:[...], ok:true, codes:[seam access codes of that device]}]
--   [{device_id, ids:[...], ok:false, error, retry_after}]  (listing failed: try later)
CREATE FUNCTION oracode.worker_apply_reconcile(results jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r jsonb;
  row oracode.access_codes;
  ac jsonb;
BEGIN
  FOR r IN SELECT value FROM jsonb_array_elements(results) LOOP
    FOR row IN SELECT * FROM oracode.access_codes a
               WHERE a.id IN (SELECT jsonb_array_elements_text(r -> 'ids')::bigint)
                 AND a.status = 'sending' AND a.reconcile
               ORDER BY a.id FOR UPDATE LOOP
      IF NOT (r ->> 'ok')::boolean THEN
        UPDATE oracode.access_codes a SET last_error = r ->> 'error',
               next_attempt_at = now() + oracode.retry_delay(a.attempts, (r ->> 'retry_after')::int)
         WHERE a.id = row.id;
        CONTINUE;
      END IF;
      SELECT c INTO ac FROM jsonb_array_elements(r -> 'codes') c
       WHERE c ->> 'name' = row.seam_name AND c ->> 'device_id' = row.device_id::text
         AND NOT EXISTS (SELECT 1 FROM oracode.access_codes o
                         WHERE o.seam_access_code_id = c ->> 'access_code_id')
       ORDER BY c ->> 'access_code_id' LIMIT 1;
      IF ac IS NOT NULL THEN
        UPDATE oracode.access_codes a
           SET status = oracode.seam_status(ac ->> 'status'), seam_access_code_id = ac ->> 'access_code_id',
               code = coalesce(ac ->> 'code', a.code), errors = ac -> 'errors', warnings = ac -> 'warnings',
               reconcile = false, last_error = NULL,
               next_attempt_at = oracode.next_poll(oracode.seam_status(ac ->> 'status'), a.ends_at),
               status_detail = format('adopted %s from the device''s code list after %s',
                                      ac ->> 'access_code_id', coalesce(row.status_detail, 'no answer to the create'))
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

-- Claim codes whose status is due for a poll.
CREATE FUNCTION oracode.worker_claim_polls(opts jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE res jsonb;
BEGIN
  WITH due AS (
    SELECT a.id FROM oracode.access_codes a
    WHERE a.status IN ('unset', 'setting', 'set', 'removing', 'unknown')
      AND a.seam_access_code_id IS NOT NULL AND a.next_attempt_at <= now()
    ORDER BY a.next_attempt_at, a.id LIMIT (opts ->> 'batch')::int
    FOR UPDATE SKIP LOCKED),
  upd AS (
    UPDATE oracode.access_codes a SET next_attempt_at = now() + make_interval(secs => (opts ->> 'lease_seconds')::int)
    FROM due WHERE a.id = due.id
    RETURNING a.id, a.seam_access_code_id)
  SELECT coalesce(jsonb_agg(to_jsonb(upd) ORDER BY upd.id), '[]') INTO res FROM upd;
  RETURN res;
END $$;

-- Record polled statuses: [{id, found:true, access_code:{...}}, {id, found:false}, {id, error, retry_after}]
CREATE FUNCTION oracode.worker_apply_poll_results(results jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r jsonb;
  ac jsonb;
  st text;
BEGIN
  FOR r IN SELECT value FROM jsonb_array_elements(results) LOOP
    IF r ? 'error' THEN
      UPDATE oracode.access_codes a SET last_error = r ->> 'error',
             next_attempt_at = now() + oracode.retry_delay(2, (r ->> 'retry_after')::int)
       WHERE a.id = (r ->> 'id')::bigint;
    ELSIF (r ->> 'found')::boolean THEN
      ac := r -> 'access_code';
      st := oracode.seam_status(ac ->> 'status');
      UPDATE oracode.access_codes a
         SET status = st, code = coalesce(ac ->> 'code', a.code),
             errors = ac -> 'errors', warnings = ac -> 'warnings', last_error = NULL,
             next_attempt_at = oracode.next_poll(st, a.ends_at),
             status_detail = CASE WHEN st = 'unknown' AND ac ->> 'status' <> 'unknown'
                                  THEN format('Seam reported status "%s"', ac ->> 'status')
                                  ELSE 'polled' END
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

-- Seconds until the next row is due (the worker sleeps at most this long). A queued row is
-- due when its device may send again: after the device's Retry-After (send_after) and once
-- its create rate allows (the rate-th most recent attempt is a minute old); otherwise the
-- worker would wake every 50 ms while a device is held back.
CREATE FUNCTION oracode.worker_next_due() RETURNS double precision
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
      SELECT c.at + interval '1 minute' AS free_at FROM oracode.create_attempts c
      WHERE c.device_id = q.device_id AND c.at > now() - interval '1 minute'
      ORDER BY c.at DESC
      OFFSET greatest(current_setting('oracode.create_rate_limit')::int - 1, 0) LIMIT 1) r ON true)
  SELECT extract(epoch FROM least(
           (SELECT min(a.next_attempt_at) FROM oracode.access_codes a
             WHERE a.status IN ('sending', 'unset', 'setting', 'set', 'removing', 'unknown')),
           (SELECT min(held.due) FROM held)) - now())
$$;


---------------------------------------------------------------------------
-- Device sync and the device_id form of oracode_match_slot
-- (src/sync.c, src/match_device.c)
---------------------------------------------------------------------------
-- Refresh oracode.devices and oracode.time_slots from Seam now, in the
-- caller's transaction (the one network read SPEC §3 allows there).
CREATE FUNCTION @extschema@.oracode_sync_devices() RETURNS integer
    AS 'MODULE_PATHNAME', 'oracode_sync_devices' LANGUAGE C VOLATILE;
REVOKE EXECUTE ON FUNCTION @extschema@.oracode_sync_devices() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.oracode_sync_devices() IS
    'fetch the Oracode devices and their time slots from Seam now; returns how many devices Seam listed';

-- Not STRICT: NULL booking times are an error, a NULL device means "no slot".
-- Raises OC004 for a device not in oracode.devices; NULL for one without slots.
CREATE FUNCTION @extschema@.oracode_match_slot(device_id uuid, starts_at timestamptz,
        ends_at timestamptz, max_time_rounding text DEFAULT '1hour')
    RETURNS @extschema@.oracode_slot_match
    AS 'MODULE_PATHNAME', 'oracode_match_slot_device' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.oracode_match_slot(uuid, timestamptz, timestamptz, text) IS
    'the synced time slot of the device a booking maps to, or NULL when none is within tolerance';

-- Each backend caches the slots of the devices it matched; plain INSERT,
-- UPDATE and DELETE send no relcache invalidation, so these triggers do.
CREATE FUNCTION oracode.slot_cache_invalidate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'oracode_slot_cache_invalidate' LANGUAGE C;
REVOKE ALL ON FUNCTION oracode.slot_cache_invalidate() FROM PUBLIC;
CREATE TRIGGER time_slots_cache_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON oracode.time_slots
    FOR EACH STATEMENT EXECUTE FUNCTION oracode.slot_cache_invalidate();
CREATE TRIGGER devices_cache_invalidate
    AFTER INSERT OR DELETE OR UPDATE OF device_id OR TRUNCATE ON oracode.devices
    FOR EACH STATEMENT EXECUTE FUNCTION oracode.slot_cache_invalidate();

-- An untyped literal fits both the jsonb and the uuid form, which PostgreSQL
-- would call ambiguous; with a text form it picks this one, which dispatches.
CREATE FUNCTION @extschema@.oracode_match_slot(time_slots_or_device text, starts_at timestamptz,
        ends_at timestamptz, max_time_rounding text DEFAULT '1hour')
    RETURNS @extschema@.oracode_slot_match
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN $1 ~* '^\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*$'
              THEN @extschema@.oracode_match_slot($1::uuid, $2, $3, $4)
              ELSE @extschema@.oracode_match_slot($1::jsonb, $2, $3, $4) END
$$;
COMMENT ON FUNCTION @extschema@.oracode_match_slot(text, timestamptz, timestamptz, text) IS
    'oracode_match_slot for an untyped literal: a device id or a slots JSON array';

---------------------------------------------------------------------------
-- Webhooks (SPEC §3): Seam's events, verified with oracode.webhook_secret
---------------------------------------------------------------------------
CREATE FUNCTION oracode.webhook_check_signature(msg_id text, ts text, signatures text, body text)
    RETURNS void AS 'MODULE_PATHNAME', 'oracode_webhook_check_signature' LANGUAGE C VOLATILE;

-- Verify a delivery, then apply it once: a repeated event id changes nothing.
-- Returns 'applied', 'ignored' (no request with that Seam id, or an event
-- type oracode does not act on; it is still recorded) or 'duplicate'.
CREATE FUNCTION @extschema@.oracode_ingest_webhook(headers jsonb, body text) RETURNS text
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
  WHEN 'access_code.failed_to_set_on_device', 'access_code.delay_in_setting_on_device' THEN
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
COMMENT ON FUNCTION @extschema@.oracode_ingest_webhook(jsonb, text) IS
    'verify a Seam webhook (Svix signature, ±5 min) and apply its event once';

-- Codes are permanent and cost lock capacity: requesting, cancelling and
-- ingesting need an explicit grant (README, "Roles"). Matching stays public.
REVOKE EXECUTE ON FUNCTION @extschema@.oracode_create_code(uuid, timestamptz, timestamptz, text, text, text, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.oracode_cancel_code(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.oracode_cancel_booking(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.oracode_ingest_webhook(jsonb, text) FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA oracode FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA oracode FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA oracode FROM PUBLIC;
