# shellcheck shell=bash
# Fault-proxy helpers, sourced like scripts/fake.sh. The proxy (test/fault-proxy/proxy.mjs)
# listens on 127.0.0.1 only, forwards to a target (Seam's fake), and breaks requests on
# command; it is stopped when the calling shell exits (on_exit from scripts/common.sh) and
# stops by itself when that shell is gone or after PROXY_MAX_SECONDS (default 3600).
#
#   proxy_start TARGET_URL [proxy args...]   start it; exports PROXY_URL, PROXY_PID, PROXY_LOG
#   proxy_stop                               stop it (also run on exit)
#   proxy_call METHOD PATH [json]            one control request (/_proxy/...); prints the body
#
# Example:
#   source scripts/fake.sh; source scripts/fault_proxy.sh
#   fake_start && proxy_start "$FAKE_URL"
#   proxy_call POST /_proxy/faults '{"rules":[{"path":"/access_codes/create","action":"drop","count":2}]}'

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"   # on_exit
FAULT_PROXY_JS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../test/fault-proxy" && pwd)/proxy.mjs

# Start the proxy in front of TARGET_URL on a free 127.0.0.1 port; wait for its READY line.
proxy_start() {
  local target=$1 line="" deadline
  shift
  PROXY_RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/oracode-proxy.XXXXXX")
  PROXY_LOG="$PROXY_RUN_DIR/proxy.log"
  : >"$PROXY_RUN_DIR/stdout"   # so the READY loop below never reads a file not yet there
  node "$FAULT_PROXY_JS" --target "$target" --port 0 --parent-pid $$ \
    --max-seconds "${PROXY_MAX_SECONDS:-3600}" "$@" >"$PROXY_RUN_DIR/stdout" 2>"$PROXY_LOG" &
  PROXY_PID=$!
  on_exit proxy_stop
  deadline=$(( SECONDS + 20 ))
  until IFS= read -r line <"$PROXY_RUN_DIR/stdout" && [[ $line == "READY http://"* ]]; do
    if ! kill -0 "$PROXY_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      echo "proxy_start: no READY line from proxy.mjs (log follows)" >&2
      cat "$PROXY_LOG" >&2
      proxy_stop
      return 1
    fi
    sleep 0.05
  done
  PROXY_URL=${line#READY }
  export PROXY_URL PROXY_PID PROXY_LOG
}

# Stop the proxy started by proxy_start (TERM, then KILL after 5 s) and remove its run directory.
proxy_stop() {
  local i
  if [ -n "${PROXY_PID:-}" ] && kill -0 "$PROXY_PID" 2>/dev/null; then
    kill -TERM "$PROXY_PID" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
  fi
  if [ -n "${PROXY_RUN_DIR:-}" ] && [ -z "${KEEP_PROXY:-}" ]; then rm -rf "$PROXY_RUN_DIR"; fi
  unset PROXY_URL PROXY_PID PROXY_LOG PROXY_RUN_DIR
  return 0
}

# proxy_call METHOD PATH [json]: one control request; prints the body, fails on HTTP >= 400.
proxy_call() {
  local method=$1 path=$2 body=${3-}
  local args=(-sS --max-time 30 -X "$method" --fail-with-body)
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  curl "${args[@]}" "${PROXY_URL:?proxy_start first}$path"
}
