#!/usr/bin/env bash
# Self-check of the fake Seam harness (scripts/fake.sh + server.mjs): install, start, seed an
# Oracode lock, drive the real Seam routes and every /_oracode/* control route, check that the
# server listens on 127.0.0.1 only and dies with its parent. Exits non-zero on the first failure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/fake.sh
source "$here/../../scripts/fake.sh"

step() { echo "selftest: $*"; }
fail() { echo "selftest: FAIL: $*" >&2; [ -n "${FAKE_LOG:-}" ] && tail -n 20 "$FAKE_LOG" >&2; exit 1; }
# expect JSON JS-EXPR: JS-EXPR (over `j`, the parsed JSON) must be truthy.
expect() {
  node -e 'const j = JSON.parse(process.argv[1]); process.exit(eval(process.argv[2]) ? 0 : 1)' "$1" "$2" \
    || fail "expected $2 in: ${1:0:600}"
}
# alive PID: the process exists and is not a zombie (waiting to be reaped counts as gone).
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# seam METHOD PATH [json]: a real Seam route with the seeded key.
seam() { FAKE_API_KEY=$key fake_call "$@"; }
# http_status METHOD PATH [json]: only the HTTP status of a Seam route call.
http_status() {
  local body=${3:-'{}'}
  curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data-binary "$body" "$FAKE_URL$2"
}

