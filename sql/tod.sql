-- oracode_tod: input forms, canonical output, errors, order, hashing, accessors
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET client_min_messages = warning;

-- report an error as "SQLSTATE: message" so each case fits on one line
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN others THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- every form seen in Seam's docs and the seam-tod spec, and their canonical output
SELECT s AS input, s::oracode_tod AS output
FROM (VALUES ('07:00:00[America/Los_Angeles]'),
             ('15:30:00[PST8PDT]'),
             ('15:30:00-08:00[America/Los_Angeles]'),
             ('09:00:00Z'),
             ('09:00:00-05:00'),
             ('09:00:00+05:30'),
             ('09:00[UTC]'),
             ('09:00Z'),
             ('23:59:59.999999Z'),
             ('12:00:00.5[Europe/Berlin]'),
             ('12:00:00.000000+01:00'),
             ('00:00:00-00:00'),
             ('  10:30:00[america/new_york]  '),
             ('10:30:00+14:00[Pacific/Kiritimati]')) AS t(s);

-- output re-reads to an equal value with the same text
SELECT s, (s::oracode_tod)::text::oracode_tod = s::oracode_tod AS round_trips,
       (s::oracode_tod)::text = ((s::oracode_tod)::text::oracode_tod)::text AS same_text
FROM (VALUES ('07:00:00[America/Los_Angeles]'), ('09:00:00Z'), ('09:00:00.000123-05:00'),
             ('15:30:00-08:00[America/Los_Angeles]'), ('00:00[Australia/Lord_Howe]')) AS t(s);

-- malformed input: 22007; unknown zone: 22023
SELECT s AS input, pg_temp.err(format('SELECT %L::oracode_tod', s)) AS result
FROM (VALUES (''), ('x'), ('7:00Z'), ('07:0Z'), ('07:00'), ('07:00:00'), ('24:00Z'), ('23:60Z'),
             ('23:59:60Z'), ('07:00:00.Z'), ('07:00:00.1234567Z'), ('07:00:00+5:00'),
             ('07:00:00+05'), ('07:00:00+24:00'), ('07:00:00+05:60'), ('07:00:00[]'),
             ('07:00:00[UTC'), ('07:00:00[UTC]x'), ('07:00:00 Z'), ('07:00:00ZZ'),
             ('25:00[UTC]'), ('07:00:00[Mars/Olympus_Mons]'), ('07:00:00-08:00[Nowhere/City]'),
             ('07:00:00[right/UTC]')) AS t(s);

-- the error text in full, once each
SELECT '24:00:00Z'::oracode_tod;
SELECT '07:00[Mars/Olympus_Mons]'::oracode_tod;
SELECT '07:00:00'::oracode_tod;

-- order: wall time, then offset (none first), then zone name (none first)
CREATE TEMP TABLE tods (t oracode_tod);
INSERT INTO tods VALUES ('10:00:00[UTC]'), ('09:00:00Z'), ('09:00:00-05:00'), ('09:00:00[America/Los_Angeles]'),
  ('09:00:00-08:00[America/Los_Angeles]'), ('09:00:00[America/Chicago]'), ('08:59:59.999999+14:00'),
  ('09:00:00+00:00'), ('09:00:00-08:00[America/Chicago]');
SELECT t FROM tods ORDER BY t;
SELECT t FROM tods ORDER BY t DESC LIMIT 3;

-- comparison operators agree with each other
SELECT a.t AS a, b.t AS b, a.t < b.t AS lt, a.t <= b.t AS le, a.t = b.t AS eq, a.t <> b.t AS ne,
       a.t >= b.t AS ge, a.t > b.t AS gt
FROM (VALUES ('09:00:00Z'::oracode_tod), ('09:00:00+00:00[UTC]'), ('09:00:00[UTC]')) a(t),
     (VALUES ('09:00:00Z'::oracode_tod), ('09:00:00[UTC]')) b(t)
ORDER BY 1, 2;

