// What oracode sends to Seam and reads from Seam's answers, in one place, for the contract
// test (check.mjs). Each entry names the C (or SQL) that depends on it; check.mjs holds every
// entry against the OpenAPI document of the pinned @seamapi/types, and also fails when
// src/seam_json.c or src/time_slot.c reads or writes a key that is not listed here.
//
// A read field is { path, type, need?, by }:
//   path  JSON path in the answer: `a.b` is member b of object a, `a[]` each element of array a
//   type  the JSON types the code accepts there: 'string', 'boolean', 'integer' (a whole
//         number), 'number', 'object', 'array', and 'null' where null means something to it;
//         any other type is read as absent (seam_json.c's get_* helpers)
//   need  true when the code refuses or skips the enclosing object without it (the schema must
//         then require it, non-null)
//   values  for a string with a meaning per value, the values the code tells apart (Seam's
//         schema must not allow another)
//   by    where it is read

// One access code object (src/seam_json.c read_access_code and code_problem,
// and the status logic in sql/oracode--0.4.0.sql that reads the worker's oracode.seam_code of it).
const accessCode = (p) => [
  { path: p, type: 'object', need: true, by: 'seam_parse_access_code / seam_parse_access_codes' },
  { path: `${p}.access_code_id`, type: 'string', need: true, by: 'read_access_code, code_problem' },
  { path: `${p}.device_id`, type: 'string', need: true, by: 'read_access_code, code_problem' },
  { path: `${p}.status`, type: 'string', need: true, values: ['unset', 'setting', 'set', 'removing', 'unknown'], by: 'read_access_code, code_problem, code_status_of_seam' },
  { path: `${p}.name`, type: ['string', 'null'], by: 'read_access_code, code_problem (reconcile finds a code by its name)' },
  { path: `${p}.code`, type: ['string', 'null'], by: 'read_access_code, code_problem (the PIN)' },
  { path: `${p}.is_waiting_for_code_assignment`, type: 'boolean', by: 'read_access_code (a set code still polled for its PIN)' },
  { path: `${p}.starts_at`, type: ['string', 'null'], by: 'read_access_code (seam_parse_timestamp)' },
  { path: `${p}.ends_at`, type: ['string', 'null'], by: 'read_access_code (seam_parse_timestamp)' },
  { path: `${p}.errors`, type: 'array', by: 'read_access_code, code_problem' },
  { path: `${p}.errors[].created_at`, type: 'string', by: 'kept in the request\'s errors' },
  { path: `${p}.errors[].error_code`, type: 'string', by: 'oracode--0.4.0.sql (the request\'s last_error)' },
  { path: `${p}.errors[].message`, type: 'string', by: 'oracode--0.4.0.sql (the request\'s last_error)' },
  { path: `${p}.errors[].is_access_code_error`, type: 'boolean', by: 'oracode--0.4.0.sql (an access-code error fails the request)' },
  { path: `${p}.warnings`, type: 'array', by: 'read_access_code, code_problem' },
];

// A list answer's pagination (read_next_cursor, for seam_parse_access_codes and seam_parse_devices).
const pagination = [
  { path: 'pagination', type: 'object', by: 'read_next_cursor (seam_parse_access_codes, seam_parse_devices) (absent: last page)' },
  { path: 'pagination.has_next_page', type: 'boolean', by: 'read_next_cursor (seam_parse_access_codes, seam_parse_devices)' },
  { path: 'pagination.next_page_cursor', type: ['string', 'null'], by: 'read_next_cursor (seam_parse_access_codes, seam_parse_devices)' },
];

// One Oracode time slot (src/time_slot.c time_slot_read, for the sync and the jsonb form alike).
const slot = (p) => [
  { path: `${p}.name`, type: 'string', need: true, by: 'time_slot_read' },
  { path: `${p}.check_in_time`, type: 'string', need: true, by: 'time_slot_read' },
  { path: `${p}.check_out_time`, type: 'string', need: true, by: 'time_slot_read' },
  { path: `${p}.is_24_hour`, type: ['boolean', 'null'], by: 'time_slot_read' },
  { path: `${p}.is_biweekly_mode`, type: ['boolean', 'null'], by: 'time_slot_read' },
  { path: `${p}.is_one_shot`, type: ['boolean', 'null'], by: 'time_slot_read' },
  { path: `${p}.is_master`, type: ['boolean', 'null'], by: 'time_slot_read' },
  { path: `${p}.prefix`, type: 'integer', by: 'time_slot_read (informative)' },
  { path: `${p}.ext_dormakaba_oracode_user_level_prefix`, type: 'integer', by: 'time_slot_read (informative)' },
  { path: `${p}.dormakaba_oracode_user_level_id`, type: 'string', by: 'time_slot_read (informative, a UUID)' },
];

