# shellcheck shell=bash
# Helpers shared by the sourced scripts/*.sh files (cluster.sh, fake.sh).
# Source it any number of times; the cleanup list survives re-sourcing.

# Commands to run when the shell exits, in registration order (run newest first).
if ! declare -p ORACODE_EXIT_CMDS >/dev/null 2>&1; then ORACODE_EXIT_CMDS=(); fi

# on_exit CMD: run the shell command CMD when the current shell exits (normally, by error or by
# SIGTERM/SIGINT). Commands run newest first, each even if an earlier one fails; the exit status
# of the shell is kept. Registering the same CMD twice runs it once. An EXIT trap that some other
# code set before the first on_exit is kept and runs last. Do not set `trap ... EXIT` yourself
# after sourcing this file: it would replace the list; use on_exit instead.
on_exit() {
  local cmd=$1 c prev
  for c in "${ORACODE_EXIT_CMDS[@]}"; do [ "$c" = "$cmd" ] && return 0; done
  prev=$(trap -p EXIT)
  if [ -n "$prev" ] && [[ $prev != *_oracode_run_exit_cmds* ]]; then
    prev=${prev#"trap -- "}; prev=${prev%" EXIT"}; eval "prev=$prev"
    ORACODE_EXIT_CMDS+=("$prev")
  fi
  ORACODE_EXIT_CMDS+=("$cmd")
  trap _oracode_run_exit_cmds EXIT
}

# The EXIT trap: run the registered commands newest first.
_oracode_run_exit_cmds() {
  local rc=$? i
  for (( i=${#ORACODE_EXIT_CMDS[@]}-1; i>=0; i-- )); do
    eval "${ORACODE_EXIT_CMDS[i]}" || true
  done
  ORACODE_EXIT_CMDS=()
  return "$rc"
}