step "install"; fake_install
rec=$(mktemp "${TMPDIR:-/tmp}/oracode-fake-record.XXXXXX")
on_exit "rm -f '$rec'"
step "start, recording to $rec"; FAKE_SEAM_RECORD=$rec fake_start
step "listening at $FAKE_URL (pid $FAKE_PID)"
[[ $FAKE_URL =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "bad FAKE_URL $FAKE_URL"

if command -v ss >/dev/null; then
  listeners=$(ss -Hltn "sport = :$FAKE_PORT" | awk '{print $4}')
  [ "$listeners" = "127.0.0.1:$FAKE_PORT" ] || fail "port $FAKE_PORT bound as: ${listeners:-nothing}"
  step "ss: only 127.0.0.1:$FAKE_PORT"
fi
expect "$(fake_call GET /health)" 'j.ok === true'

step "seed_lock"
seed=$(fake_seed_lock '{"name":"Room 101","site_name":"Seaside Resort"}')
expect "$seed" '/^[0-9a-f-]{36}$/.test(j.device_id) && j.api_key && j.workspace_id && j.connected_account_id'
key=$(fake_json api_key <<<"$seed"); dev=$(fake_json device_id <<<"$seed"); ws=$(fake_json workspace_id <<<"$seed")

step "devices/list returns the lock with its slots"
devs=$(seam POST /devices/list '{}')
expect "$devs" "j.devices.length === 1 && j.devices[0].device_id === '$dev'"
expect "$devs" "const d = j.devices[0], m = d.properties.dormakaba_oracode_metadata;
  d.device_type === 'dormakaba_oracode_door' && d.display_name === 'Room 101' &&
  d.can_program_offline_access_codes === true && JSON.stringify(d.capabilities_supported) === '[\"access_code\"]' &&
  m.door_name === 'Room 101' && m.site_name === 'Seaside Resort' && m.site_id === null && m.door_is_wireless === false &&
  m.iana_timezone === 'America/Los_Angeles' && m.predefined_time_slots.length === 4 &&
  m.predefined_time_slots.every((s) => Object.keys(s).length === 10 && s.check_in_time.endsWith('[America/Los_Angeles]')) &&
  m.predefined_time_slots.filter((s) => s.is_24_hour).length === 1"
expect "$(seam POST /devices/get "{\"device_id\":\"$dev\"}")" "j.device.device_id === '$dev'"

step "seed_lock reuses the workspace and key, honours options"
seed2=$(fake_seed_lock "{\"workspace_id\":\"$ws\",\"time_zone\":\"Europe/Berlin\",\"can_program_offline_access_codes\":false,
  \"time_slots\":[{\"name\":\"X\",\"prefix\":5,\"check_in_time\":\"14:00:00[Europe/Berlin]\",\"check_out_time\":\"11:00:00[Europe/Berlin]\",
  \"is_24_hour\":false,\"is_biweekly_mode\":false,\"is_one_shot\":false,\"is_master\":false,
  \"ext_dormakaba_oracode_user_level_prefix\":5,\"dormakaba_oracode_user_level_id\":\"00000000-0000-4000-8000-000000000001\"}]}")
expect "$seed2" "j.workspace_id === '$ws' && j.api_key === '$key' && j.device_id !== '$dev'"
dev2=$(fake_json device_id <<<"$seed2")
expect "$(seam POST /devices/get "{\"device_id\":\"$dev2\"}")" "const m = j.device.properties.dormakaba_oracode_metadata;
  j.device.can_program_offline_access_codes === false && m.iana_timezone === 'Europe/Berlin' &&
  m.predefined_time_slots.length === 1 && m.predefined_time_slots[0].prefix === 5"
other=$(fake_seed_lock '{"api_key":"seam_othertest_abcdefghijklmnop","device_id":"0b0b0b0b-0000-4000-8000-000000000002"}')
expect "$other" "j.api_key === 'seam_othertest_abcdefghijklmnop' && j.workspace_id !== '$ws' && j.device_id === '0b0b0b0b-0000-4000-8000-000000000002'"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary "{\"device_id\":\"$dev\"}" "$FAKE_URL/_oracode/seed_lock")" = 409 ] \
  || fail "duplicate device_id not refused"

step "access_codes/create (offline, time-bound) through the real route"
fake_call POST /_oracode/reset_stats >/dev/null
body="{\"device_id\":\"$dev\",\"name\":\"Guest Smith 4711\",\"starts_at\":\"2030-12-01T23:30:00Z\",\"ends_at\":\"2030-12-05T18:30:00Z\",\"is_offline_access_code\":true}"
ac=$(seam POST /access_codes/create "$body")
expect "$ac" "j.ok && j.access_code.device_id === '$dev' && j.access_code.status === 'unset' && j.access_code.type === 'time_bound'"
acid=$(fake_json access_code.access_code_id <<<"$ac")
ac2=$(seam POST /access_codes/create "{\"device_id\":\"$dev2\",\"name\":\"Guest Two\"}")
acid2=$(fake_json access_code.access_code_id <<<"$ac2")

step "update_access_code"
up=$(fake_call POST /_oracode/update_access_code "{\"access_code_id\":\"$acid\",\"status\":\"set\",\"code\":\"123456\",\"is_offline_access_code\":true,\"warnings\":[{\"warning_code\":\"x\",\"message\":\"y\"}]}")
expect "$up" "j.access_code.status === 'set' && j.access_code.code === '123456'"
expect "$(seam POST /access_codes/get "{\"access_code_id\":\"$acid\"}")" \
  "j.access_code.status === 'set' && j.access_code.code === '123456' && j.access_code.is_offline_access_code === true && j.access_code.warnings.length === 1"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{"access_code_id":"nope"}' "$FAKE_URL/_oracode/update_access_code")" = 404 ] \
  || fail "update_access_code of an unknown code is not 404"

step "set_all and access_codes"
expect "$(fake_call POST /_oracode/set_all "{\"device_id\":\"$dev2\",\"status\":\"set\"}")" 'j.updated === 1'
expect "$(fake_call POST /_oracode/set_all '{"status":"set"}')" 'j.updated === 0'
expect "$(fake_call GET "/_oracode/access_codes?device_id=$dev2")" \
  "j.length === 1 && j[0].access_code_id === '$acid2' && j[0].status === 'set' && /^\\d+\$/.test(j[0].code)"
expect "$(fake_call GET /_oracode/access_codes)" 'j.length === 2'

step "stats"
expect "$(fake_call GET /_oracode/stats)" "j.requests['/access_codes/create'] === 2 && j.requests['/access_codes/get'] === 1 &&
  j.access_codes === 2 && j.creates_by_device['$dev'] === 1 && j.creates_by_device['$dev2'] === 1 && !('/_oracode/stats' in j.requests)"
fake_call POST /_oracode/reset_stats >/dev/null
expect "$(fake_call GET /_oracode/stats)" 'Object.keys(j.requests).length === 0 && Object.keys(j.creates_by_device).length === 0 && j.access_codes === 2'