// One device (seam_json.c read_device).
const device = (p) => [
  { path: `${p}.device_id`, type: 'string', need: true, by: 'read_device' },
  { path: `${p}.device_type`, type: 'string', by: 'read_device (is_oracode)' },
  { path: `${p}.display_name`, type: 'string', by: 'read_device' },
  { path: `${p}.can_program_offline_access_codes`, type: 'boolean', by: 'read_device' },
  { path: `${p}.errors`, type: 'array', by: 'read_device' },
  { path: `${p}.properties`, type: 'object', by: 'read_device' },
  { path: `${p}.properties.name`, type: 'string', by: 'read_device (display_name fallback)' },
  { path: `${p}.properties.code_constraints`, type: 'array', by: 'read_code_constraints' },
  { path: `${p}.properties.code_constraints[].constraint_type`, type: 'string', by: 'read_code_constraints (name_length, name_must_be_unique)' },
  { path: `${p}.properties.code_constraints[].max_length`, type: 'integer', by: 'read_code_constraints (devices.code_name_max_length)' },
  { path: `${p}.location`, type: ['object', 'null'], by: 'read_device (time zone fallback)' },
  { path: `${p}.location.timezone`, type: 'string', by: 'read_device (time zone fallback)' },
  { path: `${p}.properties.dormakaba_oracode_metadata`, type: 'object', by: 'read_device' },
  { path: `${p}.properties.dormakaba_oracode_metadata.iana_timezone`, type: 'string', by: 'read_device' },
  { path: `${p}.properties.dormakaba_oracode_metadata.site_name`, type: 'string', by: 'read_device' },
  { path: `${p}.properties.dormakaba_oracode_metadata.door_name`, type: 'string', by: 'read_device' },
  { path: `${p}.properties.dormakaba_oracode_metadata.predefined_time_slots`, type: 'array', by: 'read_device, seam_parse_time_slots' },
  ...slot(`${p}.properties.dormakaba_oracode_metadata.predefined_time_slots[]`),
];

// Seam's error answers ({"error": {"type", "message"}, "ok": false}): seam_parse_error. The
// OpenAPI document gives 400/401 answers no schema, so these are checked against the recorded
// answers only.
export const errorReads = [
  { path: 'error', type: 'object', need: true, by: 'seam_parse_error' },
  { path: 'error.type', type: 'string', need: true, by: 'seam_parse_error' },
  { path: 'error.message', type: 'string', by: 'seam_parse_error' },
  { path: 'error.validation_errors', type: 'object', by: 'seam_parse_error (kept in errors of a refused create)' },
];

// The endpoints the worker calls: the body keys it can send (seam_json.c seam_body_*), and the
// fields it reads from a 200 answer.
export const endpoints = {
  'POST /access_codes/create': {
    sends: ['device_id', 'name', 'starts_at', 'ends_at', 'is_offline_access_code', 'max_time_rounding'],
    reads: [...accessCode('access_code'),
      { path: 'action_attempt', type: 'object', by: 'seam_parse_access_code (action_attempt_error)' },
      { path: 'action_attempt.action_attempt_id', type: 'string', by: 'action_attempt_error (kept in errors)' },
      { path: 'action_attempt.status', type: 'string', by: 'action_attempt_error (error: the request fails)' },
      { path: 'action_attempt.error', type: ['object', 'null'], by: 'action_attempt_error' },
      { path: 'action_attempt.error.type', type: 'string', by: 'action_attempt_error (its error_code)' },
      { path: 'action_attempt.error.message', type: 'string', by: 'action_attempt_error (its message)' }],
  },
  'POST /access_codes/list': {
    sends: ['access_code_ids', 'device_id', 'page_cursor'],
    reads: [{ path: 'access_codes', type: 'array', need: true, by: 'seam_parse_access_codes' },
      ...accessCode('access_codes[]'), ...pagination],
  },
  'POST /devices/list': {
    sends: ['limit', 'page_cursor'],
    reads: [{ path: 'devices', type: 'array', need: true, by: 'seam_parse_devices' }, ...device('devices[]'), ...pagination],
  },
};

// The webhook events oracode_ingest_webhook (sql/oracode--0.4.0.sql) reads, by event_type,
// checked against the matching variant of Seam's event schema. `known` marks a read that Seam's
// schema does not back, with the reason it is kept for now (it is shown, not failed).
const eventBase = [
  { path: 'event_id', type: 'string', by: 'oracode_ingest_webhook (the event is applied once)' },
  { path: 'event_type', type: 'string', by: 'oracode_ingest_webhook' },
  { path: 'access_code_id', type: 'string', by: 'oracode_ingest_webhook (the row it applies to)' },
  { path: 'occurred_at', type: 'string', by: 'oracode_ingest_webhook (the error or warning time)' },
];
const eventCode = { path: 'code', type: ['string', 'null'], by: 'oracode_ingest_webhook (coalesce(ev ->> \'code\', a.code))' };
export const webhooks = {
  'access_code.set_on_device': [...eventBase, eventCode],
  'access_code.scheduled_on_device': [...eventBase, eventCode],
  // carries no PIN: the event only makes the code due for a poll
  'access_code.changed': eventBase,
  'access_code.failed_to_set_on_device': eventBase,
  'access_code.delay_in_setting_on_device': eventBase,
  'access_code.removed_from_device': eventBase,
  'access_code.deleted': eventBase,
};
