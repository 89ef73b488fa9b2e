-- bench/match_plpgsql.sql — reference implementation of the slot-matching rule
-- (doc/reference.md, "Matching") in plain PL/pgSQL, independent of the C code.
--
-- It is the yardstick for the C function oracode_match_slot(jsonb, ...): the
-- benchmark (bench/match_slot.sh) times both and the oracle test
-- (test/pgtap/match_oracle.sql) checks that they agree row by row. It is written
-- to be obviously correct, not fast.
--
--   oracode_bench.match_slot_plpgsql(time_slots jsonb, starts_at timestamptz,
--       ends_at timestamptz, max_time_rounding text DEFAULT '1hour')
--     RETURNS oracode_bench.slot_match  -- (slot_name, starts_at, ends_at, bound)
--
-- Re-runnable: it drops and recreates schema oracode_bench. It has no
-- transaction control, so it can be loaded with \ir inside a test transaction.
-- It does not need the oracode extension.

DROP SCHEMA IF EXISTS oracode_bench CASCADE;
CREATE SCHEMA oracode_bench;

CREATE TYPE oracode_bench.slot_match AS (
    slot_name text,
    starts_at timestamptz,
    ends_at   timestamptz,
    bound     text
);

-- A Seam time of day (doc/reference.md, "oracode_tod"), parsed: the wall-clock time, the fixed UTC
-- offset if one was given (ISO sign: -05:00 is five hours west of UTC), and the
-- bracketed zone name if one was given.
CREATE TYPE oracode_bench.tod AS (
    wall       time,
    utc_offset interval,
    zone       text
);

-- Parse a Seam TOD string: HH:MM[:SS[.ffffff]], then Z or ±HH:MM and/or [zone].
-- label names the string in error messages. Anything wrong raises 22023
-- (inside oracode_match_slot a bad time is "malformed slot JSON", doc/reference.md, "Matching").
CREATE FUNCTION oracode_bench.parse_tod(str text, label text)
RETURNS oracode_bench.tod
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    m text[];
    r oracode_bench.tod;
BEGIN
    IF str IS NULL THEN
        RAISE EXCEPTION 'malformed time slot JSON: % is missing', label
            USING ERRCODE = '22023';
    END IF;
    --                   1 hour      2 minute   3 second        4 fraction         5 offset                  6 zone
    m := regexp_match(str, '^([0-9]{2}):([0-9]{2})(?::([0-9]{2})(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?(?:\[([^]]+)\])?$');
    IF m IS NULL THEN
        RAISE EXCEPTION 'malformed time slot JSON: % is %, not a Seam time of day', label, quote_literal(str)
            USING ERRCODE = '22023';
    END IF;
    IF m[1]::int > 23 OR m[2]::int > 59 OR coalesce(m[3], '00')::int > 59 THEN
        RAISE EXCEPTION 'malformed time slot JSON: % is %, which is out of range', label, quote_literal(str)
            USING ERRCODE = '22023';
    END IF;
    IF m[5] IS NULL AND m[6] IS NULL THEN
        RAISE EXCEPTION 'malformed time slot JSON: % is %, which has neither an offset nor a zone', label, quote_literal(str)
            USING ERRCODE = '22023';
    END IF;

    r.wall := (m[1] || ':' || m[2] || ':' || coalesce(m[3], '00') || coalesce(m[4], ''))::time;

    IF m[5] = 'Z' THEN
        r.utc_offset := interval '0';
    ELSIF m[5] IS NOT NULL THEN
        IF substr(m[5], 2, 2)::int > 23 OR substr(m[5], 5, 2)::int > 59 THEN
            RAISE EXCEPTION 'malformed time slot JSON: % is %, whose offset is out of range', label, quote_literal(str)
                USING ERRCODE = '22023';
        END IF;
        -- computed arithmetically: never hand '-05:00' to AT TIME ZONE, which
        -- reads it with the POSIX sign (the opposite of ISO 8601)
        r.utc_offset := (CASE WHEN left(m[5], 1) = '-' THEN -1 ELSE 1 END)
                        * (substr(m[5], 2, 2)::int * interval '1 hour'
                           + substr(m[5], 5, 2)::int * interval '1 minute');
    END IF;

    IF m[6] IS NOT NULL THEN
        r.zone := m[6];
        -- Is it a name PostgreSQL's time zone database knows (doc/reference.md, "oracode_tod")? The
        -- TimeZone setting accepts exactly those (not abbreviations such as
        -- EDT, which AT TIME ZONE would also take). The trial setting is undone
        -- by raising out of the block, which rolls the sub-transaction back.
        BEGIN
            PERFORM set_config('TimeZone', r.zone, true);
            RAISE EXCEPTION USING ERRCODE = 'OCZOK';
        EXCEPTION
            WHEN SQLSTATE 'OCZOK' THEN
                NULL;                               -- known zone
            WHEN invalid_parameter_value THEN
                RAISE EXCEPTION 'malformed time slot JSON: % is %, whose time zone % is not recognized',
                    label, quote_literal(str), quote_literal(r.zone)
                    USING ERRCODE = '22023';
        END;
    END IF;
    RETURN r;