step "delete_access_code"
fake_call POST /_oracode/delete_access_code "{\"access_code_id\":\"$acid\"}" >/dev/null
[ "$(http_status POST /access_codes/get "{\"access_code_id\":\"$acid\"}")" = 404 ] || fail "deleted code still found by get"
expect "$(seam POST /access_codes/list "{\"device_id\":\"$dev\"}")" "!j.access_codes.some((c) => c.access_code_id === '$acid')"

step "outage and end_outage"
fake_call POST /_fake/simulate_workspace_outage "{\"workspace_id\":\"$ws\",\"routes\":[\"/access_codes/create\",\"/access_codes/get\"]}" >/dev/null
[ "$(http_status POST /access_codes/get "{\"access_code_id\":\"$acid2\"}")" = 503 ] || fail "no 503 during the outage"
[ "$(http_status POST /access_codes/list "{\"device_id\":\"$dev2\"}")" = 200 ] || fail "unlisted route failed during the outage"
fake_call POST /_oracode/end_outage "{\"workspace_id\":\"$ws\"}" >/dev/null
[ "$(http_status POST /access_codes/get "{\"access_code_id\":\"$acid2\"}")" = 200 ] || fail "still failing after end_outage"

step "auto_set"
fake_call POST /_oracode/auto_set '{"ms":200}' >/dev/null
acid3=$(seam POST /access_codes/create "{\"device_id\":\"$dev\",\"name\":\"Auto\",\"starts_at\":\"2030-12-01T23:30:00Z\",\"ends_at\":\"2030-12-03T18:30:00Z\"}" \
  | fake_json access_code.access_code_id)
expect "$(seam POST /access_codes/get "{\"access_code_id\":\"$acid3\"}")" "j.access_code.status === 'unset'"
sleep 0.6
expect "$(seam POST /access_codes/get "{\"access_code_id\":\"$acid3\"}")" "j.access_code.status === 'set' && /^\\d{6}\$/.test(j.access_code.code)"
expect "$(seam POST /events/list "{\"since\":\"2000-01-01T00:00:00Z\",\"event_type\":\"access_code.set_on_device\"}")" \
  "j.events.some((e) => e.access_code_id === '$acid3')"
fake_call POST /_oracode/auto_set '{"ms":0}' >/dev/null

step "the recording holds the create's body as sent and its answer, and no control route"
expect "$(grep -F '"path":"/access_codes/create"' "$rec" | head -1)" "j.method === 'POST' && j.status === 200 &&
  JSON.stringify(j.request) === JSON.stringify($body) && j.response.access_code.access_code_id === '$acid' &&
  j.user_agent.startsWith('curl/')"
if grep -qF '"path":"/_oracode/' "$rec"; then fail "a control route was recorded"; fi

step "writing /_fake/database is refused (it would break the fake)"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data-binary '{}' "$FAKE_URL/_fake/database")" = 405 ] \
  || fail "PUT /_fake/database not refused"
expect "$(fake_call GET /health)" 'j.ok === true'

step "control-route errors are JSON"
expect "$(curl -s -X POST --data-binary 'nope' "$FAKE_URL/_oracode/set_all")" "j.ok === false && j.error.type === 'invalid_json'"
expect "$(curl -s "$FAKE_URL/_oracode/nope")" "j.ok === false && j.error.type === 'unknown_route'"

step "the server exits when its parent shell dies (kill -9, so no EXIT trap runs)"
read -r orphan orphan_dir < <(bash -c 'source "$1"; fake_start >/dev/null; echo "$FAKE_PID $FAKE_RUN_DIR"; kill -9 $$' _ "$here/../../scripts/fake.sh") || true
[[ ${orphan:-} =~ ^[0-9]+$ ]] || fail "could not start the orphan check"
for _ in $(seq 1 30); do alive "$orphan" || break; sleep 0.1; done
if alive "$orphan"; then kill "$orphan"; fail "server $orphan outlived its parent by 3 s"; fi
rm -rf "$orphan_dir"

step "fake_stop"
pid=$FAKE_PID; fake_stop
if alive "$pid"; then fail "server $pid still running after fake_stop"; fi
step "OK"
