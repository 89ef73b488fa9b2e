#!/usr/bin/env bash
# Self-test of the contract test (test/contract/check.mjs), so that it cannot pass by checking
# nothing: crafted recordings, a field list and a C source with known faults must each make it
# fail, naming the fault; a clean recording must pass. Prints one line per case and a closing
# "contract selftest: N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/oracode-contract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# case NAME WANT_RC PATTERN... -- ARGS...: run check.mjs ARGS; its exit status must be WANT_RC
# (0 or 1) and its output must match every PATTERN (extended regular expressions).
case_() {
  local name=$1 want=$2 out rc p ok=1
  shift 2
  local pats=()
  while [ "$1" != "--" ]; do pats+=("$1"); shift; done
  shift
  out=$(node "$here/check.mjs" "$@" 2>&1); rc=$?
  [ $rc -ne "$want" ] && ok=0
  for p in "${pats[@]}"; do grep -Eq -- "$p" <<<"$out" || { ok=0; echo "  missing: $p"; }; done
  if [ $ok -eq 1 ]; then passed=$((passed + 1)); echo "ok - $name"
  else failed=$((failed + 1)); echo "not ok - $name (exit $rc, wanted $want)"; sed 's/^/  | /' <<<"$out" | tail -n 25; fi
}

dev=0b0b0b0b-0000-4000-8000-000000000001
ac=0c0c0c0c-0000-4000-8000-000000000001
ua='"user_agent":"oracode/0.4.0"'
code="{\"access_code_id\":\"$ac\",\"device_id\":\"$dev\",\"status\":\"unset\",\"name\":\"G 1\",\"code\":null,\"errors\":[],\"warnings\":[],\"starts_at\":\"2030-01-01T15:00:00.000Z\",\"ends_at\":\"2030-01-03T10:00:00.000Z\"}"
good_create="{\"method\":\"POST\",\"path\":\"/access_codes/create\",$ua,\"request\":{\"device_id\":\"$dev\",\"name\":\"G 1\",\"starts_at\":\"2030-01-01T07:00:00-08:00\",\"ends_at\":\"2030-01-03T02:00:00-08:00\",\"is_offline_access_code\":true,\"max_time_rounding\":\"1day\"},\"status\":200,\"response\":{\"ok\":true,\"access_code\":$code}}"
good_list="{\"method\":\"POST\",\"path\":\"/access_codes/list\",$ua,\"request\":{\"access_code_ids\":[\"$ac\"]},\"status\":200,\"response\":{\"ok\":true,\"access_codes\":[$code],\"pagination\":{\"has_next_page\":false,\"next_page_cursor\":null,\"next_page_url\":null}}}"

printf '%s\n%s\n' "$good_create" "$good_list" >"$tmp/clean.jsonl"
case_ "a clean recording passes" 0 'contract: PASS' 'POST /access_codes/create: 1 bodies validated' -- "$tmp/clean.jsonl"

# the worker's create body with a field Seam does not know and without the device it needs
printf '%s\n' "{\"method\":\"POST\",\"path\":\"/access_codes/create\",$ua,\"request\":{\"name\":\"G 1\",\"pin_code\":\"1234\",\"is_offline_access_code\":true},\"status\":400,\"response\":{\"error\":{\"type\":\"invalid_input\",\"message\":\"x\"},\"ok\":false}}" \
  >"$tmp/unknown.jsonl"
case_ "an unknown field and a missing required field fail" 1 'unknown field /pin_code' 'missing required field /device_id' 'contract: FAIL' -- "$tmp/unknown.jsonl"

# a field of the wrong type, a value outside an enum, an endpoint Seam does not have
printf '%s\n' "{\"method\":\"POST\",\"path\":\"/access_codes/list\",$ua,\"request\":{\"device_id\":\"$dev\",\"page_cursor\":7},\"status\":200,\"response\":null}" \
  "{\"method\":\"POST\",\"path\":\"/access_codes/create\",$ua,\"request\":{\"device_id\":\"$dev\",\"max_time_rounding\":\"1week\"},\"status\":200,\"response\":null}" \
  "{\"method\":\"POST\",\"path\":\"/access_codes/frobnicate\",$ua,\"request\":{},\"status\":404,\"response\":null}" >"$tmp/types.jsonl"
case_ "a wrong type, an enum miss and an unknown endpoint fail" 1 '/page_cursor must be string' 'max_time_rounding must be equal to one of the allowed values' \
  'POST /access_codes/frobnicate, which is not an endpoint' -- "$tmp/types.jsonl"

# requests that are not the worker's (no oracode User-Agent) are not checked; none at all fails
printf '%s\n' "{\"method\":\"POST\",\"path\":\"/access_codes/create\",\"user_agent\":\"curl/7.88.1\",\"request\":{\"bogus\":1},\"status\":400,\"response\":null}" >"$tmp/tests-only.jsonl"
case_ "a recording without the worker's requests fails" 1 'no request from the worker' -- "$tmp/tests-only.jsonl"
: >"$tmp/empty.jsonl"
case_ "an empty recording fails" 1 'no request from the worker' -- "$tmp/empty.jsonl"
case_ "a required endpoint never called fails" 1 'no worker request to POST /devices/list' -- --require 'POST /devices/list' "$tmp/clean.jsonl"

# the field list: a read Seam's answer or event does not declare, a type it does not have, a send it does not take
cat >"$tmp/fields.mjs" <<JS
import { endpoints as real, errorReads, webhooks as realHooks } from '$here/fields.mjs';
const endpoints = structuredClone(real);
const webhooks = structuredClone(realHooks);
webhooks['access_code.set_on_device'].push({ path: 'pin_valid_until', type: 'string', by: 'selftest' });
endpoints['POST /access_codes/create'].reads.push({ path: 'access_code.pin_valid_until', type: 'string', by: 'selftest' });
endpoints['POST /access_codes/create'].reads.push({ path: 'access_code.is_managed', type: 'string', by: 'selftest' });
endpoints['POST /access_codes/create'].reads.push({ path: 'access_code.code', type: 'string', need: true, by: 'selftest' });
endpoints['POST /access_codes/list'].sends.push('include_pins');
endpoints['POST /access_codes/list'].reads.find((f) => f.path === 'access_codes[].status').values = ['set', 'unset', 'unknown'];
export { endpoints, errorReads, webhooks };
JS
case_ "undeclared reads and sends in the field list fail" 1 'reads access_code.pin_valid_until .* does not declare' \
  'access_code.is_managed may be boolean' 'cannot do without access_code.code .* lets it be null' \
  'can send "include_pins", which the request schema does not declare' \
  'webhook access_code.set_on_device: the code reads pin_valid_until' \
  'allows access_codes\[\].status "setting", which the code .* does not know' -- --fields "$tmp/fields.mjs" "$tmp/clean.jsonl"

# C that reads or sends a key the field list does not hold
mkdir -p "$tmp/src"
cp "$top/src/time_slot.c" "$tmp/src/"
{ cat "$top/src/seam_json.c"; printf '%s\n' 'static void f(cJSON *o) { (void) get_string(o, "pin_hint"); cJSON_AddStringToObject(o, "pin_length", "6"); }'; } >"$tmp/src/seam_json.c"
case_ "C keys missing from the field list fail" 1 'reads "pin_hint"' 'sends "pin_length"' -- --src "$tmp/src" "$tmp/clean.jsonl"

echo "contract selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
