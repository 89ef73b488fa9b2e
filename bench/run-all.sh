#!/usr/bin/env bash
# bench/run-all.sh — every number in BENCHMARKS.md, with one command.
#
# Usage (as root, from anywhere):  bench/run-all.sh
#
# Builds and installs oracode (each script again, so that a library another session installed
# in between is replaced), then runs, one after another (each on its own throwaway
# cluster and fresh fakes, all on 127.0.0.1, all stopped at the end):
#   bench/match_slot.sh   matching 1,000,000 bookings in C and in PL/pgSQL
#   bench/issue.sh        issuing throughput: worker vs Seam's JS SDK vs the fake's ceiling; memory
#   bench/poll.sh         polling cost with 10,000 codes in flight
#   bench/trigger.sh      the booking trigger's cost on 100,000 inserts
#   bench/rate.sh         Seam's create limit under a backfill over 20 locks (about 4 minutes)
#   bench/events.sh       a burst of 20,000 status changes with and without a LISTENing client
#   bench/multidb.sh      many databases: 10 × 2,000 codes against one database's 20,000
# and prints the machine, then every benchmark's report. The BENCH_* variables of each script
# pass through (e.g. BENCH_RUNS=5). Takes about 30 minutes on the 2-core machine (bench/issue.sh makes 5 runs unless BENCH_RUNS says otherwise).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")

[ "$(id -u)" -eq 0 ] || { echo "run-all.sh: run as root (it installs the extension and runs clusters as postgres)" >&2; exit 2; }
"$REPO/scripts/setup.sh" >/dev/null
# each script builds (incrementally) and installs right before it runs, and reports whether
# another install replaced the library meanwhile (other sessions may share the machine)

out=$(mktemp -d "${TMPDIR:-/tmp}/oracode-run-all.XXXXXX")
trap 'rm -rf "$out"' EXIT

{
  echo "# machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB memory"
  echo "# software: $(pg_config --version), node $(node --version), $(uname -sr)"
  echo "# started: $(date -u '+%Y-%m-%d %H:%M UTC')"
} >"$out/machine"
cat "$out/machine" >&2

status=0
for b in match_slot issue poll trigger rate events multidb; do
  echo "# ---- bench/$b.sh" >&2
  start=$SECONDS
  if "$BENCH_DIR/$b.sh" >"$out/$b" 2>"$out/$b.err"; then
    echo "# bench/$b.sh done in $(( SECONDS - start )) s" >&2
  else
    status=1
    echo "# bench/$b.sh FAILED (exit $?); its stderr:" >&2
    tail -n 30 "$out/$b.err" >&2
  fi
done

echo
cat "$out/machine"
for b in match_slot issue poll trigger rate events multidb; do
  echo
  echo "## bench/$b.sh"
  cat "$out/$b"
done
exit "$status"
