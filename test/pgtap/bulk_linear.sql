-- A first bulk import costs each booking an index probe, whatever the statistics say
-- (issue 12). The outbox is given the statistics of a fresh install (none: never analyzed),
-- a first statement plans the request path while it is empty, and then statements of 2,000
-- and 4,000 bookings go through the README's trigger. Counted, not timed: no sequential scan
-- of oracode.access_codes runs during them (0.3.0's plan scanned the outbox once per flush and
-- joined every buffered booking against all of it: 200 million rows filtered for 20,000
-- bookings), and the rows fetched through indexes per booking stay the same few as the outbox
-- grows.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
SELECT plan(6);

INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes)
VALUES ('b0b0b0b0-0000-4000-8000-000000000001', 'Bulk room', 'UTC', true);
INSERT INTO oracode.time_slots (device_id, position, name, check_in_time, check_out_time)
VALUES ('b0b0b0b0-0000-4000-8000-000000000001', 0, '4pm-10am', '16:00Z', '10:00Z');
-- the statistics of a fresh install: none (rolled back with the rest)
DELETE FROM pg_statistic WHERE starelid = 'oracode.access_codes'::regclass;
UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = 'oracode.access_codes'::regclass;

CREATE TABLE pg_temp.bulk (id text, room uuid, arrive timestamptz, leave timestamptz);
CREATE TRIGGER oracode AFTER INSERT OR UPDATE OR DELETE ON pg_temp.bulk FOR EACH ROW
  EXECUTE FUNCTION oracode_booking_trigger('device=room', 'starts=arrive', 'ends=leave', 'ref=id');

-- rows of the outbox read so far in this transaction: by sequential scans, and through indexes
CREATE FUNCTION pg_temp.outbox_reads() RETURNS TABLE (scans bigint, seq bigint, idx bigint) LANGUAGE sql AS $$
  SELECT coalesce(seq_scan, 0), coalesce(seq_tup_read, 0), coalesce(idx_tup_fetch, 0)
  FROM pg_stat_xact_user_tables WHERE relid = 'oracode.access_codes'::regclass
$$;
CREATE FUNCTION pg_temp.book(tag text, n int) RETURNS void LANGUAGE sql AS $$
  INSERT INTO pg_temp.bulk SELECT tag || '-' || i, 'b0b0b0b0-0000-4000-8000-000000000001',
         current_date + 5 + (i % 300) + time '16:00', current_date + 7 + (i % 300) + time '10:00'
  FROM generate_series(1, n) i
$$;

SELECT pg_temp.book('first', 5);    -- the request path's plans are made here, on an empty outbox
SELECT * FROM pg_temp.outbox_reads() \gset r0_
SELECT pg_temp.book('second', 2000);
SELECT * FROM pg_temp.outbox_reads() \gset r1_
SELECT pg_temp.book('third', 4000);
SELECT * FROM pg_temp.outbox_reads() \gset r2_
\echo # outbox: sequential scans :r0_scans :r1_scans :r2_scans, rows read by them :r0_seq :r1_seq :r2_seq, by index :r0_idx :r1_idx :r2_idx

SELECT is((SELECT count(*) FROM oracode.access_codes WHERE device_id = 'b0b0b0b0-0000-4000-8000-000000000001'),
  6005::bigint, 'every booking has its request');
SELECT is((:r1_scans - :r0_scans)::bigint, 0::bigint, 'no sequential scan of the outbox for 2,000 bookings');
SELECT is((:r2_scans - :r1_scans)::bigint, 0::bigint, 'nor for 4,000 more');
SELECT cmp_ok((:r1_idx - :r0_idx) / 2000.0, '<=', 4.0, 'at most four outbox rows fetched per booking of 2,000');
SELECT cmp_ok((:r2_idx - :r1_idx) / 4000.0, '<=', 4.0, 'and of 4,000, into an outbox three times the size');
SELECT cmp_ok((:r2_idx - :r1_idx) / 4000.0, '<', 2 * (:r1_idx - :r0_idx) / 2000.0,
  'the rows fetched per booking do not grow with the outbox (which grew threefold)');

SELECT * FROM finish();
ROLLBACK;
