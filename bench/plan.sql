-- bench/plan.sql — the bookings the issuing and polling benchmarks request codes for.
-- psql -v n=N -f bench/plan.sql, in a database with oracode installed and devices synced.
-- Creates schema bench with:
--   bench.plan    booking i (1..N): lock i mod #devices, arriving 1-60 days ahead for 1-7
--                 nights, at times that fit the lock's slots (some on the hour, some 10-20
--                 minutes off), and the slot oracode_match_slot() picks for it
--   bench.bodies  the access_codes/create body the worker sends for request i (the identity of
--                 oracode.access_codes restarts at 1, so request i is named "Guest i #i")
--   bench.queue(n, batch)  the PMS backfill: oracode_create_code() for bookings 1..n, one
--                 committed transaction per batch
SET client_min_messages = warning;
CREATE SCHEMA bench;

-- Seam's local time with its UTC offset, as the worker writes starts_at/ends_at
CREATE FUNCTION bench.seam_local(t timestamptz, tz text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(t AT TIME ZONE tz, 'YYYY-MM-DD"T"HH24:MI:SS') ||
         CASE WHEN s < 0 THEN '-' ELSE '+' END ||
         lpad((abs(s) / 3600)::text, 2, '0') || ':' || lpad((abs(s) % 3600 / 60)::text, 2, '0')
  FROM (SELECT extract(epoch FROM (t AT TIME ZONE tz) - (t AT TIME ZONE 'UTC'))::int AS s) x
$$;

CREATE TABLE bench.plan AS
WITH d AS (SELECT row_number() OVER (ORDER BY device_id) - 1 AS k, device_id, timezone AS tz,
                  count(*) OVER () AS nd FROM oracode.devices),
     b AS (SELECT i, d.device_id, d.tz,
                  ((now() AT TIME ZONE d.tz)::date + 1 + i % 60 + time '16:00'
                     - (i % 3) * interval '10 minutes') AT TIME ZONE d.tz AS s,
                  ((now() AT TIME ZONE d.tz)::date + 1 + i % 60 + 1 + i % 7 + time '11:00'
                     - (i % 5) * interval '5 minutes') AT TIME ZONE d.tz AS e
           FROM generate_series(1, :n) i JOIN d ON d.k = i % d.nd)
SELECT b.*, m.starts_at AS ms, m.ends_at AS me, m.bound, m.time_zone AS mtz
FROM b LEFT JOIN LATERAL oracode_match_slot(b.device_id, b.s, b.e) m ON true;

CREATE TABLE bench.bodies AS
SELECT i, json_build_object('device_id', device_id, 'name', format('Guest %s #%s', i, i),
         'starts_at', bench.seam_local(ms, mtz), 'ends_at', bench.seam_local(me, mtz),
         'is_offline_access_code', true,
         'max_time_rounding', CASE WHEN bound = 'daily' THEN '1day' ELSE '1hour' END)::text AS body
FROM bench.plan;

CREATE PROCEDURE bench.queue(n int, batch int) LANGUAGE plpgsql AS $$
DECLARE lo int := 1;
BEGIN
  WHILE lo <= n LOOP
    PERFORM oracode_create_code(p.device_id, p.s, p.e, 'Guest ' || p.i, 'BK-' || p.i)
      FROM bench.plan p WHERE p.i BETWEEN lo AND least(n, lo + batch - 1) ORDER BY p.i;
    COMMIT;
    lo := lo + batch;
  END LOOP;
END $$;
