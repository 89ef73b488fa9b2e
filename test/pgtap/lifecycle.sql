-- What real Seam does to a code after it accepted the create (issue 13, items 2 and 3), as the
-- worker records its polls (oracode.worker_apply_poll_results, fed the rows the worker builds:
-- oracode.poll_result holding an oracode.seam_code): a code Seam reports "set" before its PIN is assigned keeps being polled until the
-- PIN arrives; a code whose end has passed is expired whether or not Seam still lists it, and
-- polled no more. In one rolled-back transaction, so the worker never sees these rows.
BEGIN;
SELECT plan(11);

INSERT INTO oracode.devices (device_id, display_name, timezone, can_program_offline_access_codes)
VALUES ('d1111111-1111-4111-8111-111111111111', 'Lifecycle room', 'UTC', true);
-- two sent requests: one for next week, one whose stay has ended
INSERT INTO oracode.access_codes (device_id, booking_ref, requested_starts_at, requested_ends_at, starts_at, ends_at,
                                  slot_name, bound, time_zone, status, seam_access_code_id, seam_name)
VALUES ('d1111111-1111-4111-8111-111111111111', 'LATE-PIN', now() + interval '7 days', now() + interval '9 days',
        now() + interval '7 days', now() + interval '9 days', 'Guest', 'hourly', 'UTC', 'unset', 'ac-late', 'late #1'),
       ('d1111111-1111-4111-8111-111111111111', 'ENDED', now() - interval '9 days', now() - interval '1 hour',
        now() - interval '9 days', now() - interval '1 hour', 'Guest', 'hourly', 'UTC', 'unset', 'ac-ended', 'ended #2');
SELECT id AS late FROM oracode.access_codes WHERE booking_ref = 'LATE-PIN' \gset
SELECT id AS ended FROM oracode.access_codes WHERE booking_ref = 'ENDED' \gset

-- item 3: "set" without a PIN yet
SELECT oracode.worker_apply_poll_results(ARRAY[ROW(:late, true, NULL, NULL,
  ROW('ac-late', NULL, NULL, 'set', 'set', NULL, true, NULL, NULL, NULL, NULL, NULL)::oracode.seam_code
  )::oracode.poll_result]);
SELECT results_eq($$SELECT status, code FROM oracode.access_codes WHERE booking_ref = 'LATE-PIN'$$,
  $$VALUES ('set'::text, NULL::text)$$, 'a code set at Seam without its PIN is set, with no PIN yet');
SELECT cmp_ok((SELECT next_attempt_at FROM oracode.access_codes WHERE id = :late), '<=',
              now() + current_setting('oracode.poll_interval')::interval,
  '... and is polled again within the poll interval, not at its end a week later');
SELECT is((SELECT status_detail FROM oracode.access_codes WHERE id = :late), 'set at Seam; waiting for its PIN', '... and says why');
SELECT oracode.worker_apply_poll_results(ARRAY[ROW(:late, true, NULL, NULL,
  ROW('ac-late', NULL, NULL, 'set', 'set', '271828', false, NULL, NULL, NULL, NULL, NULL)::oracode.seam_code
  )::oracode.poll_result]);
SELECT is((SELECT code FROM oracode.access_codes WHERE id = :late), '271828', 'the PIN that came late is recorded');
SELECT cmp_ok((SELECT next_attempt_at FROM oracode.access_codes WHERE id = :late), '>=', now() + interval '9 days',
  '... and the code is polled next only at its end');

-- item 2: a code whose end has passed is expired, though Seam still lists it
SELECT oracode.worker_apply_poll_results(ARRAY[ROW(:ended, true, NULL, NULL,
  ROW('ac-ended', NULL, NULL, 'set', 'set', '314159', false, NULL, NULL, NULL, NULL, NULL)::oracode.seam_code
  )::oracode.poll_result]);
SELECT is((SELECT status FROM oracode.access_codes WHERE id = :ended), 'expired',
  'a code still listed after its end is expired');
SELECT is((SELECT count(*) FROM oracode.access_codes a WHERE a.id = :ended
            AND a.status IN ('unset', 'setting', 'set', 'removing', 'unknown')), 0::bigint,
  '... and no longer among the codes the worker polls');
SELECT results_eq($$SELECT old_status, new_status FROM oracode.access_code_events WHERE access_code_id = $$ || :ended || $$ ORDER BY id$$,
  $$VALUES (NULL::text, 'unset'::text), ('unset', 'set'), ('set', 'expired')$$,
  '... its history says so');
SELECT is((SELECT code FROM oracode.access_codes WHERE id = :ended), '314159', '... keeping the PIN it had');

-- item 1: an access-code error fails the request, Seam's error kept; warnings stay warnings
INSERT INTO oracode.access_codes (device_id, booking_ref, requested_starts_at, requested_ends_at, starts_at, ends_at,
                                  slot_name, bound, time_zone, status, seam_access_code_id, seam_name)
VALUES ('d1111111-1111-4111-8111-111111111111', 'ERR', now() + interval '3 days', now() + interval '5 days',
        now() + interval '3 days', now() + interval '5 days', 'Guest', 'hourly', 'UTC', 'setting', 'ac-err', 'err #3'),
       ('d1111111-1111-4111-8111-111111111111', 'WARN', now() + interval '3 days', now() + interval '5 days',
        now() + interval '3 days', now() + interval '5 days', 'Guest', 'hourly', 'UTC', 'setting', 'ac-warn', 'warn #4');
SELECT oracode.worker_apply_poll_results(ARRAY[
  ROW((SELECT id FROM oracode.access_codes WHERE booking_ref = 'ERR'), true, NULL, NULL,
      ROW('ac-err', NULL, NULL, 'setting', 'setting', NULL, false, NULL, NULL,
          jsonb_build_array(jsonb_build_object('error_code', 'dormakaba_oracode_invalid_time_range',
            'is_access_code_error', true, 'message', 'The time range is not valid for this lock.')),
          '[]'::jsonb, NULL)::oracode.seam_code)::oracode.poll_result,
  ROW((SELECT id FROM oracode.access_codes WHERE booking_ref = 'WARN'), true, NULL, NULL,
      ROW('ac-warn', NULL, NULL, 'setting', 'setting', NULL, false, NULL, NULL, '[]'::jsonb,
          jsonb_build_array(jsonb_build_object('warning_code', 'delay_in_setting_on_device')), NULL)::oracode.seam_code
      )::oracode.poll_result]);
SELECT results_eq($$SELECT status, errors -> 0 ->> 'error_code', last_error FROM oracode.access_codes WHERE booking_ref = 'ERR'$$,
  $$VALUES ('failed'::text, 'dormakaba_oracode_invalid_time_range'::text, 'Seam: The time range is not valid for this lock.'::text)$$,
  'an access-code error on a polled code fails the request, with Seam''s error kept');
SELECT results_eq($$SELECT status, warnings -> 0 ->> 'warning_code' FROM oracode.access_codes WHERE booking_ref = 'WARN'$$,
  $$VALUES ('setting'::text, 'delay_in_setting_on_device'::text)$$, 'a warning stays a warning');

SELECT * FROM finish();
ROLLBACK;