-- 'Z' and '+00:00' are the same value, so they hash alike and group together
SELECT count(DISTINCT t) FROM (VALUES ('09:00:00Z'::oracode_tod), ('09:00:00+00:00'), ('09:00:00.000-00:00')) v(t);
SELECT oracode_tod_hash('09:00:00Z') = oracode_tod_hash('09:00:00+00:00') AS same_hash,
       oracode_tod_hash_extended('09:00:00Z', 7) = oracode_tod_hash_extended('09:00:00+00:00', 7) AS same_hash_ext,
       oracode_tod_hash('09:00:00Z') <> oracode_tod_hash('09:00:00[UTC]') AS zone_differs;

-- btree and hash indexes and hash joins work
CREATE TEMP TABLE many AS
  SELECT format('%s:%s:00%s', lpad((i % 24)::text, 2, '0'), lpad((i % 60)::text, 2, '0'),
                (ARRAY['Z', '-05:00', '[Europe/Berlin]', '+01:00[Europe/Berlin]'])[1 + i % 4])::oracode_tod AS t
  FROM generate_series(1, 2000) i;
CREATE INDEX many_btree ON many USING btree (t);
CREATE INDEX many_hash ON many USING hash (t);
ANALYZE many;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM many WHERE t = '07:07:00+01:00[Europe/Berlin]';
SELECT count(*) FROM many WHERE t >= '23:00:00Z';
RESET enable_seqscan;
RESET enable_bitmapscan;
SET enable_mergejoin = off;
SET enable_nestloop = off;
SELECT count(*) FROM many a JOIN (SELECT DISTINCT t FROM many) b ON a.t = b.t;
RESET enable_mergejoin;
RESET enable_nestloop;
SELECT count(*) = count(DISTINCT t::text) AS text_and_value_agree FROM (SELECT DISTINCT t FROM many) d;

-- accessors
SELECT s, oracode_tod_time(s::oracode_tod) AS time, oracode_tod_zone(s::oracode_tod) AS zone
FROM (VALUES ('07:00:00[America/Los_Angeles]'), ('15:30:00-08:00[America/Los_Angeles]'), ('09:00:00Z'),
             ('09:00:00-05:00'), ('09:00:00.25+05:30')) AS t(s);

-- oracode_tod_at: the zone wins over the offset; a bare offset is fixed
SELECT oracode_tod_at('15:30:00-08:00[America/Los_Angeles]', '2024-07-01') AS summer_zone_wins,
       oracode_tod_at('15:30:00-08:00', '2024-07-01') AS fixed_offset,
       oracode_tod_at('09:00:00Z', '2024-07-01') AS utc,
       oracode_tod_at('09:00:00+05:30', '2024-07-01') AS india;

-- DST transition days, US and Europe: every hour through the change, checked
-- against PostgreSQL's own "(date + time) AT TIME ZONE zone"
SELECT z, d, h, oracode_tod_at(format('%s[%s]', h, z)::oracode_tod, d::date) AS at,
       oracode_tod_at(format('%s[%s]', h, z)::oracode_tod, d::date) = (d::date + h::time) AT TIME ZONE z AS same_as_pg
FROM (VALUES ('America/New_York', '2024-03-10'), ('America/New_York', '2024-11-03'),
             ('Europe/Berlin', '2024-03-31'), ('Europe/Berlin', '2024-10-27')) AS days(z, d),
     (VALUES ('00:30:00'), ('01:00:00'), ('01:30:00'), ('02:00:00'), ('02:30:00'), ('03:00:00'),
             ('03:30:00'), ('04:00:00')) AS hours(h)
ORDER BY z, d, h;

-- the nonexistent hour (spring forward) and the repeated hour (fall back), spelled out
SELECT oracode_tod_at('02:30[America/New_York]', '2024-03-10') AS ny_gap,
       oracode_tod_at('01:30[America/New_York]', '2024-11-03') AS ny_repeated,
       oracode_tod_at('02:30[Europe/Berlin]', '2024-03-31') AS berlin_gap,
       oracode_tod_at('02:30[Europe/Berlin]', '2024-10-27') AS berlin_repeated;

SELECT pg_temp.err($$SELECT oracode_tod_at('09:00Z', 'infinity')$$);
