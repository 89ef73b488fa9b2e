# shellcheck shell=bash
# Seam fake-server helpers, sourced by the test scripts (like scripts/cluster.sh).
# The server is Seam's official fake (@seamapi/fake-seam-connect, pinned in
# test/fake-seam/package.json) wrapped by test/fake-seam/server.mjs, which binds 127.0.0.1
# only and adds the /_oracode/* control routes. It is stopped when the calling shell exits
# (via on_exit from scripts/common.sh), and stops by itself when that shell is gone.
# test/fake-seam/package.json also pins the contract test's tools (test/contract/check.mjs):
# @seamapi/types, whose OpenAPI document is the reference, and ajv with ajv-formats.
#
#   fake_install                 npm ci in test/fake-seam unless the pinned versions are installed
#   fake_start                   start it; exports FAKE_URL, FAKE_PID, FAKE_PORT, FAKE_LOG. With
#                                FAKE_SEAM_RECORD=FILE set, the fake appends every Seam request it
#                                serves (body and answer, one JSON line each) to FILE
#   fake_stop                    stop it (also run on exit)
#   fake_seed_lock [json]        POST /_oracode/seed_lock, print the response JSON
#   fake_call METHOD PATH [json] curl $FAKE_URL$PATH; adds "Authorization: Bearer $FAKE_API_KEY"
#                                when FAKE_API_KEY is set; prints the body; fails on HTTP >= 400
#   fake_json FIELD              print FIELD (a.b.0.c) of the JSON on stdin
#
# Example:
#   source scripts/fake.sh; fake_start
#   seed=$(fake_seed_lock '{"time_zone":"Europe/Berlin"}')
#   FAKE_API_KEY=$(fake_json api_key <<<"$seed"); dev=$(fake_json device_id <<<"$seed")
#   fake_call POST /access_codes/create "{\"device_id\":\"$dev\"}"

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"   # on_exit
FAKE_SEAM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../test/fake-seam" && pwd)
FAKE_START_TIMEOUT=${FAKE_START_TIMEOUT:-30}

# True when node_modules holds exactly the versions that package.json pins (the fake and the
# contract test's packages).
_fake_installed() {
  node -e '
    const dir = process.argv[1];
    const deps = require(dir + "/package.json").dependencies;
    const have = (name) => require(dir + "/node_modules/" + name + "/package.json").version;
    process.exit(Object.entries(deps).every(([name, want]) => have(name) === want) ? 0 : 1);' "$FAKE_SEAM_DIR" 2>/dev/null
}

# Install the pinned packages from package-lock.json, unless they are already there.
# Serialised with flock on the directory, so parallel suites do not run npm ci together.
fake_install() {
  _fake_installed && return 0
  (
    if command -v flock >/dev/null; then exec 9<"$FAKE_SEAM_DIR" && flock 9; fi
    _fake_installed && exit 0
    cd "$FAKE_SEAM_DIR" && npm ci --omit=optional --no-audit --no-fund >&2
  ) || { echo "fake_install: npm ci failed in $FAKE_SEAM_DIR" >&2; return 1; }
}

# Start the fake on a free 127.0.0.1 port and wait (FAKE_START_TIMEOUT s) for its READY line.
fake_start() {
  local line="" deadline
  fake_install || return 1
  FAKE_RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/oracode-fake.XXXXXX")
  FAKE_LOG="$FAKE_RUN_DIR/server.log"
  : >"$FAKE_RUN_DIR/stdout"   # exists before the READY loop first reads it
  node "$FAKE_SEAM_DIR/server.mjs" --port 0 --parent-pid $$ --max-seconds "${FAKE_MAX_SECONDS:-3600}" \
    ${FAKE_SEAM_RECORD:+--record "$FAKE_SEAM_RECORD"} >"$FAKE_RUN_DIR/stdout" 2>"$FAKE_LOG" &
  FAKE_PID=$!
  on_exit fake_stop
  deadline=$(( SECONDS + FAKE_START_TIMEOUT ))
  until IFS= read -r line <"$FAKE_RUN_DIR/stdout" && [[ $line == "READY http://"* ]]; do
    if ! kill -0 "$FAKE_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      echo "fake_start: no READY line from server.mjs (log follows)" >&2
      cat "$FAKE_LOG" >&2
      fake_stop
      return 1
    fi
    sleep 0.05
  done
  FAKE_URL=${line#READY }
  FAKE_PORT=${FAKE_URL##*:}
  export FAKE_URL FAKE_PID FAKE_PORT FAKE_LOG
}

# Stop the fake started by fake_start (TERM, then KILL after 5 s) and remove its run directory.
fake_stop() {
  local i
  if [ -n "${FAKE_PID:-}" ] && kill -0 "$FAKE_PID" 2>/dev/null; then
    kill -TERM "$FAKE_PID" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$FAKE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$FAKE_PID" 2>/dev/null || true
    wait "$FAKE_PID" 2>/dev/null || true   # reap it if it is our child
  fi
  if [ -n "${FAKE_RUN_DIR:-}" ] && [ -z "${KEEP_FAKE:-}" ]; then rm -rf "$FAKE_RUN_DIR"; fi
  unset FAKE_URL FAKE_PID FAKE_PORT FAKE_LOG FAKE_RUN_DIR
  return 0
}

# fake_call METHOD PATH [json]: one request to the fake; prints the response body.
fake_call() {
  local method=$1 path=$2 body=${3-}
  local args=(-sS --max-time 30 -X "$method" --fail-with-body)
  [ -n "${FAKE_API_KEY:-}" ] && args+=(-H "Authorization: Bearer $FAKE_API_KEY")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  curl "${args[@]}" "${FAKE_URL:?fake_start first}$path"
}

# fake_seed_lock [json]: create an Oracode lock (see server.mjs seed_lock); prints the response.
fake_seed_lock() {
  local body=${1-}
  fake_call POST /_oracode/seed_lock "${body:-"{}"}"
}

# fake_json FIELD: print a field of the JSON document on stdin (strings raw, the rest as JSON).
fake_json() {
  node -e '
    let v = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const k of process.argv[1].split(".").filter(Boolean)) v = v == null ? undefined : v[k];
    if (v === undefined) process.exit(1);
    console.log(typeof v === "string" ? v : JSON.stringify(v));' "$1"
}
