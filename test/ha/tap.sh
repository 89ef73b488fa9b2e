# shellcheck shell=bash
# A few TAP helpers for the script-driven tests (test/ha/*.t, test/deb/*.t),
# which test/run runs with prove. Each check prints "ok N - name" or
# "not ok N - name" plus diagnostics; tap_done prints the plan at the end.

TAP_N=0
TAP_FAILED=0

# tap_ok NAME CMD...: pass when CMD succeeds.
tap_ok() {
  local name=$1; shift
  TAP_N=$((TAP_N + 1))
  if "$@"; then
    echo "ok $TAP_N - $name"
  else
    echo "not ok $TAP_N - $name"; TAP_FAILED=$((TAP_FAILED + 1))
  fi
}

# quietly CMD...: run CMD with its output discarded (for tap_ok, whose own line must show).
quietly() {
  "$@" >/dev/null 2>&1
}

# tap_is GOT WANT NAME: pass when the two strings are equal.
tap_is() {
  local got=$1 want=$2 name=$3
  TAP_N=$((TAP_N + 1))
  if [ "$got" = "$want" ]; then
    echo "ok $TAP_N - $name"
  else
    echo "not ok $TAP_N - $name"; TAP_FAILED=$((TAP_FAILED + 1))
    printf '#   got:  %s\n#   want: %s\n' "$got" "$want"
  fi
}

# tap_bail REASON: stop the test file here (prove reports it as failed).
tap_bail() {
  echo "Bail out! $1"
  exit 1
}

# tap_diag TEXT...: a diagnostic line (or several, from stdin with -).
tap_diag() {
  if [ "$1" = - ]; then sed "s/^/# /" >&2; else echo "# $*" >&2; fi
}

# tap_done: print the plan; exit non-zero if anything failed.
tap_done() {
  echo "1..$TAP_N"
  [ "$TAP_FAILED" -eq 0 ]
}

# wait_until SECS CMD...: retry CMD every 0.2 s until it succeeds or SECS pass.
wait_until() {
  local secs=$1 deadline; shift
  deadline=$(( SECONDS + secs ))
  until "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}