END
$$;

-- The instant of wall-clock time `wall` on local date `d` in a slot's zone: a
-- named zone if there is one (it wins over the offset), else the fixed offset.
-- With a zone this is exactly (d + wall) AT TIME ZONE zone, so DST gaps and
-- overlaps resolve as PostgreSQL resolves them.
--
-- Caveat, taken literally from the matching rule, step 4 (doc/reference.md, "Matching"): AT TIME ZONE looks a name up in
-- the abbreviation table before the zone database, so for the few names that
-- are both a DST-observing zone and a fixed abbreviation (CET, EET, MET, WET)
-- this uses the fixed winter offset all year. The C function uses the zone
-- database there (CET is +02:00 in summer); the oracle test avoids those names.
CREATE FUNCTION oracode_bench.occurrence(wall time, d date, zone text, utc_offset interval)
RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF zone IS NOT NULL THEN
        RETURN (d + wall) AT TIME ZONE zone;
    END IF;
    -- local = UTC + offset, so UTC = local - offset (09:00-05:00 is 14:00 UTC)
    RETURN ((d + wall) AT TIME ZONE 'UTC') - utc_offset;
END
$$;

-- The local date of instant t in a slot's zone (same zone rule as above).
CREATE FUNCTION oracode_bench.local_date(t timestamptz, zone text, utc_offset interval)
RETURNS date
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF zone IS NOT NULL THEN
        RETURN (t AT TIME ZONE zone)::date;
    END IF;
    RETURN ((t AT TIME ZONE 'UTC') + utc_offset)::date;
END
$$;

-- Seconds from a to b (b - a), exact to the microsecond.
CREATE FUNCTION oracode_bench.seconds_between(a timestamptz, b timestamptz)
RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT extract(epoch FROM b) - extract(epoch FROM a)
$$;

-- The occurrence of wall-clock time `wall` nearest to `target` whose distance
-- to it is at most r_seconds (inclusive), or NULL if there is none. On a tie
-- the earlier occurrence wins, or the later one if prefer_later. Local dates
-- from two days before to two days after target's local date are tried, which
-- covers every occurrence within a day of target even across DST changes.
CREATE FUNCTION oracode_bench.nearest_occurrence(wall time, target timestamptz, r_seconds numeric,
                                                 prefer_later boolean, zone text, utc_offset interval)
RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d0        date := oracode_bench.local_date(target, zone, utc_offset);
    c         timestamptz;
    dist      numeric;
    best      timestamptz;
    best_dist numeric;
BEGIN
    FOR k IN -2..2 LOOP
        c := oracode_bench.occurrence(wall, d0 + k, zone, utc_offset);
        dist := abs(oracode_bench.seconds_between(target, c));
        CONTINUE WHEN dist > r_seconds;
        IF best IS NULL
           OR dist < best_dist
           OR (dist = best_dist AND prefer_later AND c > best)
           OR (dist = best_dist AND NOT prefer_later AND c < best) THEN
            best := c;
            best_dist := dist;
        END IF;
    END LOOP;
    RETURN best;
END
$$;

-- A flag of a slot object: absent or null is false; anything but a boolean is malformed.
CREATE FUNCTION oracode_bench.slot_flag(slot jsonb, key text, n int)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF slot -> key IS NULL OR jsonb_typeof(slot -> key) = 'null' THEN
        RETURN false;
    END IF;
    IF jsonb_typeof(slot -> key) <> 'boolean' THEN
        RAISE EXCEPTION 'malformed time slot JSON: in time slot %, "%" is not a boolean', n, key
            USING ERRCODE = '22023';
    END IF;
    RETURN (slot -> key)::boolean;
END
$$;

-- A string field of a slot object; missing, null or not a string is malformed.
CREATE FUNCTION oracode_bench.slot_string(slot jsonb, key text, n int)
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF jsonb_typeof(slot -> key) IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION 'malformed time slot JSON: time slot % has no string "%"', n, key
            USING ERRCODE = '22023';
    END IF;
    RETURN slot ->> key;
END
$$;

-- doc/reference.md, "Matching", rules 1–7.
CREATE FUNCTION oracode_bench.match_slot_plpgsql(time_slots jsonb, starts_at timestamptz,
                                                 ends_at timestamptz,
                                                 max_time_rounding text DEFAULT '1hour')
