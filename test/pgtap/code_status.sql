-- The statuses of a request, defined once (issue 12, item 2): src/code_status.c holds the
-- names and the sets the lifecycle speaks of, and SQL reads them through
-- oracode.statuses(kind) — the CHECK on access_codes.status, its partial indexes, the claims
-- and the views. Checked here against the ten names the contract fixes, as sets that
-- partition them, folded by the planner into constants (so a partial index still matches),
-- and readable by every role that reads a view naming one. In one rolled-back transaction.
BEGIN;
SELECT plan(13);

SELECT is(oracode.statuses('all'),
  ARRAY['queued', 'sending', 'unset', 'setting', 'set', 'removing', 'unknown', 'failed', 'expired', 'cancelled'],
  'the ten statuses, in the lifecycle''s order');
SELECT is(oracode.statuses('at_seam'), ARRAY['unset', 'setting', 'set', 'removing', 'unknown'],
  'at_seam: Seam''s own statuses, the ones polled');
SELECT is(oracode.statuses('final'), ARRAY['failed', 'expired', 'cancelled'], 'final: the terminal three');
SELECT is((SELECT array_agg(s ORDER BY s) FROM unnest(oracode.statuses('live') || oracode.statuses('final')) s),
          (SELECT array_agg(s ORDER BY s) FROM unnest(oracode.statuses('all')) s),
  'live and final together are all of them ...');
SELECT ok(NOT (oracode.statuses('live') && oracode.statuses('final')), '... and share none');
SELECT ok(oracode.statuses('at_seam') <@ oracode.statuses('live') AND oracode.statuses('pending') <@ oracode.statuses('live'),
  'the at_seam and pending statuses are live');
SELECT is(oracode.statuses('unsent'), ARRAY['queued', 'cancelled'], 'unsent: the two a row can have before it reached Seam');
SELECT throws_ok($$SELECT oracode.statuses('open')$$, '22023', 'unknown set of statuses "open"',
  'an unknown set is refused with 22023');

INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes)
VALUES ('d2222222-2222-4222-8222-222222222222', 'Status room', 'UTC', true);
SELECT throws_ok($$INSERT INTO oracode.access_codes (device_id, requested_starts_at, requested_ends_at, starts_at, ends_at,
                                                     slot_name, bound, time_zone, status)
                   VALUES ('d2222222-2222-4222-8222-222222222222', now(), now() + interval '1 day', now(),
                           now() + interval '1 day', 'Guest', 'hourly', 'UTC', 'lost')$$,
  '23514', NULL, 'a status outside the set is refused by the CHECK');

-- folded into a constant at planning: the claims' partial indexes still serve them
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  line text;
  plan text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    plan := plan || line || E'\n';
  END LOOP;
  RETURN plan;
END $$;
SET LOCAL enable_seqscan = off;
SELECT matches(pg_temp.plan_of($$SELECT 1 FROM oracode.access_codes a WHERE a.status <> ALL (oracode.statuses('final'))$$),
  '<> ALL \(''\{failed,expired,cancelled\}''::text\[\]\)', 'a call is folded into the constant set when planned');
SELECT matches(pg_temp.plan_of($$SELECT a.id FROM oracode.access_codes a
                                  WHERE a.status = ANY (oracode.statuses('at_seam')) AND a.seam_access_code_id IS NOT NULL
                                  ORDER BY a.next_attempt_at, a.id LIMIT 10$$),
  'access_codes_polled', 'a query naming the at_seam set is served by the partial index built on the same set');

-- a view is read with the owner's rights on its tables but the reader's on its functions: the
-- roles the README grants the views (pg_monitor) need EXECUTE on oracode.statuses()
CREATE ROLE oc_status_reader;
GRANT USAGE ON SCHEMA oracode TO oc_status_reader;
GRANT SELECT ON oracode.pending, oracode.capacity TO oc_status_reader;
SET LOCAL ROLE oc_status_reader;
SELECT lives_ok($$SELECT * FROM oracode.pending, oracode.capacity$$,
  'a role granted the views reads those that name a set of statuses ...');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION oracode.statuses(text) FROM PUBLIC;
SET LOCAL ROLE oc_status_reader;
SELECT throws_ok($$SELECT * FROM oracode.pending$$, '42501', NULL,
  '... which needs EXECUTE on oracode.statuses(), granted to PUBLIC for that');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
