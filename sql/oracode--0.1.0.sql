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
    user_level_id uuid           -- dormakaba_oracode_user_level_id of the slot
);

-- Not STRICT: NULL booking times are an error, NULL slots mean "no slot".
CREATE FUNCTION @extschema@.oracode_match_slot(time_slots jsonb, starts_at timestamptz,
        ends_at timestamptz, max_time_rounding text DEFAULT '1hour')
    RETURNS @extschema@.oracode_slot_match
    AS 'MODULE_PATHNAME', 'oracode_match_slot_jsonb' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.oracode_match_slot(jsonb, timestamptz, timestamptz, text) IS
    'the Oracode time slot a booking maps to, or NULL when none is within tolerance';