RETURNS oracode_bench.slot_match
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    max_seconds constant numeric := 744 * 3600;     -- 31 days
    r           numeric;                            -- tolerance R in seconds
    slot        jsonb;
    n           int;
    name        text;
    cin         oracode_bench.tod;
    cout        oracode_bench.tod;
    is_24_hour  boolean;
    skip        boolean;
    s           timestamptz;                        -- this slot's start
    e           timestamptz;                        -- this slot's end
    score       numeric;
    covers      boolean;
    best        oracode_bench.slot_match;
    best_score  numeric;
    best_covers boolean;
BEGIN
    -- rule 1 (a malformed rounding raises 22023 whatever the booking)
    r := CASE max_time_rounding
             WHEN '1hour' THEN 3600 WHEN '1h' THEN 3600
             WHEN '1day' THEN 86400 WHEN '1d' THEN 86400
         END;
    IF r IS NULL THEN
        RAISE EXCEPTION 'max_time_rounding must be 1hour, 1h, 1day or 1d, not %', coalesce(quote_literal(max_time_rounding), 'NULL')
            USING ERRCODE = '22023';
    END IF;
    -- a booking without times matches nothing (and raises nothing)
    IF starts_at IS NULL OR ends_at IS NULL OR NOT isfinite(starts_at) OR NOT isfinite(ends_at) THEN
        RETURN NULL;
    END IF;
    IF time_slots IS NULL THEN
        RETURN NULL;                                -- no slots, no match
    END IF;
    IF jsonb_typeof(time_slots) <> 'array' THEN
        RAISE EXCEPTION 'malformed time slot JSON: time_slots must be a JSON array, not %', jsonb_typeof(time_slots)
            USING ERRCODE = '22023';
    END IF;

    FOR slot, n IN SELECT value, ordinality FROM jsonb_array_elements(time_slots) WITH ORDINALITY LOOP
        IF jsonb_typeof(slot) <> 'object' THEN
            RAISE EXCEPTION 'malformed time slot JSON: element % of time_slots is not an object', n
                USING ERRCODE = '22023';
        END IF;
        -- every slot must be well formed, even one that is skipped
        name := oracode_bench.slot_string(slot, 'name', n);
        cin := oracode_bench.parse_tod(oracode_bench.slot_string(slot, 'check_in_time', n),
                                       format('check_in_time of time slot %s', n));
        cout := oracode_bench.parse_tod(oracode_bench.slot_string(slot, 'check_out_time', n),
                                        format('check_out_time of time slot %s', n));
        is_24_hour := oracode_bench.slot_flag(slot, 'is_24_hour', n);
        skip := oracode_bench.slot_flag(slot, 'is_one_shot', n) OR oracode_bench.slot_flag(slot, 'is_master', n);

        -- rule 2
        CONTINUE WHEN skip;

        -- rules 3 and 4: both times are read in the check-in time's zone
        s := oracode_bench.nearest_occurrence(cin.wall, starts_at, r, false, cin.zone, cin.utc_offset);
        e := oracode_bench.nearest_occurrence(cout.wall, ends_at, r, true, cin.zone, cin.utc_offset);

        -- rule 5
        CONTINUE WHEN s IS NULL OR e IS NULL OR NOT s < e
                      OR oracode_bench.seconds_between(s, e) > max_seconds;

        -- rule 6: least total distance, then covering, then name in byte
        -- order; two slots with the same name: the first in the array
        score := abs(oracode_bench.seconds_between(starts_at, s))
               + abs(oracode_bench.seconds_between(ends_at, e));
        covers := s <= starts_at AND e >= ends_at;
        IF best_score IS NULL
           OR score < best_score
           OR (score = best_score AND covers AND NOT best_covers)
           OR (score = best_score AND covers = best_covers
               AND name COLLATE "C" < best.slot_name COLLATE "C") THEN
            -- rule 7
            best := ROW(name, s, e, CASE WHEN is_24_hour THEN 'daily' ELSE 'hourly' END);
            best_score := score;
            best_covers := covers;
        END IF;
    END LOOP;

    -- a booking no code can serve (ends before it starts, over 744 hours) gets no slot;
    -- its slots were read all the same, so malformed JSON still raises
    IF best_score IS NULL OR ends_at <= starts_at
       OR oracode_bench.seconds_between(starts_at, ends_at) > max_seconds THEN
        RETURN NULL;                                -- nothing qualified
    END IF;
    RETURN best;
END
$$;

COMMENT ON FUNCTION oracode_bench.match_slot_plpgsql(jsonb, timestamptz, timestamptz, text) IS
    'Reference PL/pgSQL implementation of oracode_match_slot (doc/reference.md, "Matching"), for benchmarks and tests';
